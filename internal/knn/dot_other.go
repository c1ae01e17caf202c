//go:build !amd64 || purego

package knn

// kernels lists the micro-kernels this build runs: none.
func kernels() []kernel { return nil }

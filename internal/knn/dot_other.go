//go:build !amd64 || purego

package knn

// kernels lists the micro-kernels this CPU runs: none here.
func kernels() []kernel { return nil }

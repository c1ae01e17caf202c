//go:build purego || !amd64

package infer

// kernels lists the micro-kernels this build runs: none, so every product
// goes through BLAS.
func kernels() []kernel { return nil }

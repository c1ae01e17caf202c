//go:build purego || !amd64

package gemm

// hwKernels lists the assembly kernels of this build: none, products run
// the Go kernel.
func hwKernels() []*kernel { return nil }

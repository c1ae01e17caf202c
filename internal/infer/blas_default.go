//go:build !openblas

package infer

// preferBLAS is false: the micro-kernels beat gonum's sgemm on these shapes
// (see bench/embed.md), so BLAS serves only CPUs without a kernel.
const preferBLAS = false

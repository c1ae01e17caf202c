//go:build !purego

package probe

// dot3x4 and ger4x12 are the AVX2/FMA micro-kernels of kernel_amd64.s.
//
//go:noescape
func dot3x4(k int, a *float64, lda int, b *float64, ldb int, acc *float64)

//go:noescape
func ger4x12(n int, r *float64, ldr int, x *float64, ldx int, gp *float64, ldg int)

// haveKernel is true: this build links the AVX2/FMA kernels.
const haveKernel = true

//go:build !amd64 || purego

package probe

// haveKernel is false: this build links no assembly.
const haveKernel = false

func dot3x4(k int, a *float64, lda int, b *float64, ldb int, acc *float64) {
	panic("probe: no micro-kernel on this platform")
}

func ger4x12(n int, r *float64, ldr int, x *float64, ldx int, gp *float64, ldg int) {
	panic("probe: no micro-kernel on this platform")
}

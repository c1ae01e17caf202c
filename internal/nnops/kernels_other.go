//go:build !amd64 || purego

package nnops

// useAVX512 is false: this build links no assembly.
func useAVX512() bool { return false }

// useAVX2 is false: this build links no assembly.
func useAVX2() bool { return false }

func gather2AVX512(dst, src *float32, rows, wo, sstride int)  { panic("nnops: no AVX-512 kernels") }
func scatter2AVX512(dst, src *float32, rows, wo, dstride int) { panic("nnops: no AVX-512 kernels") }

func sumSqReLUAVX512(x *float32, n int) (s, q float64)          { panic("nnops: no AVX-512 kernels") }
func scaleShiftReLUAVX512(dst, x *float32, n int, a, b float32) { panic("nnops: no AVX-512 kernels") }
func sumGradReLUAVX512(grad, x *float32, n int, mean, inv float32) (sg, sgx float64) {
	panic("nnops: no AVX-512 kernels")
}
func gradReLUAVX512(dx, grad, x *float32, n int, a, b, e float32) { panic("nnops: no AVX-512 kernels") }
func sumAVX512(x *float32, n int) float64                         { panic("nnops: no AVX-512 kernels") }
func dot3AVX512(p, z *float32, n int) (pp, zz, pz float64)        { panic("nnops: no AVX-512 kernels") }
func axmbyAVX512(dst, x, y *float32, n int, a, b float64)         { panic("nnops: no AVX-512 kernels") }
func im2col3AVX512(cols *float32, np int, plane *float32, pw, ho, wo int) {
	panic("nnops: no AVX-512 kernels")
}
func im2col3DirectAVX512(cols *float32, ld int, x *float32, h, w, ho, wo, n int, tab *int32) {
	panic("nnops: no AVX-512 kernels")
}
func im2col3PairsAVX512(cols *float32, ld int, x *float32, h, w, ho, wo, n int, tab *int32) {
	panic("nnops: no AVX-512 kernels")
}
func col2im3DirectAVX512(x, cols *float32, ld, h, w, ho, wo, n int) {
	panic("nnops: no AVX-512 kernels")
}
func col2im3AVX512(plane *float32, pw int, cols *float32, np, ho, wo int) {
	panic("nnops: no AVX-512 kernels")
}
func copyRowsAVX512(dst *float32, dstride int, src *float32, sstride int, rows, w int) {
	panic("nnops: no AVX-512 kernels")
}

func gather2AVX2(dst, src *float32, rows, wo, sstride int)  { panic("nnops: no AVX2 kernels") }
func scatter2AVX2(dst, src *float32, rows, wo, dstride int) { panic("nnops: no AVX2 kernels") }

func sumSqReLUAVX2(x *float32, n int) (s, q float64)          { panic("nnops: no AVX2 kernels") }
func scaleShiftReLUAVX2(dst, x *float32, n int, a, b float32) { panic("nnops: no AVX2 kernels") }
func sumGradReLUAVX2(grad, x *float32, n int, mean, inv float32) (sg, sgx float64) {
	panic("nnops: no AVX2 kernels")
}
func gradReLUAVX2(dx, grad, x *float32, n int, a, b, e float32) { panic("nnops: no AVX2 kernels") }
func sumAVX2(x *float32, n int) float64                         { panic("nnops: no AVX2 kernels") }
func dot3AVX2(p, z *float32, n int) (pp, zz, pz float64)        { panic("nnops: no AVX2 kernels") }
func im2col3AVX2(cols *float32, np int, plane *float32, pw, ho, wo int) {
	panic("nnops: no AVX2 kernels")
}
func col2im3AVX2(plane *float32, pw int, cols *float32, np, ho, wo int) {
	panic("nnops: no AVX2 kernels")
}
func copyRowsAVX2(dst *float32, dstride int, src *float32, sstride int, rows, w int) {
	panic("nnops: no AVX2 kernels")
}

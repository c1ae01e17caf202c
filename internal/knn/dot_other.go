//go:build !amd64 || purego

package knn

var haveKernel = false

func dot3x4(k int, a *float32, lda int, b *float32, ldb int, acc *float32) {
	panic("knn: no micro-kernel on this platform")
}

//go:build !purego

package knn

import "golang.org/x/sys/cpu"

// dot3x4 and dot4x4x16 are the AVX2 and AVX-512 micro-kernels of
// dot_amd64.s.
//
//go:noescape
func dot3x4(k int, a *float32, lda int, b *float32, ldb int, acc *float32)

//go:noescape
func dot4x4x16(k int, a *float32, lda int, b *float32, ldb int, acc *float32)

// kernels lists the micro-kernels this CPU runs, fastest first.
func kernels() []kernel {
	var ks []kernel
	if cpu.X86.HasAVX512F {
		ks = append(ks, kernel{name: "avx512", rows: 4, lanes: 16, fn: dot4x4x16})
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, kernel{name: "avx2", rows: 3, lanes: 8, fn: dot3x4})
	}
	return ks
}

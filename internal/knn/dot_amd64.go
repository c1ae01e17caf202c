//go:build !purego

package knn

import "github.com/siampipe/siampipe/internal/cpufeat"

// dot3x4 and dot4x4x16 are the AVX2 and AVX-512 micro-kernels of
// dot_amd64.s.
//
//go:noescape
func dot3x4(k int, a *float32, lda int, b *float32, ldb int, acc *float32)

//go:noescape
func dot4x4x16(k int, a *float32, lda int, b *float32, ldb int, acc *float32)

// kernels lists the micro-kernels cpufeat's level allows, fastest first.
func kernels() []kernel {
	var ks []kernel
	level := cpufeat.Current()
	if level >= cpufeat.AVX512 {
		ks = append(ks, kernel{name: "avx512", rows: 4, lanes: 16, fn: dot4x4x16})
	}
	if level >= cpufeat.AVX2 {
		ks = append(ks, kernel{name: "avx2", rows: 3, lanes: 8, fn: dot3x4})
	}
	return ks
}

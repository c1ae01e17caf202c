//go:build !purego

package infer

import "github.com/siampipe/siampipe/internal/cpufeat"

//go:generate /usr/bin/python3 kernel_gen.py

// kern6x16 computes one 6x16 tile of C with the epilogue ep (AVX2 and FMA).
// See kernel_gen.py for the exact contract.
//
//go:noescape
func kern6x16(k int, a *float32, lda int, b *float32, ep *float32, c *float32, ldc int)

// kern12x32 computes one 12x32 tile of C with the epilogue ep (AVX-512F).
//
//go:noescape
func kern12x32(k int, a *float32, lda int, b *float32, ep *float32, c *float32, ldc int)

// kernels lists the micro-kernels cpufeat's level allows, fastest first.
func kernels() []kernel {
	var ks []kernel
	level := cpufeat.Current()
	if level >= cpufeat.AVX512 {
		ks = append(ks, kernel{name: "avx512", mr: 12, nr: 32, fn: kern12x32})
	}
	if level >= cpufeat.AVX2 {
		ks = append(ks, kernel{name: "avx2", mr: 6, nr: 16, fn: kern6x16})
	}
	return ks
}

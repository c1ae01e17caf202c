//go:build !purego

package gemm

import "github.com/siampipe/siampipe/internal/cpufeat"

//go:generate /usr/bin/python3 kernel_gen.py

// hwKernels lists the assembly kernels this CPU runs, best first.
func hwKernels() []*kernel {
	var ks []*kernel
	if hasAVX512 {
		ks = append(ks, avx512Kernel)
	}
	if hasAVX2FMA {
		ks = append(ks, avx2Kernel)
	}
	return ks
}

// avx512Kernel has tiles of up to 14 rows by 32 columns: 28 accumulators
// of the 32 zmm registers. A k block of 256 keeps the B panel (32 KiB) in
// L1 (48 KiB on Sapphire Rapids).
var avx512Kernel = &kernel{name: "avx512 14x32", family: "avx512", level: cpufeat.AVX512, mr: 14, nr: 32, as: 16, kc: 256,
	copyRows: avx512Copy32, tr8: transpose8, tiles: avx512Tiles, rowTiles: avx512RowTiles, colTiles: avx512ColTiles}

// avx2Kernel has tiles of up to 6 rows by 16 columns: 12 accumulators of
// the 16 ymm registers; its B panel of 384×16 floats takes 24 KiB.
var avx2Kernel = &kernel{name: "avx2 6x16", family: "avx2", level: cpufeat.AVX2, mr: 6, nr: 16, as: 8, kc: 384,
	copyRows: avx2Copy16, tr8: transpose8, tiles: avx2Tiles}

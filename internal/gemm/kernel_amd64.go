//go:build !purego

package gemm

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

// avx512Kernel: tiles of up to 14 rows by 32 columns (28 accumulators of
// the 32 zmm registers).
var avx512Kernel = &kernel{name: "avx512 14x32", family: "avx512", mr: 14, nr: 32, as: 16, kc: 256,
	copyRows: avx512Copy32, tr8: transpose8,
	tiles: []tileFunc{nil, avx512Tile1, avx512Tile2, avx512Tile3, avx512Tile4, avx512Tile5, avx512Tile6, avx512Tile7, avx512Tile8, avx512Tile9, avx512Tile10, avx512Tile11, avx512Tile12, avx512Tile13, avx512Tile14}}

// avx2Kernel: tiles of up to 6 rows by 16 columns (12 accumulators of the
// 16 ymm registers).
var avx2Kernel = &kernel{name: "avx2 6x16", family: "avx2", mr: 6, nr: 16, as: 8, kc: 384,
	copyRows: avx2Copy16, tr8: transpose8,
	tiles: []tileFunc{nil, avx2Tile1, avx2Tile2, avx2Tile3, avx2Tile4, avx2Tile5, avx2Tile6}}

// The micro-kernels (kernel_amd64.s, written by kernel_gen.py) implement
// the tileFunc contract: avx512TileR for R-row tiles 32 columns wide
// (AVX-512F), avx2TileR for R-row tiles 16 columns wide (AVX2 and FMA).

//go:noescape
func avx512Tile1(k int, a, b, c *float32, ldc int, alpha, beta float32, cols, load int)

//go:noescape
func avx512Tile2(k int, a, b, c *float32, ldc int, alpha, beta float32, cols, load int)

//go:noescape
func avx512Tile3(k int, a, b, c *float32, ldc int, alpha, beta float32, cols, load int)

//go:noescape
func avx512Tile4(k int, a, b, c *float32, ldc int, alpha, beta float32, cols, load int)

//go:noescape
func avx512Tile5(k int, a, b, c *float32, ldc int, alpha, beta float32, cols, load int)

//go:noescape
func avx512Tile6(k int, a, b, c *float32, ldc int, alpha, beta float32, cols, load int)

//go:noescape
func avx512Tile7(k int, a, b, c *float32, ldc int, alpha, beta float32, cols, load int)

//go:noescape
func avx512Tile8(k int, a, b, c *float32, ldc int, alpha, beta float32, cols, load int)

//go:noescape
func avx512Tile9(k int, a, b, c *float32, ldc int, alpha, beta float32, cols, load int)

//go:noescape
func avx512Tile10(k int, a, b, c *float32, ldc int, alpha, beta float32, cols, load int)

//go:noescape
func avx512Tile11(k int, a, b, c *float32, ldc int, alpha, beta float32, cols, load int)

//go:noescape
func avx512Tile12(k int, a, b, c *float32, ldc int, alpha, beta float32, cols, load int)

//go:noescape
func avx512Tile13(k int, a, b, c *float32, ldc int, alpha, beta float32, cols, load int)

//go:noescape
func avx512Tile14(k int, a, b, c *float32, ldc int, alpha, beta float32, cols, load int)

//go:noescape
func avx2Tile1(k int, a, b, c *float32, ldc int, alpha, beta float32, cols, load int)

//go:noescape
func avx2Tile2(k int, a, b, c *float32, ldc int, alpha, beta float32, cols, load int)

//go:noescape
func avx2Tile3(k int, a, b, c *float32, ldc int, alpha, beta float32, cols, load int)

//go:noescape
func avx2Tile4(k int, a, b, c *float32, ldc int, alpha, beta float32, cols, load int)

//go:noescape
func avx2Tile5(k int, a, b, c *float32, ldc int, alpha, beta float32, cols, load int)

//go:noescape
func avx2Tile6(k int, a, b, c *float32, ldc int, alpha, beta float32, cols, load int)


// The packers (kernel_amd64.s) implement kernel.copyRows, for up to 32
// (AVX-512F) and 16 (AVX2) floats a row, and kernel.tr8 (AVX).

//go:noescape
func avx512Copy32(k int, src *float32, ld int, dst *float32, dstride, cols int)

//go:noescape
func avx2Copy16(k int, src *float32, ld int, dst *float32, dstride, cols int)

//go:noescape
func transpose8(k8 int, src *float32, ld, rows int, dst *float32, dstride int)

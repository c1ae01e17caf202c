//go:build !purego

package nnops

import "github.com/siampipe/siampipe/internal/cpufeat"

// useAVX512 reports whether the vector kernels of patch_amd64.s and
// bn_amd64.s run: cpufeat's level is AVX512 (AVX-512F, and VL for the
// masked 256-bit tails).
func useAVX512() bool { return cpufeat.Current() >= cpufeat.AVX512 }

// useAVX2 reports whether the AVX2 kernels of patch_avx2_amd64.s and
// bn_avx2_amd64.s may run: cpufeat's level is AVX2 or above. Callers try
// useAVX512 first.
func useAVX2() bool { return cpufeat.Current() >= cpufeat.AVX2 }

// gather2AVX512 is gather2Go for 1 <= wo <= 16 (AVX-512F); the caller
// guarantees the bounds.
//
//go:noescape
func gather2AVX512(dst, src *float32, rows, wo, sstride int)

// scatter2AVX512 is scatter2Go for 1 <= wo <= 16 (AVX-512F); the caller
// guarantees the bounds.
//
//go:noescape
func scatter2AVX512(dst, src *float32, rows, wo, dstride int)

// sumSqReLUAVX512 is sumSqReLU (AVX-512F).
//
//go:noescape
func sumSqReLUAVX512(x *float32, n int) (s, q float64)

// scaleShiftReLUAVX512 sets dst[j] = relu0(x[j])·a + b (AVX-512F).
//
//go:noescape
func scaleShiftReLUAVX512(dst, x *float32, n int, a, b float32)

// sumGradReLUAVX512 is sumGradReLU (AVX-512F).
//
//go:noescape
func sumGradReLUAVX512(grad, x *float32, n int, mean, inv float32) (sg, sgx float64)

// gradReLUAVX512 sets dx[j] = keepIfPos(a·g[j] − b − e·x[j], x[j])
// (AVX-512F).
//
//go:noescape
func gradReLUAVX512(dx, grad, x *float32, n int, a, b, e float32)

// sumAVX512 is Σx in float64 (AVX-512F).
//
//go:noescape
func sumAVX512(x *float32, n int) float64

// dot3AVX512 returns p·p, z·z and p·z in float64 (AVX-512F).
//
//go:noescape
func dot3AVX512(p, z *float32, n int) (pp, zz, pz float64)

// axmbyAVX512 sets dst[j] = float32(a·x[j] − b·y[j]) for j < n, the
// arithmetic in float64 as Go does it (AVX-512F).
//
//go:noescape
func axmbyAVX512(dst, x, y *float32, n int, a, b float64)

// im2col3AVX512 writes the nine patch-matrix rows of one padded plane for
// a 3×3 kernel at stride 2: cols[(ky·3+kx)·np + oy·wo + j] =
// plane[(2oy+ky)·pw + 2j+kx], for wo <= 15 (AVX-512F). The caller
// guarantees the bounds.
//
//go:noescape
func im2col3AVX512(cols *float32, np int, plane *float32, pw, ho, wo int)

// im2col3DirectAVX512 writes the nine patch-matrix rows of each of n
// images (h·w floats apart from x) for a 3×3 kernel at stride 2 and
// padding 1, reading the images themselves (no padded copy):
// cols[(ky·3+kx)·ld + (i·ho+oy)·wo + j] = x[i][2oy−1+ky][2j−1+kx], 0 outside
// the image, for w <= 30 and wo <= 15 (AVX-512F), ld a multiple of 16; tab
// is &directTable[0]. The caller guarantees the bounds; the loads are
// masked to the image's elements, and the stores are whole 64-byte lines,
// masked at the ends of the rows.
//
//go:noescape
func im2col3DirectAVX512(cols *float32, ld int, x *float32, h, w, ho, wo, n int, tab *int32)

// im2col3PairsAVX512 is im2col3DirectAVX512 for w <= 14 (so wo <= 7), two
// output rows to a permute; tab is &pairTables[wo][0].
//
//go:noescape
func im2col3PairsAVX512(cols *float32, ld int, x *float32, h, w, ho, wo, n int, tab *int32)

// col2im3DirectAVX512 is the adjoint of im2col3DirectAVX512: it overwrites
// the n images with the sums of their window terms, added by ky, then kx
// (col2imGeneric's order), without a padded plane (AVX-512F). The caller
// guarantees the bounds; the stores are masked to the image's elements.
//
//go:noescape
func col2im3DirectAVX512(x, cols *float32, ld, h, w, ho, wo, n int)

// col2im3AVX512 is the adjoint of im2col3AVX512: it adds the nine rows into
// the padded plane in the order ky, oy, kx (the order of the Go loops).
//
//go:noescape
func col2im3AVX512(plane *float32, pw int, cols *float32, np, ho, wo int)

// copyRowsAVX512 copies rows of w <= 32 elements between strided layouts
// (AVX-512F): dst[r·dstride+j] = src[r·sstride+j]. The caller guarantees
// the bounds.
//
//go:noescape
func copyRowsAVX512(dst *float32, dstride int, src *float32, sstride int, rows, w int)

// The AVX2 (and FMA) kernels: the same contracts as the AVX-512 ones
// above, for CPUs without AVX-512. The element-wise ones (gather, scatter,
// copies, patch rows, scaleShiftReLU, gradReLU) give the Go loops' bits;
// the sums are in float64, in another order than the Go loops.

// gather2AVX2 is gather2Go for 1 <= wo <= 16; the caller guarantees the
// bounds.
//
//go:noescape
func gather2AVX2(dst, src *float32, rows, wo, sstride int)

// scatter2AVX2 is scatter2Go for 1 <= wo <= 16; the caller guarantees the
// bounds.
//
//go:noescape
func scatter2AVX2(dst, src *float32, rows, wo, dstride int)

// sumSqReLUAVX2 is sumSqReLU.
//
//go:noescape
func sumSqReLUAVX2(x *float32, n int) (s, q float64)

// scaleShiftReLUAVX2 sets dst[j] = relu0(x[j])·a + b.
//
//go:noescape
func scaleShiftReLUAVX2(dst, x *float32, n int, a, b float32)

// sumGradReLUAVX2 is sumGradReLU.
//
//go:noescape
func sumGradReLUAVX2(grad, x *float32, n int, mean, inv float32) (sg, sgx float64)

// gradReLUAVX2 sets dx[j] = keepIfPos(a·g[j] − b − e·x[j], x[j]).
//
//go:noescape
func gradReLUAVX2(dx, grad, x *float32, n int, a, b, e float32)

// sumAVX2 is Σx in float64.
//
//go:noescape
func sumAVX2(x *float32, n int) float64

// dot3AVX2 returns p·p, z·z and p·z in float64.
//
//go:noescape
func dot3AVX2(p, z *float32, n int) (pp, zz, pz float64)

// im2col3AVX2 is im2col3AVX512 (1 <= wo <= 15). It reads only the
// windows, and writes only the ho·wo outputs of each of the nine rows.
//
//go:noescape
func im2col3AVX2(cols *float32, np int, plane *float32, pw, ho, wo int)

// col2im3AVX2 is col2im3AVX512 (1 <= wo <= 15). It may read and write back
// plane elements between the windows, adding +0 to them, but none past the
// last window.
//
//go:noescape
func col2im3AVX2(plane *float32, pw int, cols *float32, np, ho, wo int)

// copyRowsAVX2 is copyRowsAVX512 (w <= 32).
//
//go:noescape
func copyRowsAVX2(dst *float32, dstride int, src *float32, sstride int, rows, w int)

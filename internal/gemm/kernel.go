package gemm

import (
	"fmt"
	"github.com/siampipe/siampipe/internal/cpufeat"
	"unsafe"
)

// A tileFunc computes one r×nr tile of C from a packed row tile of A
// (k-major, a slot of kernel.as floats for each p < k, of which the first
// r are used) and a packed column panel of B (k-major, nr floats for each
// p):
//
//	acc[i][j] = Σ_p a[p*as+i]·b[p*nr+j]        (p in order)
//	c[i*ldc+j] = alpha·acc[i][j] + beta·c[i*ldc+j]   if load != 0
//	c[i*ldc+j] = alpha·acc[i][j]                      if load == 0
//
// for i < r, j < cols (cols <= nr); other columns of c are left alone. r is
// fixed by the function (kernel.tiles[r]).
type tileFunc func(k int, a, b, c *float32, ldc int, alpha, beta float32, cols, load int)

// A rowTileFunc is a tileFunc that reads A where it is instead of from a
// packed tile: row-major (acc[i][j] = Σ_p a[i*lda+p]·b[p*ldb+j]) for the
// kernel's rowTiles, transposed (Σ_p a[p*lda+i]·b[p*ldb+j]) for its
// colTiles; the same sums in the same order, so the same bits. B is a
// packed panel (ldb = nr) or a row-major B read in place; all nr columns
// of its rows are read, whatever cols is.
type rowTileFunc func(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32, cols, load int)

// A kernel is a family of micro-kernels for one instruction set.
type kernel struct {
	name   string        // for logs, e.g. "avx512 14x32"
	family string        // "avx512", "avx2" or "go"
	level  cpufeat.Level // the SIMD level it needs
	mr, nr int           // largest tile height; tile width
	as     int           // floats a packed A tile holds for each p (>= mr)
	kc     int           // largest k block (the B panel, kc×nr, stays in L1)
	tiles  []tileFunc    // tiles[r] computes an r-row tile, 1 <= r <= mr
	// rowTiles[r] is tiles[r] reading a row-major A in place, and
	// colTiles[r] a transposed one (a[p*lda+i]), or nil.
	rowTiles, colTiles []rowTileFunc

	// Packing in assembly, or nil for the Go loops of pack.go.
	// copyRows sets dst[p*dstride+j] = src[p*ld+j] for p < k, j < cols
	// (cols <= nr), leaving the rest of dst alone.
	copyRows func(k int, src *float32, ld int, dst *float32, dstride, cols int)
	// tr8 sets dst[p*dstride+i] = src[min(i, rows-1)*ld+p] for p < 8·k8,
	// i < 8.
	tr8 func(k8 int, src *float32, ld, rows int, dst *float32, dstride int)
}

// goKernel is the portable kernel: plain Go, 4×4 tiles.
var goKernel = &kernel{name: "go 4x4", family: "go", level: cpufeat.Generic, mr: 4, nr: 4, as: 4, kc: 512,
	tiles: []tileFunc{nil, goTile1, goTile2, goTile3, goTile4}}

// forceKernel, when set to a family name, makes products use that kernel
// instead of the best one this CPU runs (tests force the lower ones). The
// family must be in kernels().
var forceKernel string

// allKernels is what this build and CPU run, best first, ending with the Go
// kernel.
var allKernels = append(hwKernels(), goKernel)

// kernels lists the kernels this build and CPU run, best first.
func kernels() []*kernel { return allKernels }

// active returns the kernel products use now: the best one at or below
// cpufeat's level in effect (lowered by SIAMPIPE_SIMD), or the forced one.
func active() *kernel {
	if forceKernel == "" {
		lvl := cpufeat.Current()
		for _, k := range allKernels {
			if k.level <= lvl {
				return k
			}
		}
		return goKernel
	}
	for _, k := range allKernels {
		if k.family == forceKernel {
			return k
		}
	}
	panic(fmt.Sprintf("gemm: kernel %q is not available on this CPU or build", forceKernel))
}

// goTile computes an r×4 tile (the tileFunc contract, as = 4) in plain Go.
func goTile(r, k int, a, b, c *float32, ldc int, alpha, beta float32, cols, load int) {
	as := unsafe.Slice(a, k*4)
	bs := unsafe.Slice(b, k*4)
	var acc [4][4]float32
	for p := 0; p < k; p++ {
		bp := bs[p*4 : p*4+4 : p*4+4]
		ap := as[p*4 : p*4+r : p*4+4]
		for i, av := range ap {
			acc[i][0] += av * bp[0]
			acc[i][1] += av * bp[1]
			acc[i][2] += av * bp[2]
			acc[i][3] += av * bp[3]
		}
	}
	store4(r, &acc, c, ldc, alpha, beta, cols, load)
}

// store4 writes an r×4 accumulator tile to c (the tileFunc contract).
func store4(r int, acc *[4][4]float32, c *float32, ldc int, alpha, beta float32, cols, load int) {
	cs := unsafe.Slice(c, (r-1)*ldc+cols)
	for i := 0; i < r; i++ {
		row := cs[i*ldc : i*ldc+cols]
		for j := range row {
			v := alpha * acc[i][j]
			if load != 0 {
				v += beta * row[j]
			}
			row[j] = v
		}
	}
}

func goTile1(k int, a, b, c *float32, ldc int, alpha, beta float32, cols, load int) {
	goTile(1, k, a, b, c, ldc, alpha, beta, cols, load)
}

func goTile2(k int, a, b, c *float32, ldc int, alpha, beta float32, cols, load int) {
	goTile(2, k, a, b, c, ldc, alpha, beta, cols, load)
}

func goTile3(k int, a, b, c *float32, ldc int, alpha, beta float32, cols, load int) {
	goTile(3, k, a, b, c, ldc, alpha, beta, cols, load)
}

// goTile4 is the full 4×4 tile with its sixteen sums in local variables,
// which the compiler keeps in registers.
func goTile4(k int, a, b, c *float32, ldc int, alpha, beta float32, cols, load int) {
	as := unsafe.Slice(a, k*4)
	bs := unsafe.Slice(b, k*4)
	var c00, c01, c02, c03, c10, c11, c12, c13 float32
	var c20, c21, c22, c23, c30, c31, c32, c33 float32
	for p := 0; p < k; p++ {
		bp := bs[p*4 : p*4+4 : p*4+4]
		ap := as[p*4 : p*4+4 : p*4+4]
		b0, b1, b2, b3 := bp[0], bp[1], bp[2], bp[3]
		a0, a1, a2, a3 := ap[0], ap[1], ap[2], ap[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	acc := [4][4]float32{{c00, c01, c02, c03}, {c10, c11, c12, c13}, {c20, c21, c22, c23}, {c30, c31, c32, c33}}
	store4(4, &acc, c, ldc, alpha, beta, cols, load)
}

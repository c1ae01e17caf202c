package infer

import (
	"fmt"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// engine computes the products of ops: C[m][npad] = epilogue(A[m][k] · Wᵀ).
// A has lda floats a row and rows up to a whole number of tiles (rows(m));
// C has ldc >= npad floats a row and as many rows.
type engine interface {
	name() string
	prepare(o *op)  // lays out o's weights and epilogue for gemm
	rows(m int) int // rows of A and C that gemm touches for m rows
	npad(n int) int // padded output width
	group() int     // images per conv pass
	gemm(o *op, m int, a []float32, lda int, c []float32, ldc int)
}

// defaultEngine is the fastest micro-kernel this CPU runs, or BLAS.
func defaultEngine() engine {
	if preferBLAS {
		return blasEngine{}
	}
	if ks := kernels(); len(ks) > 0 {
		return kernelEngine{ks[0]}
	}
	return blasEngine{}
}

func roundUp(n, m int) int { return (n + m - 1) / m * m }

// kernelEngine runs products through a register-tiled micro-kernel with the
// epilogue fused in: B packed into column panels of nr, A read in place.
type kernelEngine struct{ kernel }

func (e kernelEngine) name() string   { return e.kernel.name }
func (e kernelEngine) rows(m int) int { return roundUp(m, e.mr) }
func (e kernelEngine) npad(n int) int { return roundUp(n, e.nr) }
func (e kernelEngine) group() int     { return e.mr * max(1, 12/e.mr) }

func (e kernelEngine) prepare(o *op) {
	nr := e.nr
	o.npad = e.npad(o.n)
	panels := o.npad / nr
	o.bp = make([]float32, panels*o.k*nr)
	o.ep = make([]float32, panels*5*nr)
	for j := range o.n {
		q, jj := j/nr, j%nr
		b := o.bp[q*o.k*nr:]
		for kk := range o.k {
			b[kk*nr+jj] = o.w[j*o.k+kk]
		}
		ep := o.ep[q*5*nr:]
		ep[jj], ep[nr+jj], ep[2*nr+jj], ep[3*nr+jj], ep[4*nr+jj] = o.mul[j], o.add[j], o.lo[j], o.s[j], o.t[j]
	}
	// Padding columns: zero weights and an all-zero epilogue give exact zeros.
}

// gemm panics if a or c is too short for the tiles it touches.
func (e kernelEngine) gemm(o *op, m int, a []float32, lda int, c []float32, ldc int) {
	mr, nr, k := e.mr, e.nr, o.k
	mp := e.rows(m)
	if m == 0 {
		return
	}
	if lda < k || ldc < o.npad || len(a) < (mp-1)*lda+k || len(c) < (mp-1)*ldc+o.npad {
		panic(fmt.Sprintf("infer: gemm %s: buffers too small (m %d k %d lda %d len(a) %d, npad %d ldc %d len(c) %d)", o.name, m, k, lda, len(a), o.npad, ldc, len(c)))
	}
	for q := 0; q < o.npad/nr; q++ {
		b, ep := &o.bp[q*k*nr], &o.ep[q*5*nr]
		for i := 0; i < mp; i += mr {
			e.fn(k, &a[i*lda], lda, b, ep, &c[i*ldc+q*nr], ldc)
		}
	}
}

// blasEngine runs products through blas32.Gemm (gonum's pure Go sgemm, or
// OpenBLAS with the build tag openblas) and the epilogue in a Go loop. BLAS
// implementations pick their algorithm, and with it the summation order,
// by matrix size; every call here has blasRows rows, so that an image's
// features do not depend on the batch it came in.
type blasEngine struct{}

const blasRows = 64

func (blasEngine) name() string   { return "blas32" }
func (blasEngine) rows(m int) int { return roundUp(m, blasRows) }
func (blasEngine) npad(n int) int { return n }
func (blasEngine) group() int     { return 32 }
func (blasEngine) prepare(o *op)  { o.npad = o.n }

func (e blasEngine) gemm(o *op, m int, a []float32, lda int, c []float32, ldc int) {
	w := blas32.General{Rows: o.n, Cols: o.k, Stride: o.k, Data: o.w}
	for i := 0; i < m; i += blasRows {
		blas32.Gemm(blas.NoTrans, blas.Trans, 1,
			blas32.General{Rows: blasRows, Cols: o.k, Stride: lda, Data: a[i*lda:]},
			w, 0, blas32.General{Rows: blasRows, Cols: o.n, Stride: ldc, Data: c[i*ldc:]})
	}
	mul, add, lo, s, t := o.mul[:o.n], o.add[:o.n], o.lo[:o.n], o.s[:o.n], o.t[:o.n]
	for i := range m {
		row := c[i*ldc : i*ldc+o.n]
		for j, v := range row {
			v = v*mul[j] + add[j]
			if v < lo[j] {
				v = lo[j]
			}
			row[j] = v*s[j] + t[j]
		}
	}
}

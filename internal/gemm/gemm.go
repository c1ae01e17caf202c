// Package gemm is a single-precision matrix product (BLAS sgemm) for
// row-major matrices in pure Go and Go assembly, without cgo: GotoBLAS/BLIS
// packing and cache blocking around register-blocked micro-kernels, split
// over the cores.
//
// The micro-kernel is the best the CPU runs (KernelName): AVX-512F tiles of
// 14×32, AVX2+FMA tiles of 6×16, or plain Go tiles of 4×4 (with the build
// tag purego, off amd64, or on CPUs without AVX2 and FMA). Transposed
// operands are handled while packing; the AVX-512 kernel reads the left
// operand in place rather than pack it, and the right one too where few
// tiles share its panels. A product runs on up to Threads()
// goroutines, the caller and long-lived helpers; small ones run on the
// caller alone.
//
// Results are deterministic: a product is cut into tasks by its shape
// alone, never by the number of workers; each element of C is accumulated
// in the same order whichever goroutine computes it, and a long reduction
// over k is cut into fixed groups summed in a fixed order. So the bytes out
// are the same for any SetThreads or GOMAXPROCS. They differ between
// kernels, which sum in different orders (within float32 rounding).
package gemm

import (
	"fmt"
	"runtime"
	"sync/atomic"
)

// threads is the worker count set by SetThreads; 0 follows GOMAXPROCS.
var threads atomic.Int64

// SetThreads sets how many goroutines (the caller included) share one
// product, at most GOMAXPROCS; n <= 0 means runtime.GOMAXPROCS(0), read at
// every call (the default). It returns the previous setting. The results
// do not depend on it.
func SetThreads(n int) int {
	return int(threads.Swap(int64(max(n, 0))))
}

// Threads reports how many goroutines a product may use now.
func Threads() int {
	procs := runtime.GOMAXPROCS(0)
	if n := int(threads.Load()); n > 0 {
		return min(n, procs)
	}
	return procs
}

// KernelName names the micro-kernel the products run, for logs: e.g.
// "avx512 14x32", "avx2 6x16" or "go 4x4".
func KernelName() string { return active().name }

// Sgemm computes c = alpha·op(a)·op(b) + beta·c, where op(a) is a (m×k,
// lda floats a row) or, with tA, the transpose of a (k×m stored); op(b)
// is b (k×n, ldb a row) or, with tB, the transpose of b (n×k stored); c is
// m×n with ldc floats a row. It has the semantics of BLAS sgemm (gonum's
// blas.Float32.Sgemm) for row-major matrices: when beta is 0, c is not
// read (NaNs in it are overwritten); when alpha is 0 or k is 0, a and b
// are not read.
//
// Sgemm panics, as gonum does, if m, n or k is negative, if a leading
// dimension is smaller than its matrix's row length (or 1), or if a slice
// is too short for its matrix. It may be called from several goroutines at
// once.
func Sgemm(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	sgemm(Threads(), tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// SgemmSerial is Sgemm on the calling goroutine alone, for callers that
// already split their work over the cores (one product per chunk). Its
// results are the same bytes as Sgemm's.
func SgemmSerial(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	sgemm(1, tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// sgemm is Sgemm on up to threads goroutines.
func sgemm(threads int, tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	check(tA, tB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if alpha == 0 || k == 0 {
		scale(m, n, beta, c, ldc)
		return
	}
	multiply(active(), threads, operands{tA: tA, tB: tB, m: m, n: n, k: k, alpha: alpha, beta: beta,
		a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc})
}

// operands is one call's arguments.
type operands struct {
	tA, tB      bool
	m, n, k     int
	alpha, beta float32
	a, b, c     []float32
	lda, ldb    int
	ldc         int
}

// check panics on arguments gonum would refuse, naming the problem.
func check(tA, tB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("gemm: negative dimension (m=%d, n=%d, k=%d)", m, n, k))
	}
	ar, ac := m, k // rows and columns of a as stored
	if tA {
		ar, ac = k, m
	}
	br, bc := k, n
	if tB {
		br, bc = n, k
	}
	if lda < max(1, ac) {
		panic(fmt.Sprintf("gemm: lda %d < %d, the row length of a", lda, max(1, ac)))
	}
	if ldb < max(1, bc) {
		panic(fmt.Sprintf("gemm: ldb %d < %d, the row length of b", ldb, max(1, bc)))
	}
	if ldc < max(1, n) {
		panic(fmt.Sprintf("gemm: ldc %d < %d, the row length of c", ldc, max(1, n)))
	}
	if m == 0 || n == 0 {
		return
	}
	if need := (ar-1)*lda + ac; ar > 0 && ac > 0 && len(a) < need {
		panic(fmt.Sprintf("gemm: a has %d floats, its %dx%d matrix with lda %d needs %d", len(a), ar, ac, lda, need))
	}
	if need := (br-1)*ldb + bc; br > 0 && bc > 0 && len(b) < need {
		panic(fmt.Sprintf("gemm: b has %d floats, its %dx%d matrix with ldb %d needs %d", len(b), br, bc, ldb, need))
	}
	if need := (m-1)*ldc + n; len(c) < need {
		panic(fmt.Sprintf("gemm: c has %d floats, its %dx%d matrix with ldc %d needs %d", len(c), m, n, ldc, need))
	}
}

// scale sets c = beta·c (c = 0 when beta is 0, whatever c held).
func scale(m, n int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		switch beta {
		case 0:
			clear(row)
		case 1:
		default:
			for j := range row {
				row[j] *= beta
			}
		}
	}
}

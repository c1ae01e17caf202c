package nnops

import (
	"gonum.org/v1/gonum/blas"
)

// impl is the single-precision BLAS used by every Op of this package. It is
// gonum's pure-Go implementation unless the binary is built with
// -tags openblas (see blas_openblas.go).
var impl blas.Float32 = defaultBLAS()

// BLASName reports which BLAS the Ops use: "gonum", or "openblas" and the
// kernel family it runs (e.g. "openblas SkylakeX").
func BLASName() string { return blasName() }

// sgemm computes c = alpha*op(a)*op(b) + beta*c for row-major matrices,
// where op(a) is m×k and op(b) is k×n.
func sgemm(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	ta, tb := blas.NoTrans, blas.NoTrans
	if tA {
		ta = blas.Trans
	}
	if tB {
		tb = blas.Trans
	}
	impl.Sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// sgemmSerial is sgemm on the calling goroutine only: for products that
// already run on all cores, one per chunk of the work.
func sgemmSerial(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

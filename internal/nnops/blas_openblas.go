//go:build openblas

package nnops

import (
	"gonum.org/v1/gonum/blas"

	"github.com/siampipe/siampipe/internal/openblas"
)

func blasName() string { return "openblas " + openblas.Core() }

// ob is OpenBLAS with one thread: its threads spin while idle and fight the
// Go code between matrix products; the Ops split their work over the cores
// themselves.
var ob = openblas.Float32()

func sgemmAll(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	ta, tb := blas.NoTrans, blas.NoTrans
	if tA {
		ta = blas.Trans
	}
	if tB {
		tb = blas.Trans
	}
	ob.Sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

var sgemmOne = sgemmAll

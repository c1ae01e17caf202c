//go:build openblas

package nnops

import (
	"gonum.org/v1/gonum/blas"

	"github.com/siampipe/siampipe/internal/openblas"
)

func blasName() string { return "openblas " + openblas.Core() }

// defaultBLAS is OpenBLAS with one thread: its threads spin while idle and
// fight the single-threaded Go code between matrix products, and one thread
// keeps the comparison with a one-thread PyTorch fair.
func defaultBLAS() blas.Float32 { return openblas.Float32() }

//go:build !openblas

package nnops

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

const blasName = "gonum"

func defaultBLAS() blas.Float32 { return gonum.Implementation{} }

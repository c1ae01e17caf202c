//go:build !openblas

package nnops

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

func blasName() string { return "gonum" }

func defaultBLAS() blas.Float32 { return gonum.Implementation{} }

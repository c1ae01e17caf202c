//go:build openblas

package infer

import (
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/netlib/blas/netlib"
)

// preferBLAS is true: built with the tag openblas, every product goes to
// OpenBLAS through gonum's netlib bindings (cgo, -lopenblas).
const preferBLAS = true

func init() { blas32.Use(netlib.Implementation{}) }

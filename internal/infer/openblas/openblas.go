//go:build openblas

// Package openblas switches gonum's blas32 to OpenBLAS (cgo, -lopenblas,
// one OpenBLAS thread) when imported. It is its own package because a
// package using cgo cannot hold Go assembly, and package infer does.
package openblas

/*
#cgo LDFLAGS: -lopenblas
void openblas_set_num_threads(int num_threads);
*/
import "C"

import (
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/netlib/blas/netlib"
)

func init() {
	// infer's workers already use every core; OpenBLAS threads on top of
	// them would spin against each other.
	C.openblas_set_num_threads(1)
	blas32.Use(netlib.Implementation{})
}

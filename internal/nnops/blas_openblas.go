//go:build openblas

package nnops

/*
#cgo LDFLAGS: -lopenblas
void openblas_set_num_threads(int num_threads);
*/
import "C"

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/netlib/blas/netlib"
)

const blasName = "openblas"

func defaultBLAS() blas.Float32 {
	// OpenBLAS threads spin while idle and fight the single-threaded Go
	// code between matrix products; one thread is faster here and keeps
	// the comparison with a one-thread PyTorch fair.
	C.openblas_set_num_threads(1)
	return netlib.Implementation{}
}

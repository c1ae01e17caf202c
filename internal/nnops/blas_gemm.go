//go:build !openblas

package nnops

import "github.com/siampipe/siampipe/internal/gemm"

func blasName() string { return "gemm " + gemm.KernelName() }

// The products run on internal/gemm, deterministic for any core count.
var (
	sgemmAll = gemm.Sgemm
	sgemmOne = gemm.SgemmSerial
)

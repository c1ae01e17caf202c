//go:build !purego

package gemm

import "github.com/siampipe/siampipe/internal/cpufeat"

// hasAVX512 and hasAVX2FMA report which assembly kernels this CPU (and the
// operating system, which must save the wider registers) runs: cpufeat, the
// one place that asks, decides for every kernel package.
var (
	hasAVX512  = cpufeat.Detected() >= cpufeat.AVX512
	hasAVX2FMA = cpufeat.Detected() >= cpufeat.AVX2
)

//go:build !purego

package neighbors

import "github.com/siampipe/siampipe/internal/cpufeat"

// useAVX2 reports whether the AVX2+FMA kernels run (cpufeat's level).
// Results are deterministic at a given level; the Go loops round
// differently.
func useAVX2() bool { return cpufeat.Current() >= cpufeat.AVX2 }

//go:noescape
func dotAVX2(x, y []float32) float32

//go:noescape
func sqDistAVX2(x, y []float32) float32

package neighbors

import "golang.org/x/sys/cpu"

// useAVX2 selects the AVX2+FMA kernels. Results are deterministic on a given
// machine; a machine without AVX2 rounds differently.
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func dotAVX2(x, y []float32) float32

//go:noescape
func sqDistAVX2(x, y []float32) float32

//go:build !amd64 || purego

package neighbors

// useAVX2 is false: this build links no assembly.
func useAVX2() bool { return false }

func dotAVX2(x, y []float32) float32    { panic("neighbors: no AVX2 kernels in this build") }
func sqDistAVX2(x, y []float32) float32 { panic("neighbors: no AVX2 kernels in this build") }

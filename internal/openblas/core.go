package openblas

import (
	"strings"

	"github.com/siampipe/siampipe/internal/cpufeat"
)

// Kernel levels: which instruction set a kernel family of OpenBLAS needs.
const (
	levelSSE = iota
	levelAVX2
	levelAVX512
)

// coreLevels maps the core names OpenBLAS reports (openblas_get_corename)
// to the instruction set of their single-precision kernels. Names missing
// here are never overridden.
var coreLevels = map[string]int{
	"katmai": levelSSE, "coppermine": levelSSE, "northwood": levelSSE,
	"prescott": levelSSE, "banias": levelSSE, "atom": levelSSE,
	"core2": levelSSE, "penryn": levelSSE, "dunnington": levelSSE,
	"nehalem": levelSSE, "sandybridge": levelSSE, "athlon": levelSSE,
	"opteron": levelSSE, "opteron_sse3": levelSSE, "barcelona": levelSSE,
	"nano": levelSSE, "bobcat": levelSSE, "bulldozer": levelSSE,
	"piledriver": levelSSE, "steamroller": levelSSE,
	"haswell": levelAVX2, "excavator": levelAVX2, "zen": levelAVX2,
	"skylakex": levelAVX512, "cooperlake": levelAVX512, "sapphirerapids": levelAVX512,
}

// BestCore returns the OpenBLAS core type (a value for OPENBLAS_CORETYPE)
// whose kernels the processor c runs best, or "" when c has neither AVX2
// with FMA nor AVX-512. It asks for the real processor (cpufeat.Host): the
// purego tag and SIAMPIPE_SIMD concern siampipe's own kernels, not
// OpenBLAS's.
func BestCore(c cpufeat.Features) string {
	switch {
	case c.AVX512F && c.AVX512BW && c.AVX512DQ && c.AVX512VL:
		return "SkylakeX"
	case c.AVX2 && c.FMA:
		return "Haswell"
	}
	return ""
}

// Upgrade returns the core type OpenBLAS should be told to use instead of
// the one it detected (have), or "" to keep it. OpenBLAS releases that do
// not know a processor model (new CPUs, or any CPU behind a hypervisor
// that hides the model) fall back to SSE kernels ("Prescott") that run at
// a fifth of the speed of the AVX-512 ones on the same machine.
func Upgrade(have string, c cpufeat.Features) string {
	want := BestCore(c)
	if want == "" {
		return ""
	}
	lh, ok := coreLevels[strings.ToLower(have)]
	if !ok {
		return ""
	}
	if lh < coreLevels[strings.ToLower(want)] {
		return want
	}
	return ""
}

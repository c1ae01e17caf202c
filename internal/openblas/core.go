package openblas

import "strings"

// CPU is what the processor offers, as far as the choice of OpenBLAS
// kernels is concerned.
type CPU struct {
	AVX2, FMA                             bool
	AVX512F, AVX512BW, AVX512DQ, AVX512VL bool
}

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
// whose kernels c runs best, or "" when c has neither AVX2 with FMA nor
// AVX-512.
func BestCore(c CPU) string {
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
func Upgrade(have string, c CPU) string {
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

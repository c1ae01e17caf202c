//go:build !purego

package gemm

import "golang.org/x/sys/cpu"

// hasAVX512 and hasAVX2FMA report what the kernels need from the CPU (and
// the operating system, which must save the wider registers). This is the
// one place that asks.
var (
	hasAVX512  = cpu.X86.HasAVX512F
	hasAVX2FMA = cpu.X86.HasAVX2 && cpu.X86.HasFMA
)

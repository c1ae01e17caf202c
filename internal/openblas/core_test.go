package openblas

import (
	"testing"

	"github.com/siampipe/siampipe/internal/cpufeat"
)

func TestUpgrade(t *testing.T) {
	avx512 := cpufeat.Features{AVX2: true, FMA: true, AVX512F: true, AVX512BW: true, AVX512DQ: true, AVX512VL: true}
	avx2 := cpufeat.Features{AVX2: true, FMA: true}
	tests := []struct {
		have string
		cpu  cpufeat.Features
		want string
	}{
		{"Prescott", avx512, "SkylakeX"}, // OpenBLAS 0.3.21 behind a hypervisor hiding a Sapphire Rapids
		{"Haswell", avx512, "SkylakeX"},
		{"SkylakeX", avx512, ""},
		{"Cooperlake", avx512, ""},
		{"SapphireRapids", avx512, ""},
		{"Prescott", avx2, "Haswell"},
		{"Sandybridge", avx2, "Haswell"},
		{"Haswell", avx2, ""},
		{"Zen", avx2, ""},
		{"Prescott", cpufeat.Features{AVX2: true}, ""}, // AVX2 without FMA: no better kernels
		{"Prescott", cpufeat.Features{}, ""},
		{"SomeFutureCore", avx512, ""}, // unknown names are trusted
		{"prescott", avx512, "SkylakeX"},
	}
	for _, tt := range tests {
		if got := Upgrade(tt.have, tt.cpu); got != tt.want {
			t.Errorf("Upgrade(%q, %+v) = %q, want %q", tt.have, tt.cpu, got, tt.want)
		}
	}
}

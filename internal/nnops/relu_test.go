package nnops

import (
	"math"
	"testing"
)

func TestBranchFreeReLUMatchesDefinition(t *testing.T) {
	negZero := float32(math.Copysign(0, -1))
	inf := float32(math.Inf(1))
	for _, v := range []float32{0, negZero, 1e-45, -1e-45, 1, -1, 3.5, -2.25, inf, -inf, math.MaxFloat32} {
		want := float32(0)
		if v > 0 {
			want = v
		}
		if got := relu0(v); got != want || math.Signbit(float64(got)) {
			t.Errorf("relu0(%v) = %v, want +%v", v, got, want)
		}
		wantMask := float32(0)
		if v > 0 {
			wantMask = 7
		}
		if got := keepIfPos(7, v); got != wantMask {
			t.Errorf("keepIfPos(7, %v) = %v, want %v", v, got, wantMask)
		}
	}
}

func TestFillValueSetsEveryElement(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 7, 8, 9, 100, 1023, 1025} {
		dst := make([]float32, n+2)
		fillValue(dst[1:n+1], 2.5)
		for i, v := range dst {
			want := float32(2.5)
			if i == 0 || i == n+1 {
				want = 0
			}
			if v != want {
				t.Fatalf("n %d: element %d is %v, want %v", n, i, v, want)
			}
		}
	}
}

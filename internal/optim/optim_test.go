package optim

import (
	"math"
	"testing"
)

func TestSGDMatchesPyTorchUpdateRule(t *testing.T) {
	// Two steps by hand: v1 = g1 + wd·w0; w1 = w0 − lr·v1;
	// v2 = μ·v1 + g2 + wd·w1; w2 = w1 − lr·v2.
	w := []float32{1, -2}
	s := SGD{Momentum: 0.9, WeightDecay: 0.1}
	g1 := []float32{0.5, 0.25}
	g2 := []float32{-1, 2}
	lr := 0.1
	s.Step([][]float32{w}, [][]float32{g1}, []float64{lr})
	want := make([]float64, 2)
	v := make([]float64, 2)
	w0 := []float64{1, -2}
	for j := range w0 {
		v[j] = float64(g1[j]) + 0.1*w0[j]
		want[j] = w0[j] - lr*v[j]
	}
	for j := range w {
		if math.Abs(float64(w[j])-want[j]) > 1e-6 {
			t.Fatalf("step 1: w[%d] = %v, want %v", j, w[j], want[j])
		}
	}
	s.Step([][]float32{w}, [][]float32{g2}, []float64{lr})
	for j := range w0 {
		v[j] = 0.9*v[j] + float64(g2[j]) + 0.1*want[j]
		want[j] -= lr * v[j]
	}
	for j := range w {
		if math.Abs(float64(w[j])-want[j]) > 1e-6 {
			t.Fatalf("step 2: w[%d] = %v, want %v", j, w[j], want[j])
		}
	}
}

func TestSGDWeightDecayReachesWeightsNotVelocityOnly(t *testing.T) {
	// With a zero gradient the weights must still shrink.
	w := []float32{3}
	s := SGD{Momentum: 0.9, WeightDecay: 0.5}
	s.Step([][]float32{w}, [][]float32{{0}}, []float64{0.1})
	if math.Abs(float64(w[0])-(3-0.1*1.5)) > 1e-6 {
		t.Fatalf("w = %v, want %v", w[0], 3-0.1*1.5)
	}
}

func TestScheduleWarmupThenCosine(t *testing.T) {
	s := Schedule{BaseLR: 0.1, Epochs: 10, StepsPerEpoch: 10, WarmupEpochs: 1}
	cases := []struct {
		step int
		want float64
	}{
		{0, 0.01}, {4, 0.05}, {9, 0.1}, {10, 0.1},
		{55, 0.05}, // half way through the cosine (steps 10..100)
		{100, 0},
	}
	for _, c := range cases {
		if got := s.LR(c.step); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("LR(%d) = %v, want %v", c.step, got, c.want)
		}
	}
	nw := Schedule{BaseLR: 0.2, Epochs: 4, StepsPerEpoch: 5}
	if got := nw.LR(0); got != 0.2 {
		t.Errorf("no warm-up: LR(0) = %v, want 0.2", got)
	}
	for st := 1; st < 20; st++ {
		if nw.LR(st) >= nw.LR(st-1) {
			t.Fatalf("cosine not decreasing at step %d", st)
		}
	}
}

// TestScheduleFractionalWarmupNeverExceedsThePeak: a warm-up shorter than a
// step, or ending inside one, gave BaseLR*(t+1)/warm above BaseLR (train
// --warmup-epochs 5e-324 divided by ~0 and got a NaN loss).
func TestScheduleFractionalWarmupNeverExceedsThePeak(t *testing.T) {
	for _, warm := range []float64{5e-324, 0.01, 0.25, 2.5 / 10} {
		s := Schedule{BaseLR: 0.1, Epochs: 10, StepsPerEpoch: 10, WarmupEpochs: warm}
		for step := 0; step < 100; step++ {
			if lr := s.LR(step); !(lr >= 0 && lr <= s.BaseLR) {
				t.Fatalf("warm-up %v epochs: LR(%d) = %v, outside [0, %v]", warm, step, lr, s.BaseLR)
			}
		}
	}
}

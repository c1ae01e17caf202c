package simsiam

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/siampipe/siampipe/internal/arch"
	"github.com/siampipe/siampipe/internal/trainlog"
)

// TestZStdSeparatesSpreadFromCollapsedOutputs: rows drawn evenly over the
// sphere give about 1/sqrt(d), far above the threshold; rows that share all
// but a small part give that part's size over sqrt(d); identical rows give 0.
func TestZStdSeparatesSpreadFromCollapsedOutputs(t *testing.T) {
	const n, d = 512, 64
	rng := rand.New(rand.NewPCG(9, 9))
	common := make([]float64, d)
	for j := range common {
		common[j] = rng.NormFloat64()
	}
	rows := func(b float64) []float32 {
		z := make([]float32, n*d)
		for i := 0; i < n; i++ {
			for j := 0; j < d; j++ {
				// common part of length 1, varying part of expected length b
				z[i*d+j] = float32(common[j]/math.Sqrt(d) + b*rng.NormFloat64()/math.Sqrt(d))
			}
		}
		return z
	}
	th := CollapseThreshold(d)
	if want := 0.1 / 8; math.Abs(th-want) > 1e-15 {
		t.Fatalf("CollapseThreshold(%d) = %v, want %v", d, th, want)
	}
	for _, c := range []struct {
		name      string
		z         []float32
		lo, hi    float64
		collapsed bool
	}{
		{"spread over the sphere", rows(100), 0.9 / math.Sqrt(d), 1.01 / math.Sqrt(d), false},
		{"a varying part of a third", rows(1.0 / 3), 0.25 / math.Sqrt(d), 0.35 / math.Sqrt(d), false},
		{"a varying part of 5%", rows(0.05), 0.04 / math.Sqrt(d), 0.06 / math.Sqrt(d), true},
		{"identical rows", rows(0), 0, 1e-6, true},
	} {
		got := ZStd(c.z, n)
		if got < c.lo || got > c.hi {
			t.Errorf("%s: z_std %.4g, want in [%.4g, %.4g]", c.name, got, c.lo, c.hi)
		}
		if (got < th) != c.collapsed {
			t.Errorf("%s: z_std %.4g against threshold %.4g: collapsed %v, want %v", c.name, got, th, got < th, c.collapsed)
		}
	}
}

// randomSource yields steps batches of n random pairs.
type randomSource struct {
	rng      *rand.Rand
	n, steps int
}

func (s *randomSource) Next() (int, []uint8, []uint8, error) {
	if s.steps == 0 {
		return 0, nil, nil, nil
	}
	s.steps--
	v1, v2 := make([]uint8, s.n*28*28), make([]uint8, s.n*28*28)
	for i := range v1 {
		v1[i], v2[i] = uint8(s.rng.IntN(256)), uint8(s.rng.IntN(256))
	}
	return s.n, v1, v2, nil
}

// TestRunWarnsOnceWhenTheOutputsCollapse trains, with either method, a
// model whose projector is dead (the first BatchNorm's scale and shift are
// 0, so every output is 0, and no gradient reaches them): the Collapse hook
// fires once, after the first step, with z_std under the threshold. The
// same model alive never fires it.
func TestRunWarnsOnceWhenTheOutputsCollapse(t *testing.T) {
	const n, steps = 16, 4
	for _, method := range arch.Methods() {
		for _, dead := range []bool{false, true} {
			cfg := TrainConfig{Model: Config{Arch: arch.SimSiam, Method: method, Channels: []int{4, 8}, ProjDims: []int{16, 32}},
				BatchSize: n, LR: 0.01, Seed: 3, Epochs: 1, RowsPerEpoch: n * steps}
			if method == arch.MethodSimSiam {
				cfg.Model.PredHidden = 8
			}
			tr, err := NewTrainer(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if dead {
				for _, name := range []string{"projector.bn1.weight", "projector.bn1.bias"} {
					clear(tr.Model.Param(name).Value)
				}
			}
			type call struct {
				step      int
				zstd, thr float64
			}
			var calls []call
			var logged []float64
			err = tr.Run(context.Background(), &randomSource{rng: rand.New(rand.NewPCG(1, 2)), n: n, steps: steps}, RunConfig{LogEvery: 1}, Hooks{
				Collapse: func(step int, zstd, thr float64) { calls = append(calls, call{step, zstd, thr}) },
				Log:      func(r trainlog.Record) error { logged = append(logged, r.ZStd); return nil },
			})
			tr.Close()
			if err != nil {
				t.Fatal(err)
			}
			if len(logged) != steps {
				t.Fatalf("%s dead %v: %d metrics lines, want %d", method, dead, len(logged), steps)
			}
			if !dead {
				if len(calls) != 0 {
					t.Errorf("%s: a live model warned of collapse: %+v (z_std %v)", method, calls, logged)
				}
				continue
			}
			if len(calls) != 1 {
				t.Fatalf("%s dead: %d collapse calls %+v, want 1 (z_std %v)", method, len(calls), calls, logged)
			}
			c := calls[0]
			if c.step != 1 || c.thr != CollapseThreshold(32) || !(c.zstd < c.thr) || c.zstd != logged[0] {
				t.Errorf("%s dead: collapse call %+v, want step 1, z_std %v under threshold %v", method, c, logged[0], CollapseThreshold(32))
			}
		}
	}
}

// Before its first step a trainer has no outputs to measure: NaN, for
// either method, not a panic.
func TestZStdBeforeTheFirstStepIsNaN(t *testing.T) {
	for _, method := range arch.Methods() {
		cfg := Config{Arch: arch.SimSiam, Method: method, Channels: []int{4}, ProjDims: []int{8, 8}}
		tr, err := NewTrainer(TrainConfig{Model: cfg, BatchSize: 4, Epochs: 1, RowsPerEpoch: 8})
		if err != nil {
			t.Fatal(err)
		}
		if z := tr.ZStd(); !math.IsNaN(z) {
			t.Errorf("%s: z_std before a step %v, want NaN", method, z)
		}
		tr.Close()
	}
}

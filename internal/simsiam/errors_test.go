package simsiam

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/siampipe/siampipe/internal/arch"
)

func smallConfig() Config {
	return Config{Arch: arch.SimSiam, Channels: []int{4, 8}, ProjDims: []int{8, 8}, PredHidden: 4}
}

// Errors carry their values for the caller and leave flag hints to the
// stage: none names a flag.
func TestAnEpochShorterThanABatchIsAnEpochError(t *testing.T) {
	_, err := NewTrainer(TrainConfig{Model: smallConfig(), BatchSize: 16, Epochs: 1, RowsPerEpoch: 10})
	var ee *EpochError
	if !errors.As(err, &ee) || ee.RowsPerEpoch != 10 || ee.BatchSize != 16 {
		t.Fatalf("error %v, want an *EpochError of 10 rows and batch 16", err)
	}
	if strings.Contains(err.Error(), "--") {
		t.Errorf("error %q names a flag", err)
	}
}

func TestADivergingStepIsErrNonFinite(t *testing.T) {
	tr, err := NewTrainer(TrainConfig{Model: smallConfig(), BatchSize: 16, LR: 1e30, Epochs: 1, RowsPerEpoch: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	v1, v2 := make([]uint8, 16*28*28), make([]uint8, 16*28*28)
	for step := 1; step <= 30; step++ {
		for i := range v1 {
			v1[i], v2[i] = uint8(rng.IntN(256)), uint8(rng.IntN(256))
		}
		if _, err = tr.TrainStep(v1, v2); err != nil {
			break
		}
	}
	if !errors.Is(err, ErrNonFinite) || !strings.HasPrefix(err.Error(), "step ") {
		t.Fatalf("error %v, want one naming the step and wrapping ErrNonFinite", err)
	}
	if strings.Contains(err.Error(), "--") {
		t.Errorf("error %q names a flag", err)
	}
}

func TestAMethodThatDoesNotFitTheModelIsRefused(t *testing.T) {
	simclr := smallConfig()
	simclr.Method, simclr.PredHidden = arch.MethodSimCLR, 0
	for _, c := range []struct {
		name string
		cfg  TrainConfig
		want error
		text string
	}{
		{"simclr on the seed architecture", TrainConfig{Model: Config{Arch: arch.Seed, Method: arch.MethodSimCLR}}, ErrNeedsProjector, ""},
		{"simclr with a predictor width", TrainConfig{Model: Config{Arch: arch.SimSiam, Method: arch.MethodSimCLR, PredHidden: 8}}, ErrNoPredictor, "width 8"},
		{"negative temperature", TrainConfig{Model: simclr, Temperature: -0.5}, ErrTemperature, "-0.5"},
		{"NaN temperature", TrainConfig{Model: simclr, Temperature: math.NaN()}, ErrTemperature, "NaN"},
		{"infinite temperature", TrainConfig{Model: simclr, Temperature: math.Inf(1)}, ErrTemperature, "+Inf"},
		{"unknown method", TrainConfig{Model: Config{Arch: arch.SimSiam, Method: "byol"}}, nil, `"byol"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.cfg.BatchSize, c.cfg.Epochs, c.cfg.RowsPerEpoch = 4, 1, 8
			tr, err := NewTrainer(c.cfg)
			if err == nil {
				tr.Close()
				t.Fatal("no error")
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("error %v, want one wrapping %v", err, c.want)
			}
			if !strings.Contains(err.Error(), c.text) || strings.Contains(err.Error(), "--") {
				t.Errorf("error %q: want it to name %q and no flag", err, c.text)
			}
		})
	}
}

// A simclr model is the simsiam architecture without its predictor, and
// its temperature defaults to arch.DefaultTemperature; simsiam has none.
func TestSimCLRHasNoPredictorAndTheDefaultTemperature(t *testing.T) {
	cfg := smallConfig()
	cfg.Method, cfg.PredHidden = arch.MethodSimCLR, 0
	tr, err := NewTrainer(TrainConfig{Model: cfg, BatchSize: 4, Epochs: 1, RowsPerEpoch: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if tr.Cfg.Temperature != arch.DefaultTemperature {
		t.Errorf("temperature %v, want %v", tr.Cfg.Temperature, arch.DefaultTemperature)
	}
	proj := 0
	for _, p := range tr.Model.Params {
		if strings.HasPrefix(p.Name, "predictor.") || p.Predictor {
			t.Errorf("simclr model has %s", p.Name)
		}
		if strings.HasPrefix(p.Name, "projector.") {
			proj++
		}
	}
	if proj == 0 {
		t.Error("simclr model has no projector")
	}
	ss := TrainConfig{Model: smallConfig(), Temperature: 0.3}.WithDefaults()
	if ss.Temperature != 0 {
		t.Errorf("simsiam temperature %v after WithDefaults, want 0", ss.Temperature)
	}
}

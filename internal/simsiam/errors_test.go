package simsiam

import (
	"errors"
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

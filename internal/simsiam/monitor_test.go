package simsiam

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/siampipe/siampipe/internal/arch"
	"github.com/siampipe/siampipe/internal/trainlog"
)

// TestRunCallsTheMonitorAtEpochEnds: 3 epochs of 2 steps, monitor every 2
// epochs: scores after epochs 2 and 3 (the last), in those steps' lines
// (written although LogEvery skips them); a failing monitor saves a
// checkpoint of the steps done and ends the run with its error.
func TestRunCallsTheMonitorAtEpochEnds(t *testing.T) {
	const n = 8
	cfg := TrainConfig{Model: Config{Arch: arch.SimSiam, Channels: []int{4, 8}, ProjDims: []int{8, 8}, PredHidden: 4},
		BatchSize: n, LR: 0.01, Seed: 3, Epochs: 3, RowsPerEpoch: 2 * n}
	for _, fail := range []bool{false, true} {
		tr, err := NewTrainer(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var epochs, knnSteps, saved []int
		boom := errors.New("boom")
		err = tr.Run(context.Background(), &randomSource{rng: rand.New(rand.NewPCG(1, 2)), n: n, steps: 6}, RunConfig{LogEvery: 5, MonitorEvery: 2}, Hooks{
			Monitor: func(epoch int) (float64, error) {
				epochs = append(epochs, epoch)
				if fail {
					return 0, boom
				}
				return 0.5, nil
			},
			Log: func(r trainlog.Record) error {
				if r.KNN != nil {
					knnSteps = append(knnSteps, r.Step)
				}
				return nil
			},
			Save: func(reason string) error { saved = append(saved, tr.Step); return nil },
		})
		tr.Close()
		if fail {
			if !errors.Is(err, boom) || !slices.Equal(epochs, []int{2}) || !slices.Equal(saved, []int{4}) {
				t.Errorf("failing monitor: err %v, monitored epochs %v, checkpoints at steps %v; want boom, [2], [4]", err, epochs, saved)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(epochs, []int{2, 3}) || !slices.Equal(knnSteps, []int{4, 6}) {
			t.Errorf("monitored epochs %v, knn at steps %v; want [2 3] and [4 6]", epochs, knnSteps)
		}
	}
}

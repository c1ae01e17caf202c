// Command train fits SimSiam (seed or paper architecture) with gorgonia on a
// pairs stream and writes the model checkpoint: weights, BatchNorm running
// statistics and optimiser state, with every hyperparameter in its metadata.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/siampipe/siampipe/internal/arch"
	"github.com/siampipe/siampipe/internal/checkpoint"
	"github.com/siampipe/siampipe/internal/cli"
	"github.com/siampipe/siampipe/internal/contract"
	"github.com/siampipe/siampipe/internal/nnops"
	"github.com/siampipe/siampipe/internal/simsiam"
	"github.com/siampipe/siampipe/internal/trainlog"
)

func main() {
	s := cli.New("train", "fit SimSiam on a pairs stream and write the model checkpoint",
		"fetch --split train | augment --epochs 20 | train --checkpoint-dir ckpt -o model.arrows")
	s.Graceful = true
	f := s.Flags
	archFlag := f.String("arch", arch.SimSiam, "model: simsiam (backbone + projector + predictor) or seed (backbone + predictor, the reference article's)")
	method := f.String("method", arch.MethodSimSiam, "training method: simsiam (predictor, stop-gradient, negative cosine) or simclr (--arch simsiam without its predictor, NT-Xent over the 2N views)")
	temperature := f.Float64("temperature", arch.DefaultTemperature, "simclr's NT-Xent temperature (> 0)")
	batch := f.Int("batch-size", 256, "pairs per step")
	lr := f.Float64("lr", 0.2, "base learning rate for batch 256 (scaled by batch-size/256)")
	mom := f.Float64("momentum", 0.9, "SGD momentum")
	wd := f.Float64("weight-decay", 1e-3, "SGD weight decay, added to every gradient as torch.optim.SGD does")
	warm := f.Float64("warmup-epochs", 0, "linear warm-up `epochs` before the cosine decay")
	fixPred := f.Bool("fixed-predictor-lr", true, "keep the predictor at the peak learning rate (no decay)")
	seed := f.Uint64("seed", 0, "seed of the weight initialisation")
	predHidden := f.Int("pred-hidden", 0, fmt.Sprintf("predictor hidden width (0: %d)", arch.DefaultPredHidden))
	projDims := f.String("proj-dims", "", "simsiam projector widths, comma-separated (default "+arch.FormatSizes(arch.DefaultProjDims())+")")
	channels := f.String("channels", "", "backbone conv widths, comma-separated, one per stride-2 conv block (default "+arch.FormatSizes(arch.DefaultChannels())+")")
	saveEvery := f.Int("save-every", 10, "checkpoint into --checkpoint-dir every `N` epochs (0: never)")
	ckptDir := f.String("checkpoint-dir", "checkpoints", "`DIR` for periodic and interrupt checkpoints")
	resume := f.String("resume", "", "continue from checkpoint `CKPT` (feed the same pairs stream; its hyperparameters are used)")
	metrics := f.String("metrics", "", "append JSON lines of training metrics to `FILE`")
	logEvery := f.Int("log-every", 10, "metrics every `N` steps")
	s.Parse(os.Args[1:])
	s.Main(func(ctx context.Context) error {
		if err := checkMethodFlags(f, *resume != ""); err != nil {
			return err
		}
		in, err := s.Input()
		if err != nil {
			return err
		}
		defer in.Close()
		r, err := contract.NewReader(in, contract.KindPairs)
		if err != nil {
			return fmt.Errorf("read pairs: %w", err)
		}
		defer r.Release()
		pairs, err := checkpoint.PairsOf(r.Meta())
		if err != nil {
			return fmt.Errorf("pairs stream: %w (pipe augment's output into train)", err)
		}
		epochs, rows := pairs.Epochs, pairs.RowsPerEpoch
		cfg := simsiam.TrainConfig{
			Model:     simsiam.Config{Arch: *archFlag, Method: *method, Height: r.Height(), Width: r.Width(), PredHidden: *predHidden},
			BatchSize: *batch, LR: *lr, Momentum: orNeg(*mom), WeightDecay: orNeg(*wd), WarmupEpochs: *warm,
			FixedPredictorLR: *fixPred, Seed: *seed, Epochs: epochs, RowsPerEpoch: rows, Temperature: *temperature,
		}
		if cfg.Model.ProjDims, err = intList("--proj-dims", *projDims); err != nil {
			return err
		}
		if cfg.Model.Channels, err = intList("--channels", *channels); err != nil {
			return err
		}
		if *batch < 2 || *saveEvery < 0 || *logEvery < 1 || *lr <= 0 {
			return cli.Usagef("--batch-size must be >= 2, --lr > 0, --log-every >= 1, --save-every >= 0")
		}
		var t *simsiam.Trainer
		if *resume != "" {
			t, err = restore(*resume, cfg, pairs, f, s.Logf)
		} else {
			t, err = simsiam.NewTrainer(cfg)
		}
		if err != nil {
			return flagHint(err)
		}
		defer t.Close()
		s.Logf("%s model (%s), %d epochs x %d steps of %d pairs, peak lr %.4g, BLAS %s, from step %d",
			t.Cfg.Model.Arch, methodDesc(t.Cfg), epochs, t.Cfg.StepsPerEpoch(), t.Cfg.BatchSize, t.Cfg.PeakLR(), nnops.BLASName(), t.Step)
		hooks := simsiam.Hooks{Save: func(reason string) error {
			name := fmt.Sprintf("step-%07d.arrows", t.Step)
			if reason == "epoch" {
				name = fmt.Sprintf("epoch-%04d.arrows", t.EpochsDone())
			}
			path := filepath.Join(*ckptDir, name)
			if err := save(path, t, pairs, s.WriterOptions()); err != nil {
				return err
			}
			s.Logf("checkpoint %s (%s, step %d)", path, reason, t.Step)
			return nil
		}}
		if *metrics != "" {
			flags := os.O_CREATE | os.O_WRONLY | os.O_APPEND
			if *resume == "" {
				flags |= os.O_TRUNC
			} else if n, err := cutMetrics(*metrics, t.Step); err != nil {
				return err
			} else if n > 0 {
				s.Logf("metrics %s: dropped %d lines after step %d, the checkpoint's", *metrics, n, t.Step)
			}
			mf, err := os.OpenFile(*metrics, flags, 0o644)
			if err != nil {
				return fmt.Errorf("metrics: %w", err)
			}
			defer mf.Close()
			hooks.Log = trainlog.NewEncoder(mf).Encode
		}
		hooks.Collapse = collapseWarning(os.Stderr)
		p := s.Progress("train", int64(t.TotalSteps()-t.Step), "steps")
		hooks.Stepped = func() { p.Add(1) }
		err = t.Run(ctx, &source{r: r}, simsiam.RunConfig{SaveEvery: *saveEvery, LogEvery: *logEvery}, hooks)
		if errors.Is(err, simsiam.ErrInterrupted) {
			return cli.ErrInterrupted
		}
		if err != nil {
			return flagHint(err)
		}
		p.Done()
		out, err := s.Output()
		if err != nil {
			return err
		}
		defer out.Abort()
		if err := writeCheckpoint(out, t, pairs, s.WriterOptions()); err != nil {
			return err
		}
		return out.Commit()
	})
}

// orNeg maps an explicit 0 to the config's "negative means 0".
func orNeg(x float64) float64 {
	if x == 0 {
		return -1
	}
	return x
}

// source adapts the contract reader to simsiam.Source.
type source struct{ r *contract.Reader }

func (s *source) Next() (int, []uint8, []uint8, error) {
	if !s.r.Next() {
		if err := s.r.Err(); err != nil {
			return 0, nil, nil, fmt.Errorf("read pairs: %w", err)
		}
		return 0, nil, nil, nil
	}
	b := s.r.Pairs()
	return b.N, b.View1, b.View2, nil
}

// intList parses a flag's comma-separated positive integers; "" gives nil
// (the model's default).
func intList(flag, v string) ([]int, error) {
	if v == "" {
		return nil, nil
	}
	var out []int
	for _, d := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(d))
		if err != nil || n < 1 {
			return nil, cli.Usagef("%s %q: want positive integers separated by commas", flag, v)
		}
		out = append(out, n)
	}
	return out, nil
}

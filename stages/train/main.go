// Command train fits SimSiam (seed or paper architecture) with gorgonia on a
// pairs stream and writes the model checkpoint: weights, BatchNorm running
// statistics and optimiser state, with every hyperparameter in its metadata.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/siampipe/siampipe/internal/cli"
	"github.com/siampipe/siampipe/internal/contract"
	"github.com/siampipe/siampipe/internal/nnops"
	"github.com/siampipe/siampipe/internal/outfile"
	"github.com/siampipe/siampipe/internal/simsiam"
)

func main() { os.Exit(stage(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

// Upper bounds of the flags: far beyond any useful setting, low enough that
// a typo cannot allocate without end or run for days.
const (
	maxBatch    = 8192
	maxLR       = 10
	maxWidth    = 4096 // of a conv block, a projector or predictor layer
	maxBlocks   = 8    // conv blocks, projector layers
	maxEpochs   = 100000
	maxLogEvery = 1000000
)

// stage runs train with args on the given streams and returns its exit status.
func stage(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	s := cli.New("train", "fit SimSiam on a pairs stream and write the model checkpoint",
		"fetch --split train | augment --epochs 20 | train --checkpoint-dir ckpt -o model.arrows")
	s.Graceful = true
	f := s.Flags
	arch := f.String("arch", simsiam.ArchSimSiam, "model: simsiam (backbone + projector + predictor) or seed (backbone + predictor, the reference article's)")
	batch := f.Int("batch-size", 256, fmt.Sprintf("pairs per step, 2..%d", maxBatch))
	lr := f.Float64("lr", 0.2, fmt.Sprintf("base learning rate for batch 256 (scaled by batch-size/256), in (0, %d]", maxLR))
	mom := f.Float64("momentum", 0.9, "SGD momentum, in [0, 1)")
	wd := f.Float64("weight-decay", 1e-3, "SGD weight decay, added to every gradient as torch.optim.SGD does, in [0, 1)")
	warm := f.Float64("warmup-epochs", 0, "linear warm-up epochs before the cosine decay, at most the stream's epochs (0: none)")
	fixPred := f.Bool("fixed-predictor-lr", true, "keep the predictor at the peak learning rate (no decay)")
	seed := f.Uint64("seed", 0, "seed of the weight initialisation")
	predHidden := f.Int("pred-hidden", 0, fmt.Sprintf("predictor hidden width, 1..%d (0: 64)", maxWidth))
	projDims := f.String("proj-dims", "", fmt.Sprintf("simsiam projector widths, comma-separated, each 1..%d (default 256,256)", maxWidth))
	channels := f.String("channels", "", fmt.Sprintf("backbone conv widths, comma-separated, one per stride-2 conv block, each 1..%d (default 32,64,128)", maxWidth))
	saveEvery := f.Int("save-every", 10, fmt.Sprintf("checkpoint into --checkpoint-dir every N epochs, 0..%d (0: never)", maxEpochs))
	ckptDir := f.String("checkpoint-dir", "checkpoints", "`DIR` for periodic and interrupt checkpoints")
	resume := f.String("resume", "", "continue from checkpoint `CKPT` (feed the same pairs stream; its hyperparameters are used)")
	metrics := f.String("metrics", "", "append JSON lines of training metrics to `FILE`")
	logEvery := f.Int("log-every", 10, fmt.Sprintf("metrics every N steps, 1..%d", maxLogEvery))
	return s.Run(args, stdin, stdout, stderr, func(ctx context.Context) error {
		if *arch != simsiam.ArchSimSiam && *arch != simsiam.ArchSeed {
			return cli.Usagef("--arch %q: use %s or %s", *arch, simsiam.ArchSimSiam, simsiam.ArchSeed)
		}
		if err := cli.FirstError(
			cli.Int("batch-size", *batch, 2, maxBatch),
			cli.Float("lr", *lr, cli.Positive(maxLR)),
			cli.Float("momentum", *mom, cli.Below(0, 1)),
			cli.Float("weight-decay", *wd, cli.Below(0, 1)),
			cli.Float("warmup-epochs", *warm, cli.Closed(0, maxEpochs), "0: none"),
			cli.Int("pred-hidden", *predHidden, 0, maxWidth, "0: 64"),
			cli.Int("save-every", *saveEvery, 0, maxEpochs, "0: never"),
			cli.Int("log-every", *logEvery, 1, maxLogEvery),
		); err != nil {
			return err
		}
		pd, err := cli.IntList("proj-dims", *projDims, 1, maxWidth, maxBlocks)
		if err != nil {
			return err
		}
		if pd != nil && *arch == simsiam.ArchSeed {
			return cli.Usagef("--proj-dims: the %s architecture has no projector (drop the flag, or use --arch %s)", simsiam.ArchSeed, simsiam.ArchSimSiam)
		}
		ch, err := cli.IntList("channels", *channels, 1, maxWidth, maxBlocks)
		if err != nil {
			return err
		}
		if fi, err := os.Stat(*ckptDir); err == nil && !fi.IsDir() {
			// found now, not at the first checkpoint an epoch later
			return cli.Usagef("--checkpoint-dir %s is not a directory", *ckptDir)
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
		meta := r.Meta()
		epochs, err1 := strconv.Atoi(meta[contract.MetaEpochs])
		rows, err2 := strconv.Atoi(meta[contract.MetaRowsPerEpoch])
		if err1 != nil || err2 != nil {
			return fmt.Errorf("pairs stream lacks %s/%s metadata (pipe augment's output into train)", contract.MetaEpochs, contract.MetaRowsPerEpoch)
		}
		if *warm > float64(epochs) {
			return cli.Usagef("--warmup-epochs %v: more than the %d epochs of the pairs stream", *warm, epochs)
		}
		cfg := simsiam.TrainConfig{
			Model:     simsiam.Config{Arch: *arch, Height: r.Height(), Width: r.Width(), PredHidden: *predHidden, ProjDims: pd, Channels: ch},
			BatchSize: *batch, LR: *lr, Momentum: orNeg(*mom), WeightDecay: orNeg(*wd), WarmupEpochs: *warm,
			FixedPredictorLR: *fixPred, Seed: *seed, Epochs: epochs, RowsPerEpoch: rows,
		}
		var t *simsiam.Trainer
		if *resume != "" {
			t, err = restore(*resume, cfg, f)
		} else {
			t, err = simsiam.NewTrainer(cfg)
		}
		if err != nil {
			return err
		}
		defer t.Close()
		s.Logf("%s model, %d epochs x %d steps of %d pairs, peak lr %.4g, BLAS %s, from step %d",
			t.Cfg.Model.Arch, epochs, t.Cfg.StepsPerEpoch(), t.Cfg.BatchSize, t.Cfg.PeakLR(), nnops.BLASName(), t.Step)
		hooks := simsiam.Hooks{Save: func(reason string) error {
			name := fmt.Sprintf("step-%07d.arrows", t.Step)
			if reason == "epoch" {
				name = fmt.Sprintf("epoch-%04d.arrows", t.EpochsDone())
			}
			path := filepath.Join(*ckptDir, name)
			if err := save(path, t, meta, s.WriterOptions()); err != nil {
				return err
			}
			s.Logf("checkpoint %s (%s, step %d)", path, reason, t.Step)
			return nil
		}}
		if *metrics != "" {
			mf, err := outfile.OpenLog(*metrics, *resume != "")
			if err != nil {
				return fmt.Errorf("metrics: %w", err)
			}
			defer mf.Close()
			enc := json.NewEncoder(mf)
			hooks.Log = func(m simsiam.Metrics) error { return enc.Encode(m) }
		}
		p := s.Progress("train", int64(t.TotalSteps()-t.Step), "steps")
		hooks.Stepped = func() { p.Add(1) }
		err = t.Run(ctx, &source{r: r}, simsiam.RunConfig{SaveEvery: *saveEvery, LogEvery: *logEvery}, hooks)
		if errors.Is(err, simsiam.ErrInterrupted) {
			return cli.ErrInterrupted
		}
		if err != nil {
			return err
		}
		p.Done()
		out, err := s.Output()
		if err != nil {
			return err
		}
		defer out.Abort()
		if err := contract.WriteModel(out, modelMeta(t, meta), tensors(t), s.WriterOptions()); err != nil {
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

func tensors(t *simsiam.Trainer) []contract.Tensor {
	var ts []contract.Tensor
	for _, p := range t.Tensors() {
		ts = append(ts, contract.Tensor{Name: p.Name, Shape: p.Shape, Values: p.Value})
	}
	return ts
}

func modelMeta(t *simsiam.Trainer, pairs contract.Meta) contract.Meta {
	c := t.Cfg
	g := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	return contract.Meta{
		contract.MetaStage: "train", contract.MetaVersion: cli.Version,
		contract.MetaArch: c.Model.Arch, contract.MetaEpoch: strconv.Itoa(t.EpochsDone()),
		contract.MetaStep: strconv.Itoa(t.Step), contract.MetaSeed: strconv.FormatUint(c.Seed, 10),
		contract.MetaHeight: strconv.Itoa(c.Model.Height), contract.MetaWidth: strconv.Itoa(c.Model.Width),
		contract.MetaTrainBatchSize: strconv.Itoa(c.BatchSize), contract.MetaTrainLR: g(c.LR),
		contract.MetaTrainPeakLR: g(c.PeakLR()), contract.MetaTrainMomentum: g(c.Momentum),
		contract.MetaTrainWeightDecay: g(c.WeightDecay), contract.MetaTrainWarmupEpochs: g(c.WarmupEpochs),
		contract.MetaTrainFixedPredLR: strconv.FormatBool(c.FixedPredictorLR), contract.MetaTrainEpochs: strconv.Itoa(c.Epochs),
		contract.MetaTrainRowsPerEpoch: strconv.Itoa(c.RowsPerEpoch), contract.MetaTrainStepsPerEpoch: strconv.Itoa(c.StepsPerEpoch()),
		contract.MetaTrainInput: "pixels/255", contract.MetaTrainPairsSeed: pairs[contract.MetaSeed],
		contract.MetaTrainBNMomentum: g(simsiam.BNMomentum), contract.MetaTrainBNEps: "1e-05",
	}
}

// save writes a checkpoint atomically (temporary file + rename).
func save(path string, t *simsiam.Trainer, pairs contract.Meta, opt contract.Options) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	out, err := cli.CreateAtomic(path)
	if err != nil {
		return err
	}
	defer out.Abort()
	if err := contract.WriteModel(out, modelMeta(t, pairs), tensors(t), opt); err != nil {
		return err
	}
	return out.Commit()
}

// restore loads a checkpoint; hyperparameters come from it, and a flag set
// explicitly to a different value is an error.
func restore(path string, flagCfg simsiam.TrainConfig, fs *flag.FlagSet) (*simsiam.Trainer, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("resume: %w", err)
	}
	defer fh.Close()
	meta, ts, err := contract.ReadModel(io.Reader(fh))
	if err != nil {
		return nil, fmt.Errorf("resume %s: %w", path, err)
	}
	num := func(key string) float64 {
		v, _ := strconv.ParseFloat(meta[key], 64)
		return v
	}
	step, err := strconv.Atoi(meta[contract.MetaStep])
	if err != nil {
		return nil, fmt.Errorf("resume %s: no %s in its metadata (not a train checkpoint?)", path, contract.MetaStep)
	}
	seed, _ := strconv.ParseUint(meta[contract.MetaSeed], 10, 64)
	c := simsiam.TrainConfig{
		BatchSize: int(num(contract.MetaTrainBatchSize)), LR: num(contract.MetaTrainLR),
		Momentum: orNeg(num(contract.MetaTrainMomentum)), WeightDecay: orNeg(num(contract.MetaTrainWeightDecay)),
		WarmupEpochs: num(contract.MetaTrainWarmupEpochs), FixedPredictorLR: meta[contract.MetaTrainFixedPredLR] == "true",
		Seed: seed, Epochs: int(num(contract.MetaTrainEpochs)), RowsPerEpoch: int(num(contract.MetaTrainRowsPerEpoch)),
	}
	if c.Epochs != flagCfg.Epochs || c.RowsPerEpoch != flagCfg.RowsPerEpoch {
		return nil, fmt.Errorf("resume %s: it was trained on %d epochs of %d pairs, the input has %d of %d (feed the same pairs stream)",
			path, c.Epochs, c.RowsPerEpoch, flagCfg.Epochs, flagCfg.RowsPerEpoch)
	}
	params := make([]simsiam.Param, len(ts))
	for i, t := range ts {
		params[i] = simsiam.Param{Name: t.Name, Shape: t.Shape, Value: t.Values}
	}
	c.Model, err = simsiam.ConfigFromTensors(meta[contract.MetaArch], params)
	if err != nil {
		return nil, fmt.Errorf("resume %s: %w", path, err)
	}
	c.Model.Height, c.Model.Width = flagCfg.Model.Height, flagCfg.Model.Width
	// What the checkpoint says of each flag: its metadata for the
	// hyperparameters, its tensors for the model's sizes. A flag set
	// explicitly to something else is an error, not silently ignored.
	list := func(v []int) string { return strings.Trim(fmt.Sprint(v), "[]") }
	want := map[string]string{"arch": meta[contract.MetaArch], "batch-size": meta[contract.MetaTrainBatchSize],
		"lr": meta[contract.MetaTrainLR], "momentum": meta[contract.MetaTrainMomentum], "weight-decay": meta[contract.MetaTrainWeightDecay],
		"warmup-epochs": meta[contract.MetaTrainWarmupEpochs], "fixed-predictor-lr": meta[contract.MetaTrainFixedPredLR], "seed": meta[contract.MetaSeed],
		"channels": list(c.Model.Channels), "proj-dims": list(c.Model.ProjDims), "pred-hidden": strconv.Itoa(c.Model.PredHidden)}
	got := map[string]string{"channels": list(flagCfg.Model.Channels), "proj-dims": list(flagCfg.Model.ProjDims),
		"pred-hidden": strconv.Itoa(flagCfg.Model.PredHidden)}
	var conflict []string
	fs.Visit(func(fl *flag.Flag) {
		w, ok := want[fl.Name]
		v, parsed := got[fl.Name]
		if !parsed {
			v = fl.Value.String()
		}
		if ok && !sameValue(v, w) {
			conflict = append(conflict, fmt.Sprintf("--%s %s (checkpoint: %s)", fl.Name, fl.Value, w))
		}
	})
	if len(conflict) > 0 {
		return nil, cli.Usagef("--resume uses the checkpoint's hyperparameters and sizes; drop %s", strings.Join(conflict, ", "))
	}
	t, err := simsiam.RestoreTrainer(c, params, step)
	if err != nil {
		return nil, fmt.Errorf("resume %s: %w", path, err)
	}
	return t, nil
}

func sameValue(a, b string) bool {
	if a == b {
		return true
	}
	x, e1 := strconv.ParseFloat(a, 64)
	y, e2 := strconv.ParseFloat(b, 64)
	return e1 == nil && e2 == nil && x == y
}

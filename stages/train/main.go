// Command train fits SimSiam (seed or paper architecture) with gorgonia on a
// pairs stream and writes the model checkpoint: weights, BatchNorm running
// statistics and optimiser state, with every hyperparameter in its metadata.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/siampipe/siampipe/internal/arch"
	"github.com/siampipe/siampipe/internal/checkpoint"
	"github.com/siampipe/siampipe/internal/cli"
	"github.com/siampipe/siampipe/internal/contract"
	"github.com/siampipe/siampipe/internal/nnops"
	"github.com/siampipe/siampipe/internal/simsiam"
	"github.com/siampipe/siampipe/internal/trainlog"
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
	archFlag := f.String("arch", arch.SimSiam, "model: simsiam (backbone + projector + predictor) or seed (backbone + predictor, the reference article's)")
	method := f.String("method", arch.MethodSimSiam, "training method: simsiam (predictor, stop-gradient, negative cosine) or simclr (--arch simsiam without its predictor, NT-Xent over the 2N views)")
	temperature := f.Float64("temperature", arch.DefaultTemperature, "simclr's NT-Xent temperature (> 0)")
	batch := f.Int("batch-size", 256, fmt.Sprintf("pairs per step, 2..%d", maxBatch))
	lr := f.Float64("lr", 0.2, fmt.Sprintf("base learning rate for batch 256 (scaled by batch-size/256), in (0, %d]", maxLR))
	mom := f.Float64("momentum", 0.9, "SGD momentum, in [0, 1)")
	wd := f.Float64("weight-decay", 1e-3, "SGD weight decay, added to every gradient as torch.optim.SGD does, in [0, 1)")
	warm := f.Float64("warmup-epochs", 0, "linear warm-up epochs before the cosine decay, at most the stream's epochs (0: none)")
	fixPred := f.Bool("fixed-predictor-lr", true, "keep the predictor at the peak learning rate (no decay)")
	seed := f.Uint64("seed", 0, "seed of the weight initialisation")
	predHidden := f.Int("pred-hidden", 0, fmt.Sprintf("predictor hidden width, 1..%d (0: %d)", maxWidth, arch.DefaultPredHidden))
	projDims := f.String("proj-dims", "", fmt.Sprintf("simsiam projector widths, comma-separated, each 1..%d (default %s)", maxWidth, arch.FormatSizes(arch.DefaultProjDims())))
	channels := f.String("channels", "", fmt.Sprintf("backbone conv widths, comma-separated, one per stage (a stride-2 conv, then --depth-1 stride-1 ones), each 1..%d (default %s)", maxWidth, arch.FormatSizes(arch.DefaultChannels())))
	depth := f.Int("depth", arch.DefaultDepth, fmt.Sprintf("backbone convolutions per stage, 1..%d: the stride-2 3x3 conv, then depth-1 stride-1 3x3 convs of the same width, each followed by ReLU and BatchNorm", arch.MaxDepth))
	saveEvery := f.Int("save-every", 10, fmt.Sprintf("checkpoint into --checkpoint-dir every N epochs, 0..%d (0: never)", maxEpochs))
	ckptDir := f.String("checkpoint-dir", "checkpoints", "`DIR` (or s3://bucket/prefix/) for periodic and interrupt checkpoints")
	resume := f.String("resume", "", "continue from checkpoint `CKPT` (feed the same pairs stream; its hyperparameters are used); a directory or an s3://bucket/prefix/ such as --checkpoint-dir: its checkpoint with the most steps")
	metrics := f.String("metrics", "", "append JSON lines of training metrics to `FILE` (an s3:// object is written when train ends)")
	logEvery := f.Int("log-every", 10, fmt.Sprintf("metrics every N steps, 1..%d", maxLogEvery))
	var mf monitorFlags
	f.StringVar(&mf.query, "monitor", "", "kNN monitor: score the backbone on the labelled images stream `FILE` (e.g. fetch --split test) after every --monitor-every epochs, into the metrics (field knn)")
	f.StringVar(&mf.bank, "monitor-bank", "", "the monitor's labelled bank: images stream `FILE` of training images (e.g. fetch --split train)")
	f.IntVar(&mf.bankSize, "monitor-bank-size", 10000, fmt.Sprintf("images of --monitor-bank in the bank, a fixed subset chosen by --seed, 0..%d (0: all)", maxMonitorBank))
	f.IntVar(&mf.every, "monitor-every", 1, fmt.Sprintf("epochs between monitor scores, 1..%d (the last epoch is always scored)", maxEpochs))
	return s.Run(args, stdin, stdout, stderr, func(ctx context.Context) (rerr error) {
		if !arch.Known(*archFlag) {
			return cli.Usagef("--arch %q: use %s or %s", *archFlag, arch.SimSiam, arch.Seed)
		}
		if err := checkMethodFlags(f, *resume != ""); err != nil {
			return err
		}
		if err := cli.FirstError(
			cli.Int("batch-size", *batch, 2, maxBatch),
			cli.Float("lr", *lr, cli.Positive(maxLR)),
			cli.Float("momentum", *mom, cli.Below(0, 1)),
			cli.Float("weight-decay", *wd, cli.Below(0, 1)),
			cli.Float("warmup-epochs", *warm, cli.Closed(0, maxEpochs), "0: none"),
			cli.Int("pred-hidden", *predHidden, 0, maxWidth, fmt.Sprintf("0: %d", arch.DefaultPredHidden)),
			cli.Int("depth", *depth, 1, arch.MaxDepth),
			cli.Int("save-every", *saveEvery, 0, maxEpochs, "0: never"),
			cli.Int("log-every", *logEvery, 1, maxLogEvery),
			checkMonitorFlags(mf),
		); err != nil {
			return err
		}
		pd, err := cli.IntList("proj-dims", *projDims, 1, maxWidth, maxBlocks)
		if err != nil {
			return err
		}
		if pd != nil && *archFlag == arch.Seed {
			return cli.Usagef("--proj-dims: the %s architecture has no projector (drop the flag, or use --arch %s)", arch.Seed, arch.SimSiam)
		}
		ch, err := cli.IntList("channels", *channels, 1, maxWidth, maxBlocks)
		if err != nil {
			return err
		}
		if fi, err := os.Stat(*ckptDir); err == nil && !fi.IsDir() {
			// found now, not at the first checkpoint an epoch later
			return cli.Usagef("--checkpoint-dir %s is not a directory", *ckptDir)
		}
		// Objects are found now too, not after training: a bucket that
		// does not exist, credentials that may not write.
		if err := cli.Probe(cli.JoinPath(*ckptDir, ".siampipe-probe")); err != nil {
			return cli.FileError("--checkpoint-dir", *ckptDir, err)
		}
		if err := cli.Probe(s.OutputPath()); err != nil {
			return cli.FileError("-o", s.OutputPath(), err)
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
		if *warm > float64(epochs) {
			return cli.Usagef("--warmup-epochs %v: more than the %d epochs of the pairs stream", *warm, epochs)
		}
		cfg := simsiam.TrainConfig{
			Model:     simsiam.Config{Arch: *archFlag, Method: *method, Height: r.Height(), Width: r.Width(), InChannels: r.Channels(), PredHidden: *predHidden, ProjDims: pd, Channels: ch, Depth: *depth},
			BatchSize: *batch, LR: *lr, Momentum: orNeg(*mom), WeightDecay: orNeg(*wd), WarmupEpochs: *warm,
			FixedPredictorLR: *fixPred, Seed: *seed, Epochs: epochs, RowsPerEpoch: rows, Temperature: *temperature,
		}
		var t *simsiam.Trainer
		if *resume != "" {
			var ckpt string
			if ckpt, err = resumePath(*resume, s.Logf); err != nil {
				return err
			}
			t, err = restore(ckpt, cfg, pairs, f, s.Logf)
		} else {
			t, err = simsiam.NewTrainer(cfg)
		}
		if err != nil {
			return flagHint(err)
		}
		defer t.Close()
		s.Logf("%s model%s (%s), %d epochs x %d steps of %d pairs, peak lr %.4g, BLAS %s, from step %d",
			t.Cfg.Model.Arch, depthDesc(t.Cfg.Model.Depth), methodDesc(t.Cfg), epochs, t.Cfg.StepsPerEpoch(), t.Cfg.BatchSize, t.Cfg.PeakLR(), nnops.BLASName(), t.Step)
		hooks := simsiam.Hooks{Save: func(reason string) error {
			name := fmt.Sprintf("step-%07d.arrows", t.Step)
			if reason == "epoch" {
				name = fmt.Sprintf("epoch-%04d.arrows", t.EpochsDone())
			}
			path := cli.JoinPath(*ckptDir, name)
			if err := save(path, t, pairs, s.WriterOptions()); err != nil {
				return err
			}
			s.Logf("checkpoint %s (%s, step %d)", path, reason, t.Step)
			return nil
		}}
		if *metrics != "" {
			if *resume != "" {
				n, err := cutMetrics(*metrics, t.Step)
				if err != nil {
					return err
				}
				if n > 0 {
					s.Logf("metrics %s: dropped %d lines after step %d, the checkpoint's", *metrics, n, t.Step)
				}
			}
			mf, err := cli.OpenLog(*metrics, *resume != "")
			if err != nil {
				return fmt.Errorf("metrics: %w", err)
			}
			// An s3:// log appears on Close: reported if it fails.
			defer func() {
				if cerr := mf.Close(); cerr != nil && rerr == nil {
					rerr = fmt.Errorf("metrics: %w", cerr)
				}
			}()
			hooks.Log = trainlog.NewEncoder(mf).Encode
		}
		hooks.Collapse = collapseWarning(stderr)
		rc := simsiam.RunConfig{SaveEvery: *saveEvery, LogEvery: *logEvery}
		if mf.query != "" {
			mf.seed = t.Cfg.Seed
			if hooks.Monitor, err = newMonitor(ctx, mf, t, s.Logf); err != nil {
				return err
			}
			rc.MonitorEvery = mf.every
		}
		p := s.Progress("train", int64(t.TotalSteps()-t.Step), "steps")
		hooks.Stepped = func() { p.Add(1) }
		err = t.Run(ctx, &source{r: r}, rc, hooks)
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

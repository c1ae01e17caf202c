package simsiam

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/siampipe/siampipe/internal/trainlog"
)

// Source yields the pairs of a stream in order, in chunks of any size.
type Source interface {
	// Next returns the next n pairs (each view n·H·W pixels, valid until the
	// next call); n == 0 means the end of the stream.
	Next() (n int, view1, view2 []uint8, err error)
}

// RunConfig says when Run checkpoints and logs.
type RunConfig struct {
	SaveEvery int // checkpoint every SaveEvery epochs; 0 never
	LogEvery  int // metrics every LogEvery steps; 0 means 10
	// MonitorEvery: Hooks.Monitor after every MonitorEvery-th epoch and
	// after the last; 0 never.
	MonitorEvery int
}

// Hooks are Run's side effects, all optional.
type Hooks struct {
	// Save writes a checkpoint of the trainer; reason is "epoch",
	// "interrupt" or "truncated".
	Save func(reason string) error
	// Log receives the metrics every LogEvery steps (ZStd is
	// Graph.ZStd).
	Log func(trainlog.Record) error
	// Stepped is called after every step (progress).
	Stepped func()
	// Monitor measures the model at the end of an epoch (the kNN
	// monitor); its result goes into that step's metrics line (KNN),
	// which is then written whatever LogEvery says. An error from it
	// saves a checkpoint ("truncated") and ends Run with that error.
	Monitor func(epoch int) (float64, error)
	// Collapse is called once per Run, after the first step whose z_std
	// (Graph.ZStd, taken after every step) is under threshold
	// (CollapseThreshold of the output's size).
	Collapse func(step int, zstd, threshold float64)
}

// CollapseFactor sets the collapse warning: z_std under
// CollapseFactor/sqrt(d), a tenth of the spread of outputs scattered over
// the sphere. For unit outputs u = a·c + b·v, a part c common to the batch
// and a part v spread evenly over the d dimensions, z_std is about
// b/sqrt(d): under the threshold, the part that differs between images holds
// under 1% of each output's squared length and any two outputs have a
// cosine of about 0.99 or more, so the loss can no longer tell images
// apart. z_std measures how far the outputs spread, not in how many
// directions: outputs confined to a few directions that are not coordinate
// axes keep it near 1/sqrt(d).
const CollapseFactor = 0.1

// CollapseThreshold is the z_std under which outputs of d dimensions count
// as collapsed: CollapseFactor/sqrt(d).
func CollapseThreshold(d int) float64 { return CollapseFactor / math.Sqrt(float64(d)) }

// ErrInterrupted is returned by Run when ctx was cancelled; the checkpoint
// has been saved by then.
var ErrInterrupted = errors.New("interrupted")

// TotalSteps is the length of the run.
func (t *Trainer) TotalSteps() int { return t.Cfg.Epochs * t.Cfg.StepsPerEpoch() }

// Run trains on src until the configured epochs are done, starting from
// t.Step: the pairs of the steps already done are skipped, so a run resumed
// from a checkpoint and fed the same stream continues exactly where it
// stopped. Each epoch's last partial batch is dropped. After a step, a
// cancelled ctx saves a checkpoint and returns ErrInterrupted; a stream that
// ends early or fails to read saves one too (when a step was done) before
// Run returns its error.
func (t *Trainer) Run(ctx context.Context, src Source, rc RunConfig, h Hooks) error {
	if rc.LogEvery <= 0 {
		rc.LogEvery = 10
	}
	save := func(reason string) error {
		if h.Save == nil {
			return nil
		}
		if err := h.Save(reason); err != nil {
			return fmt.Errorf("checkpoint at step %d: %w", t.Step, err)
		}
		return nil
	}
	B, R, spe := t.Cfg.BatchSize, t.Cfg.RowsPerEpoch, t.Cfg.StepsPerEpoch()
	px := t.Model.Cfg.InChannels * t.Model.Cfg.Height * t.Model.Cfg.Width
	total := t.TotalSteps()
	start := (t.Step/spe)*R + (t.Step%spe)*B
	buf1, buf2 := make([]uint8, B*px), make([]uint8, B*px)
	fill, pos := 0, 0
	var elapsed time.Duration
	sinceLog := 0
	first := t.Step
	threshold, warned := CollapseThreshold(t.Model.OutDim()), false
	for t.Step < total {
		n, v1, v2, err := src.Next()
		if err != nil {
			// A stream cut mid-record (augment killed, a disk error): keep
			// the steps done so far, as on an interrupt.
			if ctx.Err() != nil {
				if serr := save("interrupt"); serr != nil {
					return serr
				}
				return ErrInterrupted
			}
			if t.Step > first {
				if serr := save("truncated"); serr != nil {
					return fmt.Errorf("%w (and %w)", err, serr)
				}
			}
			return err
		}
		if n == 0 {
			break
		}
		if len(v1) < n*px || len(v2) < n*px {
			return fmt.Errorf("pairs chunk of %d rows has %d/%d pixels, want %d×%d", n, len(v1), len(v2), n, px)
		}
		for i := 0; i < n && t.Step < total; i++ {
			row := pos
			pos++
			if row < start || row%R >= spe*B {
				continue
			}
			copy(buf1[fill*px:(fill+1)*px], v1[i*px:(i+1)*px])
			copy(buf2[fill*px:(fill+1)*px], v2[i*px:(i+1)*px])
			fill++
			if fill < B {
				continue
			}
			fill = 0
			t0 := time.Now()
			res, err := t.TrainStep(buf1, buf2)
			if err != nil {
				return err
			}
			elapsed += time.Since(t0)
			sinceLog++
			if h.Stepped != nil {
				h.Stepped()
			}
			zstd := t.ZStd()
			if !warned && zstd < threshold {
				warned = true
				if h.Collapse != nil {
					h.Collapse(t.Step, zstd, threshold)
				}
			}
			var knn *float64
			if epoch := t.Step / spe; h.Monitor != nil && rc.MonitorEvery > 0 && t.Step%spe == 0 && (epoch%rc.MonitorEvery == 0 || t.Step == total) {
				switch acc, err := h.Monitor(epoch); {
				case err == nil:
					knn = &acc
				case ctx.Err() != nil: // interrupted: the checkpoint below matters, not the measurement
				default: // keep the steps done before giving up
					err = fmt.Errorf("monitor after epoch %d: %w", epoch, err)
					if serr := save("truncated"); serr != nil {
						return fmt.Errorf("%w (and %w)", err, serr)
					}
					return err
				}
			}
			if h.Log != nil && (t.Step%rc.LogEvery == 0 || t.Step == total || knn != nil) {
				ms := float64(elapsed.Microseconds()) / 1000 / float64(sinceLog)
				m := trainlog.Record{Epoch: (t.Step-1)/spe + 1, Step: t.Step, Loss: res.Loss, LR: res.LR, ZStd: zstd, StepMS: ms, ImagesPerS: float64(B) / (ms / 1000), KNN: knn}
				if err := h.Log(m); err != nil {
					return fmt.Errorf("metrics: %w", err)
				}
				elapsed, sinceLog = 0, 0
			}
			if t.Step%spe == 0 && rc.SaveEvery > 0 && (t.Step/spe)%rc.SaveEvery == 0 {
				if err := save("epoch"); err != nil {
					return err
				}
			}
			if ctx.Err() != nil {
				if err := save("interrupt"); err != nil {
					return err
				}
				return ErrInterrupted
			}
		}
	}
	if t.Step < total {
		if ctx.Err() != nil {
			if err := save("interrupt"); err != nil {
				return err
			}
			return ErrInterrupted
		}
		if err := save("truncated"); err != nil {
			return err
		}
		return fmt.Errorf("pairs stream ended after %d pairs at step %d of %d; its metadata promised %d epochs of %d (did augment fail?)", pos, t.Step, total, t.Cfg.Epochs, R)
	}
	return nil
}

package simsiam

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/siampipe/siampipe/internal/arch"
	"github.com/siampipe/siampipe/internal/optim"
)

// TrainConfig holds the hyperparameters of a training run. Zero values mean
// the documented defaults; for Momentum and WeightDecay a negative value
// means 0.
type TrainConfig struct {
	Model     Config
	BatchSize int     // pairs per step; 0 means 256
	LR        float64 // base learning rate for batch 256 (lr = LR·BatchSize/256); 0 means 0.2
	Momentum  float64 // 0 means 0.9
	// WeightDecay is added to the gradient of every parameter as
	// torch.optim.SGD does; 0 means 1e-3.
	// (0.2 and 1e-3 were chosen by kNN accuracy: bench/train.md.)
	WeightDecay  float64
	WarmupEpochs float64 // linear warm-up before the cosine; 0 means none
	// Temperature is NT-Xent's for Model.Method simclr: 0 means
	// arch.DefaultTemperature, else it must be positive and finite
	// (ErrTemperature). simsiam has none: WithDefaults sets it to 0.
	Temperature      float64
	FixedPredictorLR bool   // keep the predictor at the peak rate (no warm-up, no decay)
	Seed             uint64 // weight initialisation
	Epochs           int    // epochs in the pairs stream (length of the cosine)
	RowsPerEpoch     int    // pairs per epoch in the stream
}

// WithDefaults returns c with its zero values replaced by the defaults.
func (c TrainConfig) WithDefaults() TrainConfig {
	c.Model = c.Model.withDefaults()
	if c.Model.Method != arch.MethodSimCLR {
		c.Temperature = 0
	} else if c.Temperature == 0 {
		c.Temperature = arch.DefaultTemperature
	}
	if c.BatchSize == 0 {
		c.BatchSize = 256
	}
	if c.LR == 0 {
		c.LR = 0.2
	}
	if c.Momentum == 0 {
		c.Momentum = 0.9
	} else if c.Momentum < 0 {
		c.Momentum = 0
	}
	if c.WeightDecay == 0 {
		c.WeightDecay = 1e-3
	} else if c.WeightDecay < 0 {
		c.WeightDecay = 0
	}
	return c
}

// StepsPerEpoch is the number of full batches in an epoch (the last,
// partial batch of every epoch is dropped).
func (c TrainConfig) StepsPerEpoch() int { return c.RowsPerEpoch / c.BatchSize }

// PeakLR is LR scaled by BatchSize/256.
func (c TrainConfig) PeakLR() float64 { return c.LR * float64(c.BatchSize) / 256 }

// Trainer runs training steps: the graph, the parameters and the optimiser
// state.
type Trainer struct {
	Cfg   TrainConfig
	Model *Model
	// Step is the number of optimiser steps completed.
	Step  int
	g     *Graph
	sgd   optim.SGD
	sched optim.Schedule
	ws    [][]float32
	lrs   []float64
}

// NewTrainer initialises a model from cfg.Seed and compiles its step.
func NewTrainer(cfg TrainConfig) (*Trainer, error) {
	cfg = cfg.WithDefaults()
	m, err := New(cfg.Model, cfg.Seed)
	if err != nil {
		return nil, err
	}
	return newTrainer(cfg, m)
}

func newTrainer(cfg TrainConfig, m *Model) (*Trainer, error) {
	if cfg.Epochs <= 0 || cfg.RowsPerEpoch <= 0 {
		return nil, fmt.Errorf("simsiam: train: %d epochs of %d pairs: need both positive", cfg.Epochs, cfg.RowsPerEpoch)
	}
	if cfg.StepsPerEpoch() == 0 {
		return nil, fmt.Errorf("simsiam: train: %w", &EpochError{RowsPerEpoch: cfg.RowsPerEpoch, BatchSize: cfg.BatchSize})
	}
	g, err := m.NewGraph(cfg.BatchSize, cfg.Temperature)
	if err != nil {
		return nil, err
	}
	t := &Trainer{Cfg: cfg, Model: m, g: g}
	t.sgd = optim.SGD{Momentum: float32(cfg.Momentum), WeightDecay: float32(cfg.WeightDecay)}
	t.sched = optim.Schedule{BaseLR: cfg.PeakLR(), Epochs: cfg.Epochs, StepsPerEpoch: cfg.StepsPerEpoch(), WarmupEpochs: cfg.WarmupEpochs}
	for _, p := range g.Trainable() {
		t.ws = append(t.ws, p.Value)
	}
	t.lrs = make([]float64, len(t.ws))
	return t, nil
}

// Close releases the compiled graph.
func (t *Trainer) Close() { t.g.Close() }

// LR is the learning rate of the backbone at step (0-based).
func (t *Trainer) LR(step int) float64 { return t.sched.LR(step) }

// EpochsDone is the number of completed epochs.
func (t *Trainer) EpochsDone() int { return t.Step / t.Cfg.StepsPerEpoch() }

// StepResult describes one step.
type StepResult struct {
	Loss float64
	LR   float64
}

// ErrNonFinite is wrapped by TrainStep's error when the loss is NaN or Inf.
var ErrNonFinite = errors.New("loss is not finite")

// EpochError reports an epoch of fewer pairs than a batch: training would
// make no step.
type EpochError struct{ RowsPerEpoch, BatchSize int }

func (e *EpochError) Error() string {
	return fmt.Sprintf("an epoch has %d pairs, fewer than the batch size %d", e.RowsPerEpoch, e.BatchSize)
}

// TrainStep does one optimiser step on a batch of BatchSize pairs. A NaN or
// Inf loss returns an error wrapping ErrNonFinite and leaves the parameters
// and the optimiser untouched.
func (t *Trainer) TrainStep(view1, view2 []uint8) (StepResult, error) {
	loss, err := t.g.Run(view1, view2)
	if err != nil {
		return StepResult{}, err
	}
	if math.IsNaN(float64(loss)) || math.IsInf(float64(loss), 0) {
		return StepResult{Loss: float64(loss)}, fmt.Errorf("step %d: %w (%v)", t.Step+1, ErrNonFinite, loss)
	}
	lr := t.sched.LR(t.Step)
	for i, p := range t.g.Trainable() {
		t.lrs[i] = lr
		if p.Predictor && t.Cfg.FixedPredictorLR {
			t.lrs[i] = t.sched.BaseLR
		}
	}
	t.sgd.Step(t.ws, t.g.Grads, t.lrs)
	t.Step++
	return StepResult{Loss: float64(loss), LR: lr}, nil
}

// ZStd is the collapse monitor of the last step (see Graph.ZStd).
func (t *Trainer) ZStd() float64 { return t.g.ZStd() }

// optimPrefix and optimSuffix name the momentum buffers in a checkpoint.
const (
	optimPrefix = "optim."
	optimSuffix = ".momentum_buffer"
)

// Tensors returns the checkpoint content: every model tensor (weights and
// BatchNorm running statistics, PyTorch state_dict names) followed by the
// optimiser's momentum buffers, named "optim.<param>.momentum_buffer". The
// slices alias the trainer's state.
func (t *Trainer) Tensors() []Param {
	var out []Param
	for _, p := range t.Model.Params {
		out = append(out, *p)
	}
	for i, p := range t.g.Trainable() {
		if i < len(t.sgd.Velocity) && t.sgd.Velocity[i] != nil {
			out = append(out, Param{Name: optimPrefix + p.Name + optimSuffix, Shape: p.Shape, Value: t.sgd.Velocity[i]})
		}
	}
	return out
}

// ConfigFromTensors infers the configuration of a model of architecture
// archName trained with method ("" means simsiam) from a checkpoint's tensor
// names and shapes: the stages' widths from the shapes of
// backbone.conv<i>.weight, the depth from the names backbone.conv<i>_<j>
// (arch.ConvName), which every stage must have alike.
func ConfigFromTensors(archName, method string, ts []Param) (Config, error) {
	by := map[string]Param{}
	for _, p := range ts {
		by[p.Name] = p
	}
	cfg := Config{Arch: archName, Method: method}
	for i := 1; ; i++ {
		name := arch.ConvName(i, 1) + ".weight"
		w, ok := by[name]
		if !ok {
			break
		}
		if len(w.Shape) != 4 {
			return cfg, fmt.Errorf("simsiam: %s has shape %v, want 4 dimensions", name, w.Shape)
		}
		cfg.Channels = append(cfg.Channels, w.Shape[0])
		if i == 1 {
			cfg.InChannels = w.Shape[1]
		}
	}
	if len(cfg.Channels) == 0 {
		return cfg, fmt.Errorf("simsiam: checkpoint has no backbone.conv1.weight (is it a siampipe model?)")
	}
	has := func(i, j int) bool { _, ok := by[arch.ConvName(i, j)+".weight"]; return ok }
	cfg.Depth = 1
	for has(1, cfg.Depth+1) {
		cfg.Depth++
	}
	for i := 2; i <= len(cfg.Channels); i++ {
		d := 1
		for has(i, d+1) {
			d++
		}
		if d != cfg.Depth {
			return cfg, fmt.Errorf("simsiam: backbone stage %d has %d convolutions, stage 1 has %d (corrupt checkpoint?)", i, d, cfg.Depth)
		}
	}
	if method != arch.MethodSimCLR {
		fc1, ok := by["predictor.fc1.weight"]
		if !ok || len(fc1.Shape) != 2 {
			return cfg, fmt.Errorf("simsiam: checkpoint has no 2-D predictor.fc1.weight")
		}
		cfg.PredHidden = fc1.Shape[0]
	}
	if archName == arch.SimSiam {
		for i := 1; ; i++ {
			w, ok := by[fmt.Sprintf("projector.fc%d.weight", i)]
			if !ok {
				break
			}
			if len(w.Shape) != 2 {
				return cfg, fmt.Errorf("simsiam: projector.fc%d.weight has shape %v, want 2 dimensions", i, w.Shape)
			}
			cfg.ProjDims = append(cfg.ProjDims, w.Shape[0])
		}
	}
	return cfg, nil
}

// RestoreTrainer rebuilds a trainer from a checkpoint's tensors at step
// (optimiser steps completed). cfg.Model is inferred from the tensors when
// its Channels are nil. Every model tensor must be present with its shape;
// momentum buffers are required once step > 0.
func RestoreTrainer(cfg TrainConfig, ts []Param, step int) (*Trainer, error) {
	cfg = cfg.WithDefaults()
	m, err := New(cfg.Model, 0)
	if err != nil {
		return nil, err
	}
	by := map[string]Param{}
	for _, p := range ts {
		by[p.Name] = p
	}
	for _, p := range m.Params {
		src, ok := by[p.Name]
		if !ok {
			return nil, fmt.Errorf("simsiam: checkpoint lacks tensor %s", p.Name)
		}
		if len(src.Value) != len(p.Value) || !sameShape(src.Shape, p.Shape) {
			return nil, fmt.Errorf("simsiam: checkpoint tensor %s has shape %v, want %v", p.Name, src.Shape, p.Shape)
		}
		copy(p.Value, src.Value)
	}
	t, err := newTrainer(cfg, m)
	if err != nil {
		return nil, err
	}
	t.Step = step
	if step > 0 {
		t.sgd.Velocity = make([][]float32, len(t.ws))
		for i, p := range t.g.Trainable() {
			name := optimPrefix + p.Name + optimSuffix
			src, ok := by[name]
			if !ok {
				t.Close()
				return nil, fmt.Errorf("simsiam: checkpoint at step %d lacks optimiser state %s", step, name)
			}
			if len(src.Value) != len(p.Value) {
				t.Close()
				return nil, fmt.Errorf("simsiam: checkpoint tensor %s has %d values, want %d", name, len(src.Value), len(p.Value))
			}
			t.sgd.Velocity[i] = append([]float32(nil), src.Value...)
		}
	}
	for _, p := range ts {
		if _, ok := m.byName[p.Name]; !ok && !strings.HasPrefix(p.Name, optimPrefix) {
			t.Close()
			return nil, fmt.Errorf("simsiam: checkpoint has unexpected tensor %s (architecture %s, depth %d)", p.Name, cfg.Model.Arch, cfg.Model.Depth)
		}
	}
	return t, nil
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Package checkpoint reads and writes siampipe's model checkpoints: a
// typed Header (architecture, progress, input shape, every training
// hyperparameter, the BatchNorm constants and the identity of the pairs
// stream trained on) over the model stream of internal/contract, which owns
// the Arrow schema and the metadata key names.
//
// Write records every field; Read parses whatever a file records, so
// checkpoints written before a field existed still read: the keys they lack
// are listed in Header.Absent and their fields keep their zero value (input
// channels: 1, the only images there were; training method: simsiam, the
// only one there was).
//
// The one exception is the backbone's depth, recorded only when it is not
// 1: a depth-1 checkpoint has the bytes it had before depth existed, and a
// file without the key, of any version, has depth 1.
package checkpoint

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"

	"github.com/siampipe/siampipe/internal/arch"
	"github.com/siampipe/siampipe/internal/contract"
)

// ErrHeader is wrapped by Read's error when a header field does not parse,
// and by Write's when a header cannot describe a trained model.
var ErrHeader = errors.New("bad checkpoint header")

// Checkpoint is a model checkpoint: its header and its tensors (PyTorch
// state_dict names and layouts, then the optimiser's "optim.*" buffers).
type Checkpoint struct {
	Header
	Tensors []contract.Tensor
}

// Header is what a checkpoint records besides its tensors.
type Header struct {
	Arch string // arch.Seed or arch.SimSiam
	// Depth is the backbone's convolutions per stage, 1..arch.MaxDepth
	// (siampipe.depth); Read gives 1 for a file without the key, and Write
	// takes 0 for 1.
	Depth int
	Epoch int    // epochs completed
	Step  int    // optimiser steps completed
	Seed  uint64 // seed of the weight initialisation
	Input Input
	Train Train
	BN    BN
	Pairs Pairs
	// Stage and Version name the program that wrote the checkpoint
	// (siampipe.stage, siampipe.version).
	Stage, Version string
	// Absent lists, sorted, the metadata keys of the full format that the
	// file lacks (checkpoints of older versions, or written by other
	// tools); nil for a checkpoint written by Write. Write ignores it.
	// contract.MetaDepth is never listed: its absence records depth 1.
	Absent []string
}

// Input is the shape and scaling of the images the model takes.
type Input struct {
	Height, Width int
	Channels      int    // 1 for grey images
	Scaling       string // how pixels enter the model: arch.Input
}

// Train holds the training hyperparameters (the schedule's length is the
// pairs stream's: Pairs.Epochs and Pairs.RowsPerEpoch) and what the
// trainer derived from them.
type Train struct {
	BatchSize        int     // pairs per step
	LR               float64 // base learning rate for batch 256
	Momentum         float64 // SGD momentum
	WeightDecay      float64 // SGD weight decay
	WarmupEpochs     float64 // linear warm-up before the cosine
	FixedPredictorLR bool    // the predictor stays at the peak rate
	// Method is how the model was trained: arch.MethodSimSiam or
	// arch.MethodSimCLR (which takes the arch.SimSiam architecture).
	Method string
	// Temperature is simclr's NT-Xent temperature, positive; 0 for simsiam.
	Temperature float64

	PeakLR        float64 // the learning rate LR scales to for BatchSize
	StepsPerEpoch int     // full batches in an epoch
}

// BN holds the BatchNorm constants the model was trained with.
type BN struct {
	Momentum float64 // weight of the batch statistics in the running averages
	Eps      float64 // added to the variance
}

// field ties a header field to its metadata key. A field with an implicit
// value is not written when it has that value, and takes it when the key
// is absent.
type field struct {
	key      string
	get      func(*Header) string
	set      func(*Header, string) error
	implicit string
}

func str(key string, p func(*Header) *string) field {
	return field{key, func(h *Header) string { return *p(h) }, func(h *Header, v string) error { *p(h) = v; return nil }, ""}
}

func num(key string, p func(*Header) *int) field {
	return field{key, func(h *Header) string { return strconv.Itoa(*p(h)) }, func(h *Header, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return errors.New("not a count")
		}
		*p(h) = n
		return nil
	}, ""}
}

func flt(key string, p func(*Header) *float64) field {
	return field{key, func(h *Header) string { return strconv.FormatFloat(*p(h), 'g', -1, 64) }, func(h *Header, v string) error {
		x, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return errors.New("not a number")
		}
		*p(h) = x
		return nil
	}, ""}
}

func u64(key string, p func(*Header) *uint64) field {
	return field{key, func(h *Header) string { return strconv.FormatUint(*p(h), 10) }, func(h *Header, v string) error {
		x, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return errors.New("not an unsigned integer")
		}
		*p(h) = x
		return nil
	}, ""}
}

func boolean(key string, p func(*Header) *bool) field {
	return field{key, func(h *Header) string { return strconv.FormatBool(*p(h)) }, func(h *Header, v string) error {
		x, err := strconv.ParseBool(v)
		if err != nil {
			return errors.New("not true or false")
		}
		*p(h) = x
		return nil
	}, ""}
}

// depthField is Header.Depth: written only above 1 (0 means 1), and a
// count of at least 1 when read.
var depthField = field{contract.MetaDepth,
	func(h *Header) string { return strconv.Itoa(max(h.Depth, 1)) },
	func(h *Header, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return errors.New("not a depth (1 or more)")
		}
		h.Depth = n
		return nil
	}, "1"}

// fields are the header's fields in the file, one metadata key each.
var fields = func() []field {
	fs := []field{
		str(contract.MetaArch, func(h *Header) *string { return &h.Arch }),
		depthField,
		num(contract.MetaEpoch, func(h *Header) *int { return &h.Epoch }),
		num(contract.MetaStep, func(h *Header) *int { return &h.Step }),
		u64(contract.MetaSeed, func(h *Header) *uint64 { return &h.Seed }),
		num(contract.MetaHeight, func(h *Header) *int { return &h.Input.Height }),
		num(contract.MetaWidth, func(h *Header) *int { return &h.Input.Width }),
		num(contract.MetaChannels, func(h *Header) *int { return &h.Input.Channels }),
		str(contract.MetaTrainInput, func(h *Header) *string { return &h.Input.Scaling }),
		num(contract.MetaTrainBatchSize, func(h *Header) *int { return &h.Train.BatchSize }),
		flt(contract.MetaTrainLR, func(h *Header) *float64 { return &h.Train.LR }),
		flt(contract.MetaTrainMomentum, func(h *Header) *float64 { return &h.Train.Momentum }),
		flt(contract.MetaTrainWeightDecay, func(h *Header) *float64 { return &h.Train.WeightDecay }),
		flt(contract.MetaTrainWarmupEpochs, func(h *Header) *float64 { return &h.Train.WarmupEpochs }),
		boolean(contract.MetaTrainFixedPredLR, func(h *Header) *bool { return &h.Train.FixedPredictorLR }),
		str(contract.MetaTrainMethod, func(h *Header) *string { return &h.Train.Method }),
		flt(contract.MetaTrainTemperature, func(h *Header) *float64 { return &h.Train.Temperature }),
		flt(contract.MetaTrainPeakLR, func(h *Header) *float64 { return &h.Train.PeakLR }),
		num(contract.MetaTrainStepsPerEpoch, func(h *Header) *int { return &h.Train.StepsPerEpoch }),
		flt(contract.MetaTrainBNMomentum, func(h *Header) *float64 { return &h.BN.Momentum }),
		flt(contract.MetaTrainBNEps, func(h *Header) *float64 { return &h.BN.Eps }),
		num(contract.MetaTrainEpochs, func(h *Header) *int { return &h.Pairs.Epochs }),
		num(contract.MetaTrainRowsPerEpoch, func(h *Header) *int { return &h.Pairs.RowsPerEpoch }),
		str(contract.MetaStage, func(h *Header) *string { return &h.Stage }),
		str(contract.MetaVersion, func(h *Header) *string { return &h.Version }),
	}
	for _, pf := range pairsFields {
		fs = append(fs, str(pf.ckpt, func(h *Header) *string { return pf.of(&h.Pairs) }))
	}
	return fs
}()

// check reports why a header cannot describe a trained model.
func (h *Header) check() error {
	switch {
	case !arch.Known(h.Arch):
		return fmt.Errorf("%w: architecture %q (want %s or %s)", ErrHeader, h.Arch, arch.Seed, arch.SimSiam)
	case h.Depth < 0 || h.Depth > arch.MaxDepth:
		return fmt.Errorf("%w: depth %d: want 1..%d convolutions per stage", ErrHeader, h.Depth, arch.MaxDepth)
	case !arch.KnownMethod(h.Train.Method):
		return fmt.Errorf("%w: training method %q (want %s or %s)", ErrHeader, h.Train.Method, arch.MethodSimSiam, arch.MethodSimCLR)
	case h.Train.Method == arch.MethodSimCLR && h.Arch != arch.SimSiam:
		return fmt.Errorf("%w: method %s on architecture %s (simclr needs the %s architecture's projector)", ErrHeader, h.Train.Method, h.Arch, arch.SimSiam)
	case h.Train.Method == arch.MethodSimCLR && (!(h.Train.Temperature > 0) || math.IsInf(h.Train.Temperature, 0)):
		return fmt.Errorf("%w: simclr temperature %v: want a positive finite number", ErrHeader, h.Train.Temperature)
	case h.Train.Method == arch.MethodSimSiam && h.Train.Temperature != 0:
		return fmt.Errorf("%w: simsiam temperature %v: simsiam has none, want 0", ErrHeader, h.Train.Temperature)
	case h.Epoch < 0 || h.Step < 0:
		return fmt.Errorf("%w: epoch %d, step %d: want counts", ErrHeader, h.Epoch, h.Step)
	case h.Input.Height < 1 || h.Input.Width < 1 || h.Input.Channels < 1:
		return fmt.Errorf("%w: input %dx%dx%d: want positive sizes", ErrHeader, h.Input.Height, h.Input.Width, h.Input.Channels)
	case h.Train.BatchSize < 1:
		return fmt.Errorf("%w: batch size %d", ErrHeader, h.Train.BatchSize)
	case h.Pairs.Epochs < 1 || h.Pairs.RowsPerEpoch < 1:
		return fmt.Errorf("%w: %d epochs of %d pairs: want both positive", ErrHeader, h.Pairs.Epochs, h.Pairs.RowsPerEpoch)
	}
	return nil
}

// CheckTraining reports, wrapping ErrHeader, hyperparameters that training
// cannot resume with: a learning rate that is not positive and finite, a
// momentum outside [0, 1), a weight decay or warm-up that is negative or
// not finite, a batch of fewer than 2 pairs, BatchNorm constants out of
// range (when recorded). Read does not check them, since embed needs none
// of them.
func (h Header) CheckTraining() error {
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	switch t := h.Train; {
	case !(t.LR > 0) || !finite(t.LR):
		return fmt.Errorf("%w: learning rate %v: want a positive finite number", ErrHeader, t.LR)
	case !(t.Momentum >= 0 && t.Momentum < 1):
		return fmt.Errorf("%w: momentum %v: want [0, 1)", ErrHeader, t.Momentum)
	case !(t.WeightDecay >= 0) || !finite(t.WeightDecay):
		return fmt.Errorf("%w: weight decay %v: want a finite number >= 0", ErrHeader, t.WeightDecay)
	case !(t.WarmupEpochs >= 0) || !finite(t.WarmupEpochs):
		return fmt.Errorf("%w: warm-up %v epochs: want a finite number >= 0", ErrHeader, t.WarmupEpochs)
	case t.BatchSize < 2:
		return fmt.Errorf("%w: batch size %d: want at least 2", ErrHeader, t.BatchSize)
	case h.Has(contract.MetaTrainBNEps) && (!(h.BN.Eps > 0) || !finite(h.BN.Eps)),
		h.Has(contract.MetaTrainBNMomentum) && !(h.BN.Momentum >= 0 && h.BN.Momentum <= 1):
		return fmt.Errorf("%w: BatchNorm eps %v, momentum %v", ErrHeader, h.BN.Eps, h.BN.Momentum)
	}
	return nil
}

// meta returns the metadata that records h (every field but one at its
// implicit value; Absent is not recorded).
func (h Header) meta() contract.Meta {
	m := contract.Meta{}
	for _, fl := range fields {
		if v := fl.get(&h); fl.implicit == "" || v != fl.implicit {
			m[fl.key] = v
		}
	}
	return m
}

// Write writes c to w as a model stream. It refuses (ErrHeader) a header
// without a known architecture and training method that fit each other (a
// positive finite temperature for simclr, 0 for simsiam), a depth in
// 0..arch.MaxDepth (0 is 1), positive input
// sizes, batch size, epochs and rows per epoch, or a checkpoint without
// tensors.
func Write(w io.Writer, c Checkpoint, opt contract.Options) error {
	if err := c.check(); err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	if len(c.Tensors) == 0 {
		return fmt.Errorf("write checkpoint: %w: no tensors", ErrHeader)
	}
	if err := contract.WriteModel(w, c.Header.meta(), c.Tensors, opt); err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	return nil
}

// Read reads a checkpoint from r. A key the file lacks leaves its field at
// the zero value (input channels at 1; depth 1, not listed: see
// Header.Absent) and is listed in Header.Absent; a
// key that does not parse is an error wrapping ErrHeader and naming it.
// Errors of the model stream itself are contract's (contract.ErrWrongKind,
// contract.ErrNotArrow, ...).
func Read(r io.Reader) (Checkpoint, error) {
	meta, ts, err := contract.ReadModel(r)
	if err != nil {
		return Checkpoint{}, err
	}
	h, err := headerOf(meta)
	if err != nil {
		return Checkpoint{}, err
	}
	return Checkpoint{Header: h, Tensors: ts}, nil
}

// headerOf parses a checkpoint's metadata, as Read does.
func headerOf(meta contract.Meta) (Header, error) {
	var h Header
	for _, fl := range fields {
		v, ok := meta[fl.key]
		if !ok && fl.implicit != "" {
			v, ok = fl.implicit, true
		}
		if !ok {
			h.Absent = append(h.Absent, fl.key)
			continue
		}
		if err := fl.set(&h, v); err != nil {
			return Header{}, fmt.Errorf("%w: %s=%q: %v", ErrHeader, fl.key, v, err)
		}
	}
	slices.Sort(h.Absent)
	if !h.Has(contract.MetaChannels) {
		h.Input.Channels = arch.DefaultInChannels
	}
	if !h.Has(contract.MetaTrainMethod) {
		h.Train.Method = arch.MethodSimSiam
	}
	return h, nil
}

// Has reports whether the checkpoint recorded the metadata key.
func (h Header) Has(key string) bool {
	_, missing := slices.BinarySearch(h.Absent, key)
	return !missing
}

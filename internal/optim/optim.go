// Package optim is SGD with momentum and weight decay as torch.optim.SGD
// computes it, and the learning-rate schedule of SimSiam (linear warm-up,
// cosine decay, optionally a fixed rate for the predictor).
package optim

import (
	"math"

	"github.com/siampipe/siampipe/internal/par"
)

// SGD is torch.optim.SGD with dampening 0 and no Nesterov:
//
//	d = g + wd·w;  v = μ·v + d (v = d on the first step);  w = w − lr·v
//
// Weight decay is added to the gradient, so it reaches the weights through
// the velocity as in PyTorch (gorgonia's Momentum solver differs).
type SGD struct {
	Momentum    float32
	WeightDecay float32
	// Velocity holds one buffer per parameter; nil entries are created on
	// the first step. It is the state a checkpoint must keep.
	Velocity [][]float32
}

// Step updates params in place from grads with one learning rate per
// parameter. It panics if the slices' lengths differ.
func (s *SGD) Step(params, grads [][]float32, lr []float64) {
	if len(s.Velocity) < len(params) {
		s.Velocity = append(s.Velocity, make([][]float32, len(params)-len(s.Velocity))...)
	}
	// The update is element by element, so it runs on all cores in blocks
	// of one parameter; the bytes are the same whichever core runs a block.
	type block struct{ i, lo, hi int }
	var blocks []block
	first := make([]bool, len(params))
	for i, w := range params {
		if s.Velocity[i] == nil {
			s.Velocity[i], first[i] = make([]float32, len(w)), true
		}
		for lo := 0; lo < len(w); lo += stepBlock {
			blocks = append(blocks, block{i, lo, min(lo+stepBlock, len(w))})
		}
	}
	mu, wd := s.Momentum, s.WeightDecay
	par.For(len(blocks), func(b int) {
		i, lo, hi := blocks[b].i, blocks[b].lo, blocks[b].hi
		w, g, v := params[i][lo:hi], grads[i][lo:hi], s.Velocity[i][lo:hi]
		a := float32(-lr[i])
		for j, x := range w {
			d := g[j] + wd*x
			if first[i] || mu == 0 {
				v[j] = d
			} else {
				v[j] = v[j]*mu + d
			}
			w[j] = x + a*v[j]
		}
	})
}

// stepBlock is the number of elements of a parameter that one core updates
// at a time.
const stepBlock = 1 << 15

// Schedule is the learning rate as a function of the step.
type Schedule struct {
	BaseLR        float64 // peak rate (already scaled by batch/256)
	Epochs        int     // length of the cosine
	StepsPerEpoch int
	WarmupEpochs  float64 // linear ramp from BaseLR/warm-up steps to BaseLR
}

// LR is the rate for step (0-based): a linear warm-up over WarmupEpochs,
// then a cosine from BaseLR to 0 at the end of Epochs, evaluated per step.
func (s Schedule) LR(step int) float64 {
	total := float64(s.Epochs * s.StepsPerEpoch)
	warm := s.WarmupEpochs * float64(s.StepsPerEpoch)
	t := float64(step)
	if t < warm {
		// min: a warm-up that is not a whole number of steps (or shorter
		// than one) never takes the rate above BaseLR.
		return s.BaseLR * math.Min(1, (t+1)/warm)
	}
	if total <= warm {
		return s.BaseLR
	}
	return s.BaseLR * 0.5 * (1 + math.Cos(math.Pi*(t-warm)/(total-warm)))
}

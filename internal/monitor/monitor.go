// Package monitor measures a representation while it trains, as lightly
// and solo-learn do: the weighted kNN accuracy (internal/knn: cosine
// similarity, k nearest, votes exp(sim/t)) of the backbone features of a
// labelled query set (the test split, say) against a labelled bank (a
// fixed, seeded subset of the training images), both embedded with the
// model's current weights and BatchNorm running statistics
// (internal/infer, as stages/embed computes them).
//
// The result depends only on the weights, the two sets and the kNN
// settings: not on the number of cores.
package monitor

import (
	"context"
	"errors"
	"fmt"
	"runtime"

	"github.com/siampipe/siampipe/internal/contract"
	"github.com/siampipe/siampipe/internal/infer"
	"github.com/siampipe/siampipe/internal/knn"
	"github.com/siampipe/siampipe/internal/splitmix"
)

// Set is a labelled set of Channels×Height×Width images (CHW, one byte per
// sample; Channels 0 means 1).
type Set struct {
	Channels      int
	Height, Width int
	Pixels        []uint8 // N·Channels·Height·Width
	Labels        []uint8 // N
}

// imageLen is the bytes of one image.
func (s Set) imageLen() int { return max(1, s.Channels) * s.Height * s.Width }

// Len returns the number of images.
func (s Set) Len() int { return len(s.Labels) }

// Errors of New, for errors.Is.
var (
	// ErrEmpty: a set has no images.
	ErrEmpty = errors.New("monitor: a set has no images")
	// ErrSize: the sets' image sizes differ, or pixels and labels disagree.
	ErrSize = errors.New("monitor: image sizes differ")
)

// Subset returns n images of s chosen by seed (all of them, in order, when
// n is 0 or at least s.Len()): the first n of a seeded Fisher–Yates
// shuffle, kept in their order in s. The pixels are copied.
func Subset(s Set, n int, seed uint64) Set {
	if n <= 0 || n >= s.Len() {
		return s
	}
	perm := make([]int, s.Len())
	for i := range perm {
		perm[i] = i
	}
	rng := splitmix.Stream{S: seed}
	for i := len(perm) - 1; i > 0; i-- {
		j := int(rng.Next() % uint64(i+1))
		perm[i], perm[j] = perm[j], perm[i]
	}
	keep := make([]bool, s.Len())
	for _, i := range perm[:n] {
		keep[i] = true
	}
	px := s.imageLen()
	out := Set{Channels: s.Channels, Height: s.Height, Width: s.Width, Pixels: make([]uint8, 0, n*px), Labels: make([]uint8, 0, n)}
	for i, k := range keep {
		if k {
			out.Pixels = append(out.Pixels, s.Pixels[i*px:(i+1)*px]...)
			out.Labels = append(out.Labels, s.Labels[i])
		}
	}
	return out
}

// Monitor evaluates models against one bank and one query set.
type Monitor struct {
	bank, query Set
	cfg         knn.Config
	workers     int
}

// New returns a monitor of query against bank with the kNN settings cfg
// (zero: k 200, t 0.1). Both sets must hold images of one size.
func New(bank, query Set, cfg knn.Config) (*Monitor, error) {
	for _, s := range []Set{bank, query} {
		if s.Len() == 0 {
			return nil, ErrEmpty
		}
		if s.Height <= 0 || s.Width <= 0 || len(s.Pixels) != s.Len()*s.imageLen() {
			return nil, fmt.Errorf("%w: %d pixels for %d images of %dx%dx%d", ErrSize, len(s.Pixels), s.Len(), max(1, s.Channels), s.Height, s.Width)
		}
	}
	if bank.imageLen() != query.imageLen() || bank.Height != query.Height || bank.Width != query.Width {
		return nil, fmt.Errorf("%w: bank %dx%dx%d, query %dx%dx%d", ErrSize, max(1, bank.Channels), bank.Height, bank.Width, max(1, query.Channels), query.Height, query.Width)
	}
	return &Monitor{bank: bank, query: query, cfg: cfg, workers: runtime.GOMAXPROCS(0)}, nil
}

// Sizes returns the number of bank and query images.
func (m *Monitor) Sizes() (bank, query int) { return m.bank.Len(), m.query.Len() }

// KNN embeds both sets with the backbone of the model (architecture
// archName, its tensors as a checkpoint holds them) and returns the top-1
// accuracy of the weighted kNN vote of each query image among the bank.
func (m *Monitor) KNN(ctx context.Context, archName string, tensors []contract.Tensor) (float64, error) {
	model, err := infer.New(archName, tensors, m.bank.Height, m.bank.Width, infer.Backbone)
	if err != nil {
		return 0, fmt.Errorf("monitor: %w", err)
	}
	bank, err := m.embed(ctx, model, m.bank)
	if err != nil {
		return 0, err
	}
	query, err := m.embed(ctx, model, m.query)
	if err != nil {
		return 0, err
	}
	dim := model.Dim()
	cl, err := knn.Fit(bank, m.bank.Len(), dim, m.bank.Labels, m.cfg)
	if err != nil {
		return 0, fmt.Errorf("monitor: %w", err)
	}
	pred, err := cl.Predict(ctx, query, m.query.Len())
	if err != nil {
		return 0, fmt.Errorf("monitor: %w", err)
	}
	right := 0
	for i, c := range pred.Class {
		if c == m.query.Labels[i] {
			right++
		}
	}
	return float64(right) / float64(m.query.Len()), nil
}

// embedBatch is the number of images per inference batch.
const embedBatch = 256

// embed returns the backbone features of s, row-major.
func (m *Monitor) embed(ctx context.Context, model *infer.Model, s Set) ([]float32, error) {
	px, dim := s.imageLen(), model.Dim()
	out := make([]float32, 0, s.Len()*dim)
	next := 0
	fill := func(b *infer.Batch) (bool, error) {
		if next >= s.Len() {
			return false, nil
		}
		n := min(embedBatch, s.Len()-next)
		b.N = n
		b.Pixels = append(b.Pixels, s.Pixels[next*px:(next+n)*px]...)
		next += n
		return true, nil
	}
	emit := func(b *infer.Batch) error {
		out = append(out, b.Out[:b.N*dim]...)
		return nil
	}
	if err := model.Run(ctx, m.workers, fill, emit); err != nil {
		return nil, fmt.Errorf("monitor: embed: %w", err)
	}
	return out, nil
}

// Package knn is the weighted k-nearest-neighbour classifier used as the
// standard monitor of self-supervised representations (Wu et al., 2018,
// "Unsupervised Feature Learning via Non-Parametric Instance Discrimination"):
// features are l2-normalised, every test feature is compared with every train
// feature by cosine similarity, the k most similar train features vote for
// their class with weight exp(sim/t), and the class with the largest summed
// weight wins.
//
// Similarities are computed block by block as a single-precision matrix
// product, tiled for the cache, on all cores: by an AVX-512 (4 test x 4
// train rows per call) or AVX2/FMA (3 x 4) micro-kernel where the CPU has
// one, else by gonum's blas32 dot products. The top-k selection of each block runs on all cores
// too. Results do not depend on the number of cores or the block size.
package knn

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"

	"gonum.org/v1/gonum/blas/blas32"
)

// Defaults for the zero values of Config.
const (
	DefaultK         = 200
	DefaultT         = 0.1
	DefaultBlockRows = 256
)

// Config sets the classifier. Its zero value means the documented defaults.
type Config struct {
	// K is the number of neighbours that vote; 0 means DefaultK (200). A K
	// larger than the number of train rows uses all of them.
	K int
	// T is the temperature of the vote weights exp(sim/T); 0 means DefaultT (0.1).
	T float64
	// Classes is the number of classes; 0 means the largest train label + 1.
	Classes int
	// BlockRows is the number of test rows per matrix product; 0 means
	// DefaultBlockRows. It sets memory use (BlockRows x train rows float32)
	// and speed, never results.
	BlockRows int
	// Progress, if set, is called after each block with the number of test
	// rows done so far.
	Progress func(done int)
}

func (c Config) withDefaults() Config {
	if c.K == 0 {
		c.K = DefaultK
	}
	if c.T == 0 {
		c.T = DefaultT
	}
	if c.BlockRows == 0 {
		c.BlockRows = DefaultBlockRows
	}
	return c
}

// Model is a fitted classifier: a copy of the l2-normalised train features
// and their labels.
type Model struct {
	cfg     Config
	rows    int
	dim     int
	stride  int       // floats per row of feats: dim rounded up to a multiple of the kernel's lanes
	kern    *kernel   // nil: portable path
	feats   []float32 // rows rounded up to a multiple of 4, zero padded
	labels  []uint8
	classes int
}

// ErrShape reports matrices whose sizes do not agree.
var ErrShape = errors.New("knn: shape mismatch")

// Fit returns a model over train, a row-major rows x dim matrix with one label
// per row. train is copied and not modified.
func Fit(train []float32, rows, dim int, labels []uint8, cfg Config) (*Model, error) {
	cfg = cfg.withDefaults()
	switch {
	case rows <= 0 || dim <= 0:
		return nil, fmt.Errorf("%w: train is %d x %d, need at least one row and one column", ErrShape, rows, dim)
	case len(train) != rows*dim:
		return nil, fmt.Errorf("%w: train has %d values, want %d x %d", ErrShape, len(train), rows, dim)
	case len(labels) != rows:
		return nil, fmt.Errorf("%w: %d labels for %d train rows", ErrShape, len(labels), rows)
	case cfg.K < 0:
		return nil, fmt.Errorf("knn: k must be positive, got %d", cfg.K)
	case !(cfg.T > 0) || math.IsInf(cfg.T, 0):
		return nil, fmt.Errorf("knn: temperature must be a positive number, got %v", cfg.T)
	case cfg.BlockRows < 0:
		return nil, fmt.Errorf("knn: block rows must be positive, got %d", cfg.BlockRows)
	}
	classes := cfg.Classes
	if classes == 0 {
		for _, l := range labels {
			if int(l)+1 > classes {
				classes = int(l) + 1
			}
		}
	}
	for i, l := range labels {
		if int(l) >= classes {
			return nil, fmt.Errorf("knn: train row %d has label %d, but there are only %d classes", i, l, classes)
		}
	}
	if err := checkFinite(train, dim, "train"); err != nil {
		return nil, err
	}
	kern, stride := first(kernels()), padTo(dim, 8)
	if kern != nil {
		stride = padTo(dim, kern.lanes)
	}
	feats := make([]float32, padTo(rows, 4)*stride)
	for i := 0; i < rows; i++ {
		r := feats[i*stride : i*stride+dim]
		copy(r, train[i*dim:(i+1)*dim])
		Normalize(r, 1, dim)
	}
	return &Model{cfg: cfg, rows: rows, dim: dim, stride: stride, kern: kern, feats: feats, labels: append([]uint8(nil), labels...), classes: classes}, nil
}

// checkFinite reports the first row of x holding a NaN or an infinity.
func checkFinite(x []float32, dim int, what string) error {
	for i, v := range x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("knn: %s row %d holds %v; features must be finite", what, i/dim, v)
		}
	}
	return nil
}

// Classes is the number of classes the model votes over.
func (m *Model) Classes() int { return m.classes }

// Normalize scales each row of the row-major rows x dim matrix x to unit l2
// norm in place. Rows of zeros stay zero.
func Normalize(x []float32, rows, dim int) {
	for i := 0; i < rows; i++ {
		r := x[i*dim : (i+1)*dim]
		var s float64
		for _, v := range r {
			s += float64(v) * float64(v)
		}
		if s == 0 {
			continue
		}
		inv := float32(1 / math.Sqrt(s))
		for j := range r {
			r[j] *= inv
		}
	}
}

// Prediction is the outcome of classifying test rows.
type Prediction struct {
	// Class is the predicted class of each test row: the class with the
	// largest summed weight, the smallest class index among equal sums.
	Class []uint8
	// Scores holds rows x classes summed vote weights, row-major, each row
	// divided by its total so that it sums to 1.
	Scores []float64
}

// Neighbor is one train row among the k nearest of a test row.
type Neighbor struct {
	Index int     // train row
	Sim   float32 // cosine similarity
}

// Predict classifies the row-major rows x dim matrix test. It returns
// ctx.Err() if ctx is cancelled between blocks.
func (m *Model) Predict(ctx context.Context, test []float32, rows int) (*Prediction, error) {
	if rows < 0 || len(test) != rows*m.dim {
		return nil, fmt.Errorf("%w: test has %d values, want %d rows x %d (the train dimension)", ErrShape, len(test), rows, m.dim)
	}
	if err := checkFinite(test, m.dim, "test"); err != nil {
		return nil, err
	}
	k := min(m.cfg.K, m.rows)
	p := &Prediction{Class: make([]uint8, rows), Scores: make([]float64, rows*m.classes)}
	err := m.each(ctx, test, rows, k, func(row int, nb []Neighbor) {
		scores := p.Scores[row*m.classes : (row+1)*m.classes]
		p.Class[row] = m.vote(nb, scores)
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Neighbors returns, for each test row, its k nearest train rows ordered by
// decreasing similarity, the smaller train index first among equal
// similarities.
func (m *Model) Neighbors(ctx context.Context, test []float32, rows int) ([][]Neighbor, error) {
	if rows < 0 || len(test) != rows*m.dim {
		return nil, fmt.Errorf("%w: test has %d values, want %d rows x %d (the train dimension)", ErrShape, len(test), rows, m.dim)
	}
	if err := checkFinite(test, m.dim, "test"); err != nil {
		return nil, err
	}
	k := min(m.cfg.K, m.rows)
	out := make([][]Neighbor, rows)
	err := m.each(ctx, test, rows, k, func(row int, nb []Neighbor) {
		out[row] = append([]Neighbor(nil), nb...)
	})
	return out, err
}

// vote fills scores with the normalised class weights of nb and returns the winner.
func (m *Model) vote(nb []Neighbor, scores []float64) uint8 {
	for i := range scores {
		scores[i] = 0
	}
	inv := 1 / m.cfg.T
	// Subtracting the largest similarity keeps exp in range for any t; it
	// scales all weights by one factor, so the vote is unchanged.
	top := float64(nb[0].Sim)
	var total float64
	for _, n := range nb {
		w := math.Exp((float64(n.Sim) - top) * inv)
		scores[m.labels[n.Index]] += w
		total += w
	}
	best := 0
	for c := range scores {
		scores[c] /= total
		if scores[c] > scores[best] {
			best = c
		}
	}
	return uint8(best)
}

// each computes, block by block, the k nearest train rows of every test row
// and calls fn(row, neighbours) for each; fn may run concurrently for
// different rows.
func (m *Model) each(ctx context.Context, test []float32, rows, k int, fn func(int, []Neighbor)) error {
	block := m.cfg.BlockRows
	qrows := 1
	if m.kern != nil {
		qrows = m.kern.rows
	}
	q := make([]float32, padTo(min(block, rows), qrows)*m.stride)
	sims := make([]float32, min(block, rows)*m.rows)
	workers := runtime.GOMAXPROCS(0)
	heaps := make([]topK, workers)
	for i := range heaps {
		heaps[i] = make(topK, 0, k)
	}
	for start := 0; start < rows; start += block {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := min(block, rows-start)
		clear(q)
		for i := 0; i < n; i++ {
			r := q[i*m.stride : i*m.stride+m.dim]
			copy(r, test[(start+i)*m.dim:(start+i+1)*m.dim])
			Normalize(r, 1, m.dim)
		}
		m.similarities(q, n, sims[:n*m.rows], workers)
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				h := &heaps[w]
				for r := w; r < n; r += workers {
					h.selectTop(sims[r*m.rows:(r+1)*m.rows], k)
					fn(start+r, *h)
				}
			}(w)
		}
		wg.Wait()
		if m.cfg.Progress != nil {
			m.cfg.Progress(start + n)
		}
	}
	return nil
}

// Tile sizes of similarities: a tile of tileTrain train rows (about 400 KB
// at 784 dimensions) stays in cache while the test rows of a block pass over
// it, three at a time.
const tileTrain = 128

// kernel is an assembly micro-kernel: fn(k, a, lda, b, ldb, acc) leaves in
// acc the lane sums of the dot products of `rows` rows of a with 4 rows of b,
// for i < rows and j < 4 at acc[(4*i+j)*lanes:], over k (a multiple of lanes)
// values.
type kernel struct {
	name        string
	rows, lanes int
	fn          func(k int, a *float32, lda int, b *float32, ldb int, acc *float32)
}

// first returns the first of ks, the kernel Fit uses (the fastest that
// cpufeat's level allows), or nil for the portable path.
func first(ks []kernel) *kernel {
	if len(ks) == 0 {
		return nil
	}
	return &ks[0]
}

func padTo(n, m int) int { return (n + m - 1) / m * m }

// similarities sets out (n x m.rows, row-major) to the dot products of the
// first n rows of q (stride m.stride, rows padded with zeros to a multiple
// of the kernel's rows) with the train rows. Each value is computed the same
// way whatever the tiling, the block or the number of workers: by the
// kernel's lanes summed in a fixed order, or by one full-length blas32.Dot
// without a kernel. Zero padding adds exact zeros.
func (m *Model) similarities(q []float32, n int, out []float32, workers int) {
	tiles := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var acc [256]float32
			for j0 := range tiles {
				j1 := min(j0+tileTrain, m.rows)
				if m.kern == nil {
					for i := 0; i < n; i++ {
						a := blas32.Vector{N: m.dim, Inc: 1, Data: q[i*m.stride : i*m.stride+m.dim]}
						o := out[i*m.rows : (i+1)*m.rows]
						for j := j0; j < j1; j++ {
							o[j] = blas32.Dot(a, blas32.Vector{N: m.dim, Inc: 1, Data: m.feats[j*m.stride : j*m.stride+m.dim]})
						}
					}
					continue
				}
				k := m.kern
				for i := 0; i < n; i += k.rows {
					for j := j0; j < j1; j += 4 {
						k.fn(m.stride, &q[i*m.stride], m.stride, &m.feats[j*m.stride], m.stride, &acc[0])
						for ii := 0; ii < k.rows && i+ii < n; ii++ {
							o := out[(i+ii)*m.rows:]
							for jj := 0; jj < 4 && j+jj < j1; jj++ {
								if k.lanes == 16 {
									o[j+jj] = sum16((*[16]float32)(acc[(4*ii+jj)*16:]))
								} else {
									o[j+jj] = sum8((*[8]float32)(acc[(4*ii+jj)*8:]))
								}
							}
						}
					}
				}
			}
		}()
	}
	for j0 := 0; j0 < m.rows; j0 += tileTrain {
		tiles <- j0
	}
	close(tiles)
	wg.Wait()
}

// sum8 and sum16 add lane sums pairwise, in a fixed order.
func sum8(l *[8]float32) float32 {
	return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]))
}

func sum16(l *[16]float32) float32 {
	return (((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]))) +
		(((l[8] + l[9]) + (l[10] + l[11])) + ((l[12] + l[13]) + (l[14] + l[15])))
}

// topK is a min-heap of the k best neighbours seen so far, the worst on top:
// lower similarity is worse, and among equal similarities the larger index.
type topK []Neighbor

func worse(a, b Neighbor) bool {
	return a.Sim < b.Sim || (a.Sim == b.Sim && a.Index > b.Index)
}

// selectTop fills h with the k largest entries of sims, sorted best first.
func (h *topK) selectTop(sims []float32, k int) {
	s := (*h)[:0]
	k = min(k, len(sims))
	for j, v := range sims[:k] {
		s = append(s, Neighbor{Index: j, Sim: v})
		// sift up
		i := len(s) - 1
		for i > 0 {
			p := (i - 1) / 2
			if !worse(s[i], s[p]) {
				break
			}
			s[i], s[p] = s[p], s[i]
			i = p
		}
	}
	if k == 0 {
		*h = s
		return
	}
	thr := s[0].Sim
	for j := k; j < len(sims); j++ {
		v := sims[j]
		// Indices increase, so an equal similarity is always worse than the root.
		if v <= thr || v != v {
			continue
		}
		s[0] = Neighbor{Index: j, Sim: v}
		// sift down
		i := 0
		for {
			l := 2*i + 1
			if l >= len(s) {
				break
			}
			c := l
			if r := l + 1; r < len(s) && worse(s[r], s[l]) {
				c = r
			}
			if !worse(s[c], s[i]) {
				break
			}
			s[i], s[c] = s[c], s[i]
			i = c
		}
		thr = s[0].Sim
	}
	sort.Slice(s, func(a, b int) bool { return worse(s[b], s[a]) })
	*h = s
}

// Package neighbors finds the k nearest neighbours of every row of a dense
// float32 matrix, exactly (blocked brute force) or approximately
// (NN-descent seeded by random projection trees), on all cores and with
// results that depend only on the input and the seed, never on the number of
// cores.
package neighbors

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
)

// Metric is a distance between rows.
type Metric int

const (
	// Euclidean is the l2 distance.
	Euclidean Metric = iota
	// Cosine is 1 - cos(x, y); a zero row is at distance 1 from every row.
	Cosine
)

// String returns the metric's name as used by umap-learn.
func (m Metric) String() string {
	switch m {
	case Euclidean:
		return "euclidean"
	case Cosine:
		return "cosine"
	}
	return fmt.Sprintf("Metric(%d)", int(m))
}

// ParseMetric parses "euclidean" or "cosine".
func ParseMetric(s string) (Metric, error) {
	switch s {
	case "euclidean", "l2":
		return Euclidean, nil
	case "cosine":
		return Cosine, nil
	}
	return 0, fmt.Errorf("unknown metric %q (want cosine or euclidean)", s)
}

// ErrTooFewPoints is returned when there are not more points than neighbours.
var ErrTooFewPoints = errors.New("fewer points than neighbours")

// Options configures a search. The zero value means: 15 neighbours,
// euclidean, seed 0, all cores, umap-learn's tree and iteration counts.
type Options struct {
	K       int    // neighbours per point, the point itself included (umap-learn's convention); 0 = 15
	Metric  Metric // distance
	Seed    uint64 // random projection trees and NN-descent sampling
	Workers int    // goroutines; 0 = GOMAXPROCS. Does not change the result.

	Trees         int     // random projection trees; 0 = min(64, 5 + round(sqrt(n)/20)) as umap-learn
	LeafSize      int     // largest tree leaf; 0 = max(10, K) as pynndescent
	Iters         int     // NN-descent iterations at most; 0 = max(5, round(log2 n)) as umap-learn
	MaxCandidates int     // candidates per point per iteration; 0 = 60 as umap-learn
	Delta         float64 // stop when fewer than Delta*n*K updates happen; 0 = 0.001

	// Progress, if set, is called after each phase step (done of total).
	Progress func(phase string, done, total int)
}

// Graph is a k-nearest-neighbour graph: row i of Index and Dist (K entries
// each, ascending by distance) lists i's neighbours, i itself first.
type Graph struct {
	N, K  int
	Index []int32
	Dist  []float32
}

func (o *Options) defaults(n int) {
	if o.K == 0 {
		o.K = 15
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.Trees == 0 {
		o.Trees = min(64, 5+int(math.Round(math.Sqrt(float64(n))/20)))
	}
	if o.LeafSize == 0 {
		o.LeafSize = max(10, o.K)
	}
	if o.Iters == 0 {
		o.Iters = max(5, int(math.Round(math.Log2(float64(n)))))
	}
	if o.MaxCandidates == 0 {
		o.MaxCandidates = 60
	}
	if o.Delta == 0 {
		o.Delta = 0.001
	}
}

func check(data []float32, n, dim int, o *Options) error {
	if n <= 0 || dim <= 0 || len(data) != n*dim {
		return fmt.Errorf("neighbors: matrix %d x %d does not match %d values", n, dim, len(data))
	}
	if o.K < 2 {
		return fmt.Errorf("neighbors: K = %d, need at least 2 (the point and one neighbour)", o.K)
	}
	if n < o.K {
		return fmt.Errorf("neighbors: %d points, %d neighbours each: %w", n, o.K, ErrTooFewPoints)
	}
	if o.Metric != Euclidean && o.Metric != Cosine {
		return fmt.Errorf("neighbors: unknown metric %d", int(o.Metric))
	}
	return nil
}

// space holds the rows in the form the distance kernel wants.
type space struct {
	data   []float32
	dim    int
	cosine bool
}

func newSpace(data []float32, n, dim int, m Metric) *space {
	s := &space{data: data, dim: dim, cosine: m == Cosine}
	if s.cosine {
		s.data = make([]float32, len(data))
		for i := 0; i < n; i++ {
			row := data[i*dim : (i+1)*dim]
			nrm := math.Sqrt(float64(dot(row, row)))
			out := s.data[i*dim : (i+1)*dim]
			if nrm > 0 {
				inv := float32(1 / nrm)
				for j, v := range row {
					out[j] = v * inv
				}
			}
		}
	}
	return s
}

func (s *space) row(i int32) []float32 { return s.data[int(i)*s.dim : int(i+1)*s.dim] }

// dist is the search distance: 1 - cos for cosine, the squared l2 otherwise
// (monotone in the l2 distance; converted at the end).
func (s *space) dist(a, b int32) float32 {
	if s.cosine {
		d := 1 - dot(s.row(a), s.row(b))
		if d < 0 {
			d = 0
		}
		return d
	}
	return sqDist(s.row(a), s.row(b))
}

// heaps is n fixed-capacity max-heaps of (dist, index, isNew).
type heaps struct {
	k    int
	idx  []int32
	dist []float32
	flag []uint8
}

func newHeaps(n, k int) *heaps {
	h := &heaps{k: k, idx: make([]int32, n*k), dist: make([]float32, n*k), flag: make([]uint8, n*k)}
	for i := range h.idx {
		h.idx[i] = -1
		h.dist[i] = float32(math.Inf(1))
	}
	return h
}

// push offers j at distance d to i's heap; it reports whether j went in.
func (h *heaps) push(i int, j int32, d float32, isNew uint8) bool {
	b := i * h.k
	dist, idx := h.dist[b:b+h.k], h.idx[b:b+h.k]
	if !(d < dist[0]) {
		return false
	}
	for _, v := range idx {
		if v == j {
			return false
		}
	}
	flag := h.flag[b : b+h.k]
	// replace the root and sift down
	p := 0
	for {
		c := 2*p + 1
		if c >= h.k {
			break
		}
		if c+1 < h.k && dist[c+1] > dist[c] {
			c++
		}
		if !(dist[c] > d) {
			break
		}
		dist[p], idx[p], flag[p] = dist[c], idx[c], flag[c]
		p = c
	}
	dist[p], idx[p], flag[p] = d, j, isNew
	return true
}

// graph sorts each heap and returns the graph with i prepended to row i.
func (h *heaps) graph(n int, cosine bool) *Graph {
	k := h.k + 1
	g := &Graph{N: n, K: k, Index: make([]int32, n*k), Dist: make([]float32, n*k)}
	for i := 0; i < n; i++ {
		b := i * h.k
		ent := make([]struct {
			d float32
			j int32
		}, 0, h.k)
		for t := 0; t < h.k; t++ {
			ent = append(ent, struct {
				d float32
				j int32
			}{h.dist[b+t], h.idx[b+t]})
		}
		sort.Slice(ent, func(a, c int) bool {
			if ent[a].d != ent[c].d {
				return ent[a].d < ent[c].d
			}
			return ent[a].j < ent[c].j
		})
		o := i * k
		g.Index[o], g.Dist[o] = int32(i), 0
		for t, e := range ent {
			d := e.d
			if !cosine {
				d = float32(math.Sqrt(float64(d)))
			}
			g.Index[o+1+t], g.Dist[o+1+t] = e.j, d
		}
	}
	return g
}

// parallel runs f(lo, hi) over [0, n) in chunks of size chunk on w goroutines.
// Chunks are fixed by n and chunk alone, so results that depend on chunk
// boundaries do not depend on w.
func parallel(n, chunk, w int, f func(lo, hi int)) {
	nc := (n + chunk - 1) / chunk
	if w > nc {
		w = nc
	}
	if w <= 1 {
		for c := 0; c < nc; c++ {
			f(c*chunk, min(n, (c+1)*chunk))
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < w; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				c := int(next.Add(1) - 1)
				if c >= nc {
					return
				}
				f(c*chunk, min(n, (c+1)*chunk))
			}
		}()
	}
	wg.Wait()
}

// Exact computes the exact k-nearest-neighbour graph by blocked brute force:
// query blocks run in parallel, each scanning candidate blocks that stay in
// cache. Cost is n^2 dim; use Approximate above a few thousand points.
func Exact(data []float32, n, dim int, opt Options) (*Graph, error) {
	opt.defaults(n)
	if err := check(data, n, dim, &opt); err != nil {
		return nil, err
	}
	sp := newSpace(data, n, dim, opt.Metric)
	h := newHeaps(n, opt.K-1)
	const qb, cb = 32, 128
	var done atomic.Int64
	nq := (n + qb - 1) / qb
	parallel(n, qb, opt.Workers, func(lo, hi int) {
		for c0 := 0; c0 < n; c0 += cb {
			c1 := min(n, c0+cb)
			for q := lo; q < hi; q++ {
				for c := c0; c < c1; c++ {
					if c == q {
						continue
					}
					h.push(q, int32(c), sp.dist(int32(q), int32(c)), 0)
				}
			}
		}
		if opt.Progress != nil {
			opt.Progress("exact", int(done.Add(1)), nq)
		}
	})
	return h.graph(n, sp.cosine), nil
}

// ExactBelow is the number of points from which Search uses NN-descent
// (Approximate) rather than Exact: umap-learn's rule.
const ExactBelow = 4096

// Search picks Exact below ExactBelow points and Approximate otherwise.
func Search(data []float32, n, dim int, opt Options) (*Graph, error) {
	if n < ExactBelow {
		return Exact(data, n, dim, opt)
	}
	return Approximate(data, n, dim, opt)
}

// Recall is the fraction of exact's neighbours (self excluded) found in approx.
func Recall(approx, exact *Graph) float64 {
	if approx.N != exact.N || approx.K != exact.K {
		return 0
	}
	hit, tot := 0, 0
	for i := 0; i < exact.N; i++ {
		a := approx.Index[i*approx.K+1 : (i+1)*approx.K]
		for _, j := range exact.Index[i*exact.K+1 : (i+1)*exact.K] {
			tot++
			for _, v := range a {
				if v == j {
					hit++
					break
				}
			}
		}
	}
	return float64(hit) / float64(tot)
}

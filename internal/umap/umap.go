// Package umap implements UMAP (McInnes, Healy, Melville 2018) as umap-learn
// 0.5 does it: a k-nearest-neighbour graph, smooth_knn_dist memberships and
// their fuzzy union, pruning of weak edges, a spectral initialisation and
// the SGD layout with negative sampling. It takes a row-major float32
// matrix and returns one; it knows nothing of streams.
//
// Unlike umap-learn, the layout is parallel and still deterministic: the same
// input, settings and seed give the same bytes on any number of cores (see
// optimize in layout.go for the scheme).
package umap

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/siampipe/siampipe/internal/neighbors"
	"github.com/siampipe/siampipe/internal/spectral"
	"github.com/siampipe/siampipe/internal/splitmix"
)

// Init names an initialisation of the layout.
type Init string

// Initialisations.
const (
	InitSpectral Init = "spectral" // eigenvectors of the normalised Laplacian (umap-learn's default)
	InitPCA      Init = "pca"      // leading principal components of the data
	InitRandom   Init = "random"   // uniform in [-10, 10]
)

// Config holds UMAP's settings. The zero value of every field means
// umap-learn's default, given in its comment.
type Config struct {
	Components         int              // output dimensions; 0 = 2
	Neighbors          int              // n_neighbors, the point itself included; 0 = 15
	Metric             neighbors.Metric // zero value = Euclidean
	MinDist            float64          // 0 = 0.1; a negative value means 0
	Spread             float64          // 0 = 1.0
	Epochs             int              // 0 = 500 for up to 10,000 points, else 200
	NegativeSampleRate int              // 0 = 5
	LearningRate       float64          // initial alpha; 0 = 1.0
	RepulsionStrength  float64          // gamma; 0 = 1.0
	LocalConnectivity  float64          // 0 = 1.0
	SetOpMixRatio      float64          // 0 = 1.0 (pure fuzzy union); a negative value means 0
	Init               Init             // "" = spectral
	Seed               uint64           // all randomness
	Workers            int              // goroutines; 0 = GOMAXPROCS; does not change the result

	// Progress, if set, is called as phases advance: "knn exact" or
	// "knn rp-trees" and "knn nn-descent", then "init" and "epochs".
	Progress func(phase string, done, total int)
	// Warnf, if set, receives warnings (for example a spectral
	// initialisation that fell back to PCA or random).
	Warnf func(format string, args ...any)
}

// Setting is one resolved UMAP parameter, named as in umap-learn.
type Setting struct{ Name, Value string }

// Result is an embedding and how it was made.
type Result struct {
	Embedding  []float32 // N x Components, row-major
	N, Dim     int
	A, B       float64       // curve parameters used
	Epochs     int           // epochs run
	Edges      int           // directed edges in the pruned graph
	Components int           // connected components of the graph
	InitUsed   string        // the initialisation actually used
	Spectral   spectral.Info // eigensolver work (matrix-vector products summed, worst residual)
	Settings   []Setting     // every setting, resolved
}

// ErrBadInput is wrapped by every error about the input matrix.
var ErrBadInput = errors.New("bad input")

func (c Config) resolve(n int) Config {
	if c.Components == 0 {
		c.Components = 2
	}
	if c.Neighbors == 0 {
		c.Neighbors = 15
	}
	if c.MinDist == 0 {
		c.MinDist = 0.1
	} else if c.MinDist < 0 {
		c.MinDist = 0
	}
	if c.Spread == 0 {
		c.Spread = 1
	}
	if c.Epochs == 0 {
		c.Epochs = defaultEpochs(n)
	}
	if c.NegativeSampleRate == 0 {
		c.NegativeSampleRate = 5
	}
	if c.LearningRate == 0 {
		c.LearningRate = 1
	}
	if c.RepulsionStrength == 0 {
		c.RepulsionStrength = 1
	}
	if c.LocalConnectivity == 0 {
		c.LocalConnectivity = 1
	}
	if c.SetOpMixRatio == 0 {
		c.SetOpMixRatio = 1
	} else if c.SetOpMixRatio < 0 {
		c.SetOpMixRatio = 0
	}
	if c.Init == "" {
		c.Init = InitSpectral
	}
	return c
}

func defaultEpochs(n int) int {
	if n <= 10000 {
		return 500
	}
	return 200
}

// Fit embeds the n x dim row-major matrix x. It returns an error wrapping
// ErrBadInput for NaN or infinite values, n <= Neighbors, or a shape
// mismatch, and an error for settings out of range.
func Fit(x []float32, n, dim int, cfg Config) (*Result, error) {
	c := cfg.resolve(n)
	if err := validate(x, n, dim, c); err != nil {
		return nil, err
	}
	progress := func(phase string, d, t int) {
		if c.Progress != nil {
			c.Progress(phase, d, t)
		}
	}
	warnf := func(format string, args ...any) {
		if c.Warnf != nil {
			c.Warnf(format, args...)
		}
	}
	a, b, err := FindAB(c.Spread, c.MinDist)
	if err != nil {
		return nil, err
	}

	knn, err := neighbors.Search(x, n, dim, neighbors.Options{
		K: c.Neighbors, Metric: c.Metric, Seed: splitmix.Hash(c.Seed ^ 0x6b6e6e), Workers: c.Workers,
		Progress: func(phase string, d, t int) { progress("knn "+phase, d, t) },
	})
	if err != nil {
		return nil, fmt.Errorf("umap: nearest neighbours: %w", err)
	}
	k := knn.K
	if c.Metric == neighbors.Cosine { // umap-learn's disconnection distance for cosine
		for i, d := range knn.Dist {
			if d >= 2 {
				knn.Index[i] = -1
			}
		}
	}
	sigma, rho := SmoothKNNDist(knn.Dist, n, k, c.LocalConnectivity, 1)
	g := fuzzyGraph(knn.Index, knn.Dist, n, k, sigma, rho, c.SetOpMixRatio)
	knn = nil

	// Prune edges below max/epochs (umap-learn uses the default epoch count
	// when asked for 10 epochs or fewer).
	var wmax float32
	for _, w := range g.Weights {
		wmax = max(wmax, w)
	}
	cut := wmax / float32(c.Epochs)
	if c.Epochs <= 10 {
		cut = wmax / float32(defaultEpochs(n))
	}
	g = prune(g, cut)

	r := rand.New(rand.NewPCG(c.Seed, 0x696e6974))
	nc := c.Components
	res := &Result{N: n, Dim: nc, A: a, B: b, Epochs: c.Epochs, Edges: len(g.Indices)}
	_, res.Components = spectral.Components(g)

	progress("init", 0, 1)
	var init []float64
	used := string(c.Init)
	switch c.Init {
	case InitSpectral:
		var failed int
		init, failed, err = spectralInit(g, x, n, dim, nc, c.Metric, r, &res.Spectral)
		if err != nil {
			warnf("spectral initialisation failed (%v); falling back to PCA", err)
			init = pcaInit(x, n, dim, nc, r)
			used = "pca (spectral failed)"
		} else if failed > 0 {
			warnf("spectral initialisation failed for %d of %d components; placed them at random", failed, res.Components)
			used = fmt.Sprintf("spectral (%d components random)", failed)
		}
	case InitPCA:
		init = pcaInit(x, n, dim, nc, r)
	case InitRandom:
	default:
		return nil, fmt.Errorf("umap: unknown init %q (want spectral, pca or random)", c.Init)
	}
	emb := make([]float32, n*nc)
	if init == nil {
		for i := range emb {
			emb[i] = float32(r.Float64()*20 - 10)
		}
	} else {
		mx := 0.0
		for _, v := range init {
			mx = max(mx, math.Abs(v))
		}
		if mx == 0 || math.IsNaN(mx) {
			mx = 1
		}
		for i, v := range init {
			emb[i] = float32(v*10/mx) + float32(r.NormFloat64()*0.0001)
		}
	}
	rescale(emb, n, nc)
	res.InitUsed = used
	progress("init", 1, 1)

	eps := make([]float64, len(g.Weights))
	for e, w := range g.Weights {
		// make_epochs_per_sample: epochs / (epochs * w / wmax)
		eps[e] = float64(c.Epochs) / (float64(c.Epochs) * (float64(w) / float64(wmax)))
	}
	optimize(emb, n, nc, g, eps, layoutParams{
		a: a, b: b, gamma: c.RepulsionStrength, alpha0: c.LearningRate,
		negRate: float64(c.NegativeSampleRate), epochs: c.Epochs,
		seed: splitmix.Hash(c.Seed ^ 0x736764), workers: c.Workers,
		progress: func(d, t int) { progress("epochs", d, t) },
	})
	res.Embedding = emb
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	res.Settings = []Setting{
		{"n_components", strconv.Itoa(nc)},
		{"n_neighbors", strconv.Itoa(c.Neighbors)},
		{"metric", c.Metric.String()},
		{"min_dist", f(c.MinDist)},
		{"spread", f(c.Spread)},
		{"a", f(a)},
		{"b", f(b)},
		{"n_epochs", strconv.Itoa(c.Epochs)},
		{"negative_sample_rate", strconv.Itoa(c.NegativeSampleRate)},
		{"learning_rate", f(c.LearningRate)},
		{"repulsion_strength", f(c.RepulsionStrength)},
		{"local_connectivity", f(c.LocalConnectivity)},
		{"set_op_mix_ratio", f(c.SetOpMixRatio)},
		{"init", used},
		{"random_state", strconv.FormatUint(c.Seed, 10)},
		{"knn", map[bool]string{true: "exact", false: "nn-descent"}[n < neighbors.ExactBelow]},
		{"graph_edges", strconv.Itoa(res.Edges)},
		{"graph_components", strconv.Itoa(res.Components)},
	}
	return res, nil
}

func validate(x []float32, n, dim int, c Config) error {
	if n <= 0 || dim <= 0 || len(x) != n*dim {
		return fmt.Errorf("umap: %w: %d values do not make a %d x %d matrix", ErrBadInput, len(x), n, dim)
	}
	for i, v := range x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("umap: %w: row %d column %d is %v (fix or drop such rows first)", ErrBadInput, i/dim, i%dim, v)
		}
	}
	if c.Neighbors < 2 {
		return fmt.Errorf("umap: n_neighbors %d: need at least 2", c.Neighbors)
	}
	if n <= c.Neighbors {
		return fmt.Errorf("umap: %w: %d points but n_neighbors %d: need more points than neighbours (lower n_neighbors)",
			ErrBadInput, n, c.Neighbors)
	}
	if c.Components < 1 || c.Components > 16 {
		return fmt.Errorf("umap: n_components %d: want 1..16", c.Components)
	}
	if c.Components+1 >= n {
		return fmt.Errorf("umap: %w: %d points are too few for %d components", ErrBadInput, n, c.Components)
	}
	if c.Epochs < 1 || c.NegativeSampleRate < 0 || !(c.LearningRate > 0) || !(c.Spread > 0) {
		return fmt.Errorf("umap: need epochs >= 1, negative_sample_rate >= 0, learning_rate > 0, spread > 0")
	}
	if c.Metric != neighbors.Euclidean && c.Metric != neighbors.Cosine {
		return fmt.Errorf("umap: unknown metric %v", c.Metric)
	}
	return nil
}

// prune drops edges of weight below cut.
func prune(g *spectral.Graph, cut float32) *spectral.Graph {
	out := &spectral.Graph{N: g.N, Indptr: make([]int, g.N+1)}
	for i := 0; i < g.N; i++ {
		for p := g.Indptr[i]; p < g.Indptr[i+1]; p++ {
			if g.Weights[p] >= cut {
				out.Indices = append(out.Indices, g.Indices[p])
				out.Weights = append(out.Weights, g.Weights[p])
			}
		}
		out.Indptr[i+1] = len(out.Indices)
	}
	return out
}

// rescale maps each column to [0, 10], as umap-learn does before the SGD.
func rescale(emb []float32, n, nc int) {
	for t := 0; t < nc; t++ {
		lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
		for i := 0; i < n; i++ {
			lo, hi = min(lo, emb[i*nc+t]), max(hi, emb[i*nc+t])
		}
		s := float32(10)
		if hi > lo {
			s = 10 / (hi - lo)
		}
		for i := 0; i < n; i++ {
			emb[i*nc+t] = (emb[i*nc+t] - lo) * s
		}
	}
}

package umap

import (
	"github.com/siampipe/siampipe/internal/spectral"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// BenchmarkFit10kBlobs runs the whole pipeline on 10,000 points in 64-d
// (20 Gaussian blobs), 3 components, 200 epochs.
func BenchmarkFit10kBlobs(b *testing.B) {
	x := blobs(10000, 64, 20, 3, 1)
	for b.Loop() {
		if _, err := Fit(x, 10000, 64, Config{Components: 3, Neighbors: 10, Epochs: 200}); err != nil {
			b.Fatal(err)
		}
	}
}

// blobs returns n points in dim dimensions around c centres spread sd apart.
func blobs(n, dim, c int, sd float64, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	centres := make([]float64, c*dim)
	for i := range centres {
		centres[i] = r.NormFloat64() * sd
	}
	x := make([]float32, n*dim)
	for i := 0; i < n; i++ {
		b := i % c
		for j := 0; j < dim; j++ {
			x[i*dim+j] = float32(centres[b*dim+j] + r.NormFloat64())
		}
	}
	return x
}

// randomGraph is a symmetric graph of n vertices with about 2*deg random
// neighbours each and weights in (0, 1], for layout benchmarks.
func randomGraph(n, deg int, seed uint64) (*spectral.Graph, []float64) {
	r := rand.New(rand.NewPCG(seed, 3))
	adj := make([]map[int32]float32, n)
	for i := range adj {
		adj[i] = map[int32]float32{}
	}
	for i := 0; i < n; i++ {
		for t := 0; t < deg; t++ {
			j := int32(r.IntN(n))
			if int(j) == i {
				continue
			}
			w := float32(r.Float64()*0.99 + 0.01)
			adj[i][j], adj[j][int32(i)] = w, w
		}
	}
	g := &spectral.Graph{N: n, Indptr: make([]int, n+1)}
	for i := 0; i < n; i++ {
		cols := make([]int32, 0, len(adj[i]))
		for j := range adj[i] {
			cols = append(cols, j)
		}
		slices.Sort(cols)
		for _, j := range cols {
			g.Indices = append(g.Indices, j)
			g.Weights = append(g.Weights, adj[i][j])
		}
		g.Indptr[i+1] = len(g.Indices)
	}
	eps := make([]float64, len(g.Weights))
	for e, w := range g.Weights {
		eps[e] = 1 / float64(w)
	}
	return g, eps
}

// BenchmarkLayout10k: 50 epochs of SGD, 10,000 vertices, ~140,000 edges, 3-D.
func BenchmarkLayout10k(b *testing.B) {
	const n = 10000
	g, eps := randomGraph(n, 7, 1)
	r := rand.New(rand.NewPCG(2, 2))
	emb0 := make([]float32, n*3)
	for i := range emb0 {
		emb0[i] = float32(r.Float64() * 10)
	}
	emb := make([]float32, n*3)
	a, bb, _ := FindAB(1, 0.1)
	for b.Loop() {
		copy(emb, emb0)
		optimize(emb, n, 3, g, eps, layoutParams{a: a, b: bb, gamma: 1, alpha0: 1, negRate: 5, epochs: 50, seed: 1})
	}
}

func TestPowTableMatchesMathPow(t *testing.T) {
	for _, b := range []float64{0.5, 0.79, 0.8951, 1.334, 2} {
		p := newPowTable(b)
		r := rand.New(rand.NewPCG(4, 5))
		for i := 0; i < 100000; i++ {
			x := float32(math.Exp(r.Float64()*40 - 20))
			want := math.Pow(float64(x), b)
			if got := float64(p.pow(x)); math.Abs(got-want) > (1.1*math.Abs(b*(b-1))/8/4096+1e-7)*want {
				t.Fatalf("b=%v: pow(%g) = %g, want %g", b, x, got, want)
			}
		}
	}
}

package spectral

import (
	"math"
	"math/rand/v2"
	"testing"
)

// knnGraph is a symmetric 8-NN graph of points from two Gaussian blobs in 2-D
// with Gaussian weights, blob centres sep apart (100: disconnected).
func knnGraph(n int, sep float64) *Graph {
	r := rand.New(rand.NewPCG(1, 2))
	pts := make([][2]float64, n)
	for i := range pts {
		off := 0.0
		if i%2 == 1 {
			off = sep
		}
		pts[i] = [2]float64{r.NormFloat64() + off, r.NormFloat64()}
	}
	w := make([]map[int32]float32, n)
	for i := range w {
		w[i] = map[int32]float32{}
	}
	for i := 0; i < n; i++ {
		type dj struct {
			d float64
			j int
		}
		best := []dj{}
		for j := 0; j < n; j++ {
			if j == i {
				continue
			}
			dx, dy := pts[i][0]-pts[j][0], pts[i][1]-pts[j][1]
			best = append(best, dj{dx*dx + dy*dy, j})
		}
		for a := 0; a < 8; a++ { // partial selection sort
			m := a
			for b := a + 1; b < len(best); b++ {
				if best[b].d < best[m].d {
					m = b
				}
			}
			best[a], best[m] = best[m], best[a]
			v := float32(math.Exp(-best[a].d))
			w[i][int32(best[a].j)] = v
			w[best[a].j][int32(i)] = v
		}
	}
	g := &Graph{N: n, Indptr: make([]int, n+1)}
	for i := 0; i < n; i++ {
		for j := int32(0); j < int32(n); j++ {
			if v, ok := w[i][j]; ok {
				g.Indices = append(g.Indices, j)
				g.Weights = append(g.Weights, v)
			}
		}
		g.Indptr[i+1] = len(g.Indices)
	}
	return g
}

func TestLanczosMatchesDenseEigenvectors(t *testing.T) {
	g := knnGraph(500, 2.5)
	const dim = 3
	want, _, err := Embedding(g, dim, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, info, err := Embedding(g, dim, Options{DenseMax: 1, Tol: 1e-8})
	if err != nil {
		t.Fatal(err)
	}
	if info.Dense {
		t.Fatal("DenseMax=1 still solved densely")
	}
	t.Logf("matvecs %d residual %.2g", info.Matvecs, info.Residual)
	for c := 0; c < dim; c++ {
		var d float64
		for i := 0; i < g.N; i++ {
			d += want[i*dim+c] * got[i*dim+c]
		}
		if math.Abs(d) < 0.999 {
			t.Errorf("eigenvector %d: |<dense, lanczos>| = %.5f, want ~1", c+2, math.Abs(d))
		}
	}
}

func TestFirstNonTrivialEigenvectorSeparatesTwoBlobs(t *testing.T) {
	g := knnGraph(400, 5)
	v, _, err := Embedding(g, 2, Options{DenseMax: 1, Tol: 1e-8})
	if err != nil {
		t.Fatal(err)
	}
	agree := 0
	for i := 0; i < g.N; i++ {
		if (v[i*2] > 0) == (i%2 == 0) {
			agree++
		}
	}
	frac := float64(agree) / float64(g.N)
	if frac < 0.5 {
		frac = 1 - frac
	}
	if frac < 0.9 {
		t.Errorf("sign of the Fiedler vector matches the blob of only %.2f of the points", frac)
	}
}

func TestComponentsOfDisconnectedGraph(t *testing.T) {
	g := knnGraph(200, 100)
	labels, count := Components(g)
	if count != 2 {
		t.Fatalf("%d components, want 2", count)
	}
	for i, l := range labels {
		if l != int32(i%2) {
			t.Fatalf("vertex %d in component %d, want %d", i, l, i%2)
		}
	}
	sub, verts := Subgraph(g, labels, 1)
	if sub.N != 100 || verts[0] != 1 {
		t.Fatalf("subgraph has %d vertices starting at %d", sub.N, verts[0])
	}
	if _, count := Components(sub); count != 1 {
		t.Fatalf("subgraph has %d components", count)
	}
}

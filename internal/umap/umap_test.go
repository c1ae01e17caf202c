package umap

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/siampipe/siampipe/internal/neighbors"
)

type golden struct {
	N, K   int
	Dists  []float32
	Smooth []struct {
		LocalConnectivity float64 `json:"local_connectivity"`
		Sigma, Rho        []float32
	}
	AB []struct {
		Spread  float64
		MinDist float64 `json:"min_dist"`
		A, B    float64
	}
}

func loadGolden(t *testing.T) golden {
	t.Helper()
	b, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return g
}

func relClose(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Max(math.Abs(want), 1e-12)
}

func TestSmoothKNNDistMatchesUmapLearn(t *testing.T) {
	g := loadGolden(t)
	for _, c := range g.Smooth {
		sigma, rho := SmoothKNNDist(g.Dists, g.N, g.K, c.LocalConnectivity, 1)
		for i := 0; i < g.N; i++ {
			if !relClose(float64(rho[i]), float64(c.Rho[i]), 1e-6) {
				t.Errorf("local_connectivity %v row %d: rho %v, umap-learn %v", c.LocalConnectivity, i, rho[i], c.Rho[i])
			}
			if !relClose(float64(sigma[i]), float64(c.Sigma[i]), 1e-4) {
				t.Errorf("local_connectivity %v row %d: sigma %v, umap-learn %v", c.LocalConnectivity, i, sigma[i], c.Sigma[i])
			}
		}
	}
}

func TestFindABMatchesUmapLearn(t *testing.T) {
	g := loadGolden(t)
	for _, c := range g.AB {
		a, b, err := FindAB(c.Spread, c.MinDist)
		if err != nil {
			t.Fatal(err)
		}
		if !relClose(a, c.A, 1e-5) || !relClose(b, c.B, 1e-5) {
			t.Errorf("spread %v min_dist %v: a, b = %.6f, %.6f; umap-learn %.6f, %.6f", c.Spread, c.MinDist, a, b, c.A, c.B)
		}
	}
	a, b, _ := FindAB(1, 0.1)
	if math.Round(a*1000) != 1577 || math.Round(b*1000) != 895 {
		t.Errorf("defaults give a=%.4f b=%.4f, want 1.577, 0.895", a, b)
	}
}

// twoBlobs is n points, alternating between two unit Gaussians in dim
// dimensions whose centres are sep apart.
func twoBlobs(n, dim int, sep float64) []float32 {
	x := blobs(n, dim, 1, 0, 42)
	for i := 1; i < n; i += 2 {
		x[i*dim] += float32(sep)
	}
	return x
}

// separation returns the fraction of points whose 5 nearest embedded
// neighbours are all in their own blob (blob = index parity), and the ratio
// of the distance between blob centroids to the largest blob radius.
func separation(emb []float32, n, nc int) (purity, ratio float64) {
	var cent [2][]float64
	cent[0], cent[1] = make([]float64, nc), make([]float64, nc)
	for i := 0; i < n; i++ {
		for t := 0; t < nc; t++ {
			cent[i%2][t] += float64(emb[i*nc+t]) / float64(n/2)
		}
	}
	d := func(a []float32, b []float64) float64 {
		s := 0.0
		for t := range b {
			s += (float64(a[t]) - b[t]) * (float64(a[t]) - b[t])
		}
		return math.Sqrt(s)
	}
	var radius float64
	for i := 0; i < n; i++ {
		radius = math.Max(radius, d(emb[i*nc:(i+1)*nc], cent[i%2]))
	}
	var cc float64
	for t := 0; t < nc; t++ {
		cc += (cent[0][t] - cent[1][t]) * (cent[0][t] - cent[1][t])
	}
	g, _ := neighbors.Exact(emb, n, nc, neighbors.Options{K: 6})
	pure := 0
	for i := 0; i < n; i++ {
		ok := true
		for _, j := range g.Index[i*6+1 : (i+1)*6] {
			ok = ok && int(j)%2 == i%2
		}
		if ok {
			pure++
		}
	}
	return float64(pure) / float64(n), math.Sqrt(cc) / radius
}

func TestSeparatedBlobsStaySeparated(t *testing.T) {
	const n, dim = 800, 10
	x := twoBlobs(n, dim, 12)
	for _, c := range []struct {
		init Init
		nc   int // 3 runs the specialised kernel, 2 the generic one
	}{{InitSpectral, 3}, {InitPCA, 3}, {InitRandom, 3}, {InitSpectral, 2}} {
		res, err := Fit(x, n, dim, Config{Components: c.nc, Neighbors: 10, Epochs: 150, Init: c.init, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		purity, ratio := separation(res.Embedding, n, c.nc)
		if purity < 0.999 || ratio < 2 {
			t.Errorf("init %s, %d-D: 5-NN purity %.4f, centroid distance / radius %.2f; want 1 and > 2", c.init, c.nc, purity, ratio)
		}
	}
}

func TestDisconnectedComponentsAreEmbeddedApart(t *testing.T) {
	const n, dim, nc = 600, 5, 3
	x := twoBlobs(n, dim, 1000)
	var warned []string
	res, err := Fit(x, n, dim, Config{Components: nc, Neighbors: 10, Epochs: 100, Seed: 3,
		Warnf: func(f string, a ...any) { warned = append(warned, f) }})
	if err != nil {
		t.Fatal(err)
	}
	if res.Components != 2 {
		t.Fatalf("graph has %d components, want 2", res.Components)
	}
	if res.InitUsed != "spectral" || len(warned) > 0 {
		t.Errorf("init %q, warnings %q: want spectral without warnings", res.InitUsed, warned)
	}
	for _, v := range res.Embedding {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatal("embedding has non-finite values")
		}
	}
	if purity, ratio := separation(res.Embedding, n, nc); purity < 0.999 || ratio < 2 {
		t.Errorf("5-NN purity %.4f, centroid distance / radius %.2f", purity, ratio)
	}
}

func TestIdenticalBytesAcrossRunsAndCoreCounts(t *testing.T) {
	const n, dim = 4500, 8 // above 4,096: NN-descent; several layout chunks
	x := blobs(n, dim, 6, 4, 9)
	var ref []float32
	for _, w := range []int{1, 2, 1, 5} {
		res, err := Fit(x, n, dim, Config{Components: 3, Neighbors: 10, Metric: neighbors.Cosine, Epochs: 20, Seed: 77, Workers: w})
		if err != nil {
			t.Fatal(err)
		}
		if ref == nil {
			ref = res.Embedding
			continue
		}
		if !slices.Equal(res.Embedding, ref) {
			t.Fatalf("workers=%d: embedding differs from the first run", w)
		}
	}
	res, _ := Fit(x, n, dim, Config{Components: 3, Neighbors: 10, Metric: neighbors.Cosine, Epochs: 20, Seed: 78})
	if slices.Equal(res.Embedding, ref) {
		t.Error("a different seed gives the same embedding")
	}
}

func TestRejectsBadInput(t *testing.T) {
	good := blobs(50, 4, 2, 3, 1)
	nan := slices.Clone(good)
	nan[4*7+2] = float32(math.NaN())
	inf := slices.Clone(good)
	inf[0] = float32(math.Inf(-1))
	cases := []struct {
		name    string
		x       []float32
		n       int
		cfg     Config
		bad     bool // wraps ErrBadInput
		mention string
	}{
		{"NaN feature", nan, 50, Config{}, true, "row 7 column 2 is NaN"},
		{"infinite feature", inf, 50, Config{}, true, "row 0 column 0"},
		{"fewer points than neighbours", good[:8*4], 8, Config{Neighbors: 10}, true, "8 points but n_neighbors 10"},
		{"as many points as neighbours", good[:10*4], 10, Config{Neighbors: 10}, true, "need more points"},
		{"shape mismatch", good[:30], 50, Config{}, true, "do not make"},
		{"unknown init", good, 50, Config{Init: "tsne"}, false, "unknown init"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Fit(c.x, c.n, 4, c.cfg)
			if err == nil {
				t.Fatal("accepted")
			}
			if errors.Is(err, ErrBadInput) != c.bad || !strings.Contains(err.Error(), c.mention) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q: want one line mentioning %q (ErrBadInput %v)", err, c.mention, c.bad)
			}
		})
	}
}

func TestManyComponentsAreLaidOutByTheirCentroids(t *testing.T) {
	// 8 far-apart blobs > 2*3 components: umap-learn's component_layout path.
	const n, dim, nc, c = 800, 6, 3, 8
	x := blobs(n, dim, c, 200, 5)
	res, err := Fit(x, n, dim, Config{Components: nc, Neighbors: 10, Epochs: 60, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	if res.Components != c || res.InitUsed != "spectral" {
		t.Fatalf("%d components, init %q; want %d, spectral", res.Components, res.InitUsed, c)
	}
	g, _ := neighbors.Exact(res.Embedding, n, nc, neighbors.Options{K: 6})
	for i := 0; i < n; i++ {
		for _, j := range g.Index[i*6+1 : (i+1)*6] {
			if int(j)%c != i%c {
				t.Fatalf("point %d (blob %d) has embedded neighbour %d from blob %d", i, i%c, j, int(j)%c)
			}
		}
	}
}

// TestKNNSettingNamesTheSearchThatRan checks the "knn" setting against the
// search neighbors ran, on both sides of its threshold.
func TestKNNSettingNamesTheSearchThatRan(t *testing.T) {
	const dim = 2
	x := twoBlobs(neighbors.ExactBelow, dim, 4)
	for _, n := range []int{neighbors.ExactBelow - 1, neighbors.ExactBelow} {
		var exact atomic.Bool // Progress is called from the workers
		res, err := Fit(x[:n*dim], n, dim, Config{Epochs: 1, Init: InitRandom, Seed: 1, Progress: func(phase string, _, _ int) {
			if phase == "knn exact" {
				exact.Store(true)
			}
		}})
		if err != nil {
			t.Fatal(err)
		}
		ran := "nn-descent"
		if exact.Load() {
			ran = "exact"
		}
		i := slices.IndexFunc(res.Settings, func(s Setting) bool { return s.Name == "knn" })
		if i < 0 || res.Settings[i].Value != ran {
			t.Errorf("n=%d: settings %v, but the search was %s", n, res.Settings, ran)
		}
	}
}

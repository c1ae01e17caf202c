package neighbors

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/siampipe/siampipe/internal/cpufeat"
	"github.com/siampipe/siampipe/internal/cpufeat/cpufeattest"
)

// blobs returns n points in dim dimensions around c random centres.
func blobs(n, dim, c int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	centres := make([]float32, c*dim)
	for i := range centres {
		centres[i] = float32(r.NormFloat64() * 3)
	}
	x := make([]float32, n*dim)
	for i := 0; i < n; i++ {
		b := r.IntN(c)
		for j := 0; j < dim; j++ {
			x[i*dim+j] = centres[b*dim+j] + float32(r.NormFloat64())
		}
	}
	return x
}

// TestKernelsMatchFloat64 holds dot and sqDist to float64 sums at every
// SIMD level this process runs, and checks that the level picks the path:
// the AVX2 kernels at AVX2 and above, the Go loops bit for bit below.
func TestKernelsMatchFloat64(t *testing.T) {
	for _, l := range cpufeat.Levels() {
		t.Run(l.String(), func(t *testing.T) {
			cpufeattest.Use(t, l)
			r := rand.New(rand.NewPCG(3, 4))
			for _, n := range []int{1, 7, 8, 9, 31, 32, 33, 100, 2048} {
				x, y := make([]float32, n), make([]float32, n)
				var d, s float64
				for i := range x {
					x[i], y[i] = float32(r.NormFloat64()), float32(r.NormFloat64())
					d += float64(x[i]) * float64(y[i])
					s += (float64(x[i]) - float64(y[i])) * (float64(x[i]) - float64(y[i]))
				}
				gd, gs := dot(x, y), sqDist(x, y)
				if tol := 1e-5 * float64(n); math.Abs(float64(gd)-d) > tol || math.Abs(float64(gs)-s) > tol {
					t.Errorf("n=%d: dot %v want %v, sqdist %v want %v", n, gd, d, gs, s)
				}
				wd, ws, path := dotGeneric(x, y), sqDistGeneric(x, y), "Go loops"
				if l >= cpufeat.AVX2 && n >= 8 {
					wd, ws, path = dotAVX2(x, y), sqDistAVX2(x, y), "AVX2 kernels"
				}
				if gd != wd || gs != ws {
					t.Errorf("n=%d: dot %v, sqdist %v; the %s give %v, %v", n, gd, gs, path, wd, ws)
				}
			}
		})
	}
}

func TestExactMatchesNaiveSort(t *testing.T) {
	const n, dim, k = 300, 5, 6
	x := blobs(n, dim, 4, 1)
	for _, m := range []Metric{Euclidean, Cosine} {
		g, err := Exact(x, n, dim, Options{K: k, Metric: m})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			d := make([]float64, n)
			for j := 0; j < n; j++ {
				var dd, na, nb float64
				for c := 0; c < dim; c++ {
					a, b := float64(x[i*dim+c]), float64(x[j*dim+c])
					dd += (a - b) * (a - b)
					na += a * a
					nb += b * b
				}
				if m == Euclidean {
					d[j] = math.Sqrt(dd)
				} else {
					d[j] = 1 - (na+nb-dd)/2/math.Sqrt(na*nb)
				}
			}
			d[i] = -1
			s := slices.Clone(d)
			slices.Sort(s)
			if g.Index[i*k] != int32(i) || g.Dist[i*k] != 0 {
				t.Fatalf("%v: row %d does not start with itself", m, i)
			}
			for c := 1; c < k; c++ {
				if math.Abs(float64(g.Dist[i*k+c])-s[c]) > 1e-4 {
					t.Fatalf("%v: row %d neighbour %d dist %v want %v", m, i, c, g.Dist[i*k+c], s[c])
				}
			}
		}
	}
}

func TestNNDescentRecallAgainstBruteForce(t *testing.T) {
	const n, dim, k = 5000, 40, 10
	x := blobs(n, dim, 20, 2)
	for _, m := range []Metric{Euclidean, Cosine} {
		ex, err := Exact(x, n, dim, Options{K: k, Metric: m})
		if err != nil {
			t.Fatal(err)
		}
		ap, err := Approximate(x, n, dim, Options{K: k, Metric: m, Seed: 7})
		if err != nil {
			t.Fatal(err)
		}
		rec := Recall(ap, ex)
		t.Logf("%v recall %.4f", m, rec)
		if rec < 0.95 {
			t.Errorf("%v: recall %.4f < 0.95", m, rec)
		}
	}
}

func TestApproximateIsIndependentOfWorkers(t *testing.T) {
	const n, dim, k = 3000, 16, 8
	x := blobs(n, dim, 10, 5)
	var ref *Graph
	for _, w := range []int{1, 2, 3, 8} {
		g, err := Approximate(x, n, dim, Options{K: k, Metric: Cosine, Seed: 11, Workers: w})
		if err != nil {
			t.Fatal(err)
		}
		if ref == nil {
			ref = g
			continue
		}
		if !slices.Equal(g.Index, ref.Index) || !slices.Equal(g.Dist, ref.Dist) {
			t.Fatalf("workers=%d gives a different graph than workers=1", w)
		}
	}
}

func TestRejectsBadShapes(t *testing.T) {
	x := blobs(5, 3, 1, 1)
	if _, err := Exact(x, 5, 3, Options{K: 10}); !errors.Is(err, ErrTooFewPoints) {
		t.Errorf("5 points, K=10: err %v, want ErrTooFewPoints", err)
	}
	if _, err := Exact(x, 4, 3, Options{K: 2}); err == nil {
		t.Error("mismatched matrix size accepted")
	}
}

func BenchmarkApproximate10kx2048(b *testing.B) {
	const n, dim = 10000, 2048
	x := blobs(n, dim, 10, 9)
	for b.Loop() {
		if _, err := Approximate(x, n, dim, Options{K: 10, Metric: Cosine}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDot2048(b *testing.B) {
	x, y := make([]float32, 2048), make([]float32, 2048)
	for b.Loop() {
		dot(x, y)
	}
}

func TestNNDescentRecallOnWideRows(t *testing.T) {
	// dim > 128: the trees are built on a 64-d random projection
	const n, dim, k = 3000, 300, 10
	x := blobs(n, dim, 30, 3)
	ex, _ := Exact(x, n, dim, Options{K: k, Metric: Cosine})
	ap, err := Approximate(x, n, dim, Options{K: k, Metric: Cosine, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if rec := Recall(ap, ex); rec < 0.95 {
		t.Errorf("recall %.4f < 0.95", rec)
	} else {
		t.Logf("recall %.4f", rec)
	}
}

// TestSearchIsExactBelowExactBelow checks where Search switches from the
// exact search to NN-descent, by the phases it reports.
func TestSearchIsExactBelowExactBelow(t *testing.T) {
	const dim = 3
	x := blobs(ExactBelow, dim, 4, 9)
	for _, n := range []int{ExactBelow - 1, ExactBelow} {
		var exact atomic.Bool // Progress is called from the workers
		_, err := Search(x[:n*dim], n, dim, Options{K: 5, Seed: 1, Progress: func(phase string, _, _ int) {
			if phase == "exact" {
				exact.Store(true)
			}
		}})
		if err != nil {
			t.Fatal(err)
		}
		if want := n < ExactBelow; exact.Load() != want {
			t.Errorf("n=%d: exact search %v, want %v", n, exact.Load(), want)
		}
	}
}

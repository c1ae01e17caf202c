package knn

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sort"
	"testing"

	"github.com/siampipe/siampipe/internal/cpufeat"
	"github.com/siampipe/siampipe/internal/cpufeat/cpufeattest"
)

// randomData returns rows x dim features drawn around one random centre per
// class, so that neighbours carry information about the label.
func randomData(rng *rand.Rand, rows, dim, classes int, spread float64) ([]float32, []uint8) {
	centres := make([]float64, classes*dim)
	for i := range centres {
		centres[i] = rng.NormFloat64()
	}
	x := make([]float32, rows*dim)
	y := make([]uint8, rows)
	for i := 0; i < rows; i++ {
		c := rng.IntN(classes)
		y[i] = uint8(c)
		for j := 0; j < dim; j++ {
			x[i*dim+j] = float32(centres[c*dim+j] + spread*rng.NormFloat64())
		}
	}
	return x, y
}

// bruteForce is the definition, in float64 with a full sort: cosine
// similarity to every train row, the k largest, weights exp(sim/t), the
// class with the largest total (smallest index on ties).
func bruteForce(train []float32, labels []uint8, test []float32, dim, k int, t float64, classes int) ([]uint8, []float64) {
	norm := func(v []float32) []float64 {
		out := make([]float64, len(v))
		var s float64
		for _, x := range v {
			s += float64(x) * float64(x)
		}
		s = math.Sqrt(s)
		for i, x := range v {
			if s > 0 {
				out[i] = float64(x) / s
			}
		}
		return out
	}
	n, m := len(labels), len(test)/dim
	tr := make([][]float64, n)
	for i := range tr {
		tr[i] = norm(train[i*dim : (i+1)*dim])
	}
	pred := make([]uint8, m)
	scores := make([]float64, m*classes)
	for q := 0; q < m; q++ {
		v := norm(test[q*dim : (q+1)*dim])
		type pair struct {
			i int
			s float64
		}
		all := make([]pair, n)
		for i := range tr {
			var s float64
			for j := range v {
				s += v[j] * tr[i][j]
			}
			all[i] = pair{i, s}
		}
		sort.SliceStable(all, func(a, b int) bool { return all[a].s > all[b].s })
		sc := scores[q*classes : (q+1)*classes]
		var total float64
		for _, p := range all[:min(k, n)] {
			w := math.Exp(p.s / t)
			sc[labels[p.i]] += w
			total += w
		}
		best := 0
		for c := range sc {
			sc[c] /= total
			if sc[c] > sc[best] {
				best = c
			}
		}
		pred[q] = uint8(best)
	}
	return pred, scores
}

func TestPredictMatchesBruteForce(t *testing.T) {
	cases := []struct {
		name              string
		train, test, dim  int
		classes           int
		cfg               Config
		spread            float64
		minAgreeWithTruth float64
	}{
		{"defaults", 600, 150, 40, 10, Config{}, 1.5, 0.5},
		{"k larger than train", 120, 50, 8, 3, Config{K: 500}, 1.0, 0.4},
		{"k=1 is nearest neighbour", 400, 100, 70, 5, Config{K: 1}, 1.2, 0.4},
		{"hot temperature", 500, 90, 33, 4, Config{K: 50, T: 1}, 1.5, 0.4},
		{"cold temperature", 500, 90, 33, 4, Config{K: 50, T: 0.01}, 1.5, 0.4},
		{"tiny blocks", 300, 77, 65, 6, Config{K: 20, BlockRows: 7}, 1.5, 0.4},
	}
	for _, level := range cpufeat.Levels() {
		for i, tc := range cases {
			t.Run(fmt.Sprintf("%s/%s", tc.name, level), func(t *testing.T) {
				cpufeattest.Use(t, level)
				rng := rand.New(rand.NewPCG(uint64(i), 7))
				all, labels := randomData(rng, tc.train+tc.test, tc.dim, tc.classes, tc.spread)
				train, test := all[:tc.train*tc.dim], all[tc.train*tc.dim:]
				m, err := Fit(train, tc.train, tc.dim, labels[:tc.train], tc.cfg)
				if err != nil {
					t.Fatal(err)
				}
				got, err := m.Predict(context.Background(), test, tc.test)
				if err != nil {
					t.Fatal(err)
				}
				cfg := tc.cfg.withDefaults()
				wantPred, wantScores := bruteForce(train, labels[:tc.train], test, tc.dim, cfg.K, cfg.T, m.Classes())
				right := 0
				for q := range wantPred {
					if got.Class[q] != wantPred[q] {
						t.Errorf("test row %d: predicted %d, brute force %d", q, got.Class[q], wantPred[q])
					}
					if got.Class[q] == labels[tc.train+q] {
						right++
					}
				}
				for i := range wantScores {
					if d := math.Abs(got.Scores[i] - wantScores[i]); d > 1e-4 {
						t.Fatalf("score %d (row %d class %d): %g, brute force %g", i, i/m.Classes(), i%m.Classes(), got.Scores[i], wantScores[i])
					}
				}
				// The data are informative: a classifier that ignored them
				// would not pass this.
				if acc := float64(right) / float64(tc.test); acc < tc.minAgreeWithTruth {
					t.Errorf("accuracy %.3f below %.3f on clustered data", acc, tc.minAgreeWithTruth)
				}
			})
		}
	}
}

// wantKernel is the kernel Fit must pick at each SIMD level ("": the
// portable path).
var wantKernel = map[cpufeat.Level]string{cpufeat.Generic: "", cpufeat.AVX2: "avx2", cpufeat.AVX512: "avx512"}

func name(k *kernel) string {
	if k == nil {
		return ""
	}
	return k.name
}

func TestFitPicksTheKernelOfTheLevel(t *testing.T) {
	x, y := randomData(rand.New(rand.NewPCG(2, 2)), 20, 9, 2, 1)
	for _, level := range cpufeat.Levels() {
		t.Run(level.String(), func(t *testing.T) {
			cpufeattest.Use(t, level)
			m, err := Fit(x, 20, 9, y, Config{})
			if err != nil {
				t.Fatal(err)
			}
			if got := name(m.kern); got != wantKernel[level] {
				t.Errorf("kernel %q, want %q", got, wantKernel[level])
			}
		})
	}
}

func TestKernelSimilaritiesMatchFloat64Dots(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, level := range cpufeat.Levels() {
		t.Run(level.String(), func(t *testing.T) {
			cpufeattest.Use(t, level)
			kernel := level.String()
			// odd sizes: padding of rows to 3 and 4 and of the dimension to 8
			for _, dims := range [][3]int{{1, 1, 1}, {7, 5, 13}, {130, 11, 64}, {257, 40, 100}} {
				rows, n, dim := dims[0], dims[1], dims[2]
				x, y := randomData(rng, rows+n, dim, 3, 1)
				m, err := Fit(x[:rows*dim], rows, dim, y[:rows], Config{K: rows})
				if err != nil {
					t.Fatal(err)
				}
				nb, err := m.Neighbors(context.Background(), x[rows*dim:], n)
				if err != nil {
					t.Fatal(err)
				}
				for q := 0; q < n; q++ {
					if len(nb[q]) != rows {
						t.Fatalf("%s %v: %d neighbours, want all %d", kernel, dims, len(nb[q]), rows)
					}
					for _, e := range nb[q] {
						a, b := x[(rows+q)*dim:(rows+q+1)*dim], x[e.Index*dim:(e.Index+1)*dim]
						var ab, aa, bb float64
						for l := range a {
							ab += float64(a[l]) * float64(b[l])
							aa += float64(a[l]) * float64(a[l])
							bb += float64(b[l]) * float64(b[l])
						}
						want := ab / math.Sqrt(aa*bb)
						if d := math.Abs(float64(e.Sim) - want); d > 1e-5 {
							t.Fatalf("%s %v: sim(test %d, train %d) = %v, want %v", kernel, dims, q, e.Index, e.Sim, want)
						}
					}
				}
			}
		})
	}
}

func TestNeighborsAreSortedAndBreakTiesByIndex(t *testing.T) {
	// Train rows 0, 2 and 4 are the same direction as the query, 1 and 3
	// orthogonal, 5 opposite: the order must be 0, 2, 4, 1, 3, 5.
	train := []float32{
		1, 0,
		0, 1,
		2, 0, // same direction, other length: same cosine
		0, -3,
		0.5, 0,
		-1, 0,
	}
	m, err := Fit(train, 6, 2, []uint8{0, 1, 0, 1, 0, 2}, Config{K: 6})
	if err != nil {
		t.Fatal(err)
	}
	nb, err := m.Neighbors(context.Background(), []float32{3, 0}, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := []int{0, 2, 4, 1, 3, 5}
	for i, n := range nb[0] {
		if n.Index != want[i] {
			t.Fatalf("neighbour order %v, want indices %v", nb[0], want)
		}
	}
}

func TestVoteTieGoesToSmallerClass(t *testing.T) {
	// Two neighbours at the same similarity, of classes 2 and 1.
	train := []float32{1, 1, 1, -1}
	m, err := Fit(train, 2, 2, []uint8{2, 1}, Config{K: 2})
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.Predict(context.Background(), []float32{1, 0}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if p.Class[0] != 1 {
		t.Fatalf("tie went to class %d, want 1 (scores %v)", p.Class[0], p.Scores)
	}
}

func TestPredictIsTheSameOnAnyCoreCountAndBlockSize(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	x, y := randomData(rng, 900, 130, 10, 2)
	run := func(procs, block int) *Prediction {
		old := runtime.GOMAXPROCS(procs)
		defer runtime.GOMAXPROCS(old)
		m, err := Fit(x[:700*130], 700, 130, y[:700], Config{K: 30, BlockRows: block})
		if err != nil {
			t.Fatal(err)
		}
		p, err := m.Predict(context.Background(), x[700*130:], 200)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := run(1, 64)
	for _, c := range []struct{ procs, block int }{{4, 64}, {3, 7}, {2, 1000}} {
		b := run(c.procs, c.block)
		for i := range a.Scores {
			if a.Scores[i] != b.Scores[i] {
				t.Fatalf("score %d differs: %v on 1 core with blocks of 64, %v on %d with blocks of %d", i, a.Scores[i], b.Scores[i], c.procs, c.block)
			}
		}
	}
}

func TestFitAndPredictRejectBadInput(t *testing.T) {
	good := []float32{1, 0, 0, 1}
	cases := []struct {
		name string
		run  func() error
	}{
		{"values do not fill rows", func() error { _, err := Fit(good[:3], 2, 2, []uint8{0, 1}, Config{}); return err }},
		{"label count", func() error { _, err := Fit(good, 2, 2, []uint8{0}, Config{}); return err }},
		{"no rows", func() error { _, err := Fit(nil, 0, 2, nil, Config{}); return err }},
		{"negative temperature", func() error { _, err := Fit(good, 2, 2, []uint8{0, 1}, Config{T: -1}); return err }},
		{"label outside classes", func() error { _, err := Fit(good, 2, 2, []uint8{0, 3}, Config{Classes: 2}); return err }},
		{"NaN feature", func() error {
			_, err := Fit([]float32{1, float32(math.NaN()), 0, 1}, 2, 2, []uint8{0, 1}, Config{})
			return err
		}},
		{"test of another dimension", func() error {
			m, err := Fit(good, 2, 2, []uint8{0, 1}, Config{})
			if err != nil {
				return nil
			}
			_, err = m.Predict(context.Background(), []float32{1, 2, 3}, 1)
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.run(); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestPredictStopsWhenCancelled(t *testing.T) {
	m, err := Fit([]float32{1, 0, 0, 1}, 2, 2, []uint8{0, 1}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Predict(ctx, []float32{1, 0}, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func BenchmarkPredict784(b *testing.B)  { benchPredict(b, 784) }
func BenchmarkPredict2048(b *testing.B) { benchPredict(b, 2048) }

// BenchmarkPredict784Portable is the path without the assembly kernel.
func BenchmarkPredict784Portable(b *testing.B) {
	cpufeattest.Use(b, cpufeat.Generic)
	benchPredict(b, 784)
}

// BenchmarkPredict784AVX2 is the AVX2 kernel, also on AVX-512 machines.
func BenchmarkPredict784AVX2(b *testing.B) {
	cpufeattest.Kernels(b, cpufeat.AVX2) // skips without AVX2
	cpufeattest.Use(b, cpufeat.AVX2)
	benchPredict(b, 784)
}

func benchPredict(b *testing.B, dim int) {
	const trainRows, testRows = 8192, 512
	rng := rand.New(rand.NewPCG(1, 1))
	x, y := randomData(rng, trainRows+testRows, dim, 10, 1)
	m, err := Fit(x[:trainRows*dim], trainRows, dim, y[:trainRows], Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.Predict(context.Background(), x[trainRows*dim:], testRows); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*2*trainRows*testRows*float64(dim)/b.Elapsed().Seconds()/1e9, "GFLOPS")
}

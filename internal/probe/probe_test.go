package probe

import (
	"context"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/siampipe/siampipe/internal/cpufeat"
	"github.com/siampipe/siampipe/internal/cpufeat/cpufeattest"
)

// blobs returns rows x dim points around one centre per class, the centres
// `sep` apart along their own axis, with unit noise; features get arbitrary
// offsets and scales so that standardisation matters.
func blobs(rng *rand.Rand, rows, dim, classes int, sep float64) ([]float32, []uint8) {
	x := make([]float32, rows*dim)
	y := make([]uint8, rows)
	for i := 0; i < rows; i++ {
		c := i % classes
		y[i] = uint8(c)
		for j := 0; j < dim; j++ {
			v := rng.NormFloat64()
			if j == c {
				v += sep
			}
			x[i*dim+j] = float32(100 + float64(j+1)*30*v)
		}
	}
	return x, y
}

func accuracy(pred, want []uint8) float64 {
	right := 0
	for i := range pred {
		if pred[i] == want[i] {
			right++
		}
	}
	return float64(right) / float64(len(pred))
}

func TestProbeSeparatesSeparableData(t *testing.T) {
	for _, tc := range []struct {
		name               string
		rows, dim, classes int
		sep                float64
		minTrain, minTest  float64
	}{
		{"two classes", 200, 5, 2, 12, 1, 1},
		{"ten classes", 1000, 20, 10, 12, 1, 1},
		{"overlapping classes still mostly right", 1000, 8, 4, 2.5, 0.8, 0.75},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(11, uint64(tc.classes)))
			x, y := blobs(rng, 2*tc.rows, tc.dim, tc.classes, tc.sep)
			n := tc.rows * tc.dim
			m, err := Train(context.Background(), x[:n], tc.dim, y[:tc.rows], nil, Config{})
			if err != nil {
				t.Fatal(err)
			}
			if a := accuracy(m.Predict(x[:n]), y[:tc.rows]); a < tc.minTrain {
				t.Errorf("train accuracy %.4f, want >= %.4f", a, tc.minTrain)
			}
			if a := accuracy(m.Predict(x[n:]), y[tc.rows:]); a < tc.minTest {
				t.Errorf("test accuracy %.4f, want >= %.4f", a, tc.minTest)
			}
		})
	}
}

// objectiveFor builds the objective of raw rows x (n x d, row-major) the
// way Train lays them out, with the kernels of cpufeat's level.
func objectiveFor(x []float64, y []int, n, d, k int, lambda float64) *objective {
	o := &objective{y: y, n: n, dim: d, classes: k, lambda: lambda, dp: padTo(d, 12), kp: padTo(k, 4), kernel: useKernel()}
	o.x = make([]float64, padTo(n, 3)*o.dp)
	for i := 0; i < n; i++ {
		copy(o.x[i*o.dp:], x[i*d:(i+1)*d])
	}
	o.partial = make([][]float64, (n+chunkRows-1)/chunkRows)
	for i := range o.partial {
		o.partial[i] = make([]float64, o.kp*(o.dp+1)+1)
	}
	o.w = make([]float64, o.kp*o.dp)
	return o
}

func TestGradientMatchesFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	// sizes off the padding multiples, and more rows than one chunk
	for _, sz := range [][3]int{{50, 4, 3}, {1100, 13, 10}} {
		n, d, k := sz[0], sz[1], sz[2]
		x := make([]float64, n*d)
		y := make([]int, n)
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		for i := range y {
			y[i] = rng.IntN(k)
		}
		p := make([]float64, k*(d+1))
		for i := range p {
			p[i] = 0.3 * rng.NormFloat64()
		}
		var ref evaluation
		for _, level := range cpufeat.Levels() {
			restore := cpufeat.Set(level) // the objective keeps the level's path
			o := objectiveFor(x, y, n, d, k, 0.3)
			restore()
			if want := level >= cpufeat.AVX2; o.kernel != want {
				t.Fatalf("level %v: kernel %v, want %v", level, o.kernel, want)
			}
			e := o.eval(p)
			g := append([]float64(nil), e.g...)
			if ref.g == nil {
				ref = evaluation{f: e.f, g: g}
			} else {
				if math.Abs(e.f-ref.f) > 1e-12 {
					t.Errorf("%v: %v f %v, generic %v", sz, level, e.f, ref.f)
				}
				for i := range g {
					if math.Abs(g[i]-ref.g[i]) > 1e-12 {
						t.Fatalf("%v: %v gradient[%d] %v, generic %v", sz, level, i, g[i], ref.g[i])
					}
				}
			}
			for i := range p {
				const h = 1e-6
				q := append([]float64(nil), p...)
				q[i] += h
				fp := o.eval(q).f
				q[i] -= 2 * h
				fm := o.eval(q).f
				num := (fp - fm) / (2 * h)
				if math.Abs(num-g[i]) > 1e-6 {
					t.Errorf("%v %v: d f / d p[%d]: analytic %.9f, numeric %.9f", sz, level, i, g[i], num)
				}
			}
		}
	}
}

func TestTrainIsTheSameOnAnyCoreCount(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	x, y := blobs(rng, 3000, 6, 3, 1.5) // 3 chunks of rows
	run := func(procs int) *Model {
		old := runtime.GOMAXPROCS(procs)
		defer runtime.GOMAXPROCS(old)
		m, err := Train(context.Background(), x, 6, y, nil, Config{MaxIter: 30})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	a, b := run(1), run(3)
	for i := range a.W {
		if a.W[i] != b.W[i] {
			t.Fatalf("weight %d: %v on 1 core, %v on 3", i, a.W[i], b.W[i])
		}
	}
}

func TestStandardisationIsFittedOnTheTrainingRowsOnly(t *testing.T) {
	x := []float32{1, 10, 3, 10, 1000, 10}
	m, err := Train(context.Background(), x, 2, []uint8{0, 1, 1}, []int{0, 1}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Mean[0] != 2 || m.Scale[0] != 1 {
		t.Errorf("column 0: mean %v scale %v, want 2 and 1 (rows 0 and 1 only)", m.Mean[0], m.Scale[0])
	}
	if m.Scale[1] != 1 {
		t.Errorf("constant column scale %v, want 1", m.Scale[1])
	}
}

func TestSubsetIsStratifiedAndSeeded(t *testing.T) {
	labels := make([]uint8, 0, 1000)
	for c := 0; c < 4; c++ {
		for i := 0; i < 100*(c+1); i++ { // 100, 200, 300, 400 of classes 0..3
			labels = append(labels, uint8(c))
		}
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(labels), func(i, j int) { labels[i], labels[j] = labels[j], labels[i] })
	cases := []struct {
		fraction float64
		perClass [4]int
	}{
		{0.1, [4]int{10, 20, 30, 40}},
		{0.005, [4]int{1, 1, 2, 2}}, // round(0.5)=1 is at least one, round(1.5)=2
		{1, [4]int{100, 200, 300, 400}},
	}
	for _, tc := range cases {
		got, err := Subset(labels, tc.fraction, 42)
		if err != nil {
			t.Fatal(err)
		}
		var count [4]int
		for i, r := range got {
			count[labels[r]]++
			if i > 0 && got[i-1] >= r {
				t.Fatalf("fraction %v: rows not strictly increasing at %d", tc.fraction, i)
			}
		}
		if count != tc.perClass {
			t.Errorf("fraction %v: per-class counts %v, want %v", tc.fraction, count, tc.perClass)
		}
		again, _ := Subset(labels, tc.fraction, 42)
		for i := range got {
			if got[i] != again[i] {
				t.Fatalf("fraction %v: same seed gave another subset", tc.fraction)
			}
		}
	}
	a, _ := Subset(labels, 0.1, 1)
	b, _ := Subset(labels, 0.1, 2)
	same := 0
	for i := range a {
		if a[i] == b[i] {
			same++
		}
	}
	if same == len(a) {
		t.Error("seeds 1 and 2 gave the same subset")
	}
	for _, f := range []float64{0, -0.1, 1.5, math.NaN()} {
		if _, err := Subset(labels, f, 1); err == nil {
			t.Errorf("fraction %v accepted", f)
		}
	}
}

func TestTrainRejectsBadInput(t *testing.T) {
	x := []float32{1, 2, 3, 4}
	cases := []struct {
		name string
		x    []float32
		dim  int
		y    []uint8
		rows []int
		cfg  Config
	}{
		{"labels do not match rows", x, 2, []uint8{0}, nil, Config{}},
		{"zero dimension", x, 0, []uint8{0, 1}, nil, Config{}},
		{"row out of range", x, 2, []uint8{0, 1}, []int{2}, Config{}},
		{"empty subset", x, 2, []uint8{0, 1}, []int{}, Config{}},
		{"negative C", x, 2, []uint8{0, 1}, nil, Config{C: -1}},
		{"infinite feature", []float32{1, float32(math.Inf(1)), 3, 4}, 2, []uint8{0, 1}, nil, Config{}},
		{"label beyond classes", x, 2, []uint8{0, 5}, nil, Config{Classes: 2}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Train(context.Background(), tc.x, tc.dim, tc.y, tc.rows, tc.cfg); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

// BenchmarkTrain784Portable is the path without the assembly kernels.
func BenchmarkTrain784Portable(b *testing.B) {
	cpufeattest.Use(b, cpufeat.Generic)
	BenchmarkTrain784(b)
}

func BenchmarkTrain784(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	x, y := blobs(rng, 6000, 784, 10, 1)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Train(context.Background(), x, 784, y, nil, Config{MaxIter: 20}); err != nil {
			b.Fatal(err)
		}
	}
}

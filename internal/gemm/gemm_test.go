package gemm

import (
	"fmt"
	"github.com/siampipe/siampipe/internal/cpufeat"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"unsafe"
)

// useKernel makes products run the kernel of family fam until the test
// ends.
func useKernel(t testing.TB, fam string) {
	old := forceKernel
	forceKernel = fam
	t.Cleanup(func() { forceKernel = old })
}

// useThreads sets the worker count until the test ends.
func useThreads(t testing.TB, n int) {
	old := SetThreads(n)
	t.Cleanup(func() { SetThreads(old) })
}

// families lists the kernels this build and CPU run.
func families() []string {
	var f []string
	for _, k := range kernels() {
		f = append(f, k.family)
	}
	return f
}

// problem is one product with its inputs, c's initial value and the
// float64 reference of the result.
type problem struct {
	tA, tB        bool
	m, n, k       int
	alpha, beta   float32
	a, b, c0      []float32
	lda, ldb, ldc int
	want, bound   []float64 // reference and allowed error, m×n
	sentinel      float32   // value of c outside the m×n matrix
	name          string
}

// newProblem draws a problem; pad adds that many floats to every leading
// dimension.
func newProblem(rng *rand.Rand, tA, tB bool, m, n, k int, alpha, beta float32, pad int) *problem {
	p := &problem{tA: tA, tB: tB, m: m, n: n, k: k, alpha: alpha, beta: beta, sentinel: -12345}
	ar, ac := m, k
	if tA {
		ar, ac = k, m
	}
	br, bc := k, n
	if tB {
		br, bc = n, k
	}
	p.lda, p.ldb, p.ldc = max(1, ac)+pad, max(1, bc)+pad, max(1, n)+pad
	p.a = randSlice(rng, max(0, ar*p.lda))
	p.b = randSlice(rng, max(0, br*p.ldb))
	p.c0 = randSlice(rng, m*p.ldc)
	for i := range m {
		for j := n; j < p.ldc; j++ {
			p.c0[i*p.ldc+j] = p.sentinel
		}
	}
	p.name = fmt.Sprintf("tA=%v,tB=%v,m=%d,n=%d,k=%d,alpha=%g,beta=%g,pad=%d", tA, tB, m, n, k, alpha, beta, pad)
	p.reference()
	return p
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = rng.Float32()*2 - 1
	}
	return s
}

func (p *problem) opA(i, q int) float64 {
	if p.tA {
		return float64(p.a[q*p.lda+i])
	}
	return float64(p.a[i*p.lda+q])
}

func (p *problem) opB(q, j int) float64 {
	if p.tB {
		return float64(p.b[j*p.ldb+q])
	}
	return float64(p.b[q*p.ldb+j])
}

// u is the unit roundoff of float32.
const u = 1.0 / (1 << 24)

// reference computes the result in float64 and, for each element, the
// classical worst-case error bound of float32 evaluation with a factor 2 of
// margin: 2·(k+2)·u·(|alpha|·Σ|a||b| + |beta·c|). A missing, doubled or
// misplaced term costs about |a||b| ≈ Σ|a||b|/k, far above it.
func (p *problem) reference() {
	p.want = make([]float64, p.m*p.n)
	p.bound = make([]float64, p.m*p.n)
	for i := range p.m {
		for j := range p.n {
			var s, abs float64
			for q := range p.k {
				v := p.opA(i, q) * p.opB(q, j)
				s += v
				abs += math.Abs(v)
			}
			want := float64(p.alpha) * s
			mag := math.Abs(float64(p.alpha)) * abs
			if p.beta != 0 {
				cb := float64(p.beta) * float64(p.c0[i*p.ldc+j])
				want += cb
				mag += math.Abs(cb)
			}
			p.want[i*p.n+j] = want
			p.bound[i*p.n+j] = 2 * float64(p.k+2) * u * mag
		}
	}
}

// run computes the product into a fresh copy of c0.
func (p *problem) run() []float32 {
	c := append([]float32(nil), p.c0...)
	Sgemm(p.tA, p.tB, p.m, p.n, p.k, p.alpha, p.a, p.lda, p.b, p.ldb, p.beta, c, p.ldc)
	return c
}

// check reports elements of c off the reference by more than the bound,
// and any change to c outside the matrix.
func (p *problem) check(t *testing.T, c []float32) {
	t.Helper()
	bad := 0
	for i := range p.m {
		for j := range p.ldc {
			got := c[i*p.ldc+j]
			if j >= p.n {
				if got != p.sentinel {
					t.Errorf("%s: c[%d][%d] outside the matrix changed to %g", p.name, i, j, got)
					bad++
				}
				continue
			}
			want, bound := p.want[i*p.n+j], p.bound[i*p.n+j]
			if d := math.Abs(float64(got) - want); !(d <= bound) {
				t.Errorf("%s: c[%d][%d] = %g, want %g ± %.3g", p.name, i, j, got, want, bound)
				bad++
			}
			if bad > 5 {
				t.Fatalf("%s: too many errors", p.name)
			}
		}
	}
}

// TestSgemmMatchesFloat64Reference checks every kernel, all four transpose
// combinations and edge-sized shapes against a float64 reference.
func TestSgemmMatchesFloat64Reference(t *testing.T) {
	dims := []int{1, 2, 3, 5, 7, 13, 31, 32, 33, 63, 64, 65, 100, 257}
	ks := []int{1, 7, 33, 257}
	scalars := []float32{0, 1, -0.5, 2}
	if testing.Short() {
		dims = []int{1, 3, 13, 32, 33, 65}
		ks = []int{1, 33}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var probs []*problem
	n := 0
	for _, tA := range []bool{false, true} {
		for _, tB := range []bool{false, true} {
			for _, m := range dims {
				for _, nn := range dims {
					for _, k := range ks {
						// alpha 0 takes the scaling path, tested below;
						// here alpha and beta cycle through the others.
						alpha := scalars[1+n%3]
						beta := scalars[(n/3)%4]
						probs = append(probs, newProblem(rng, tA, tB, m, nn, k, alpha, beta, n%3))
						n++
					}
				}
			}
		}
	}
	for _, fam := range families() {
		t.Run(fam, func(t *testing.T) {
			useKernel(t, fam)
			for _, p := range probs {
				p.check(t, p.run())
			}
		})
	}
}

// TestSgemmTallReductionsMatchReference checks products whose k is cut
// into groups summed afterwards, some of them computed transposed, for
// every kernel and transpose combination.
func TestSgemmTallReductionsMatchReference(t *testing.T) {
	shapes := [][3]int{{3, 40, 4100}, {33, 5, 2500}, {9, 9, 8192}, {20, 20, 9000}, {32, 9, 6272}}
	rng := rand.New(rand.NewPCG(9, 10))
	var probs []*problem
	for i, s := range shapes {
		for _, tA := range []bool{false, true} {
			for _, tB := range []bool{false, true} {
				alpha := []float32{1, -0.5, 2}[i%3]
				beta := []float32{0, 1, -0.5, 2}[(i+b2i(tA)+2*b2i(tB))%4]
				probs = append(probs, newProblem(rng, tA, tB, s[0], s[1], s[2], alpha, beta, i%2))
			}
		}
	}
	for _, p := range probs {
		if pl := newPlan(active(), &operands{tA: p.tA, tB: p.tB, m: p.m, n: p.n, k: p.k}); pl.groups < 2 {
			t.Fatalf("%s: %d k groups, the test wants a split reduction", p.name, pl.groups)
		}
	}
	for _, fam := range families() {
		t.Run(fam, func(t *testing.T) {
			useKernel(t, fam)
			for _, p := range probs {
				p.check(t, p.run())
			}
		})
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestSgemmScalesWithoutProduct checks the paths where a and b are not
// read: alpha 0 or k 0 give c = beta·c, and beta 0 clears c.
func TestSgemmScalesWithoutProduct(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tt := range []struct {
		k           int
		alpha, beta float32
	}{
		{0, 1, 0}, {0, 1, 1}, {0, 2, -0.5}, {5, 0, 0}, {5, 0, 2}, {5, 0, 1},
	} {
		p := newProblem(rng, false, false, 7, 9, tt.k, tt.alpha, tt.beta, 2)
		p.check(t, p.run())
	}
}

// TestSgemmBetaZeroOverwritesNaN checks that c is not read when beta is 0:
// NaNs in it disappear, for every kernel and for split reductions.
func TestSgemmBetaZeroOverwritesNaN(t *testing.T) {
	shapes := [][3]int{{7, 9, 5}, {33, 65, 31}, {32, 9, 50176 / 8}, {14, 32, 300}}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, fam := range families() {
		t.Run(fam, func(t *testing.T) {
			useKernel(t, fam)
			for _, s := range shapes {
				for _, alpha := range []float32{0, 1.5} {
					p := newProblem(rng, false, true, s[0], s[1], s[2], alpha, 0, 1)
					for i := range p.m {
						for j := range p.n {
							p.c0[i*p.ldc+j] = float32(math.NaN())
						}
					}
					p.check(t, p.run())
				}
			}
		})
	}
}

// TestSgemmPanicsOnBadArguments checks gonum's preconditions, with a
// message naming the problem.
func TestSgemmPanicsOnBadArguments(t *testing.T) {
	s := make([]float32, 100)
	for _, tt := range []struct {
		name          string
		tA, tB        bool
		m, n, k       int
		a, b, c       []float32
		lda, ldb, ldc int
		want          string
	}{
		{"negative m", false, false, -1, 2, 2, s, s, s, 2, 2, 2, "negative dimension"},
		{"negative k", false, false, 2, 2, -1, s, s, s, 2, 2, 2, "negative dimension"},
		{"lda short", false, false, 2, 3, 4, s, s, s, 3, 3, 3, "lda 3 < 4"},
		{"lda short transposed", true, false, 5, 3, 4, s, s, s, 4, 3, 3, "lda 4 < 5"},
		{"ldb short", false, false, 2, 3, 4, s, s, s, 4, 2, 3, "ldb 2 < 3"},
		{"ldb short transposed", false, true, 2, 3, 4, s, s, s, 4, 3, 3, "ldb 3 < 4"},
		{"ldc short", false, false, 2, 3, 4, s, s, s, 4, 3, 2, "ldc 2 < 3"},
		{"lda zero", false, false, 0, 3, 0, s, s, s, 0, 3, 3, "lda 0 < 1"},
		{"a short", false, false, 10, 10, 10, s[:99], s, s, 10, 10, 10, "a has 99 floats"},
		{"b short", false, true, 10, 10, 10, s, s[:95], s, 10, 10, 10, "b has 95 floats"},
		{"c short", false, false, 10, 10, 10, s, s, s[:90], 10, 10, 10, "c has 90 floats"},
		{"c short with ldc", false, false, 2, 2, 2, s, s, s[:20], 2, 2, 20, "c has 20 floats"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				r := recover()
				msg, _ := r.(string)
				if r == nil || !strings.Contains(msg, tt.want) {
					t.Fatalf("panic %v, want one containing %q", r, tt.want)
				}
			}()
			Sgemm(tt.tA, tt.tB, tt.m, tt.n, tt.k, 1, tt.a, tt.lda, tt.b, tt.ldb, 0, tt.c, tt.ldc)
		})
	}
}

// TestSgemmAcceptsEmptyMatrices checks that m = 0 or n = 0 does nothing
// and needs no data, as in gonum.
func TestSgemmAcceptsEmptyMatrices(t *testing.T) {
	Sgemm(false, false, 0, 5, 3, 1, nil, 3, nil, 5, 0, nil, 5)
	Sgemm(true, true, 4, 0, 3, 1, nil, 4, nil, 3, 0, nil, 1)
	c := []float32{7, 7}
	Sgemm(false, false, 1, 2, 0, 1, nil, 1, nil, 2, 0.5, c, 2)
	if c[0] != 3.5 || c[1] != 3.5 {
		t.Fatalf("k = 0, beta 0.5: c = %v, want [3.5 3.5]", c)
	}
}

// modelShape is one product of the seed model's training step (batch 256,
// one view) as internal/nnops calls it.
type modelShape struct {
	name    string
	tA, tB  bool
	m, n, k int
}

// modelShapes: the convolutions whole (m = Cout, n = 256·Ho·Wo, K = Cin·9)
// and in the chunks conv.go multiplies, and the linear layers of the seed
// predictor (2048→64→2048) and of the simsiam heads (2048→256→256,
// 256→64→256); fwd is y = x·Wᵀ, dX = dy·W, dW = dyᵀ·x.
var modelShapes = []modelShape{
	{"conv1fwd", false, false, 32, 50176, 9},
	{"conv1fwdchunk", false, false, 32, 64 * 196, 9},
	{"conv1dW", false, true, 32, 9, 50176},
	{"conv2fwd", false, false, 64, 12544, 288},
	{"conv2fwdchunk", false, false, 64, 16 * 49, 289},
	{"conv2dX", true, false, 288, 12544, 64},
	{"conv2dXchunk", true, false, 288, 16 * 49, 64},
	{"conv2dW", false, true, 64, 288, 12544},
	{"conv3fwd", false, false, 128, 4096, 576},
	{"conv3fwdchunk", false, false, 128, 22 * 16, 577},
	{"conv3dX", true, false, 576, 4096, 128},
	{"conv3dXchunk", true, false, 576, 22 * 16, 128},
	{"conv3dW", false, true, 128, 576, 4096},
	{"pred1fwd", false, true, 256, 64, 2048},
	{"pred1dX", false, false, 256, 2048, 64},
	{"pred1dW", true, false, 64, 2048, 256},
	{"pred2fwd", false, true, 256, 2048, 64},
	{"pred2dX", false, false, 256, 64, 2048},
	{"pred2dW", true, false, 2048, 64, 256},
	{"proj1fwd", false, true, 256, 256, 2048},
	{"proj1dX", false, false, 256, 2048, 256},
	{"proj1dW", true, false, 256, 2048, 256},
	{"proj2fwd", false, true, 256, 256, 256},
	{"proj2dW", true, false, 256, 256, 256},
	{"simpred1fwd", false, true, 256, 64, 256},
	{"simpred1dX", false, false, 256, 256, 64},
	{"simpred1dW", true, false, 64, 256, 256},
	{"simpred2fwd", false, true, 256, 256, 64},
	{"simpred2dX", false, false, 256, 64, 256},
	{"simpred2dW", true, false, 256, 64, 256},
	{"conv2dWchunk", false, true, 288, 64, 16 * 49}, // dWᵀ = cols·gᵀ, 16 images
	{"conv3dWchunk", false, true, 576, 128, 16 * 16},
}

// operandsFor returns inputs for s, filled with a fixed pattern.
func operandsFor(s modelShape) (a []float32, lda int, b []float32, ldb int, c []float32) {
	a = make([]float32, s.m*s.k)
	b = make([]float32, s.k*s.n)
	c = make([]float32, s.m*s.n)
	rng := rand.New(rand.NewPCG(uint64(s.m), uint64(s.n*s.k)))
	for i := range a {
		a[i] = rng.Float32() - 0.5
	}
	for i := range b {
		b[i] = rng.Float32() - 0.5
	}
	lda, ldb = s.k, s.n
	if s.tA {
		lda = s.m
	}
	if s.tB {
		ldb = s.k
	}
	return a, lda, b, ldb, c
}

// TestKernelNameFollowsForcedKernel checks the switch the other tests use
// to run every kernel on this CPU.
func TestKernelNameFollowsForcedKernel(t *testing.T) {
	fams := families()
	if fams[len(fams)-1] != "go" {
		t.Fatalf("kernels %v do not end with the Go kernel", fams)
	}
	for _, fam := range fams {
		useKernel(t, fam)
		if got := KernelName(); !strings.HasPrefix(got, fam+" ") {
			t.Errorf("forced %q: KernelName() = %q", fam, got)
		}
	}
}

// TestSgemmConcurrentCallsAgree runs products from several goroutines at
// once (sharing the helpers) and compares each with the same product run
// alone.
func TestSgemmConcurrentCallsAgree(t *testing.T) {
	useThreads(t, 3)
	shapes := []modelShape{modelShapes[4], modelShapes[7], modelShapes[13], modelShapes[15], modelShapes[18]}
	type result struct{ want, got []float32 }
	results := make([]result, len(shapes))
	run := func(i int) []float32 {
		s := shapes[i]
		a, lda, b, ldb, c := operandsFor(s)
		Sgemm(s.tA, s.tB, s.m, s.n, s.k, 1, a, lda, b, ldb, 0, c, s.n)
		return c
	}
	for i := range shapes {
		results[i].want = run(i)
	}
	done := make(chan int)
	for i := range shapes {
		go func() {
			for range 3 {
				results[i].got = run(i)
			}
			done <- i
		}()
	}
	for range shapes {
		<-done
	}
	for i, r := range results {
		if string(bytesOf(r.got)) != string(bytesOf(r.want)) {
			t.Errorf("%s: concurrent result differs", shapes[i].name)
		}
	}
}

func bytesOf(c []float32) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(c))), 4*len(c))
}

// TestSgemmDoesNotAllocate checks that products of different shapes,
// serial and split over helpers, reuse their buffers once warm, even
// across garbage collections.
func TestSgemmDoesNotAllocate(t *testing.T) {
	useThreads(t, 2)
	shapes := []modelShape{modelShapes[4], modelShapes[7], modelShapes[2], {"small", true, true, 5, 7, 9}}
	type args struct {
		a, b, c  []float32
		lda, ldb int
	}
	var in []args
	for _, s := range shapes {
		a, lda, b, ldb, c := operandsFor(s)
		in = append(in, args{a, b, c, lda, ldb})
	}
	all := func() {
		for i, s := range shapes {
			Sgemm(s.tA, s.tB, s.m, s.n, s.k, 1, in[i].a, in[i].lda, in[i].b, in[i].ldb, 0, in[i].c, s.n)
		}
	}
	all()
	runtime.GC()
	runtime.GC()
	if n := testing.AllocsPerRun(10, all); n != 0 {
		t.Errorf("%v allocations per round of %d products", n, len(shapes))
	}
}

// TestSgemmSameBytesForAnyThreadCount checks on the model's shapes that
// the result does not depend on the worker count or on GOMAXPROCS.
func TestSgemmSameBytesForAnyThreadCount(t *testing.T) {
	before := helperTasks.Load()
	for _, fam := range families() {
		t.Run(fam, func(t *testing.T) {
			useKernel(t, fam)
			for _, s := range modelShapes {
				if fam == "go" && 2*s.m*s.n*s.k > 100_000_000 {
					continue // a second or more each: the smaller ones cover its paths
				}
				a, lda, b, ldb, c := operandsFor(s)
				run := func(threads, procs int) []byte {
					defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
					defer SetThreads(SetThreads(threads))
					for i := range c {
						c[i] = float32(i % 3)
					}
					Sgemm(s.tA, s.tB, s.m, s.n, s.k, 1, a, lda, b, ldb, 0.5, c, s.n)
					return append([]byte(nil), bytesOf(c)...)
				}
				want := run(1, 1)
				for _, tp := range [][2]int{{2, 2}, {3, 3}, {7, 2}, {0, 1}, {0, 2}, {0, 3}} {
					if got := run(tp[0], tp[1]); string(got) != string(want) {
						t.Errorf("%s: %d threads, GOMAXPROCS %d: bytes differ from one thread", s.name, tp[0], tp[1])
					}
				}
			}
		})
	}
	// The comparison means something only if helpers took part.
	if helperTasks.Load() == before {
		t.Errorf("no helper ran a task: the products were not split")
	}
}

// FuzzSgemm compares small products of any shape, transposition, leading
// dimensions and scalars with the float64 reference, on the best kernel.
func FuzzSgemm(f *testing.F) {
	f.Add(uint8(3), uint8(5), uint8(7), uint8(0), uint8(0), uint8(0), uint64(1))
	f.Add(uint8(33), uint8(9), uint8(40), uint8(3), uint8(2), uint8(7), uint64(2))
	f.Add(uint8(15), uint8(64), uint8(1), uint8(1), uint8(5), uint8(1), uint64(3))
	f.Fuzz(func(t *testing.T, m, n, k, trans, scalars, pad uint8, seed uint64) {
		rng := rand.New(rand.NewPCG(seed, 11))
		vals := []float32{0, 1, -0.5, 2}
		alpha, beta := vals[scalars%4], vals[scalars/4%4]
		p := newProblem(rng, trans&1 != 0, trans&2 != 0, int(m%80), int(n%80), int(k%100), alpha, beta, int(pad%5))
		p.check(t, p.run())
	})
}

// TestKernelFollowsTheSIMDLevel: lowering cpufeat's level (SIAMPIPE_SIMD,
// or Set in tests) lowers the kernel the products run on.
func TestKernelFollowsTheSIMDLevel(t *testing.T) {
	want := map[cpufeat.Level]string{cpufeat.Generic: "go", cpufeat.AVX2: "avx2", cpufeat.AVX512: "avx512"}
	for _, l := range cpufeat.Levels() {
		restore := cpufeat.Set(l)
		got := active().family
		restore()
		if got != want[l] {
			t.Errorf("at level %s the products run the %s kernel, want %s", l, got, want[l])
		}
	}
}

// TestAReadInPlace checks that products whose A the AVX-512 kernel reads
// in place (rowTiles, colTiles when transposed), with whole panels of a
// row-major B read in place too or packed, give the bits of the same
// products with both packed, for the model's shapes and odd ones (every
// tile height, several k blocks, a last partial panel, leading dimensions
// past the row).
func TestAReadInPlace(t *testing.T) {
	if active().rowTiles == nil || active().colTiles == nil {
		t.Skipf("kernel %s reads no A in place", KernelName())
	}
	shapes := append([]modelShape(nil), modelShapes...)
	for _, mnk := range [][3]int{{1, 1, 1}, {13, 31, 7}, {29, 33, 600}, {14, 64, 257}, {100, 5, 1000}, {3, 200, 3}} {
		for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
			shapes = append(shapes, modelShape{fmt.Sprintf("%v tA %v tB %v", mnk, tr[0], tr[1]), tr[0], tr[1], mnk[0], mnk[1], mnk[2]})
		}
	}
	inPlaceB := 0 // shapes whose B panels are read in place
	for _, s := range shapes {
		a, lda, b, ldb, _ := operandsFor(s)
		o := operands{tA: s.tA, tB: s.tB, m: s.m, n: s.n, k: s.k, lda: lda, ldb: ldb}
		pl := newPlan(active(), &o)
		if !pl.swap && !pl.direct {
			t.Errorf("%s: A is not read in place", s.name)
		}
		if pl.directB {
			inPlaceB++
		}
		for _, pad := range []int{0, 3} { // ldb and ldc past the row
			rows, cols := s.k, s.n
			if s.tB {
				rows, cols = s.n, s.k
			}
			bp, ldbp := make([]float32, rows*(cols+pad)), cols+pad
			for r := range rows {
				copy(bp[r*ldbp:r*ldbp+cols], b[r*ldb:r*ldb+cols])
			}
			run := func() []byte {
				cc := make([]float32, s.m*(s.n+pad))
				for i := range cc {
					cc[i] = float32(i%5) - 2
				}
				Sgemm(s.tA, s.tB, s.m, s.n, s.k, 1, a, lda, bp, ldbp, 0.5, cc, s.n+pad)
				return append([]byte(nil), bytesOf(cc)...)
			}
			direct := run()
			directB = false
			directAOnly := run()
			directA = false
			packed := run()
			directA, directB = true, true
			if string(direct) != string(packed) {
				t.Errorf("%s ldb, ldc pad %d: A and B read in place give other bits than both packed", s.name, pad)
			}
			if string(directAOnly) != string(packed) {
				t.Errorf("%s ldb, ldc pad %d: A read in place gives other bits than A packed", s.name, pad)
			}
		}
	}
	if inPlaceB == 0 {
		t.Error("no shape had its B panels read in place")
	}
}

// TestFitsL1 checks the test of a B panel read in place against L1's sets,
// for the AVX-512 kernel's 32-float rows.
func TestFitsL1(t *testing.T) {
	for _, tc := range []struct {
		ldb, kc int
		want    bool
	}{
		{32, 256, true},   // a packed panel's layout: 8 lines a set
		{32, 257, false},  // one row more than L1 holds
		{784, 145, true},  // a 16-image chunk of 7x7 patches: 49 lines apart
		{352, 193, true},  // 22 images of 4x4: 22 lines apart
		{1024, 64, false}, // 4 KiB apart: every row in the same two sets
		{2048, 16, false}, // 8 KiB apart
		{256, 16, true},   // 1 KiB apart, few rows
		{256, 64, false},  // 1 KiB apart: 16 sets for 128 lines
		{33, 200, true},   // rows not on line boundaries
	} {
		if got := fitsL1(tc.ldb, tc.kc, 32); got != tc.want {
			t.Errorf("fitsL1(%d, %d) = %v, want %v", tc.ldb, tc.kc, got, tc.want)
		}
	}
}

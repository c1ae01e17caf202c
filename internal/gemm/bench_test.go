package gemm

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// A sgemmFunc has Sgemm's signature.
type sgemmFunc func(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)

// A contender is one implementation in the benchmarks' comparison.
type contender struct {
	name  string
	setup func(b *testing.B) // sets it up until b ends
	sgemm sgemmFunc
}

// extraContenders are added by bench_openblas_test.go (-tags openblas).
var extraContenders []contender

// contenders lists, in the order they run for each shape: this package
// with each kernel on one and two threads, gonum's Sgemm (which splits
// over GOMAXPROCS goroutines) with GOMAXPROCS 1 and 2, and the extras.
// GOMAXPROCS is the thread count throughout.
func contenders() []contender {
	var cs []contender
	for _, fam := range families() {
		for _, threads := range []int{1, 2} {
			cs = append(cs, contender{fmt.Sprintf("%s-%dt", fam, threads), func(b *testing.B) {
				useKernel(b, fam)
				useThreads(b, threads)
				useProcs(b, threads)
			}, Sgemm})
		}
	}
	for _, procs := range []int{1, 2} {
		cs = append(cs, contender{fmt.Sprintf("gonum-%dt", procs), func(b *testing.B) { useProcs(b, procs) }, gonumSgemm(gonum.Implementation{})})
	}
	return append(cs, extraContenders...)
}

// useProcs sets GOMAXPROCS until b ends.
func useProcs(b *testing.B, n int) {
	old := runtime.GOMAXPROCS(n)
	b.Cleanup(func() { runtime.GOMAXPROCS(old) })
}

// gonumSgemm adapts a gonum BLAS.
func gonumSgemm(impl blas.Float32) sgemmFunc {
	return func(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
		ta, tb := blas.NoTrans, blas.NoTrans
		if tA {
			ta = blas.Trans
		}
		if tB {
			tb = blas.Trans
		}
		impl.Sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	}
}

// A meter measures the speed of a benchmark loop in GFLOP per second of
// wall time and per second of CPU time (all threads): on a shared machine
// the second is the steadier, and their ratio shows how many cores worked.
type meter struct {
	cpu0 time.Duration
	ok   bool
}

func startMeter(b *testing.B) meter {
	b.ResetTimer()
	c, ok := processCPU()
	return meter{c, ok}
}

// report reports b.N runs of flops each.
func (mt meter) report(b *testing.B, flops float64) {
	total := flops * float64(b.N)
	b.ReportMetric(total/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	if c, ok := processCPU(); ok && mt.ok && c > mt.cpu0 {
		b.ReportMetric(total/(c-mt.cpu0).Seconds()/1e9, "GFLOP/cpu-s")
	}
}

// BenchmarkSgemm measures each product of the seed model's training step
// (modelShapes, one view) with every contender, shape after shape, so
// that the contenders of a shape run side by side:
//
//	go test -run '^$' -bench Sgemm -count 3 ./internal/gemm
//	go test -tags openblas -run '^$' -bench Sgemm ./internal/gemm   # with OpenBLAS
func BenchmarkSgemm(b *testing.B) {
	cs := contenders()
	for _, s := range modelShapes {
		a, lda, bb, ldb, c := operandsFor(s)
		flops := 2 * float64(s.m) * float64(s.n) * float64(s.k)
		for _, ct := range cs {
			b.Run(s.name+"/"+ct.name, func(b *testing.B) {
				ct.setup(b)
				mt := startMeter(b)
				for b.Loop() {
					ct.sgemm(s.tA, s.tB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
				}
				mt.report(b, flops)
			})
		}
	}
}

// BenchmarkTile measures the largest micro-kernel of each family alone,
// on panels that stay in L1: the ceiling of the products.
func BenchmarkTile(b *testing.B) {
	for _, kern := range kernels() {
		b.Run(kern.name, func(b *testing.B) {
			const k = 256
			r := kern.mr
			a := growAligned(nil, kern.as*k)
			bp := growAligned(nil, k*kern.nr)
			c := make([]float32, r*kern.nr)
			mt := startMeter(b)
			for b.Loop() {
				kern.tiles[r](k, &a[0], &bp[0], &c[0], kern.nr, 1, 0, kern.nr, 0)
			}
			mt.report(b, 2*float64(r*kern.nr*k))
		})
	}
}

// A seedCall is one product of the seed model's training step, with its
// operands laid out as internal/nnops lays them out.
type seedCall struct {
	tA, tB           bool
	m, n, k          int
	aOff, bOff, cOff int
	lda, ldb, ldc    int
	beta             float32
	aLen, bLen, cLen int
}

// seedView lists the calls of one view (batch 256): per convolution (Cout,
// K = Cin·9, P = Ho·Wo) the forward products a chunk of images at a time
// (conv.go's 1 MiB patch-matrix chunks, inside matrices 256·P columns
// wide, bias preloaded so beta 1), the input-gradient products by chunks
// (not for the first convolution, whose input is the data) and the weight
// gradient; then the predictor's two linear layers (2048→64→2048) forward,
// dX and dW.
func seedView() []seedCall {
	const batch = 256
	var calls []seedCall
	for li, l := range []struct{ cout, K, P int }{{32, 9, 196}, {64, 288, 49}, {128, 576, 16}} {
		NP := batch * l.P
		chunk := max(1, min(batch, (1<<20)/(4*l.K*l.P)))
		for b0 := 0; b0 < batch; b0 += chunk {
			cn := (min(b0+chunk, batch) - b0) * l.P
			calls = append(calls, seedCall{m: l.cout, n: cn, k: l.K, bOff: b0 * l.P, cOff: b0 * l.P,
				lda: l.K, ldb: NP, ldc: NP, beta: 1, aLen: l.cout * l.K, bLen: l.K * NP, cLen: l.cout * NP})
		}
		if li > 0 {
			for b0 := 0; b0 < batch; b0 += chunk {
				cn := (min(b0+chunk, batch) - b0) * l.P
				calls = append(calls, seedCall{tA: true, m: l.K, n: cn, k: l.cout, bOff: b0 * l.P,
					lda: l.K, ldb: NP, ldc: cn, aLen: l.cout * l.K, bLen: l.cout * NP, cLen: l.K * chunk * l.P})
			}
		}
		calls = append(calls, seedCall{tB: true, m: l.cout, n: l.K, k: NP, lda: NP, ldb: NP, ldc: l.K,
			aLen: l.cout * NP, bLen: l.K * NP, cLen: l.cout * l.K})
	}
	for _, l := range []struct{ in, out int }{{2048, 64}, {64, 2048}} {
		calls = append(calls,
			seedCall{tB: true, m: batch, n: l.out, k: l.in, lda: l.in, ldb: l.in, ldc: l.out, aLen: batch * l.in, bLen: l.out * l.in, cLen: batch * l.out},
			seedCall{m: batch, n: l.in, k: l.out, lda: l.out, ldb: l.in, ldc: l.in, aLen: batch * l.out, bLen: l.out * l.in, cLen: batch * l.in},
			seedCall{tA: true, m: l.out, n: l.in, k: batch, lda: l.out, ldb: l.in, ldc: l.in, aLen: batch * l.out, bLen: batch * l.in, cLen: l.out * l.in})
	}
	return calls
}

// BenchmarkSeedView runs every product of one view of the seed model's
// training step, as nnops calls them, with every contender: the number the
// train-speed goal depends on (ms/op is the products' share of a view).
func BenchmarkSeedView(b *testing.B) {
	calls := seedView()
	var flops float64
	size := 0
	for _, c := range calls {
		flops += 2 * float64(c.m) * float64(c.n) * float64(c.k)
		size = max(size, c.aLen, c.bLen, c.cLen)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	x, y, z := randSlice(rng, size), randSlice(rng, size), randSlice(rng, size)
	for _, ct := range contenders() {
		b.Run(ct.name, func(b *testing.B) {
			ct.setup(b)
			mt := startMeter(b)
			for b.Loop() {
				for _, c := range calls {
					ct.sgemm(c.tA, c.tB, c.m, c.n, c.k, 1, x[c.aOff:c.aLen], c.lda, y[c.bOff:c.bLen], c.ldb, c.beta, z[c.cOff:c.cLen], c.ldc)
				}
			}
			mt.report(b, flops)
		})
	}
}

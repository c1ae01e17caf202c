package gemm

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

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

func shapeFlops(s modelShape) float64 { return 2 * float64(s.m) * float64(s.n) * float64(s.k) }

// BenchmarkSgemm measures the products of one view of the seed model's
// training step (modelShapes) with each kernel on one and two threads, and
// gonum's pure-Go Sgemm (which splits over GOMAXPROCS goroutines) with
// GOMAXPROCS 1 and 2, in one run. bench_openblas_test.go adds OpenBLAS
// (-tags openblas). Compare GFLOP/s; -count interleaves the contenders.
func BenchmarkSgemm(b *testing.B) {
	for _, s := range modelShapes {
		a, lda, bb, ldb, c := operandsFor(s)
		for _, fam := range families() {
			for _, threads := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/%s-%dt", s.name, fam, threads), func(b *testing.B) {
					useKernel(b, fam)
					useThreads(b, threads)
					defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(threads, runtime.GOMAXPROCS(0))))
					mt := startMeter(b)
					for b.Loop() {
						Sgemm(s.tA, s.tB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
					}
					mt.report(b, shapeFlops(s))
				})
			}
		}
		for _, procs := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/gonum-%dt", s.name, procs), func(b *testing.B) {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
				tA, tB := blas.NoTrans, blas.NoTrans
				if s.tA {
					tA = blas.Trans
				}
				if s.tB {
					tB = blas.Trans
				}
				mt := startMeter(b)
				for b.Loop() {
					gonum.Implementation{}.Sgemm(tA, tB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
				}
				mt.report(b, shapeFlops(s))
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
			a := growAligned(nil, r*k)
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

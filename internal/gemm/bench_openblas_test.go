//go:build openblas

package gemm

import (
	"testing"

	"gonum.org/v1/gonum/blas"

	"github.com/siampipe/siampipe/internal/openblas"
)

// BenchmarkOpenBLAS measures OpenBLAS (one thread, the best kernels this
// CPU runs: internal/openblas sees to both) on the shapes of BenchmarkSgemm,
// for comparison: go test -tags openblas -bench 'Sgemm|OpenBLAS'.
func BenchmarkOpenBLAS(b *testing.B) {
	impl := openblas.Float32()
	b.Logf("OpenBLAS core %s", openblas.Core())
	for _, s := range modelShapes {
		a, lda, bb, ldb, c := operandsFor(s)
		tA, tB := blas.NoTrans, blas.NoTrans
		if s.tA {
			tA = blas.Trans
		}
		if s.tB {
			tB = blas.Trans
		}
		b.Run(s.name+"/openblas-1t", func(b *testing.B) {
			mt := startMeter(b)
			for b.Loop() {
				impl.Sgemm(tA, tB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
			}
			mt.report(b, shapeFlops(s))
		})
	}
}

// TestOpenBLASAgrees checks the benchmark's OpenBLAS against Sgemm on the
// model's shapes (the same float32 products, summed in other orders).
func TestOpenBLASAgrees(t *testing.T) {
	impl := openblas.Float32()
	for _, s := range modelShapes[:6] {
		a, lda, bb, ldb, c := operandsFor(s)
		tA, tB := blas.NoTrans, blas.NoTrans
		if s.tA {
			tA = blas.Trans
		}
		if s.tB {
			tB = blas.Trans
		}
		want := make([]float32, len(c))
		impl.Sgemm(tA, tB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, want, s.n)
		Sgemm(s.tA, s.tB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
		for i := range c {
			// Entries are sums of k products of numbers in [-0.5, 0.5).
			if d := c[i] - want[i]; d > 1e-4*float32(s.k) || d < -1e-4*float32(s.k) {
				t.Fatalf("%s: c[%d] = %g, OpenBLAS %g", s.name, i, c[i], want[i])
			}
		}
	}
}

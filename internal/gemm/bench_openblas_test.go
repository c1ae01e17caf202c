//go:build openblas

package gemm

import (
	"testing"

	"github.com/siampipe/siampipe/internal/openblas"
)

// OpenBLAS joins the benchmarks' contenders with one thread (and the best
// kernels this CPU runs: internal/openblas sees to both).
func init() {
	extraContenders = append(extraContenders, contender{"openblas-1t", func(b *testing.B) {
		useProcs(b, 1)
		b.Logf("OpenBLAS core %s", openblas.Core())
	}, gonumSgemm(openblas.Float32())})
}

// TestOpenBLASAgrees checks the benchmarks' OpenBLAS against Sgemm on the
// model's shapes (the same float32 products, summed in other orders).
func TestOpenBLASAgrees(t *testing.T) {
	ob := gonumSgemm(openblas.Float32())
	for _, s := range modelShapes {
		a, lda, bb, ldb, c := operandsFor(s)
		want := make([]float32, len(c))
		ob(s.tA, s.tB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, want, s.n)
		Sgemm(s.tA, s.tB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
		for i := range c {
			// Entries are sums of k products of numbers in [-0.5, 0.5).
			if d := c[i] - want[i]; d > 1e-4*float32(s.k) || d < -1e-4*float32(s.k) {
				t.Fatalf("%s: c[%d] = %g, OpenBLAS %g", s.name, i, c[i], want[i])
			}
		}
	}
}

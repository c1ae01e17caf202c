package nnops

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/siampipe/siampipe/internal/cpufeat"
	"github.com/siampipe/siampipe/internal/cpufeat/cpufeattest"
)

// TestBNKernels checks the vector BatchNorm loops against the Go loops
// they replace, for lengths around the vector width and one of a real size,
// and that the generic level (the fallback, forced) runs the Go loops bit
// for bit.
func TestBNKernels(t *testing.T) {
	for _, l := range cpufeattest.Kernels(t, cpufeat.AVX512) {
		t.Run(l.String(), func(t *testing.T) {
			cpufeattest.Use(t, l)
			tol := 1e-12
			if l == cpufeat.Generic {
				tol = 0
			}
			rng := rand.New(rand.NewPCG(5, 6))
			for _, n := range []int{1, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 100, 2048, 50176} {
				x, g := make([]float32, n), make([]float32, n)
				for i := range x {
					x[i] = rng.Float32()*2 - 1
					g[i] = rng.Float32()*2 - 1
				}
				x[0] = float32(math.Copysign(0, -1)) // −0 is not positive
				s, q := sumSqReLU(x)
				ws, wq := sumSqReLUGo(x)
				closeTo(t, "sumSqReLU sum", n, s, ws, tol)
				closeTo(t, "sumSqReLU squares", n, q, wq, tol)
				sg, sgx := sumGradReLU(g, x, 0.3, 1.7)
				wg, wgx := sumGradReLUGo(g, x, 0.3, 1.7)
				closeTo(t, "sumGradReLU g", n, sg, wg, tol)
				closeTo(t, "sumGradReLU g·x̂", n, sgx, wgx, tol)

				closeTo(t, "sum32", n, float64(sum32(x)), float64(sum32Go(x)), tol)
				pp, zz, pz := dot3(x, g)
				wp, wz, wpz := dot3Go(x, g)
				closeTo(t, "dot3 p·p", n, pp, wp, tol)
				closeTo(t, "dot3 z·z", n, zz, wz, tol)
				closeTo(t, "dot3 p·z", n, pz, wpz, tol)

				got, want := make([]float32, n+1), make([]float32, n+1)
				got[n], want[n] = 9, 9
				scaleShiftReLU(got[:n], x, 1.25, -0.5)
				for j, v := range x {
					want[j] = relu0(v)*1.25 - 0.5
				}
				same(t, "scaleShiftReLU", n, got, want)
				gradReLU(got[:n], g, x, 0.7, 0.01, 0.2)
				for j, v := range x {
					want[j] = keepIfPos(0.7*g[j]-0.01-0.2*v, v)
				}
				same(t, "gradReLU", n, got, want)
			}
		})
	}
}

// closeTo fails t unless got is within tol of want, relative to 1+|want|
// (tol 0: the same bits).
func closeTo(t *testing.T, what string, n int, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol*(1+math.Abs(want)) {
		t.Errorf("%s n=%d: %v, want %v", what, n, got, want)
	}
}

func same(t *testing.T, what string, n int, got, want []float32) {
	t.Helper()
	for j := range got {
		if got[j] != want[j] {
			t.Fatalf("%s n=%d: [%d] = %v, want %v", what, n, j, got[j], want[j])
		}
	}
}

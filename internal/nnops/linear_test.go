package nnops

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/siampipe/siampipe/internal/cpufeat/cpufeattest"
	"gorgonia.org/tensor"
)

// TestLinearBiasInTheProduct checks that a Linear whose bias enters the
// product as one more term (a short product: few inputs, many outputs)
// gives the bits of y filled with b and the product added to it, at every
// kernel level this machine runs, for shapes on both sides of the choice
// (with OpenBLAS, which rounds its own way, to float32 rounding).
func TestLinearBiasInTheProduct(t *testing.T) {
	tests := []struct {
		n, k, m   int
		augmented bool
	}{
		{37, 20, 300, true},
		{256, 64, 2048, true}, // the seed predictor's fc2
		{5, 6, 3, false},
		{256, 2048, 64, false}, // its fc1
	}
	for _, l := range cpufeattest.Kernels(t, vectorLevels...) {
		t.Run(l.String(), func(t *testing.T) {
			cpufeattest.Use(t, l)
			rng := rand.New(rand.NewPCG(8, 9))
			for _, tt := range tests {
				if got := (tt.n+tt.m)*(tt.k+1) < tt.n*tt.m; got != tt.augmented {
					t.Fatalf("%+v: augmented %v", tt, got)
				}
				x, w, b := randn(rng, tt.n*tt.k), randn(rng, tt.m*tt.k), randn(rng, tt.m)
				op := NewLinear(true)
				y, err := op.Do(tensor.New(tensor.WithShape(tt.n, tt.k), tensor.WithBacking(x)),
					tensor.New(tensor.WithShape(tt.m, tt.k), tensor.WithBacking(w)),
					tensor.New(tensor.WithShape(tt.m), tensor.WithBacking(b)))
				if err != nil {
					t.Fatal(err)
				}
				want := make([]float32, tt.n*tt.m)
				for i := range tt.n {
					copy(want[i*tt.m:], b)
				}
				sgemm(false, true, tt.n, tt.m, tt.k, 1, x, tt.k, w, tt.k, 1, want, tt.m)
				for i, v := range y.Data().([]float32) {
					if math.Float32bits(v) != math.Float32bits(want[i]) && (!strings.HasPrefix(BLASName(), "openblas") ||
						math.Abs(float64(v-want[i])) > 1e-5*(1+math.Abs(float64(want[i])))) {
						t.Fatalf("%+v: y[%d] = %v, want %v", tt, i, v, want[i])
					}
				}
			}
		})
	}
}

func randn(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

package umap

import (
	"math"
	"math/rand/v2"
	"testing"
)

// BenchmarkFit10kBlobs runs the whole pipeline on 10,000 points in 64-d
// (20 Gaussian blobs), 3 components, 200 epochs.
func BenchmarkFit10kBlobs(b *testing.B) {
	x := blobs(10000, 64, 20, 3, 1)
	for b.Loop() {
		if _, err := Fit(x, 10000, 64, Config{Components: 3, Neighbors: 10, Epochs: 200}); err != nil {
			b.Fatal(err)
		}
	}
}

// blobs returns n points in dim dimensions around c centres spread sd apart.
func blobs(n, dim, c int, sd float64, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	centres := make([]float64, c*dim)
	for i := range centres {
		centres[i] = r.NormFloat64() * sd
	}
	x := make([]float32, n*dim)
	for i := 0; i < n; i++ {
		b := i % c
		for j := 0; j < dim; j++ {
			x[i*dim+j] = float32(centres[b*dim+j] + r.NormFloat64())
		}
	}
	return x
}

func TestFastPowMatchesMathPow(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 100000; i++ {
		x := math.Exp(r.Float64()*80 - 40)
		y := r.Float64()*3 - 1
		want := math.Pow(x, y)
		got := fastPow(x, y)
		if math.Abs(got-want) > 1e-10*want {
			t.Fatalf("fastPow(%g, %g) = %g, want %g", x, y, got, want)
		}
	}
}

func BenchmarkFastPow(b *testing.B) {
	s := 0.0
	for i := 0; b.Loop(); i++ {
		s += fastPow(float64(i%1000)+0.5, 0.8951)
	}
	_ = s
}

package monitor

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/siampipe/siampipe/internal/arch"
	"github.com/siampipe/siampipe/internal/contract"
	"github.com/siampipe/siampipe/internal/knn"
	"github.com/siampipe/siampipe/internal/simsiam"
)

// stripes returns n 28×28 images of two classes that any backbone tells
// apart: class 0 has bright rows on even lines, class 1 on even columns,
// each with noise; labels alternate.
func stripes(n int, seed uint64) Set {
	rng := rand.New(rand.NewPCG(seed, 7))
	s := Set{Height: 28, Width: 28, Pixels: make([]uint8, n*28*28), Labels: make([]uint8, n)}
	for i := 0; i < n; i++ {
		s.Labels[i] = uint8(i % 2)
		img := s.Pixels[i*784 : (i+1)*784]
		for y := 0; y < 28; y++ {
			for x := 0; x < 28; x++ {
				v := rng.IntN(60)
				if (s.Labels[i] == 0 && y%4 < 2) || (s.Labels[i] == 1 && x%4 < 2) {
					v += 180
				}
				img[y*28+x] = uint8(v)
			}
		}
	}
	return s
}

func tensors(t testing.TB, archName string) []contract.Tensor {
	t.Helper()
	m, err := simsiam.New(simsiam.Config{Arch: archName}, 3)
	if err != nil {
		t.Fatal(err)
	}
	var ts []contract.Tensor
	for _, p := range m.Params {
		ts = append(ts, contract.Tensor{Name: p.Name, Shape: p.Shape, Values: p.Value})
	}
	return ts
}

func TestKNNSeparatesWhatTheFeaturesSeparate(t *testing.T) {
	bank, query := stripes(400, 1), stripes(100, 2)
	for _, a := range []string{arch.Seed, arch.SimSiam} {
		ts := tensors(t, a)
		m, err := New(bank, query, knn.Config{K: 20})
		if err != nil {
			t.Fatal(err)
		}
		acc, err := m.KNN(context.Background(), a, ts)
		if err != nil {
			t.Fatal(err)
		}
		if acc < 0.95 {
			t.Errorf("%s: kNN accuracy %.3f on two classes a random backbone separates, want >= 0.95", a, acc)
		}
		// Labels that say nothing about the images: chance.
		noise := bank
		noise.Labels = slices.Clone(bank.Labels)
		rng := rand.New(rand.NewPCG(5, 5))
		for i := range noise.Labels {
			noise.Labels[i] = uint8(rng.IntN(2))
		}
		m2, _ := New(noise, query, knn.Config{K: 20})
		acc2, err := m2.KNN(context.Background(), a, ts)
		if err != nil {
			t.Fatal(err)
		}
		if acc2 > 0.75 {
			t.Errorf("%s: kNN accuracy %.3f with random bank labels, want near 0.5", a, acc2)
		}
	}
}

// TestKNNScoresADeepBackbone: the monitor runs the trainer's deeper
// backbones (through infer, which reads the depth from the tensor names),
// and they tell the stripes apart as the shallow one does.
func TestKNNScoresADeepBackbone(t *testing.T) {
	bank, query := stripes(200, 1), stripes(60, 2)
	for _, depth := range []int{2, 3} {
		sm, err := simsiam.New(simsiam.Config{Arch: arch.SimSiam, Channels: []int{8, 16}, Depth: depth}, 3)
		if err != nil {
			t.Fatal(err)
		}
		var ts []contract.Tensor
		for _, p := range sm.Params {
			ts = append(ts, contract.Tensor{Name: p.Name, Shape: p.Shape, Values: p.Value})
		}
		m, err := New(bank, query, knn.Config{K: 20})
		if err != nil {
			t.Fatal(err)
		}
		acc, err := m.KNN(context.Background(), arch.SimSiam, ts)
		if err != nil {
			t.Fatalf("depth %d: %v", depth, err)
		}
		if acc < 0.95 {
			t.Errorf("depth %d: kNN accuracy %.3f on two classes a random backbone separates, want >= 0.95", depth, acc)
		}
	}
}

func TestKNNIsTheSameOnAnyCoreCount(t *testing.T) {
	bank, query := stripes(300, 3), stripes(90, 4)
	// Harder: flip a third of the query labels so the score is not 1.
	for i := 0; i < query.Len(); i += 3 {
		query.Labels[i] ^= 1
	}
	ts := tensors(t, arch.SimSiam)
	var got []float64
	for _, p := range []int{1, 2, 3} {
		old := runtime.GOMAXPROCS(p)
		m, err := New(bank, query, knn.Config{})
		if err != nil {
			t.Fatal(err)
		}
		acc, err := m.KNN(context.Background(), arch.SimSiam, ts)
		runtime.GOMAXPROCS(old)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, acc)
	}
	if got[0] != got[1] || got[1] != got[2] {
		t.Errorf("accuracy on 1, 2, 3 cores: %v", got)
	}
}

func TestSubset(t *testing.T) {
	s := stripes(50, 9)
	for i := range s.Labels {
		s.Labels[i] = uint8(i) // identify the rows
	}
	a, b := Subset(s, 20, 1), Subset(s, 20, 1)
	if a.Len() != 20 || !slices.Equal(a.Labels, b.Labels) || !slices.Equal(a.Pixels, b.Pixels) {
		t.Fatalf("Subset is not a function of its seed: %v vs %v", a.Labels, b.Labels)
	}
	if !slices.IsSorted(a.Labels) {
		t.Errorf("Subset reorders the rows: %v", a.Labels)
	}
	for k, i := range a.Labels {
		if !slices.Equal(a.Pixels[k*784:(k+1)*784], s.Pixels[int(i)*784:(int(i)+1)*784]) {
			t.Fatalf("row %d: pixels are not those of row %d", k, i)
		}
	}
	if c := Subset(s, 20, 2); slices.Equal(c.Labels, a.Labels) {
		t.Errorf("seeds 1 and 2 chose the same rows %v", a.Labels)
	}
	for _, n := range []int{0, 50, 80} {
		if got := Subset(s, n, 1); got.Len() != 50 {
			t.Errorf("Subset(%d) of 50 has %d rows, want all 50", n, got.Len())
		}
	}
}

func TestNewRefusesBadSets(t *testing.T) {
	good := stripes(4, 1)
	small := Set{Height: 14, Width: 14, Pixels: make([]uint8, 196), Labels: []uint8{0}}
	short := Set{Height: 28, Width: 28, Pixels: make([]uint8, 10), Labels: []uint8{0}}
	for _, c := range []struct {
		name        string
		bank, query Set
		want        error
	}{
		{"empty bank", Set{Height: 28, Width: 28}, good, ErrEmpty},
		{"empty query", good, Set{Height: 28, Width: 28}, ErrEmpty},
		{"sizes differ", good, small, ErrSize},
		{"pixels short", short, good, ErrSize},
	} {
		if _, err := New(c.bank, c.query, knn.Config{}); !errors.Is(err, c.want) {
			t.Errorf("%s: err %v, want %v", c.name, err, c.want)
		}
	}
}

// BenchmarkKNN is one monitor score at the pipeline's sizes: the 10,000
// test images against a bank of 5,000, the default model's backbone.
func BenchmarkKNN(b *testing.B) {
	bank, query := stripes(5000, 1), stripes(10000, 2)
	ts := tensors(b, arch.SimSiam)
	mon, err := New(bank, query, knn.Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if _, err := mon.KNN(context.Background(), arch.SimSiam, ts); err != nil {
			b.Fatal(err)
		}
	}
}

package nnops

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// ntxentRun evaluates NTXent(t) on z1, z2 (n×d each) and returns the loss
// and the gradients by z1 and z2.
func ntxentRun(t *testing.T, temp float64, n, d int, z1, z2 []float32) (float32, []float32, []float32) {
	t.Helper()
	g := G.NewGraph()
	a := G.NewTensor(g, G.Float32, 2, G.WithShape(n, d), G.WithValue(tensor.New(tensor.WithShape(n, d), tensor.WithBacking(z1))), G.WithName("z1"))
	b := G.NewTensor(g, G.Float32, 2, G.WithShape(n, d), G.WithValue(tensor.New(tensor.WithShape(n, d), tensor.WithBacking(z2))), G.WithName("z2"))
	loss, err := apply(NewNTXent(temp), a, b)
	if err != nil {
		t.Fatal(err)
	}
	grads, err := G.Grad(loss, a, b)
	if err != nil {
		t.Fatal(err)
	}
	dst := [][]float32{make([]float32, 1), make([]float32, n*d), make([]float32, n*d)}
	if _, err := apply(NewSink(dst, 0, 2, 2), loss, grads[0], grads[1]); err != nil {
		t.Fatal(err)
	}
	m := G.NewTapeMachine(g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	return dst[0][0], dst[1], dst[2]
}

// The loss is the formula of the SimCLR paper, evaluated directly in
// float64 on random rows, and in closed form where the views coincide.
func TestNTXentIsTheMeanCrossEntropyOverThe2NViews(t *testing.T) {
	const n, d, temp = 5, 7, 0.3
	rng := rand.New(rand.NewPCG(5, 6))
	z := make([][]float64, 2*n)
	z1, z2 := make([]float32, n*d), make([]float32, n*d)
	for a := range z {
		z[a] = make([]float64, d)
		for j := range z[a] {
			v := float32(rng.NormFloat64() * 3)
			z[a][j] = float64(v)
			if a < n {
				z1[a*d+j] = v
			} else {
				z2[(a-n)*d+j] = v
			}
		}
	}
	cos := func(a, b int) float64 {
		var ab, aa, bb float64
		for j := range z[a] {
			ab += z[a][j] * z[b][j]
			aa += z[a][j] * z[a][j]
			bb += z[b][j] * z[b][j]
		}
		return ab / math.Sqrt(aa*bb)
	}
	var want float64
	for a := 0; a < 2*n; a++ {
		var den float64
		for b := 0; b < 2*n; b++ {
			if b != a {
				den += math.Exp(cos(a, b) / temp)
			}
		}
		want += -math.Log(math.Exp(cos(a, (a+n)%(2*n))/temp) / den)
	}
	want /= 2 * n
	got, _, _ := ntxentRun(t, temp, n, d, z1, z2)
	if math.Abs(float64(got)-want) > 1e-6*want {
		t.Errorf("loss %.9g, direct formula %.9g", got, want)
	}

	// Two images with orthogonal, identical views: each anchor sees its
	// positive at similarity 1 and two negatives at 0.
	e := []float32{2, 0, 0, 0, 0, 0.5, 0, 0}
	got, _, _ = ntxentRun(t, 0.5, 2, 4, e, append([]float32(nil), e...))
	if want := math.Log(math.Exp(2)+2) - 2; math.Abs(float64(got)-want) > 1e-6 {
		t.Errorf("orthogonal identical views: loss %.9g, want log(e²+2)−2 = %.9g", got, want)
	}
}

// With one pair there is no negative: the loss is 0 and so is its gradient.
func TestNTXentOfOnePairIsZero(t *testing.T) {
	loss, g1, g2 := ntxentRun(t, 0.5, 1, 3, []float32{1, 2, 3}, []float32{-1, 0.5, 2})
	if math.Abs(float64(loss)) > 1e-7 {
		t.Errorf("loss %v, want 0", loss)
	}
	for i := range g1 {
		if math.Abs(float64(g1[i])) > 1e-7 || math.Abs(float64(g2[i])) > 1e-7 {
			t.Fatalf("gradients %v %v, want 0", g1, g2)
		}
	}
}

// Large similarities at a low temperature must not overflow: each row is
// shifted by its maximum before exp.
func TestNTXentStaysFiniteAtLowTemperature(t *testing.T) {
	const n, d = 8, 4
	rng := rand.New(rand.NewPCG(1, 1))
	z1, z2 := make([]float32, n*d), make([]float32, n*d)
	for i := range z1 {
		z1[i], z2[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
	}
	loss, g1, g2 := ntxentRun(t, 1e-3, n, d, z1, z2)
	if math.IsNaN(float64(loss)) || math.IsInf(float64(loss), 0) || loss < 0 {
		t.Fatalf("loss %v at temperature 1e-3", loss)
	}
	for i := range g1 {
		for _, v := range []float32{g1[i], g2[i]} {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("gradient %v at temperature 1e-3", v)
			}
		}
	}
}

// The loss and its gradients are the same bytes whatever the number of
// cores.
func TestNTXentGivesTheSameBytesOnAnyCoreCount(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	const n, d = 70, 33
	rng := rand.New(rand.NewPCG(2, 3))
	z1, z2 := make([]float32, n*d), make([]float32, n*d)
	for i := range z1 {
		z1[i], z2[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
	}
	runtime.GOMAXPROCS(1)
	l0, a0, b0 := ntxentRun(t, 0.5, n, d, z1, z2)
	for _, procs := range []int{2, 3} {
		runtime.GOMAXPROCS(procs)
		l, a, b := ntxentRun(t, 0.5, n, d, z1, z2)
		if math.Float32bits(l) != math.Float32bits(l0) {
			t.Errorf("GOMAXPROCS %d: loss %v, with 1: %v", procs, l, l0)
		}
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(a0[i]) || math.Float32bits(b[i]) != math.Float32bits(b0[i]) {
				t.Fatalf("GOMAXPROCS %d: gradient %d differs", procs, i)
			}
		}
	}
}

func TestNewNTXentRefusesABadTemperature(t *testing.T) {
	for _, temp := range []float64{0, -0.5, math.NaN(), math.Inf(1)} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewNTXent(%v) did not panic", temp)
				}
			}()
			NewNTXent(temp)
		}()
	}
}

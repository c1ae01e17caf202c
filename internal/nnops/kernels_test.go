package nnops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/siampipe/siampipe/internal/cpufeat"
	"github.com/siampipe/siampipe/internal/cpufeat/cpufeattest"
)

// vectorLevels are the SIMD levels with vector kernels in this package.
var vectorLevels = []cpufeat.Level{cpufeat.AVX512, cpufeat.AVX2}

// kernelLengths are the lengths the element kernels are tested at: every
// tail of the 8- and 16-lane loops, and sizes of the model.
func kernelLengths() []int {
	var ns []int
	for n := 0; n <= 70; n++ {
		ns = append(ns, n)
	}
	return append(ns, 100, 2048, 50176)
}

// TestBNKernels checks the vector BatchNorm, sum and dot kernels against
// the Go loops they replace at every level this machine runs, for every
// length up to 70 and a few real ones, at aligned and unaligned starts: the
// element-wise kernels give the Go loops' bits and write nothing outside
// their output, the float64 sums are within 1e-12 (another order of adds),
// and the generic level (the fallback, forced) runs the Go loops bit for
// bit.
func TestBNKernels(t *testing.T) {
	for _, l := range cpufeattest.Kernels(t, vectorLevels...) {
		t.Run(l.String(), func(t *testing.T) {
			cpufeattest.Use(t, l)
			tol := 1e-12
			if l == cpufeat.Generic {
				tol = 0
			}
			rng := rand.New(rand.NewPCG(5, 6))
			for _, n := range kernelLengths() {
				for _, off := range []int{0, 1, 3, 5} {
					if n > 2048 && off > 1 {
						continue
					}
					testBNKernelsAt(t, rng, n, off, tol)
				}
			}
		})
	}
}

func testBNKernelsAt(t *testing.T, rng *rand.Rand, n, off int, tol float64) {
	t.Helper()
	where := fmt.Sprintf("n=%d off=%d", n, off)
	xb, gb := make([]float32, off+n), make([]float32, off+n)
	x, g := xb[off:], gb[off:]
	for i := range x {
		x[i] = rng.Float32()*2 - 1
		g[i] = rng.Float32()*2 - 1
	}
	if n > 0 {
		x[0] = float32(math.Copysign(0, -1)) // −0 is not positive
	}
	s, q := sumSqReLU(x)
	ws, wq := sumSqReLUGo(x)
	closeTo(t, "sumSqReLU sum "+where, s, ws, tol)
	closeTo(t, "sumSqReLU squares "+where, q, wq, tol)
	sg, sgx := sumGradReLU(g, x, 0.3, 1.7)
	wg, wgx := sumGradReLUGo(g, x, 0.3, 1.7)
	closeTo(t, "sumGradReLU g "+where, sg, wg, tol)
	closeTo(t, "sumGradReLU g·x̂ "+where, sgx, wgx, tol)
	closeTo(t, "sum64 "+where, sum64(x), sum64Go(x), tol)
	pp, zz, pz := dot3(x, g)
	wp, wz, wpz := dot3Go(x, g)
	closeTo(t, "dot3 p·p "+where, pp, wp, tol)
	closeTo(t, "dot3 z·z "+where, zz, wz, tol)
	closeTo(t, "dot3 p·z "+where, pz, wpz, tol)

	// The outputs sit at off in a buffer with guards on both sides.
	got, want := guardedOut(off, n), guardedOut(off, n)
	scaleShiftReLU(got[off:off+n], x, 1.25, -0.5)
	for j, v := range x {
		want[off+j] = float32(relu0(v)*1.25) - 0.5 // float32(…): no FMA under GOAMD64=v3
	}
	same(t, "scaleShiftReLU "+where, got, want)
	gradReLU(got[off:off+n], g, x, 0.7, 0.01, 0.2)
	for j, v := range x {
		want[off+j] = keepIfPos(float32(0.7*g[j])-0.01-float32(0.2*v), v)
	}
	same(t, "gradReLU "+where, got, want)
}

// guardedOut returns off+n+8 elements set to 9: an output of n at off with
// guards before and after it.
func guardedOut(off, n int) []float32 {
	b := make([]float32, off+n+8)
	for i := range b {
		b[i] = 9
	}
	return b
}

// TestReLUKernelsKeepGoBitsForSpecialValues checks that the element-wise
// ReLU kernels give the Go loops' bits for −0, subnormals, infinities and
// NaNs of either sign, and for a shift of −0, at every level: relu0 maps −0
// and every negative NaN to +0 and keeps a positive NaN, keepIfPos keeps r
// for every x whose bits are positive.
func TestReLUKernelsKeepGoBitsForSpecialValues(t *testing.T) {
	negZero := float32(math.Copysign(0, -1))
	inf := float32(math.Inf(1))
	nan := math.Float32frombits(0x7fc00001)
	negNaN := math.Float32frombits(0xffc00002)
	special := []float32{0, negZero, 1e-45, -1e-45, 1.5e-39, -1.5e-39, inf, -inf, nan, negNaN, math.MaxFloat32, -math.MaxFloat32, 1, -1}
	coefs := []struct{ a, b, e float32 }{
		{1.25, -0.5, 0.2},
		{1.25, negZero, 0}, // −0·a + −0 is −0, +0·a + −0 is +0
		{-2, 0, negZero},
		{0, 1, inf}, // inf·0 is NaN
	}
	for _, l := range cpufeat.Levels() {
		t.Run(l.String(), func(t *testing.T) {
			cpufeattest.Use(t, l)
			for _, n := range []int{len(special), 40} {
				x, g := make([]float32, n), make([]float32, n)
				for i := range x {
					x[i] = special[i%len(special)]
					g[i] = special[(i*5+3)%len(special)]
				}
				for _, c := range coefs {
					where := fmt.Sprintf("n=%d a=%v b=%v e=%v", n, c.a, c.b, c.e)
					got, want := guardedOut(0, n), guardedOut(0, n)
					scaleShiftReLU(got[:n], x, c.a, c.b)
					for j, v := range x {
						want[j] = float32(relu0(v)*c.a) + c.b
					}
					same(t, "scaleShiftReLU "+where, got, want)
					gradReLU(got[:n], g, x, c.a, c.b, c.e)
					for j, v := range x {
						want[j] = keepIfPos(float32(c.a*g[j])-c.b-float32(c.e*v), v)
					}
					same(t, "gradReLU "+where, got, want)
				}
				s, q := sumSqReLU(x)
				ws, wq := sumSqReLUGo(x)
				if !sameFloat64(s, ws) || !sameFloat64(q, wq) {
					t.Errorf("sumSqReLU n=%d: %v, %v, want %v, %v", n, s, q, ws, wq)
				}
			}
		})
	}
}

// sameFloat64 reports whether a and b are equal or both NaN.
func sameFloat64(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }

// closeTo fails t unless got is within tol of want, relative to 1+|want|
// (tol 0: the same bits).
func closeTo(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if tol == 0 && math.Float64bits(got) != math.Float64bits(want) || math.Abs(got-want) > tol*(1+math.Abs(want)) {
		t.Errorf("%s: %v, want %v", what, got, want)
	}
}

// same fails t unless got and want hold the same bits (so −0 is not +0,
// and a NaN matches only the same NaN).
func same(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d elements, want %d", what, len(got), len(want))
	}
	for j := range got {
		if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
			t.Fatalf("%s: [%d] = %v (%#08x), want %v (%#08x)", what, j, got[j], math.Float32bits(got[j]), want[j], math.Float32bits(want[j]))
		}
	}
}

// TestAxmbyMatchesTheGoLoop checks the negative-cosine gradient's vector
// kernel against the Go expression it replaces, bit for bit, at every
// level and length (every tail of the 8-lane loop), with values that
// include zeros, subnormals and large magnitudes, and that it writes
// nothing past its output.
func TestAxmbyMatchesTheGoLoop(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	specials := []float32{0, float32(math.Copysign(0, -1)), 1e-40, -3e38, 7, -0.25}
	for _, l := range cpufeattest.Kernels(t, vectorLevels...) {
		t.Run(l.String(), func(t *testing.T) {
			cpufeattest.Use(t, l)
			for _, n := range kernelLengths() {
				x, y := make([]float32, n), make([]float32, n)
				for i := range x {
					x[i], y[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64()*1e-3)
					if i%7 == 3 {
						x[i] = specials[i%len(specials)]
					}
				}
				a, b := rng.NormFloat64(), rng.NormFloat64()*1e-2
				dst := make([]float32, n+1)
				dst[n] = 42
				axmby(dst[:n], x, y, a, b)
				for j := range n {
					want := float32(a*float64(x[j]) - b*float64(y[j]))
					if math.Float32bits(dst[j]) != math.Float32bits(want) {
						t.Fatalf("n=%d: dst[%d] = %v, want %v", n, j, dst[j], want)
					}
				}
				if dst[n] != 42 {
					t.Fatalf("n=%d: wrote past the output", n)
				}
			}
		})
	}
}

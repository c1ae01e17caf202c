package nnops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/siampipe/siampipe/internal/cpufeat"
	"github.com/siampipe/siampipe/internal/cpufeat/cpufeattest"
	G "gorgonia.org/gorgonia"

	"gorgonia.org/tensor"
)

// TestBNTakesTheConvolutionsSums checks that a BN given its convolution's
// chunked sums (TakeStatsFrom) normalises as one that sums its input
// itself: the same statistics to float64 rounding and the same output to
// float32 rounding, for geometries with one chunk and with several, and
// that it falls back to its own pass when the sums are stale.
func TestBNTakesTheConvolutionsSums(t *testing.T) {
	tests := []struct{ cin, cout, n, h, chunks int }{
		{1, 4, 3, 28, 1},
		{64, 8, 40, 14, 8}, // at most 9 images a chunk: 5 chunks, rounded up to 8
		{3, 5, 9, 14, 1},
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tt := range tests {
		x := tensor.New(tensor.WithShape(tt.cin, tt.n, tt.h, tt.h), tensor.Of(tensor.Float32))
		w := tensor.New(tensor.WithShape(tt.cout, tt.cin, 3, 3), tensor.Of(tensor.Float32))
		b := tensor.New(tensor.WithShape(tt.cout), tensor.Of(tensor.Float32))
		for _, v := range []*tensor.Dense{x, w, b} {
			d := v.Data().([]float32)
			for i := range d {
				d[i] = float32(rng.NormFloat64())
			}
		}
		plain, fused := NewConv(2, 1, false), NewConv(2, 1, false)
		bnPlain, bnFused := NewBN(4, BNConfig{PreReLU: true}), NewBN(4, BNConfig{PreReLU: true})
		bnFused.TakeStatsFrom(fused)
		if !fused.st.stats.on || bnFused.st.src == nil {
			t.Fatalf("%+v: TakeStatsFrom did not link the BN to the convolution", tt)
		}
		for round := range 2 {
			y1, err := plain.Do(x, w, b)
			if err != nil {
				t.Fatal(err)
			}
			y2, err := fused.Do(x, w, b)
			if err != nil {
				t.Fatal(err)
			}
			if got := fused.st.stats.chunks; got != tt.chunks {
				t.Fatalf("%+v: %d chunks, want %d", tt, got, tt.chunks)
			}
			if round == 1 {
				fused.st.stats.ready = false // stale: the BN must sum itself
			}
			h1, err := bnPlain.Do(y1)
			if err != nil {
				t.Fatal(err)
			}
			h2, err := bnFused.Do(y2)
			if err != nil {
				t.Fatal(err)
			}
			m1, v1 := bnPlain.BatchStats()
			m2, v2 := bnFused.BatchStats()
			for c := range m1 {
				if d := math.Abs(m1[c] - m2[c]); d > 1e-12*(1+math.Abs(m1[c])) {
					t.Errorf("%+v round %d: mean[%d] = %v, want %v", tt, round, c, m2[c], m1[c])
				}
				if d := math.Abs(v1[c] - v2[c]); d > 1e-12*(1+math.Abs(v1[c])) {
					t.Errorf("%+v round %d: var[%d] = %v, want %v", tt, round, c, v2[c], v1[c])
				}
			}
			d1, d2 := h1.Data().([]float32), h2.Data().([]float32)
			for i := range d1 {
				if math.Abs(float64(d1[i]-d2[i])) > 1e-6*(1+math.Abs(float64(d1[i]))) {
					t.Fatalf("%+v round %d: output[%d] = %v, want %v", tt, round, i, d2[i], d1[i])
				}
			}
			if fused.st.stats.ready {
				t.Errorf("%+v round %d: the sums are still marked ready after the BN took them", tt, round)
			}
		}
	}
}

// TestTakeStatsFromIgnoresOtherBNs checks that only a PreReLU BN over
// (C, N, H, W) takes a convolution's sums.
func TestTakeStatsFromIgnoresOtherBNs(t *testing.T) {
	for _, cfg := range []BNConfig{{}, {PreReLU: true, Rows: true}, {ReLU: true}} {
		c, bn := NewConv(2, 1, false), NewBN(4, cfg)
		bn.TakeStatsFrom(c)
		if c.st.stats.on || bn.st.src != nil {
			t.Errorf("%+v: linked, want left alone", cfg)
		}
	}
}

// TestDeferredBNGivesTheSameBits checks a BN that leaves its output to the
// convolution it feeds (Defer) and its input gradient to the convolution
// before it (DeferBackward) against the same BN doing both itself, on a
// chain conv → BN → conv: the second convolution's output, input, weight
// and bias gradients, the BN's scale and shift gradients and the first
// convolution's weight and bias gradients are the same bits, at every SIMD
// level, for stride 2 (the backbone; rows of at most 14 and wider, which
// the AVX-512 im2col kernels take two ways) and stride 1 (the deeper
// backbone), with an odd batch; and the deferred BN writes neither its
// output nor its input gradient.
func TestDeferredBNGivesTheSameBits(t *testing.T) {
	for _, l := range cpufeat.Levels() {
		t.Run(l.String(), func(t *testing.T) {
			cpufeattest.Use(t, l)
			for _, tt := range []struct{ cin, cmid, cout, n, h, stride int }{
				{2, 5, 4, 7, 14, 2},
				{3, 16, 8, 20, 12, 2},
				{2, 4, 3, 5, 9, 1},
				{2, 3, 4, 3, 57, 2}, // rows of 29: the direct kernel, not the pairs
			} {
				testDeferredBN(t, tt.cin, tt.cmid, tt.cout, tt.n, tt.h, tt.stride)
			}
		})
	}
}

func testDeferredBN(t *testing.T, cin, cmid, cout, n, h, stride int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(uint64(cmid), uint64(n)))
	rnd := func(shape ...int) *tensor.Dense {
		d := tensor.New(tensor.WithShape(shape...), tensor.Of(tensor.Float32))
		for i, v := range randn(rng, d.Shape().TotalSize()) {
			d.Data().([]float32)[i] = v
		}
		return d
	}
	x, w1, b1 := rnd(cin, n, h, h), rnd(cmid, cin, 3, 3), rnd(cmid)
	gamma, beta := rnd(cmid), rnd(cmid)
	w2, b2 := rnd(cout, cmid, 3, 3), rnd(cout)
	h1 := (h-1)/2 + 1
	h2 := (h1-1)/stride + 1
	g := rnd(cout, n, h2, h2)
	type result map[string][]float32
	check := func(v G.Value, err error) []float32 {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return append([]float32(nil), data(v)...)
	}
	run := func(deferred bool) (result, *BN, *bnGradX) {
		c1, c2 := NewConv(2, 1, true), NewConv(stride, 1, false)
		bn := NewBN(4, BNConfig{PreReLU: true, Affine: true})
		bn.TakeStatsFrom(c1)
		if deferred {
			bn.Defer(c2)
			bn.DeferBackward(c1)
		}
		r := result{}
		y1, err := c1.Do(x, w1, b1)
		if err != nil {
			t.Fatal(err)
		}
		hv, err := bn.Do(y1, gamma, beta)
		if err != nil {
			t.Fatal(err)
		}
		y2, err := c2.Do(hv, w2, b2)
		r["output"] = check(y2, err)
		dh, err := (&convDX{base: newBase("ConvDX", 4, 4, 4, 4), st: c2.st}).Do(g, w2, hv)
		r["input gradient"] = check(dh, err)
		dw2, err := (&convDW{base: newBase("ConvDW", 4, 4, 4, 4), st: c2.st, fused: true}).Do(g, hv, dh)
		r["weight gradient"] = check(dw2, err)
		r["bias gradient"] = check((&convDB{base: newBase("ConvDB", 1, 4), st: c2.st}).Do(dw2))
		gx := &bnGradX{base: newBase("BNGradX", 4, 4, 4, 4, 1), st: bn.st}
		dx, err := gx.Do(y1, hv, dh, gamma)
		if err != nil {
			t.Fatal(err)
		}
		r["BN scale gradient"], r["BN shift gradient"] = append([]float32(nil), bn.st.dgamma...), append([]float32(nil), bn.st.dbeta...)
		dw1, err := (&convDW{base: newBase("ConvDW", 4, 4, 4), st: c1.st}).Do(dx, x)
		r["first weight gradient"] = check(dw1, err)
		r["first bias gradient"] = check((&convDB{base: newBase("ConvDB", 1, 4), st: c1.st}).Do(dw1))
		return r, bn, gx
	}
	want, _, _ := run(false)
	got, bn, gx := run(true)
	where := fmt.Sprintf("%d→%d→%d channels, %d images of %d², stride %d", cin, cmid, cout, n, h, stride)
	if bn.res != nil || gx.res != nil {
		t.Errorf("%s: the deferred BN wrote its output or its input gradient", where)
	}
	for name, w := range want {
		for i := range w {
			if math.Float32bits(got[name][i]) != math.Float32bits(w[i]) {
				t.Fatalf("%s: %s[%d] = %v, want %v", where, name, i, got[name][i], w[i])
			}
		}
	}
}

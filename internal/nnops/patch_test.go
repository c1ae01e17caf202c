package nnops

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/siampipe/siampipe/internal/cpufeat"
	"github.com/siampipe/siampipe/internal/cpufeat/cpufeattest"
)

// TestPatchStride2 checks the padded-plane Im2Col and Col2Im against the
// generic loops, bit for bit, at every SIMD level: the vector kernels, and
// the stride-2 Go loops.
func TestPatchStride2(t *testing.T) {
	for _, l := range cpufeat.Levels() {
		t.Run(l.String(), func(t *testing.T) {
			cpufeattest.Use(t, l)
			testPatchStride2(t)
		})
	}
}

func testPatchStride2(t *testing.T) {
	tests := []struct{ c, n, h, w, k, pad int }{
		{1, 3, 28, 28, 3, 1}, // the backbone's three convolutions
		{2, 3, 14, 14, 3, 1},
		{3, 2, 7, 7, 3, 1},
		{2, 2, 8, 5, 3, 1},   // even and odd sizes
		{1, 2, 31, 31, 3, 1}, // wo = 16, the kernels' widest row
		{2, 2, 9, 9, 3, 0},
		{2, 1, 6, 6, 1, 0},
		{1, 2, 12, 11, 5, 2},
	}
	// Every row width of the stride-2 path, from odd and even images.
	for wo := 1; wo <= 16; wo++ {
		tests = append(tests,
			struct{ c, n, h, w, k, pad int }{2, 2, 2*wo + 1, 2*wo - 1, 3, 1},
			struct{ c, n, h, w, k, pad int }{1, 3, 2 * wo, 2 * wo, 3, 1})
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tt := range tests {
		ho := (tt.h+2*tt.pad-tt.k)/2 + 1
		wo := (tt.w+2*tt.pad-tt.k)/2 + 1
		if !stride2Fits(2, ho, wo, tt.h, tt.w, tt.k, tt.pad) {
			t.Errorf("%+v: not taken by the stride-2 path", tt)
			continue
		}
		x := make([]float32, tt.c*tt.n*tt.h*tt.w)
		for i := range x {
			x[i] = rng.Float32()*2 - 1
		}
		K, NP := tt.c*tt.k*tt.k, tt.n*ho*wo
		got, want := make([]float32, K*NP), make([]float32, K*NP)
		for i := range got {
			got[i] = 99 // every element must be written
		}
		Im2Col(x, got, tt.c, tt.n, tt.h, tt.w, tt.k, 2, tt.pad, ho, wo)
		im2colGeneric(x, want, NP, tt.c, tt.n, tt.h, tt.w, tt.k, 2, tt.pad, ho, wo, 0, tt.n)
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%+v: Im2Col[%d] = %v, want %v", tt, i, got[i], want[i])
			}
		}
		cols := make([]float32, K*NP)
		for i := range cols {
			cols[i] = rng.Float32()*2 - 1
		}
		gx, wx := make([]float32, len(x)), make([]float32, len(x))
		for i := range gx {
			gx[i] = 99
		}
		Col2Im(cols, gx, tt.c, tt.n, tt.h, tt.w, tt.k, 2, tt.pad, ho, wo)
		col2imGeneric(cols, NP, wx, tt.c, tt.n, tt.h, tt.w, tt.k, 2, tt.pad, ho, wo, 0, tt.n)
		for i := range gx {
			if gx[i] != wx[i] {
				t.Fatalf("%+v: Col2Im[%d] = %v, want %v", tt, i, gx[i], wx[i])
			}
		}
	}
}

// TestGather2 checks the vector row kernels against their Go definitions
// for every row width they take, and that they touch nothing outside the
// rows.
func TestGather2(t *testing.T) {
	cpufeattest.Kernels(t, cpufeat.AVX512) // skips where the kernels are off
	rng := rand.New(rand.NewPCG(3, 4))
	for wo := 1; wo <= 16; wo++ {
		for _, rows := range []int{1, 3} {
			stride := 2*wo + 3
			n := (rows-1)*stride + 2*wo - 1
			src := make([]float32, n+1)
			for i := range src {
				src[i] = rng.Float32()
			}
			got, want := make([]float32, rows*wo+1), make([]float32, rows*wo+1)
			got[rows*wo], want[rows*wo] = 7, 7
			gather2AVX512(&got[0], &src[0], rows, wo, stride)
			gather2Go(want[:rows*wo], src[:n], rows, wo, stride)
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("gather2 wo=%d rows=%d: [%d] = %v, want %v", wo, rows, i, got[i], want[i])
				}
			}
			d1, d2 := make([]float32, n+1), make([]float32, n+1)
			for i := range d1 {
				d1[i] = float32(i)
				d2[i] = float32(i)
			}
			scatter2AVX512(&d1[0], &got[0], rows, wo, stride)
			scatter2Go(d2[:n], got[:rows*wo], rows, wo, stride)
			for i := range d1 {
				if d1[i] != d2[i] {
					t.Fatalf("scatter2 wo=%d rows=%d: [%d] = %v, want %v", wo, rows, i, d1[i], d2[i])
				}
			}
		}
	}
}

// TestPatchRanges checks that building the patch matrix and its adjoint a
// chunk of images at a time (as the convolution does) gives the whole-batch
// result, on the stride-2 path and the generic one, at every SIMD level.
func TestPatchRanges(t *testing.T) {
	for _, l := range cpufeat.Levels() {
		t.Run(l.String(), func(t *testing.T) {
			cpufeattest.Use(t, l)
			testPatchRanges(t)
		})
	}
}

func testPatchRanges(t *testing.T) {
	tests := []struct{ c, n, h, w, k, stride, pad, chunk int }{
		{2, 5, 14, 14, 3, 2, 1, 2},
		{3, 4, 7, 7, 3, 2, 1, 3},
		{2, 5, 9, 8, 3, 1, 1, 2}, // stride 1: the generic loops
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for _, tt := range tests {
		ho := (tt.h+2*tt.pad-tt.k)/tt.stride + 1
		wo := (tt.w+2*tt.pad-tt.k)/tt.stride + 1
		P, NP, K := ho*wo, tt.n*ho*wo, tt.c*tt.k*tt.k
		x := make([]float32, tt.c*tt.n*tt.h*tt.w)
		for i := range x {
			x[i] = rng.Float32()*2 - 1
		}
		want, got := make([]float32, K*NP), make([]float32, K*NP)
		Im2Col(x, want, tt.c, tt.n, tt.h, tt.w, tt.k, tt.stride, tt.pad, ho, wo)
		gx, wx := make([]float32, len(x)), make([]float32, len(x))
		Col2Im(want, wx, tt.c, tt.n, tt.h, tt.w, tt.k, tt.stride, tt.pad, ho, wo)
		for b0 := 0; b0 < tt.n; b0 += tt.chunk {
			b1 := min(b0+tt.chunk, tt.n)
			im2colRange(x, got[b0*P:], NP, tt.c, tt.n, tt.h, tt.w, tt.k, tt.stride, tt.pad, ho, wo, b0, b1)
			cp := (b1 - b0) * P
			packed := make([]float32, K*cp)
			for r := 0; r < K; r++ {
				copy(packed[r*cp:(r+1)*cp], want[r*NP+b0*P:r*NP+b1*P])
			}
			col2imRange(packed, cp, gx, tt.c, tt.n, tt.h, tt.w, tt.k, tt.stride, tt.pad, ho, wo, b0, b1)
		}
		same(t, fmt.Sprintf("im2colRange %+v", tt), got, want)
		same(t, fmt.Sprintf("col2imRange %+v", tt), gx, wx)
	}
}

package nnops

import (
	"fmt"
	"math"
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
		testPatchRowsOfLines(t, x, tt.c, tt.n, tt.h, tt.w, tt.k, tt.pad, ho, wo)
	}
}

// testPatchRowsOfLines checks im2colRange into rows of whole cache lines
// (ld a multiple of lineFloats, the direct kernels' case) for a range of
// the images, at buffer starts on and off a line: the rows are the generic
// loops' bit for bit, and nothing between or around them is written.
func testPatchRowsOfLines(t *testing.T, x []float32, c, n, h, w, k, pad, ho, wo int) {
	t.Helper()
	P, K := ho*wo, c*k*k
	for _, r := range [][2]int{{0, n}, {n - 1, n}, {n / 2, n}} {
		b0, b1 := r[0], r[1]
		cp := (b1 - b0) * P
		want := make([]float32, K*cp)
		im2colGeneric(x, want, cp, c, n, h, w, k, 2, pad, ho, wo, b0, b1)
		for _, ld := range []int{padLine(cp), padLine(cp) + lineFloats} {
			for _, off := range []int{0, 3, 16, 13} {
				const sentinel = 99
				buf := make([]float32, off+K*ld+2*lineFloats)
				for i := range buf {
					buf[i] = sentinel
				}
				im2colRange(x, buf[off:], ld, c, n, h, w, k, 2, pad, ho, wo, b0, b1)
				where := fmt.Sprintf("c=%d n=%d h=%d w=%d images [%d,%d) ld=%d off=%d", c, n, h, w, b0, b1, ld, off)
				for i, v := range buf {
					row, j := (i-off)/ld, (i-off)%ld
					inside := i >= off && row < K && j < cp
					switch {
					case inside && v != want[row*cp+j]:
						t.Fatalf("%s: row %d [%d] = %v, want %v", where, row, j, v, want[row*cp+j])
					case !inside && v != sentinel:
						t.Fatalf("%s: wrote %v at %d, outside the rows", where, v, i)
					}
				}
			}
		}
	}
}

// TestPatchStride1 checks the stride-1 padded-plane Im2Col and Col2Im (row
// copies, and row adds fused by three for a 3-wide window) against the
// generic loops, bit for bit, at every SIMD level (copyRows' vector
// kernels, and its Go loop for rows over 32).
func TestPatchStride1(t *testing.T) {
	for _, l := range cpufeat.Levels() {
		t.Run(l.String(), func(t *testing.T) {
			cpufeattest.Use(t, l)
			testPatchStride1(t)
		})
	}
}

func testPatchStride1(t *testing.T) {
	type geom struct{ c, n, h, w, k, pad int }
	tests := []geom{
		{4, 3, 14, 14, 3, 1}, // the deeper backbone's stride-1 convolutions
		{3, 2, 7, 7, 3, 1},
		{2, 3, 4, 4, 3, 1},
		{2, 2, 9, 5, 3, 1},   // odd, and not square
		{1, 2, 2, 2, 3, 1},   // wo = 2: the unfused adds
		{2, 1, 1, 1, 3, 1},   // wo = 1, every tap but the centre in the padding
		{1, 2, 3, 3, 3, 1},   // wo = 3, the narrowest fused row
		{1, 2, 5, 40, 3, 1},  // rows over 32: copyRows' Go loop
		{2, 2, 6, 7, 3, 0},   // no padding: the image is the plane
		{2, 2, 5, 5, 3, 2},   // more padding than the window needs
		{3, 2, 6, 6, 1, 0},   // 1×1
		{1, 2, 8, 9, 5, 2},   // 5×5
		{2, 2, 33, 33, 3, 1}, // wo = 33
	}
	rng := rand.New(rand.NewPCG(13, 14))
	for _, tt := range tests {
		ho, wo := tt.h+2*tt.pad-tt.k+1, tt.w+2*tt.pad-tt.k+1
		if !stride1Fits(1, ho, wo, tt.h, tt.w, tt.k, tt.pad) {
			t.Errorf("%+v: not taken by the stride-1 path", tt)
			continue
		}
		x := fill(rng, make([]float32, tt.c*tt.n*tt.h*tt.w))
		K, NP := tt.c*tt.k*tt.k, tt.n*ho*wo
		got, want := sentinel(make([]float32, K*NP)), make([]float32, K*NP)
		Im2Col(x, got, tt.c, tt.n, tt.h, tt.w, tt.k, 1, tt.pad, ho, wo)
		im2colGeneric(x, want, NP, tt.c, tt.n, tt.h, tt.w, tt.k, 1, tt.pad, ho, wo, 0, tt.n)
		same(t, fmt.Sprintf("Im2Col %+v", tt), got, want)
		cols := fill(rng, make([]float32, K*NP))
		gx, wx := sentinel(make([]float32, len(x))), make([]float32, len(x))
		Col2Im(cols, gx, tt.c, tt.n, tt.h, tt.w, tt.k, 1, tt.pad, ho, wo)
		col2imGeneric(cols, NP, wx, tt.c, tt.n, tt.h, tt.w, tt.k, 1, tt.pad, ho, wo, 0, tt.n)
		same(t, fmt.Sprintf("Col2Im %+v", tt), gx, wx)
	}
	// Stride 2 is not the stride-1 path's, nor is a window wider than the
	// padded image.
	if stride1Fits(2, 7, 7, 14, 14, 3, 1) || stride1Fits(1, 1, 1, 1, 1, 5, 1) {
		t.Error("stride1Fits takes a geometry the stride-1 path cannot do")
	}
}

// fill sets v to values in [−1, 1) with some ±0 among them, and returns
// v.
func fill(rng *rand.Rand, v []float32) []float32 {
	for i := range v {
		v[i] = rng.Float32()*2 - 1
		if rng.IntN(16) == 0 {
			v[i] = float32(math.Copysign(0, float64(v[i])))
		}
	}
	return v
}

// sentinel sets v to a NaN no kernel computes, and returns v.
func sentinel(v []float32) []float32 {
	for i := range v {
		v[i] = math.Float32frombits(0x7fc0dead)
	}
	return v
}

// TestRowKernelsMatchGoLoopsInBounds checks gather2 and scatter2 against
// gather2Go and scatter2Go, bit for bit, at every level: every row width
// the vector kernels take (1..16) and one they do not (17), source and
// destination ending at or starting next to an inaccessible page, and
// nothing written between the rows (scatter2 leaves the odd elements).
func TestRowKernelsMatchGoLoopsInBounds(t *testing.T) {
	for _, l := range cpufeattest.Kernels(t, vectorLevels...) {
		t.Run(l.String(), func(t *testing.T) {
			cpufeattest.Use(t, l)
			rng := rand.New(rand.NewPCG(3, 4))
			for wo := 1; wo <= 17; wo++ {
				for _, rows := range []int{1, 2, 5} {
					for _, stride := range []int{2*wo - 1, 2*wo + 3} {
						for _, atEnd := range []bool{true, false} {
							where := fmt.Sprintf("wo=%d rows=%d stride=%d atEnd=%v", wo, rows, stride, atEnd)
							n := (rows-1)*stride + 2*wo - 1
							src := fill(rng, guarded(t, n, atEnd))
							got, want := sentinel(guarded(t, rows*wo, atEnd)), sentinel(make([]float32, rows*wo))
							gather2(got, src, rows, wo, stride)
							gather2Go(want, src, rows, wo, stride)
							same(t, "gather2 "+where, got, want)

							dst := fill(rng, guarded(t, n, atEnd))
							ref := append([]float32(nil), dst...)
							scatter2(dst, got, rows, wo, stride)
							scatter2Go(ref, got, rows, wo, stride)
							same(t, "scatter2 "+where, dst, ref)
						}
					}
				}
			}
		})
	}
}

// TestPlaneKernelsMatchGoLoopsInBounds checks im2col3 and col2im3 against
// their Go loops, bit for bit, at every level: every row width 1..15, odd
// and even plane widths, patch rows with and without room between them,
// and a plane and patch matrix exactly as long as the geometry needs,
// ending at or starting next to an inaccessible page. im2col3 writes
// nothing between the nine rows; col2im3 keeps the order of adds (ky, then
// kx) and leaves every other plane element (other than −0) as it was.
func TestPlaneKernelsMatchGoLoopsInBounds(t *testing.T) {
	for _, l := range cpufeattest.Kernels(t, vectorLevels...) {
		t.Run(l.String(), func(t *testing.T) {
			cpufeattest.Use(t, l)
			rng := rand.New(rand.NewPCG(9, 10))
			for wo := 1; wo <= 15; wo++ {
				for _, ho := range []int{1, 2, 3, 7, 15} {
					for _, pw := range []int{2*wo + 1, 2*wo + 4} {
						for _, gap := range []int{0, 5} {
							for _, atEnd := range []bool{true, false} {
								where := fmt.Sprintf("wo=%d ho=%d pw=%d gap=%d atEnd=%v", wo, ho, pw, gap, atEnd)
								np := ho*wo + gap
								plane := fill(rng, guarded(t, 2*ho*pw+2*wo+1, atEnd))
								got := sentinel(guarded(t, 8*np+ho*wo, atEnd))
								want := sentinel(make([]float32, len(got)))
								im2col3(got, np, plane, pw, ho, wo)
								im2col3Go(want, np, plane, pw, ho, wo)
								same(t, "im2col3 "+where, got, want)

								// The planes col2im3 gets start cleared and
								// hold only sums, never −0; the vector kernels
								// add +0 across each window, which keeps every
								// value but −0.
								for i, v := range plane {
									plane[i] = v + 0
								}
								cols := fill(rng, guarded(t, 8*np+ho*wo, atEnd))
								ref := append([]float32(nil), plane...)
								col2im3(plane, pw, cols, np, ho, wo)
								col2im3Go(ref, pw, cols, np, ho, wo)
								same(t, "col2im3 "+where, plane, ref)
							}
						}
					}
				}
			}
		})
	}
}

// TestCopyRowsMatchesCopyInBounds checks copyRows against row-by-row
// copies at every level: every width up to 32 (the vector kernels) and 33
// and 40 (the Go loop), packed and strided rows, and buffers ending at or
// starting next to an inaccessible page; nothing between the rows is
// written.
func TestCopyRowsMatchesCopyInBounds(t *testing.T) {
	for _, l := range cpufeattest.Kernels(t, vectorLevels...) {
		t.Run(l.String(), func(t *testing.T) {
			cpufeattest.Use(t, l)
			rng := rand.New(rand.NewPCG(11, 12))
			for w := 0; w <= 40; w++ {
				for _, rows := range []int{1, 2, 5} {
					for _, strides := range [][2]int{{w, w}, {w + 2, w}, {w, w + 7}} {
						for _, atEnd := range []bool{true, false} {
							where := fmt.Sprintf("w=%d rows=%d strides=%v atEnd=%v", w, rows, strides, atEnd)
							ds, ss := strides[0], strides[1]
							src := fill(rng, guarded(t, max(0, (rows-1)*ss+w), atEnd))
							got := sentinel(guarded(t, max(0, (rows-1)*ds+w), atEnd))
							want := sentinel(make([]float32, len(got)))
							copyRows(got, ds, src, ss, rows, w)
							for r := 0; r < rows; r++ {
								copy(want[r*ds:r*ds+w], src[r*ss:r*ss+w])
							}
							same(t, "copyRows "+where, got, want)
						}
					}
				}
			}
		})
	}
}

// TestPatchRanges checks that building the patch matrix and its adjoint a
// chunk of images at a time (as the convolution does) gives the whole-batch
// result, on the stride-2 and stride-1 paths and the generic one, at every
// SIMD level.
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
		{2, 5, 9, 8, 3, 1, 1, 2}, // stride 1: the row copies and adds
		{2, 5, 9, 8, 3, 3, 1, 2}, // stride 3: the generic loops
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

// TestConvChunks checks the convolutions' chunks of images: a count that is
// a multiple of chunkAlign (or every image its own chunk, or one chunk),
// none larger than the patch-matrix budget allows nor empty, for the
// model's layers and odd batches.
func TestConvChunks(t *testing.T) {
	tests := []struct{ cin, n, h, ho, wantChunks int }{
		{1, 256, 28, 14, 4},   // 148 images fit: 2 chunks, rounded up to 4
		{32, 256, 14, 7, 16},  // 18 fit: 15 chunks, rounded up to 16
		{64, 256, 7, 4, 12},   // 28 fit: 10 chunks, rounded up to 12
		{64, 3, 7, 4, 1},      // one chunk holds them all
		{512, 3, 28, 14, 3},   // one image a chunk, 3 chunks (not 4)
		{512, 6, 28, 14, 6},   // one image a chunk, 6 chunks
		{64, 40, 14, 7, 8},    // 9 fit: 5 chunks, rounded up to 8
		{128, 10, 28, 14, 10}, // one image fits: 10 chunks (12 is more than the images)
	}
	for _, tt := range tests {
		s := &convState{cin: tt.cin, n: tt.n, h: tt.h, w: tt.h, k: 3, ho: tt.ho, wo: tt.ho}
		budget := max(1, chunkBytes/(4*s.kdim()*s.ho*s.wo))
		chunks, most := s.chunks()
		if chunks != tt.wantChunks {
			t.Errorf("%+v: %d chunks, want %d", tt, chunks, tt.wantChunks)
		}
		if chunks > 1 && chunks != tt.n && chunks%chunkAlign != 0 {
			t.Errorf("%+v: %d chunks, not a multiple of %d", tt, chunks, chunkAlign)
		}
		next := 0
		for i := range chunks {
			b0, b1 := span(i, chunks, tt.n)
			if b0 != next || b1 <= b0 || b1-b0 > most || most > budget {
				t.Errorf("%+v: chunk %d is images [%d, %d), at most %d (budget %d)", tt, i, b0, b1, most, budget)
			}
			next = b1
		}
		if next != tt.n {
			t.Errorf("%+v: chunks end at image %d", tt, next)
		}
	}
}

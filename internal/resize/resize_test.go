package resize

import (
	"bytes"
	"fmt"
	"math"
	"testing"

	"github.com/siampipe/siampipe/internal/raster"
)

func TestNewRejectsBadSizes(t *testing.T) {
	for _, s := range [][4]int{
		{0, 28, 32, 32}, {28, 0, 32, 32}, {28, 28, 0, 32}, {28, 28, 32, -1}, {MaxSize + 1, 1, 1, 1},
	} {
		if _, err := New(s[0], s[1], s[2], s[3]); err == nil {
			t.Errorf("New(%v) succeeded", s)
		}
	}
}

func TestResizeRejectsMismatchedImages(t *testing.T) {
	r, err := New(4, 6, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	good, dst := noise(1, 3, 4, 6), raster.New(3, 2, 3)
	for _, tc := range []struct {
		name     string
		dst, src raster.Image
	}{
		{"source of another size", dst, noise(1, 3, 6, 4)},
		{"source short of samples", dst, raster.Image{C: 3, H: 4, W: 6, Pix: good.Pix[:71]}},
		{"destination of another size", raster.New(3, 3, 2), good},
		{"destination of another channel count", raster.New(1, 2, 3), good},
		{"destination short of samples", raster.Image{C: 3, H: 2, W: 3, Pix: dst.Pix[:17]}, good},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := r.ResizeInto(tc.dst, tc.src); err == nil {
				t.Fatal("ResizeInto succeeded")
			}
		})
	}
	if _, err := r.Resize(noise(1, 1, 4, 7)); err == nil {
		t.Error("Resize of a 4x7 image with a 4x6 resizer succeeded")
	}
	if _, err := Bilinear(good, 0, 3); err == nil {
		t.Error("Bilinear to height 0 succeeded")
	}
	if _, err := Bilinear(raster.Image{C: 1, H: 2, W: 2, Pix: make([]uint8, 3)}, 1, 1); err == nil {
		t.Error("Bilinear of an image short of samples succeeded")
	}
}

// TestResizerIsReusable resizes different images with one Resizer and its
// Clone, interleaved, and compares with fresh one-off resizes.
func TestResizerIsReusable(t *testing.T) {
	for _, s := range [][4]int{{28, 28, 32, 32}, {28, 28, 14, 14}, {97, 61, 23, 47}, {5, 40, 5, 9}} {
		r, err := New(s[0], s[1], s[2], s[3])
		if err != nil {
			t.Fatal(err)
		}
		c := r.Clone()
		if h, w := c.InSize(); h != s[0] || w != s[1] {
			t.Errorf("Clone's InSize %dx%d, want %dx%d", h, w, s[0], s[1])
		}
		if h, w := c.OutSize(); h != s[2] || w != s[3] {
			t.Errorf("Clone's OutSize %dx%d, want %dx%d", h, w, s[2], s[3])
		}
		for seed := uint64(0); seed < 4; seed++ {
			src := noise(seed, 1+int(seed%3), s[0], s[1])
			want, err := Bilinear(src, s[2], s[3])
			if err != nil {
				t.Fatal(err)
			}
			for name, rr := range map[string]*Resizer{"resizer": r, "clone": c} {
				got, err := rr.Resize(src)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got.Pix, want.Pix) {
					t.Fatalf("%v seed %d: the reused %s differs from a fresh one", s, seed, name)
				}
			}
		}
	}
}

// TestIdentityPassesAreExact checks the shortcut for an axis whose size does
// not change against the weighted sums it skips, on floats and bytes.
func TestIdentityPassesAreExact(t *testing.T) {
	for _, s := range [][4]int{{28, 28, 28, 28}, {28, 28, 28, 13}, {28, 28, 40, 28}, {1, 9, 1, 9}, {7, 1, 3, 1}} {
		fast, err := New(s[0], s[1], s[2], s[3])
		if err != nil {
			t.Fatal(err)
		}
		rows, cols := *fast.rows, *fast.cols
		if s[0] == s[2] && !rows.identity || s[1] == s[3] && !cols.identity {
			t.Fatalf("%v: an axis of unchanged size is not recognised as the identity", s)
		}
		rows.identity, cols.identity = false, false
		slow := newResizer(&rows, &cols)
		src := noise(3, 2, s[0], s[1])
		n := 2 * s[2] * s[3]
		fa, fb := make([]float32, n), make([]float32, n)
		a, b := raster.New(2, s[2], s[3]), raster.New(2, s[2], s[3])
		fast.resize(a, src, fa)
		slow.resize(b, src, fb)
		for i := range fa {
			if math.Float32bits(fa[i]) != math.Float32bits(fb[i]) {
				t.Fatalf("%v: float %d is %v with the shortcut, %v without", s, i, fa[i], fb[i])
			}
		}
		if !bytes.Equal(a.Pix, b.Pix) {
			t.Fatalf("%v: bytes differ with and without the shortcut", s)
		}
	}
}

func TestResizeIntoAllocatesNothing(t *testing.T) {
	r, err := New(28, 28, 32, 32)
	if err != nil {
		t.Fatal(err)
	}
	src, dst := noise(1, 3, 28, 28), raster.New(3, 32, 32)
	if n := testing.AllocsPerRun(20, func() {
		if err := r.ResizeInto(dst, src); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("ResizeInto allocates %v times per image", n)
	}
}

// TestConstantImageStaysConstant: the weights of every output sum to one in
// exact arithmetic; in float32 a constant level must still round back to
// itself, for every level and a spread of size pairs.
func TestConstantImageStaysConstant(t *testing.T) {
	sizes := [][4]int{{28, 28, 32, 32}, {28, 28, 14, 14}, {256, 256, 64, 64}, {97, 61, 23, 47}, {3, 200, 11, 7}, {1, 1, 9, 4}}
	for _, s := range sizes {
		r, err := New(s[0], s[1], s[2], s[3])
		if err != nil {
			t.Fatal(err)
		}
		src, dst := raster.New(1, s[0], s[1]), raster.New(1, s[2], s[3])
		for v := 0; v < 256; v++ {
			for i := range src.Pix {
				src.Pix[i] = uint8(v)
			}
			if err := r.ResizeInto(dst, src); err != nil {
				t.Fatal(err)
			}
			for i, got := range dst.Pix {
				if int(got) != v {
					t.Fatalf("%v: level %d comes out as %d at %d", s, v, got, i)
				}
			}
		}
	}
}

// TestToUint8RoundsHalfToEven checks toUint8 against math.RoundToEven (what
// torch.round does) at every integer and half-integer from -1 to 257, their
// float32 neighbours, and a fine grid in between.
func TestToUint8RoundsHalfToEven(t *testing.T) {
	want := func(v float32) uint8 { return uint8(min(max(math.RoundToEven(float64(v)), 0), 255)) }
	for k := -2 << 10; k <= 257<<10; k++ {
		v := float32(k) / (1 << 10)
		for _, u := range []float32{v, math.Nextafter32(v, -1000), math.Nextafter32(v, 1000)} {
			if got := toUint8(u); got != want(u) {
				t.Fatalf("toUint8(%v) = %d, want %d", u, got, want(u))
			}
		}
	}
}

func ExampleResizer() {
	r, err := New(28, 28, 14, 14) // once per size pair
	if err != nil {
		panic(err)
	}
	img := raster.New(1, 28, 28)
	for x := 0; x < 28; x++ { // a vertical bar, columns 12 to 15
		for y := 0; y < 28; y++ {
			if x >= 12 && x < 16 {
				img.Pix[y*28+x] = 255
			}
		}
	}
	out, err := r.Resize(img)
	if err != nil {
		panic(err)
	}
	fmt.Println(out.Pix[7*14 : 8*14]) // row 7
	// Output: [0 0 0 0 0 32 223 223 32 0 0 0 0 0]
}

func benchmarkResize(b *testing.B, c, inH, inW, outH, outW int) {
	r, err := New(inH, inW, outH, outW)
	if err != nil {
		b.Fatal(err)
	}
	src, dst := noise(1, c, inH, inW), raster.New(c, outH, outW)
	b.SetBytes(int64(len(src.Pix)))
	b.ReportAllocs()
	for b.Loop() {
		if err := r.ResizeInto(dst, src); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkResize28To32RGB(b *testing.B)  { benchmarkResize(b, 3, 28, 28, 32, 32) }
func BenchmarkResize256To64RGB(b *testing.B) { benchmarkResize(b, 3, 256, 256, 64, 64) }
func BenchmarkResize28To14Grey(b *testing.B) { benchmarkResize(b, 1, 28, 28, 14, 14) }
func BenchmarkResizeNewAndOnce(b *testing.B) { // weights not reused: what Bilinear pays
	src := noise(1, 3, 28, 28)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Bilinear(src, 32, 32); err != nil {
			b.Fatal(err)
		}
	}
}

package decode

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"testing"

	"github.com/siampipe/siampipe/internal/raster"
)

func sameImage(a, b raster.Image) bool {
	return a.C == b.C && a.H == b.H && a.W == b.W && bytes.Equal(a.Pix, b.Pix)
}

// pngOf encodes m with Go's encoder at level.
func pngOf(t *testing.T, m image.Image, level png.CompressionLevel) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: level}).Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestPNGFastPathIsImagePNG decodes PNGs of every kind the fast path takes
// (and some it leaves to image/png) both ways: the same image, and the
// fast path taken exactly for the kinds it is meant for. Go's encoder picks
// a filter per row by content, so smooth and noisy images cover all five.
func TestPNGFastPathIsImagePNG(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	fill := func(pix []byte, smooth bool, w int) {
		for i := range pix {
			if smooth {
				pix[i] = byte(i%w*3 + i/w*5)
			} else {
				pix[i] = byte(r.UintN(256))
			}
		}
	}
	type kind struct {
		name string
		make func(w, h int, smooth bool) image.Image
		fast bool
	}
	kinds := []kind{
		{"grey", func(w, h int, s bool) image.Image {
			m := image.NewGray(image.Rect(0, 0, w, h))
			fill(m.Pix, s, w)
			return m
		}, true},
		{"rgb", func(w, h int, s bool) image.Image {
			m := image.NewNRGBA(image.Rect(0, 0, w, h))
			fill(m.Pix, s, 4*w)
			for i := 3; i < len(m.Pix); i += 4 {
				m.Pix[i] = 255 // opaque: the encoder writes RGB
			}
			return m
		}, true},
		{"rgba", func(w, h int, s bool) image.Image {
			m := image.NewNRGBA(image.Rect(0, 0, w, h))
			fill(m.Pix, s, 4*w)
			return m
		}, true},
		{"grey16", func(w, h int, s bool) image.Image {
			m := image.NewGray16(image.Rect(0, 0, w, h))
			fill(m.Pix, s, 2*w)
			return m
		}, false},
		{"paletted", func(w, h int, s bool) image.Image {
			m := image.NewPaletted(image.Rect(0, 0, w, h), color.Palette{color.Black, color.White, color.RGBA{200, 10, 30, 255}})
			for i := range m.Pix {
				m.Pix[i] = byte(r.UintN(3))
			}
			return m
		}, false},
	}
	for _, k := range kinds {
		for _, size := range [][2]int{{1, 1}, {28, 28}, {13, 7}, {64, 3}, {3, 64}} {
			for _, smooth := range []bool{true, false} {
				for _, level := range []png.CompressionLevel{png.DefaultCompression, png.NoCompression, png.BestSpeed, png.BestCompression} {
					name := fmt.Sprintf("%s/%dx%d/smooth=%v/level=%d", k.name, size[0], size[1], smooth, level)
					data := pngOf(t, k.make(size[0], size[1], smooth), level)
					fast, ok := fastPNG(data, DefaultMaxPixels)
					if ok != k.fast {
						t.Fatalf("%s: fast path taken %v, want %v", name, ok, k.fast)
					}
					std, err := decodeStd(data, DefaultMaxPixels)
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					if ok && !sameImage(fast, std) {
						t.Fatalf("%s: the fast path differs from image/png", name)
					}
				}
			}
		}
	}
	// PIL's files (testdata): grey, grey+alpha, RGB, RGBA take the fast
	// path; a grey one with a transparent value does not; each decodes as
	// image/png does.
	for _, tc := range []struct {
		file string
		fast bool
	}{{"grey.png", true}, {"la.png", true}, {"rgb.png", true}, {"rgba.png", true}, {"grey_trns.png", false}, {"grey16.png", false}, {"paletted.png", false}} {
		data := readTestdata(t, tc.file)
		fast, ok := fastPNG(data, DefaultMaxPixels)
		std, err := decodeStd(data, DefaultMaxPixels)
		if ok != tc.fast || err != nil || ok && !sameImage(fast, std) {
			t.Errorf("%s: fast path %v (want %v), image/png error %v, or they differ", tc.file, ok, tc.fast, err)
		}
	}
}

// TestPNGFastPathLeavesBrokenFilesToImagePNG: a bad checksum, a cut file,
// extra pixel data and an unknown filter type are not decoded by the fast
// path, so the error comes from image/png, classified as before.
func TestPNGFastPathLeavesBrokenFilesToImagePNG(t *testing.T) {
	m := image.NewGray(image.Rect(0, 0, 8, 8))
	good := pngOf(t, m, png.NoCompression)
	badCRC := append([]byte(nil), good...)
	badCRC[len(badCRC)-20] ^= 1 // inside IDAT's data
	for name, data := range map[string][]byte{
		"checksum": badCRC,
		"cut":      good[:len(good)-20],
	} {
		if _, ok := fastPNG(data, DefaultMaxPixels); ok {
			t.Errorf("%s: the fast path decoded a broken file", name)
		}
		if _, err := Decode(data, DefaultMaxPixels); err == nil {
			t.Errorf("%s: Decode accepted a broken file", name)
		}
	}
}

func BenchmarkDecodePNG28(b *testing.B) {
	m := image.NewGray(image.Rect(0, 0, 28, 28))
	for i := range m.Pix {
		if d := i%28 - 14; d*d < 60 {
			m.Pix[i] = byte(80 + i*7%170)
		}
	}
	var buf bytes.Buffer
	png.Encode(&buf, m)
	data := buf.Bytes()
	for _, path := range []struct {
		name string
		f    func([]byte, int64) (raster.Image, error)
	}{{"fast", Decode}, {"image-png", decodeStd}} {
		b.Run(path.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				if _, err := path.f(data, DefaultMaxPixels); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecodePNG28Parallel(b *testing.B) {
	m := image.NewGray(image.Rect(0, 0, 28, 28))
	for i := range m.Pix {
		if d := i%28 - 14; d*d < 60 {
			m.Pix[i] = byte(80 + i*7%170)
		}
	}
	var buf bytes.Buffer
	png.Encode(&buf, m)
	data := buf.Bytes()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := Decode(data, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
}

package decode

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/siampipe/siampipe/internal/raster"
)

// goldenFiles are the images testdata/golden.py writes, with the shape
// Decode must give and how far its samples may be from PIL's (in
// testdata/NAME.pil). Everything but JPEG must be exact. JPEG: Go's IDCT
// and colour conversion round differently from libjpeg's; with libjpeg's
// chroma upsampling (see ycbcrToRaster) no sample is off by more than 3
// and the mean is below 0.35 (measured: 4:4:4 max 2 mean 0.32, 4:2:0 max
// 2 mean 0.24, grey max 1 mean 0.02; photos, noise and 8x8 blocks at
// quality 50 and 95 in all three subsamplings stay within max 3 mean 0.21).
var goldenFiles = []struct {
	name    string
	c, h, w int
	maxDiff int
	mean    float64
}{
	{"grey.png", 1, 7, 13, 0, 0},
	{"grey_trns.png", 1, 7, 13, 0, 0}, // Go decodes NRGBA; the header (and PIL) say grey
	{"rgb.png", 3, 7, 13, 0, 0},
	{"rgba.png", 3, 7, 13, 0, 0},
	{"la.png", 3, 7, 13, 0, 0},
	{"paletted.png", 3, 7, 13, 0, 0},
	{"grey16.png", 1, 7, 13, 0, 0}, // the high byte; PIL's convert("L") clips instead
	{"rgb.bmp", 3, 7, 13, 0, 0},
	{"rgb.tif", 3, 7, 13, 0, 0},
	{"rgba.tif", 3, 7, 13, 0, 0},
	{"rgb.gif", 3, 7, 13, 0, 0},
	{"rgb.webp", 3, 7, 13, 0, 0},
	{"rgb444.jpg", 3, 25, 33, 3, 0.35},
	{"rgb420.jpg", 3, 25, 33, 3, 0.35},
	{"grey.jpg", 1, 25, 33, 3, 0.35},
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeMatchesPIL(t *testing.T) {
	for _, tc := range goldenFiles {
		t.Run(tc.name, func(t *testing.T) {
			im, err := Decode(readTestdata(t, tc.name), 0)
			if err != nil {
				t.Fatal(err)
			}
			if err := im.Check(); err != nil {
				t.Fatal(err)
			}
			if im.C != tc.c || im.H != tc.h || im.W != tc.w {
				t.Fatalf("shape %s, want %s", im.Shape(), raster.Shape(tc.c, tc.h, tc.w))
			}
			want := readTestdata(t, tc.name+".pil")
			if len(want) != len(im.Pix) {
				t.Fatalf("PIL has %d samples, Decode %d", len(want), len(im.Pix))
			}
			worst, at, sum := 0, 0, 0
			for i := range want {
				d := int(im.Pix[i]) - int(want[i])
				d = max(d, -d)
				if d > worst {
					worst, at = d, i
				}
				sum += d
			}
			mean := float64(sum) / float64(len(want))
			if worst > tc.maxDiff || mean > tc.mean {
				t.Fatalf("max difference %d (sample %d: %d, PIL %d), mean %.3f; allowed %d, %.3f",
					worst, at, im.Pix[at], want[at], mean, tc.maxDiff, tc.mean)
			}
		})
	}
}

// pngChunk returns one PNG chunk with its CRC.
func pngChunk(typ string, data []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, uint32(len(data)))
	b.WriteString(typ)
	b.Write(data)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	return b.Bytes()
}

// pngHeader returns a PNG that is only a header: signature, IHDR (8-bit
// RGB of w x h) and IEND.
func pngHeader(w, h uint32) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 2, 0, 0, 0)
	b := []byte("\x89PNG\r\n\x1a\n")
	b = append(b, pngChunk("IHDR", ihdr)...)
	return append(b, pngChunk("IEND", nil)...)
}

// Headers of other formats claiming 65535 x 65535 (4.3 G pixels).
var (
	gifHuge  = []byte("GIF89a\xff\xff\xff\xff\x00\x00\x00;")
	jpegHuge = []byte("\xff\xd8\xff\xc0\x00\x11\x08\xff\xff\xff\xff\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01" +
		"\xff\xda\x00\x0c\x03\x01\x00\x02\x11\x03\x11\x00\x3f\x00\xff\xd9")
	bmpHuge = func() []byte {
		b := []byte("BM\x00\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00")
		b = binary.LittleEndian.AppendUint32(b, 40)
		b = binary.LittleEndian.AppendUint32(b, 65535) // width
		b = binary.LittleEndian.AppendUint32(b, 65535) // height
		b = binary.LittleEndian.AppendUint16(b, 1)     // planes
		b = binary.LittleEndian.AppendUint16(b, 24)    // bits per pixel
		return append(b, make([]byte, 24)...)
	}()
)

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestDecodeRefusesHugeHeaderWithoutDecoding(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
	}{
		{"png 100000x100000", pngHeader(100000, 100000)},
		{"png 1x2^31-1", pngHeader(1, 1<<31-1)},
		{"gif", gifHuge},
		{"jpeg", jpegHuge},
		{"bmp", bmpHuge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			n := allocated(func() { _, err = Decode(tc.in, 0) })
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("got error %v, want ErrTooLarge", err)
			}
			if n > 1<<20 {
				t.Fatalf("allocated %d bytes to refuse it", n)
			}
		})
	}
}

func TestDecodeAppliesThePixelLimit(t *testing.T) {
	data := readTestdata(t, "rgb.png") // 13 x 7 = 91 pixels
	if _, err := Decode(data, 91); err != nil {
		t.Fatalf("limit 91: %v", err)
	}
	if _, err := Decode(data, 90); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("limit 90: got error %v, want ErrTooLarge", err)
	}
}

func TestDecodeRejectsBadInput(t *testing.T) {
	good := readTestdata(t, "rgb.png")
	badCRC := append([]byte(nil), good...)
	badCRC[len(badCRC)-20] ^= 0xff // inside the IDAT data
	jpg := readTestdata(t, "rgb420.jpg")
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrFormat},
		{"text", []byte("class,label\ncat,0\n"), ErrFormat},
		{"png signature only", good[:8], ErrTruncated},
		{"png cut in the header", good[:20], ErrTruncated},
		{"png cut in the data", good[:len(good)/2], ErrTruncated},
		{"png checksum", badCRC, ErrCorrupt},
		{"png zero width", pngHeader(0, 5), ErrCorrupt},
		{"jpeg cut in the data", jpg[:len(jpg)/2], ErrTruncated},
		{"jpeg soi only", jpg[:2], ErrTruncated},
		{"gif cut", readTestdata(t, "rgb.gif")[:40], ErrTruncated},
		{"tiff cut", readTestdata(t, "rgb.tif")[:60], ErrTruncated},
		{"bmp cut", readTestdata(t, "rgb.bmp")[:100], ErrTruncated},
		{"webp cut", readTestdata(t, "rgb.webp")[:100], ErrTruncated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(tc.in, 0)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got error %v, want %v", err, tc.want)
			}
		})
	}
}

func TestDecodeTruncatedWrapsTheDecoderError(t *testing.T) {
	good := readTestdata(t, "rgb.png")
	_, err := Decode(good[:20], 0) // inside IHDR
	if !errors.Is(err, ErrTruncated) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("got %v, want ErrTruncated wrapping io.ErrUnexpectedEOF", err)
	}
	t.Log(err)
}

// opaque hides an image's concrete type, so toRaster takes its generic path.
type opaque struct{ image.Image }

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestFastPathsMatchTheColorModels(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	rect := image.Rect(0, 0, 11, 6)
	sub := image.Rect(2, 1, 9, 6) // a sub-image: a non-zero origin and a stride wider than a row
	nrgba := &image.NRGBA{Pix: randBytes(r, 4*66), Stride: 44, Rect: rect}
	opaqueRGBA := &image.RGBA{Pix: randBytes(r, 4*66), Stride: 44, Rect: rect}
	for i := 3; i < len(opaqueRGBA.Pix); i += 4 {
		opaqueRGBA.Pix[i] = 0xff
	}
	rgba64 := &image.RGBA64{Pix: randBytes(r, 8*66), Stride: 88, Rect: rect}
	for i := 6; i < len(rgba64.Pix); i += 8 {
		rgba64.Pix[i], rgba64.Pix[i+1] = 0xff, 0xff
	}
	pal := color.Palette{color.NRGBA{1, 2, 3, 4}, color.RGBA{10, 20, 30, 255}, color.Gray{77}}
	paletted := &image.Paletted{Pix: randBytes(r, 66), Stride: 11, Rect: rect, Palette: pal}
	for i := range paletted.Pix {
		paletted.Pix[i] %= 3
	}
	imgs := map[string]image.Image{
		"gray":     &image.Gray{Pix: randBytes(r, 66), Stride: 11, Rect: rect},
		"gray16":   &image.Gray16{Pix: randBytes(r, 2*66), Stride: 22, Rect: rect},
		"nrgba":    nrgba,
		"rgba":     opaqueRGBA,
		"nrgba64":  &image.NRGBA64{Pix: randBytes(r, 8*66), Stride: 88, Rect: rect},
		"rgba64":   rgba64,
		"cmyk":     &image.CMYK{Pix: randBytes(r, 4*66), Stride: 44, Rect: rect},
		"paletted": paletted,
	}
	for name, img := range imgs {
		for _, part := range []struct {
			name string
			img  image.Image
		}{
			{"whole", img},
			{"sub-image", img.(interface {
				SubImage(image.Rectangle) image.Image
			}).SubImage(sub)},
		} {
			t.Run(name+" "+part.name, func(t *testing.T) {
				got, want := toRaster(part.img), toRaster(opaque{part.img})
				if got.Shape() != want.Shape() || !bytes.Equal(got.Pix, want.Pix) {
					t.Fatalf("fast path %s %v\ngeneric   %s %v", got.Shape(), got.Pix, want.Shape(), want.Pix)
				}
			})
		}
	}
}

func TestPremultipliedAlphaIsUndoneAsPILDoes(t *testing.T) {
	// PIL's RGBa -> RGB: 255*c/a truncated; alpha 0 and 255 keep the colour.
	img := &image.RGBA{Pix: []byte{64, 0, 128, 128, 10, 20, 30, 0, 200, 100, 50, 255, 1, 2, 3, 3}, Stride: 16, Rect: image.Rect(0, 0, 4, 1)}
	got := toRaster(img)
	want := []byte{127, 10, 200, 85, 0, 20, 100, 170, 255, 30, 50, 255}
	if !bytes.Equal(got.Pix, want) {
		t.Fatalf("got %v, want %v", got.Pix, want)
	}
}

func TestPaletteIndicesPastThePaletteAreBlack(t *testing.T) {
	img := &image.Paletted{Pix: []byte{0, 1, 200}, Stride: 3, Rect: image.Rect(0, 0, 3, 1),
		Palette: color.Palette{color.NRGBA{9, 8, 7, 0}, color.RGBA{1, 2, 3, 255}}}
	got := toRaster(img)
	if want := []byte{9, 1, 0, 8, 2, 0, 7, 3, 0}; !bytes.Equal(got.Pix, want) {
		t.Fatalf("got %v, want %v", got.Pix, want)
	}
}

func randYCbCr(r *rand.Rand, w, h int, ratio image.YCbCrSubsampleRatio) *image.YCbCr {
	m := image.NewYCbCr(image.Rect(0, 0, w, h), ratio)
	copy(m.Y, randBytes(r, len(m.Y)))
	copy(m.Cb, randBytes(r, len(m.Cb)))
	copy(m.Cr, randBytes(r, len(m.Cr)))
	return m
}

func TestYCbCrWithoutSubsamplingIsGoConversion(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	m := randYCbCr(r, 9, 5, image.YCbCrSubsampleRatio444)
	for _, img := range []*image.YCbCr{m, m.SubImage(image.Rect(1, 2, 8, 5)).(*image.YCbCr)} {
		got := toRaster(img)
		b := img.Bounds()
		for y := 0; y < b.Dy(); y++ {
			for x := 0; x < b.Dx(); x++ {
				c := img.YCbCrAt(b.Min.X+x, b.Min.Y+y)
				rr, gg, bb := color.YCbCrToRGB(c.Y, c.Cb, c.Cr)
				i := y*b.Dx() + x
				if got.Plane(0)[i] != rr || got.Plane(1)[i] != gg || got.Plane(2)[i] != bb {
					t.Fatalf("pixel (%d,%d) of %v: got %d %d %d, want %d %d %d", x, y, b,
						got.Plane(0)[i], got.Plane(1)[i], got.Plane(2)[i], rr, gg, bb)
				}
			}
		}
	}
}

func TestSubsampledYCbCrAtAnOffsetRepeatsChroma(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, ratio := range []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio411} {
		m := randYCbCr(r, 13, 9, ratio).SubImage(image.Rect(3, 1, 12, 8)).(*image.YCbCr)
		got := toRaster(m)
		b := m.Bounds()
		for y := 0; y < b.Dy(); y++ {
			for x := 0; x < b.Dx(); x++ {
				c := m.YCbCrAt(b.Min.X+x, b.Min.Y+y)
				rr, _, _ := color.YCbCrToRGB(c.Y, c.Cb, c.Cr)
				if got.Plane(0)[y*b.Dx()+x] != rr {
					t.Fatalf("%v pixel (%d,%d): got R %d, want %d", ratio, x, y, got.Plane(0)[y*b.Dx()+x], rr)
				}
			}
		}
	}
}

func TestFancyUpsamplingKeepsFlatChroma(t *testing.T) {
	// Constant chroma interpolates to itself, so fancy upsampling must give
	// exactly what repeating the samples gives.
	r := rand.New(rand.NewPCG(7, 8))
	for _, ratio := range []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio440} {
		m := randYCbCr(r, 11, 7, ratio)
		for i := range m.Cb {
			m.Cb[i], m.Cr[i] = 90, 200
		}
		got := toRaster(m)
		for y := 0; y < 7; y++ {
			for x := 0; x < 11; x++ {
				rr, gg, bb := color.YCbCrToRGB(m.Y[y*m.YStride+x], 90, 200)
				i := y*11 + x
				if got.Plane(0)[i] != rr || got.Plane(1)[i] != gg || got.Plane(2)[i] != bb {
					t.Fatalf("%v pixel (%d,%d) differs", ratio, x, y)
				}
			}
		}
	}
}

// transpose returns m with rows and columns swapped, turning 4:2:2 into
// 4:4:0.
func transpose(m *image.YCbCr, ratio image.YCbCrSubsampleRatio) *image.YCbCr {
	b := m.Bounds()
	t := image.NewYCbCr(image.Rect(0, 0, b.Dy(), b.Dx()), ratio)
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			t.Y[x*t.YStride+y] = m.Y[y*m.YStride+x]
		}
	}
	cw := len(m.Cb) / (b.Dy()) // chroma samples per row of the 4:2:2 image
	for y := 0; y < b.Dy(); y++ {
		for c := 0; c < cw; c++ {
			t.Cb[c*t.CStride+y] = m.Cb[y*m.CStride+c]
			t.Cr[c*t.CStride+y] = m.Cr[y*m.CStride+c]
		}
	}
	return t
}

func TestFancyUpsampling440IsTransposed422(t *testing.T) {
	// libjpeg's h1v2 filter is its h2v1 filter turned on its side (same
	// weights, same biases), so decoding a transposed image must give the
	// transposed pixels. (PIL cannot write 4:4:0 JPEGs for a golden test.)
	r := rand.New(rand.NewPCG(9, 10))
	m := randYCbCr(r, 12, 5, image.YCbCrSubsampleRatio422)
	a := toRaster(m)
	b := toRaster(transpose(m, image.YCbCrSubsampleRatio440))
	for c := 0; c < 3; c++ {
		for y := 0; y < 5; y++ {
			for x := 0; x < 12; x++ {
				if a.Plane(c)[y*12+x] != b.Plane(c)[x*5+y] {
					t.Fatalf("channel %d (%d,%d): 4:2:2 %d, transposed 4:4:0 %d", c, x, y, a.Plane(c)[y*12+x], b.Plane(c)[x*5+y])
				}
			}
		}
	}
}

func TestDecodeFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := readTestdata(t, "rgb.png")
	im, err := DecodeFile(write("ok.png", good), 0)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := Decode(good, 0)
	if !bytes.Equal(im.Pix, want.Pix) {
		t.Fatal("DecodeFile and Decode differ")
	}
	if _, err := DecodeFile(write("notes.txt", []byte("hello")), 0); !errors.Is(err, ErrFormat) {
		t.Fatalf("text file: got %v, want ErrFormat", err)
	}
	if _, err := DecodeFile(write("empty.png", nil), 0); !errors.Is(err, ErrFormat) {
		t.Fatalf("empty file: got %v, want ErrFormat", err)
	}
	if _, err := DecodeFile(filepath.Join(dir, "missing.png"), 0); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: got %v, want os.ErrNotExist", err)
	}
	// A file over MaxFileBytes is refused from its size, before it is read:
	// a sparse file costs no disk.
	big := write("big.png", good)
	if err := os.Truncate(big, MaxFileBytes(100)+1); err != nil {
		t.Fatal(err)
	}
	var n uint64
	n = allocated(func() { _, err = DecodeFile(big, 100) })
	if !errors.Is(err, ErrTooLarge) || n > 1<<20 {
		t.Fatalf("file over the limit: got %v after allocating %d bytes, want ErrTooLarge", err, n)
	}
}

func TestRoundTripThroughGoEncoder(t *testing.T) {
	// A PNG written by Go's own encoder from an NRGBA image decodes to its
	// colour bytes: a check that does not depend on the golden files.
	src := image.NewNRGBA(image.Rect(0, 0, 5, 3))
	for i := range src.Pix {
		src.Pix[i] = byte(i * 37)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, src); err != nil {
		t.Fatal(err)
	}
	im, err := Decode(buf.Bytes(), 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 15; i++ {
		for c := 0; c < 3; c++ {
			if im.Plane(c)[i] != src.Pix[4*i+c] {
				t.Fatalf("pixel %d channel %d: %d, want %d", i, c, im.Plane(c)[i], src.Pix[4*i+c])
			}
		}
	}
}

// fuzzMaxPixels is the limit FuzzDecode decodes under: 64 x 64.
const fuzzMaxPixels = 1 << 12

func FuzzDecode(f *testing.F) {
	for _, tc := range goldenFiles {
		f.Add(readTestdata(f, tc.name))
	}
	f.Add(pngHeader(100000, 100000))
	f.Add(gifHuge)
	f.Add(jpegHuge)
	f.Add(bmpHuge)
	f.Fuzz(func(t *testing.T, in []byte) {
		var im raster.Image
		var err error
		n := allocated(func() { im, err = Decode(in, fuzzMaxPixels) })
		// The decoders' fixed buffers (zlib windows, TIFF's read chunks of
		// up to 10 MiB), a few bytes a pixel for their images and ours, and
		// what the compressed input can expand to.
		if limit := uint64(16<<20 + 64*fuzzMaxPixels + 64*len(in)); n > limit {
			t.Fatalf("allocated %d bytes (limit %d) for %d input bytes, error %v", n, limit, len(in), err)
		}
		if fast, ok := fastPNG(in, fuzzMaxPixels); ok {
			std, serr := decodeStd(in, fuzzMaxPixels)
			if serr != nil || !sameImage(fast, std) {
				t.Fatalf("the PNG fast path decoded %s, image/png %s with error %v", fast.Shape(), std.Shape(), serr)
			}
		}
		if err != nil {
			return
		}
		if err := im.Check(); err != nil {
			t.Fatal(err)
		}
		if im.C != 1 && im.C != 3 || int64(im.H)*int64(im.W) > fuzzMaxPixels {
			t.Fatalf("decoded shape %s", im.Shape())
		}
	})
}

// Package decode turns the bytes of an image file into a raster.Image: PNG,
// JPEG and GIF with the standard library, BMP, TIFF and WebP with
// golang.org/x/image.
//
// The image keeps its natural channels: greyscale images (8 or 16 bits)
// give one channel, everything else three (RGB). Alpha is dropped without
// compositing, as PIL's Image.convert("RGB") drops it, so the colour bytes
// of a PNG, BMP, TIFF or lossless WebP are exactly PIL's. Where PIL and this
// package differ (16-bit greyscale, JPEG) the function docs say so.
//
// The size an image claims in its header is checked against a pixel limit
// before any pixel is decoded, so a small file that claims to be huge costs
// nothing.
package decode

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"

	"github.com/siampipe/siampipe/internal/raster"
)

// DefaultMaxPixels is the pixel limit Decode applies when given a limit <= 0:
// 1<<26 pixels (8192 x 8192), far beyond any image a stage trains on, and
// at most 512 MiB for the widest decoder buffer (16-bit RGBA).
const DefaultMaxPixels = 1 << 26

// Errors returned (wrapped) by Decode and DecodeFile, for errors.Is. An
// error that wraps ErrTruncated, ErrCorrupt or ErrUnsupported also wraps
// the format decoder's own error.
var (
	// ErrFormat means the bytes are not an image of a supported format
	// (PNG, JPEG, GIF, BMP, TIFF, WebP).
	ErrFormat = errors.New("not an image (unknown format)")
	// ErrTooLarge means the image's header claims more pixels than the
	// limit, or the file is far larger than such an image can be.
	ErrTooLarge = errors.New("image too large")
	// ErrTruncated means the data ends before the image does.
	ErrTruncated = errors.New("image data truncated")
	// ErrCorrupt means the format decoder found invalid data.
	ErrCorrupt = errors.New("image data corrupt")
	// ErrUnsupported means a valid image uses a feature the decoder lacks
	// (e.g. arithmetic-coded JPEG, a BMP compression method).
	ErrUnsupported = errors.New("unsupported image feature")
)

// A format is one image format: how to recognise it, read its header and
// decode it. The table below, not the image package's global registry,
// decides what Decode accepts, so a package linked in elsewhere cannot
// change it.
type format struct {
	name   string
	magic  []string // '?' matches any byte, as in image.RegisterFormat
	decode func(io.Reader) (image.Image, error)
	config func(io.Reader) (image.Config, error)
}

var formats = []format{
	{"png", []string{"\x89PNG\r\n\x1a\n"}, png.Decode, png.DecodeConfig},
	{"jpeg", []string{"\xff\xd8"}, jpeg.Decode, jpeg.DecodeConfig},
	{"gif", []string{"GIF8?a"}, gif.Decode, gif.DecodeConfig},
	{"bmp", []string{"BM????\x00\x00\x00\x00"}, bmp.Decode, bmp.DecodeConfig},
	{"tiff", []string{"II\x2a\x00", "MM\x00\x2a"}, tiff.Decode, tiff.DecodeConfig},
	{"webp", []string{"RIFF????WEBPVP8"}, webp.Decode, webp.DecodeConfig},
}

// sniffLen is the longest magic string.
const sniffLen = 15

// sniff returns the format whose magic starts head, or nil.
func sniff(head []byte) *format {
	for i := range formats {
		for _, m := range formats[i].magic {
			if match(m, head) {
				return &formats[i]
			}
		}
	}
	return nil
}

func match(magic string, b []byte) bool {
	if len(b) < len(magic) {
		return false
	}
	for i := 0; i < len(magic); i++ {
		if magic[i] != '?' && magic[i] != b[i] {
			return false
		}
	}
	return true
}

// Decode decodes one image file's bytes into a raster.Image of its natural
// channels (see the package doc): C=1 for greyscale (*image.Gray,
// *image.Gray16 with the high byte of each 16-bit sample, and a grey PNG
// with a transparent value, which Go decodes to NRGBA but whose header says
// grey), C=3 RGB for every other colour model, alpha dropped.
//
// Before decoding, it reads the header and refuses an image whose width or
// height is not positive, or whose pixel count exceeds maxPixels (<= 0
// means DefaultMaxPixels), with ErrTooLarge; no pixel memory is allocated
// for it.
//
// Differences from PIL (Image.open then convert("L") or convert("RGB")):
//   - JPEG: Go's IDCT and colour conversion (color.YCbCrToRGB) round
//     differently from libjpeg's, so samples can differ by a few levels (at
//     most 3 in the tests; chroma is upsampled as libjpeg does, see
//     ycbcrToRaster). PNG, BMP, TIFF, GIF and lossless WebP are exact.
//   - 16-bit greyscale: PIL 9 opens it as mode "I" and convert("L") clips
//     every value above 255 to 255; Decode keeps the high byte.
//   - GIF: the first frame only, at the frame's own bounds (PIL pastes it
//     into the logical screen).
//   - EXIF orientation is ignored, as PIL's Image.open ignores it.
func Decode(data []byte, maxPixels int64) (raster.Image, error) {
	if maxPixels <= 0 {
		maxPixels = DefaultMaxPixels
	}
	if im, ok := fastPNG(data, maxPixels); ok {
		return im, nil
	}
	return decodeStd(data, maxPixels)
}

// decodeStd is Decode through the format's standard decoder.
func decodeStd(data []byte, maxPixels int64) (raster.Image, error) {
	f := sniff(data)
	if f == nil {
		return raster.Image{}, ErrFormat
	}
	cfg, err := f.config(bytes.NewReader(data))
	if err != nil {
		return raster.Image{}, decoderErr(f, data, err)
	}
	if err := checkSize(f.name, cfg.Width, cfg.Height, maxPixels); err != nil {
		return raster.Image{}, err
	}
	img, err := f.decode(bytes.NewReader(data))
	if err != nil {
		return raster.Image{}, decoderErr(f, data, err)
	}
	// The decoded bounds should be the header's (a GIF frame lies inside
	// its screen); check them again rather than trust every decoder.
	b := img.Bounds()
	if err := checkSize(f.name, b.Dx(), b.Dy(), maxPixels); err != nil {
		return raster.Image{}, err
	}
	im := toRaster(img)
	if im.C == 3 && (cfg.ColorModel == color.GrayModel || cfg.ColorModel == color.Gray16Model) {
		// A grey PNG with a transparent value (tRNS) decodes to NRGBA; its
		// header still says grey, as PIL's mode "L" does: keep one channel.
		im = raster.Image{C: 1, H: im.H, W: im.W, Pix: append([]uint8(nil), im.Plane(0)...)}
	}
	return im, nil
}

// checkSize refuses non-positive dimensions and more than maxPixels pixels.
func checkSize(name string, w, h int, maxPixels int64) error {
	if w <= 0 || h <= 0 {
		return fmt.Errorf("%w: %s: %dx%d pixels", ErrCorrupt, name, w, h)
	}
	if int64(w) > maxPixels/int64(h) {
		return fmt.Errorf("%w: %s of %dx%d pixels is over the limit of %d pixels", ErrTooLarge, name, w, h, maxPixels)
	}
	return nil
}

// decoderErr classifies a format decoder's error, keeping it wrapped. The
// decoders do not all say "unexpected EOF" when the data stops early (a PNG
// cut inside its pixel data is "not enough pixel data"; GIF does not wrap
// the EOF), so a failure on data that lacks the format's end (see
// complete) also counts as truncated.
func decoderErr(f *format, data []byte, err error) error {
	var (
		pngU  png.UnsupportedError
		jpegU jpeg.UnsupportedError
		tiffU tiff.UnsupportedError
	)
	kind := ErrCorrupt
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), !complete(f.name, data):
		kind = ErrTruncated
	case errors.As(err, &pngU), errors.As(err, &jpegU), errors.As(err, &tiffU),
		errors.Is(err, bmp.ErrUnsupported):
		kind = ErrUnsupported
	}
	if strings.HasPrefix(err.Error(), f.name+":") {
		return fmt.Errorf("%w (%w)", kind, err)
	}
	return fmt.Errorf("%w (%s: %w)", kind, f.name, err)
}

// complete reports whether data ends as a whole file of the format does,
// as far as cheaply known: PNG with its IEND chunk, JPEG with its EOI
// marker, GIF with its trailer, WebP and BMP as long as their headers say.
// (TIFF and BMPs that leave the size 0 are taken as complete.)
func complete(format string, data []byte) bool {
	switch format {
	case "png":
		return bytes.HasSuffix(data, []byte("\x00\x00\x00\x00IEND\xaeB`\x82"))
	case "jpeg":
		return bytes.HasSuffix(data, []byte{0xff, 0xd9})
	case "gif":
		return bytes.HasSuffix(data, []byte{0x3b})
	case "webp":
		return len(data) >= 8 && uint64(len(data)) >= 8+uint64(binary.LittleEndian.Uint32(data[4:]))
	case "bmp":
		return len(data) >= 6 && uint64(len(data)) >= uint64(binary.LittleEndian.Uint32(data[2:]))
	}
	return true
}

// MaxFileBytes is the largest file DecodeFile reads for a limit of
// maxPixels (<= 0 means DefaultMaxPixels): 8 bytes a pixel, what an
// uncompressed 16-bit RGBA TIFF needs, plus 16 MiB for headers and
// metadata.
func MaxFileBytes(maxPixels int64) int64 {
	if maxPixels <= 0 {
		maxPixels = DefaultMaxPixels
	}
	return 8*maxPixels + 16<<20
}

// DecodeFile reads and decodes the named file as Decode does. It looks at
// the first bytes before reading the rest, so a large file that is not an
// image fails with ErrFormat cheaply, and it refuses a file larger than
// MaxFileBytes(maxPixels) with ErrTooLarge. Errors do not name the file;
// the caller does.
func DecodeFile(name string, maxPixels int64) (raster.Image, error) {
	im, err := decodeFile(name, maxPixels)
	var pe *fs.PathError
	if errors.As(err, &pe) {
		// "open NAME: permission denied" -> "open: permission denied"
		err = fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return im, err
}

func decodeFile(name string, maxPixels int64) (raster.Image, error) {
	fd, err := os.Open(name)
	if err != nil {
		return raster.Image{}, err
	}
	defer fd.Close()
	st, err := fd.Stat()
	if err != nil {
		return raster.Image{}, err
	}
	if !st.Mode().IsRegular() {
		return raster.Image{}, errors.New("not a regular file")
	}
	if st.Size() <= smallFile {
		// One read for the whole file (and one to see its end), into a
		// reused buffer: Decode keeps nothing of it.
		bp := fileBufs.Get().(*[]byte)
		defer fileBufs.Put(bp)
		data, err := readSmall(fd, (*bp)[:0], st.Size())
		*bp = data
		if err != nil {
			return raster.Image{}, err
		}
		if len(data) > smallFile {
			// It grew since Stat: the general path below, from the start.
			if _, err := fd.Seek(0, io.SeekStart); err != nil {
				return raster.Image{}, err
			}
		} else {
			if sniff(data) == nil {
				return raster.Image{}, ErrFormat
			}
			return Decode(data, maxPixels)
		}
	}
	head := make([]byte, sniffLen)
	n, err := io.ReadFull(fd, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return raster.Image{}, err
	}
	// A file shorter than sniffLen is all in head, so this is Decode's
	// own verdict.
	if sniff(head[:n]) == nil {
		return raster.Image{}, ErrFormat
	}
	limit := MaxFileBytes(maxPixels)
	if st.Size() > limit {
		return raster.Image{}, fmt.Errorf("%w: file of %d bytes is over the limit of %d bytes", ErrTooLarge, st.Size(), limit)
	}
	// Read the rest, within the limit even if the file grew since Stat.
	data := append(make([]byte, 0, max(st.Size(), int64(n))+1), head[:n]...)
	r := io.LimitReader(fd, limit+1-int64(n))
	for {
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
		m, err := r.Read(data[len(data):cap(data)])
		data = data[:len(data)+m]
		if err == io.EOF {
			break
		}
		if err != nil {
			return raster.Image{}, err
		}
	}
	if int64(len(data)) > limit {
		return raster.Image{}, fmt.Errorf("%w: file grew over the limit of %d bytes", ErrTooLarge, limit)
	}
	return Decode(data, maxPixels)
}

// smallFile is the largest file decodeFile reads in one go, without
// looking at its first bytes first.
const smallFile = 1 << 20

var fileBufs = sync.Pool{New: func() any { return new([]byte) }}

// readSmall reads fd, of size bytes when stat'ed, to its end into buf,
// stopping past smallFile.
func readSmall(fd *os.File, buf []byte, size int64) ([]byte, error) {
	if int64(cap(buf)) < size+1 {
		buf = make([]byte, 0, size+1)
	}
	for {
		if len(buf) == cap(buf) {
			if len(buf) > smallFile {
				return buf, nil
			}
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := fd.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// toRaster copies img into a new raster.Image of its natural channels. The
// concrete types the decoders return are read directly; anything else goes
// through the color models.
func toRaster(img image.Image) raster.Image {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	switch m := img.(type) {
	case *image.Gray:
		out := raster.New(1, h, w)
		for y := 0; y < h; y++ {
			copy(out.Pix[y*w:(y+1)*w], m.Pix[y*m.Stride:])
		}
		return out
	case *image.Gray16:
		out := raster.New(1, h, w)
		for y := 0; y < h; y++ {
			row, dst := m.Pix[y*m.Stride:y*m.Stride+2*w], out.Pix[y*w:(y+1)*w]
			for x := range dst {
				dst[x] = row[2*x] // big-endian: the high byte first
			}
		}
		return out
	case *image.NRGBA:
		out := raster.New(3, h, w)
		r, g, bl := out.Plane(0), out.Plane(1), out.Plane(2)
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+4*w]
			o := y * w
			for x := 0; x < w; x++ {
				p := row[4*x : 4*x+4 : 4*x+4]
				r[o+x], g[o+x], bl[o+x] = p[0], p[1], p[2]
			}
		}
		return out
	case *image.RGBA:
		out := raster.New(3, h, w)
		r, g, bl := out.Plane(0), out.Plane(1), out.Plane(2)
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+4*w]
			o := y * w
			for x := 0; x < w; x++ {
				p := row[4*x : 4*x+4 : 4*x+4]
				if a := p[3]; a == 0xff || a == 0 {
					r[o+x], g[o+x], bl[o+x] = p[0], p[1], p[2]
				} else {
					r[o+x], g[o+x], bl[o+x] = unpremul(p[0], a), unpremul(p[1], a), unpremul(p[2], a)
				}
			}
		}
		return out
	case *image.NRGBA64:
		out := raster.New(3, h, w)
		r, g, bl := out.Plane(0), out.Plane(1), out.Plane(2)
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+8*w]
			o := y * w
			for x := 0; x < w; x++ {
				p := row[8*x : 8*x+8 : 8*x+8]
				r[o+x], g[o+x], bl[o+x] = p[0], p[2], p[4]
			}
		}
		return out
	case *image.RGBA64:
		out := raster.New(3, h, w)
		r, g, bl := out.Plane(0), out.Plane(1), out.Plane(2)
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+8*w]
			o := y * w
			for x := 0; x < w; x++ {
				p := row[8*x : 8*x+8 : 8*x+8]
				if a := uint32(p[6])<<8 | uint32(p[7]); a == 0xffff || a == 0 {
					r[o+x], g[o+x], bl[o+x] = p[0], p[2], p[4]
				} else {
					r[o+x], g[o+x], bl[o+x] = unpremul16(p[0], p[1], a), unpremul16(p[2], p[3], a), unpremul16(p[4], p[5], a)
				}
			}
		}
		return out
	case *image.YCbCr:
		return ycbcrToRaster(m)
	case *image.NYCbCrA:
		return ycbcrToRaster(&m.YCbCr)
	case *image.Paletted:
		var lut [256][3]uint8 // indices past the palette read black
		for i, c := range m.Palette {
			if i == len(lut) {
				break
			}
			lut[i] = nrgb(c)
		}
		out := raster.New(3, h, w)
		r, g, bl := out.Plane(0), out.Plane(1), out.Plane(2)
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+w]
			o := y * w
			for x, idx := range row {
				c := &lut[idx]
				r[o+x], g[o+x], bl[o+x] = c[0], c[1], c[2]
			}
		}
		return out
	case *image.CMYK:
		out := raster.New(3, h, w)
		r, g, bl := out.Plane(0), out.Plane(1), out.Plane(2)
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+4*w]
			o := y * w
			for x := 0; x < w; x++ {
				p := row[4*x : 4*x+4 : 4*x+4]
				r[o+x], g[o+x], bl[o+x] = color.CMYKToRGB(p[0], p[1], p[2], p[3])
			}
		}
		return out
	}
	// Any other type: through the colour models, one pixel at a time.
	if cm := img.ColorModel(); cm == color.GrayModel || cm == color.Gray16Model {
		out := raster.New(1, h, w)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				c := color.Gray16Model.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.Gray16)
				out.Pix[y*w+x] = uint8(c.Y >> 8)
			}
		}
		return out
	}
	out := raster.New(3, h, w)
	r, g, bl := out.Plane(0), out.Plane(1), out.Plane(2)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := nrgb(img.At(b.Min.X+x, b.Min.Y+y))
			r[y*w+x], g[y*w+x], bl[y*w+x] = c[0], c[1], c[2]
		}
	}
	return out
}

// unpremul undoes 8-bit alpha premultiplication as PIL does for mode
// "RGBa" (255*c/a, truncated, clipped to 255); a must be in 1..254.
func unpremul(c, a uint8) uint8 {
	return uint8(min(255*uint32(c)/uint32(a), 255))
}

// unpremul16 undoes 16-bit premultiplication of the sample hi<<8|lo by a
// (1..0xfffe) and returns the high byte of the straight value.
func unpremul16(hi, lo uint8, a uint32) uint8 {
	c := uint32(hi)<<8 | uint32(lo)
	return uint8(min(0xffff*c/a, 0xffff) >> 8)
}

// nrgb returns a colour's straight (not premultiplied) 8-bit RGB. The
// palettes of PNG and GIF hold color.NRGBA or color.RGBA values, read
// directly.
func nrgb(c color.Color) [3]uint8 {
	switch c := c.(type) {
	case color.NRGBA:
		return [3]uint8{c.R, c.G, c.B}
	case color.RGBA:
		if c.A == 0xff || c.A == 0 {
			return [3]uint8{c.R, c.G, c.B}
		}
		return [3]uint8{unpremul(c.R, c.A), unpremul(c.G, c.A), unpremul(c.B, c.A)}
	case nil:
		return [3]uint8{}
	}
	n := color.NRGBA64Model.Convert(c).(color.NRGBA64)
	return [3]uint8{uint8(n.R >> 8), uint8(n.G >> 8), uint8(n.B >> 8)}
}

// ycbcrToRaster converts with color.YCbCrToRGB. Subsampled chroma
// (4:2:0, 4:2:2, 4:4:0) is first upsampled as libjpeg does by default
// ("fancy" upsampling: each output sample 3/4 of the nearer chroma sample
// and 1/4 of the next, edges replicated, libjpeg's rounding), which keeps
// colour edges within a few levels of PIL's; Go's own YCbCr.At repeats each
// chroma sample instead, tens of levels off at sharp colour edges. Other
// ratios, chroma planes of at most two samples across (where libjpeg does
// not interpolate either) and images not at the origin repeat samples.
func ycbcrToRaster(m *image.YCbCr) raster.Image {
	b := m.Rect
	w, h := b.Dx(), b.Dy()
	dx, dy := 1, 1 // luma samples per chroma sample, across and down
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio422:
		dx = 2
	case image.YCbCrSubsampleRatio420:
		dx, dy = 2, 2
	case image.YCbCrSubsampleRatio440:
		dy = 2
	case image.YCbCrSubsampleRatio411:
		dx = 4
	case image.YCbCrSubsampleRatio410:
		dx, dy = 4, 2
	}
	cw, ch := (w+dx-1)/dx, (h+dy-1)/dy // chroma samples across and down
	fancy := dx <= 2 && dy <= 2 && (dx == 2 || dy == 2) && cw > 2 && b.Min == (image.Point{})
	var cb, cr []uint8 // one row of upsampled chroma
	var sums []int32
	if fancy {
		cb, cr = make([]uint8, w), make([]uint8, w)
		sums = make([]int32, cw)
	}
	out := raster.New(3, h, w)
	r, g, bl := out.Plane(0), out.Plane(1), out.Plane(2)
	for y := 0; y < h; y++ {
		yrow := m.Y[y*m.YStride : y*m.YStride+w]
		o := y * w
		if fancy {
			upsample(cb, m.Cb, m.CStride, y, cw, ch, dx, dy, sums)
			upsample(cr, m.Cr, m.CStride, y, cw, ch, dx, dy, sums)
			for x, yy := range yrow {
				r[o+x], g[o+x], bl[o+x] = color.YCbCrToRGB(yy, cb[x], cr[x])
			}
			continue
		}
		// As image.YCbCr.COffset, for the absolute coordinates of b.
		cy := ((b.Min.Y+y)/dy - b.Min.Y/dy) * m.CStride
		for x, yy := range yrow {
			ci := cy + (b.Min.X+x)/dx - b.Min.X/dx
			r[o+x], g[o+x], bl[o+x] = color.YCbCrToRGB(yy, m.Cb[ci], m.Cr[ci])
		}
	}
	return out
}

// upsample fills dst (one row of len(dst) samples) with chroma plane p's
// values for luma row y, by libjpeg's fancy upsampling (jdsample.c,
// h2v1_fancy_upsample, h1v2_fancy_upsample, h2v2_fancy_upsample); dx and
// dy are 1 or 2, not both 1, and cw > 2. sums is scratch of cw values.
func upsample(dst, p []uint8, stride, y, cw, ch, dx, dy int, sums []int32) {
	// Vertically: 3/4 of the nearer chroma row, 1/4 of the one above (for
	// the upper of the two luma rows) or below, clamped at the edges.
	near := p[y/dy*stride:]
	if dy == 1 {
		for c := 0; c < cw; c++ {
			sums[c] = int32(near[c])
		}
	} else {
		fy, bias := y/2-1, int32(1)
		if y%2 == 1 {
			fy, bias = y/2+1, 2
		}
		far := p[min(max(fy, 0), ch-1)*stride:]
		for c := 0; c < cw; c++ {
			sums[c] = 3*int32(near[c]) + int32(far[c])
		}
		if dx == 1 {
			for x := range dst {
				dst[x] = uint8((sums[x] + bias) >> 2)
			}
			return
		}
	}
	// Horizontally: the same weights between neighbouring columns, with
	// libjpeg's rounding biases (left and right output of each pair).
	shift, biasL, biasR := uint(2), int32(1), int32(2)
	if dy == 2 {
		shift, biasL, biasR = 4, 8, 7
	}
	for c := 0; c < cw; c++ {
		s3 := 3 * sums[c]
		left, right := sums[max(c-1, 0)], sums[min(c+1, cw-1)]
		dst[2*c] = uint8((s3 + left + biasL) >> shift)
		if 2*c+1 < len(dst) {
			dst[2*c+1] = uint8((s3 + right + biasR) >> shift)
		}
	}
}

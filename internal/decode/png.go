package decode

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"io"
	"sync"

	"github.com/klauspost/compress/zlib"

	"github.com/siampipe/siampipe/internal/raster"
)

// This file is a fast path for the PNG files image folders are mostly made
// of: 8-bit greyscale, grey+alpha, RGB or RGBA, not interlaced. Decoding a
// small PNG with image/png spends most of its time allocating (a new
// inflater of some 40 KB per file, the image, the row buffers) and
// collecting that garbage; here the inflater (klauspost's, faster than the
// standard library's) and the buffers are reused, and rows are unfiltered
// straight into the CHW planes.
//
// It decodes exactly what image/png followed by toRaster gives (the tests
// compare the two on every PNG they have, and the fuzzer on every input),
// and it gives up on anything else: another bit depth or colour type,
// interlacing, a tRNS chunk, an unknown critical chunk, a bad checksum,
// short or extra pixel data. Decode then takes the standard path, which
// also classifies the error.

// pngInflater is a reusable zlib reader.
type pngInflater struct {
	z   io.ReadCloser
	src bytes.Reader
	buf []byte // inflated rows
	dat []byte // the IDAT chunks' data, joined
}

var inflaters = sync.Pool{New: func() any { return new(pngInflater) }}

// fastPNG decodes data (a PNG file) when it is one of the kinds above and
// whole; ok is false otherwise.
func fastPNG(data []byte, maxPixels int64) (im raster.Image, ok bool) {
	const sig = "\x89PNG\r\n\x1a\n"
	if len(data) < len(sig) || string(data[:len(sig)]) != sig {
		return im, false
	}
	p := data[len(sig):]
	inf := inflaters.Get().(*pngInflater)
	defer inflaters.Put(inf)
	inf.dat = inf.dat[:0]
	var w, h, channels int
	seenIHDR, inIDAT, doneIDAT := false, false, false
	for {
		if len(p) < 12 {
			return im, false
		}
		n := binary.BigEndian.Uint32(p)
		if n > 1<<31-1 || uint64(len(p)) < 12+uint64(n) {
			return im, false
		}
		typ, body := p[4:8], p[8:8+n]
		if binary.BigEndian.Uint32(p[8+n:]) != crc32.ChecksumIEEE(p[4:8+n]) {
			return im, false
		}
		p = p[12+n:]
		t := string(typ)
		if !seenIHDR && t != "IHDR" {
			return im, false
		}
		if inIDAT && t != "IDAT" {
			inIDAT, doneIDAT = false, true
		}
		switch t {
		case "IHDR":
			if seenIHDR || n != 13 {
				return im, false
			}
			seenIHDR = true
			w, h = int(binary.BigEndian.Uint32(body)), int(binary.BigEndian.Uint32(body[4:]))
			depth, ctype, comp, filt, lace := body[8], body[9], body[10], body[11], body[12]
			if depth != 8 || comp != 0 || filt != 0 || lace != 0 || w <= 0 || h <= 0 || w >= 1<<31 || h >= 1<<31 {
				return im, false
			}
			switch ctype {
			case 0:
				channels = 1
			case 4:
				channels = 2
			case 2:
				channels = 3
			case 6:
				channels = 4
			default:
				return im, false
			}
			if checkSize("png", w, h, maxPixels) != nil {
				return im, false
			}
		case "IDAT":
			if doneIDAT {
				return im, false
			}
			inIDAT = true
			inf.dat = append(inf.dat, body...)
		case "IEND":
			if !doneIDAT && !inIDAT {
				return im, false
			}
			return inf.pixels(w, h, channels)
		default:
			// Critical chunks (upper-case first letter) other than these,
			// and tRNS, change what image/png does: leave them to it.
			if typ[0]&0x20 == 0 || t == "tRNS" {
				return im, false
			}
		}
	}
}

// pixels inflates and unfilters the IDAT data of a w x h image of
// channels samples a pixel (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA).
func (inf *pngInflater) pixels(w, h, channels int) (raster.Image, bool) {
	stride := w * channels
	need := h * (1 + stride)
	if cap(inf.buf) < need {
		inf.buf = make([]byte, need)
	}
	buf := inf.buf[:need]
	inf.src.Reset(inf.dat)
	var err error
	if inf.z == nil {
		inf.z, err = zlib.NewReader(&inf.src)
	} else {
		err = inf.z.(zlib.Resetter).Reset(&inf.src, nil)
	}
	if err != nil {
		return raster.Image{}, false
	}
	if _, err := io.ReadFull(inf.z, buf); err != nil {
		return raster.Image{}, false
	}
	// The stream must end here (which checks its Adler-32), as image/png
	// requires: more data is an error there.
	var one [1]byte
	if n, err := inf.z.Read(one[:]); n != 0 || err != io.EOF {
		return raster.Image{}, false
	}
	c := 3 // grey+alpha, RGB and RGBA give RGB
	if channels == 1 {
		c = 1
	}
	out := raster.New(c, h, w)
	var prev []byte
	for y := range h {
		row := buf[y*(1+stride)+1 : (y+1)*(1+stride)]
		if !unfilter(buf[y*(1+stride)], row, prev, channels) {
			return raster.Image{}, false
		}
		prev = row
		o := y * w
		switch channels {
		case 1:
			copy(out.Pix[o:o+w], row)
		case 2: // grey+alpha: the grey in all three planes
			r, g, b := out.Plane(0)[o:o+w], out.Plane(1)[o:o+w], out.Plane(2)[o:o+w]
			for x := range w {
				v := row[2*x]
				r[x], g[x], b[x] = v, v, v
			}
		default: // RGB or RGBA: alpha dropped
			r, g, b := out.Plane(0)[o:o+w], out.Plane(1)[o:o+w], out.Plane(2)[o:o+w]
			for x := range w {
				px := row[channels*x : channels*x+3 : channels*x+3]
				r[x], g[x], b[x] = px[0], px[1], px[2]
			}
		}
	}
	return out, true
}

// unfilter undoes PNG filter f on row in place; prev is the previous
// unfiltered row (nil for the first, which reads as zeros) and bpp the
// bytes a pixel. It reports false for an unknown filter.
func unfilter(f byte, row, prev []byte, bpp int) bool {
	switch f {
	case 0:
	case 1: // Sub
		for i := bpp; i < len(row); i++ {
			row[i] += row[i-bpp]
		}
	case 2: // Up
		if prev != nil {
			for i := range row {
				row[i] += prev[i]
			}
		}
	case 3: // Average
		for i := range row {
			var a, b int
			if i >= bpp {
				a = int(row[i-bpp])
			}
			if prev != nil {
				b = int(prev[i])
			}
			row[i] += byte((a + b) / 2)
		}
	case 4: // Paeth
		for i := range row {
			var a, b, c int
			if i >= bpp {
				a = int(row[i-bpp])
			}
			if prev != nil {
				b = int(prev[i])
				if i >= bpp {
					c = int(prev[i-bpp])
				}
			}
			row[i] += paeth(a, b, c)
		}
	default:
		return false
	}
	return true
}

// paeth is the PNG Paeth predictor of a (left), b (up) and c (up-left).
func paeth(a, b, c int) byte {
	p := a + b - c
	pa, pb, pc := abs(p-a), abs(p-b), abs(p-c)
	switch {
	case pa <= pb && pa <= pc:
		return byte(a)
	case pb <= pc:
		return byte(b)
	}
	return byte(c)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

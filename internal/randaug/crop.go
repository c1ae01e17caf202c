package randaug

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
)

// This file holds the geometric steps SimSiam and SimCLR apply before the
// photometric ones: torchvision's RandomResizedCrop (box sampling and the
// bilinear resize of the box back to the image size) and the horizontal flip,
// on the same CHW uint8 images as the RandAugment ops.

// Aspect-ratio range of the crop box, torchvision's default ratio=(3/4, 4/3),
// and its logarithms (the ratio is drawn log-uniformly).
const (
	CropRatioLo = 3.0 / 4.0
	CropRatioHi = 4.0 / 3.0
)

var (
	logRatioLo = math.Log(CropRatioLo)
	logRatioHi = math.Log(CropRatioHi)
)

// cropAttempts is the number of boxes get_params tries before its fallback.
const cropAttempts = 10

// CropParams draws a crop box of an h x w image as torchvision 0.14's
// RandomResizedCrop.get_params does with scale=(scaleLo, 1) and
// ratio=(3/4, 4/3), with r's numbers instead of torch's: up to 10 attempts of
// target area = U(scaleLo, 1) * h*w and aspect ratio exp(U(log 3/4, log 4/3)),
// cw = round(sqrt(area*ratio)), ch = round(sqrt(area/ratio)) (half to even, as
// Python's round); the first box with 0 < cw <= w and 0 < ch <= h is placed at
// top = U{0..h-ch}, left = U{0..w-cw}. If all ten fail, it returns the central
// crop of the largest box whose aspect ratio is in range (the whole image when
// w/h is in [3/4, 4/3]).
//
// Rounding can put a box's area fraction ch*cw/(h*w) a little below scaleLo
// and its ratio cw/ch a little outside [3/4, 4/3] (a 2x3 box has ratio 2/3).
// CropParams panics unless h, w > 0 and 0 < scaleLo <= 1.
func CropParams(r *Rand, h, w int, scaleLo float64) (top, left, ch, cw int) {
	if h <= 0 || w <= 0 || !(scaleLo > 0 && scaleLo <= 1) {
		panic(fmt.Sprintf("randaug: CropParams(%dx%d, scale %v): want a positive size and 0 < scale <= 1", h, w, scaleLo))
	}
	return cropParams(r, h, w, scaleLo, 1)
}

// cropParams is CropParams for scale=(lo, hi); the tests force the fallback
// with lo > 1.
func cropParams(r *Rand, h, w int, lo, hi float64) (top, left, ch, cw int) {
	area := float64(h) * float64(w)
	for range cropAttempts {
		target := area * (lo + (hi-lo)*r.Float64())
		ratio := math.Exp(logRatioLo + (logRatioHi-logRatioLo)*r.Float64())
		cw = int(math.RoundToEven(math.Sqrt(target * ratio)))
		ch = int(math.RoundToEven(math.Sqrt(target / ratio)))
		if 0 < cw && cw <= w && 0 < ch && ch <= h {
			top = r.Intn(h - ch + 1)
			left = r.Intn(w - cw + 1)
			return top, left, ch, cw
		}
	}
	return cropFallback(h, w)
}

// cropFallback is get_params's fallback: the central crop, clamped to the
// aspect-ratio range.
func cropFallback(h, w int) (top, left, ch, cw int) {
	ch, cw = h, w
	switch in := float64(w) / float64(h); {
	case in < CropRatioLo:
		ch = int(math.RoundToEven(float64(w) / CropRatioLo))
	case in > CropRatioHi:
		cw = int(math.RoundToEven(float64(h) * CropRatioHi))
	}
	return (h - ch) / 2, (w - cw) / 2, ch, cw
}

// Resizer resizes boxes of channels x height x width images back to height x
// width with bilinear interpolation, as torchvision 0.14's F.resized_crop(img,
// top, left, ch, cw, [height, width], BILINEAR) does on a channels x height x
// width uint8 tensor: the same box of every channel, each channel resized on
// its own with the same taps.
// There antialias defaults to False for tensors (torchvision 0.17 made it
// True). A box is never larger than the image, so the resize only enlarges,
// where the antialiased kernel is the same triangle, but torch computes it
// along another float path: antialias=True moves about 0.25% of the pixels by
// one.
//
// torch 1.13's CPU kernel (upsample_bilinear2d, align_corners=False) casts the
// image to float32 and computes, per axis resized from n to size pixels:
// scale = float32(n)/float32(size); source x = scale*(o+0.5) - 0.5 in float64
// (the CPU accumulation type of float), clamped at 0; i0 = floor(x),
// i1 = min(i0+1, n-1); l1 = x - i0 clamped to [0, 1] and stored as float32;
// l0 = 1 - l1 in float32. An axis with n == size is copied (l0 = 1, l1 = 0).
// Each output pixel is then
//
//	float32(p00*w00 + p01*w01 + p10*w10 + p11*w11)
//
// summed in float64 in that order, with the corner weights w = float32 products
// of the two axes' float32 lambdas, and finally torch.round (half to even) and
// the cast back to uint8. The per-axis taps depend only on n and the size, so
// NewResizer computes them for every n once. The golden tests check every
// tap and every pixel of a few hundred boxes against torchvision.
//
// That is the kernel torch runs on one channel (a 1-channel tensor is also
// "channels last", which picks cpu_upsample_linear_channels_last). On three
// channels it runs the separable generic kernel instead, with the same taps:
// each box row resized across, r = p0*l0 + p1*l1, then down the columns,
// v = r0*l0 + r1*l1, all in float32, before the same rounding. GCC contracts
// each a*b + c*d there into fma(a, b, float32(c*d)) in the AVX2 build torch
// runs on x86-64 CPUs with AVX2 (with ATEN_CPU_CAPABILITY=default, the
// unfused sums move about 0.03% of the values by one); Resizer reproduces the
// AVX2 build, as the RGB golden vectors record.
//
// A Resizer is read-only after NewResizerC and safe for concurrent use.
type Resizer struct {
	c, h, w int
	rows    []tap // rows[(n-1)*h+o]: output row o of a box n rows high; i0, i1 in units of w
	cols    []tap // cols[(n-1)*w+o]: output column o of a box n columns wide
}

// tap is one output coordinate's two source coordinates (offsets from the
// box's origin) and their weights.
type tap struct {
	i0, i1 int32
	l0, l1 float32
}

// NewResizer returns a Resizer for single-channel height x width images
// (NewResizerC with 1 channel).
func NewResizer(height, width int) (*Resizer, error) { return NewResizerC(1, height, width) }

// NewResizerC returns a Resizer for channels x height x width images (CHW),
// channels 1 (grey) or 3 (RGB). Its tables take 16*(height² + width²) bytes
// (25 KB at 28x28), whatever the channel count. It fails when the channel
// count or the size is out of range (a side above 1024).
func NewResizerC(channels, height, width int) (*Resizer, error) {
	if channels != 1 && channels != 3 {
		return nil, fmt.Errorf("randaug: resize %d channels: want 1 (grey) or 3 (RGB)", channels)
	}
	if height <= 0 || width <= 0 || height > 1024 || width > 1024 {
		return nil, fmt.Errorf("randaug: resize to %dx%d: want a height and width of 1..1024", height, width)
	}
	z := &Resizer{c: channels, h: height, w: width, rows: make([]tap, height*height), cols: make([]tap, width*width)}
	for n := 1; n <= height; n++ {
		axisTaps(z.rows[(n-1)*height:n*height], n, int32(width))
	}
	for n := 1; n <= width; n++ {
		axisTaps(z.cols[(n-1)*width:n*width], n, 1)
	}
	return z, nil
}

// axisTaps fills taps with torch's linear interpolation from n source pixels
// to len(taps) output pixels, source offsets multiplied by stride.
func axisTaps(taps []tap, n int, stride int32) {
	size := len(taps)
	scale := float64(float32(n) / float32(size))
	for o := range taps {
		if n == size {
			taps[o] = tap{i0: int32(o) * stride, i1: int32(o) * stride, l0: 1, l1: 0}
			continue
		}
		x := max(scale*(float64(o)+0.5)-0.5, 0)
		i0 := int(x)
		i1 := i0
		if i0 < n-1 {
			i1++
		}
		l1 := float32(min(max(x-float64(i0), 0), 1))
		taps[o] = tap{i0: int32(i0) * stride, i1: int32(i1) * stride, l0: 1 - l1, l1: l1}
	}
}

// Channels returns the channel count the Resizer was made for.
func (z *Resizer) Channels() int { return z.c }

// Height returns the image height the Resizer was made for.
func (z *Resizer) Height() int { return z.h }

// Width returns the image width the Resizer was made for.
func (z *Resizer) Width() int { return z.w }

// NewScratch returns working memory for one goroutine's calls to
// ResizedCrop (and Augment of the same image size).
func (z *Resizer) NewScratch() *Scratch { return newScratch(z.c*z.h*z.w, z.h*z.w) }

// nearTie is how close to a rounding boundary (k + 1/2) ResizedCrop's fast
// float32 value may come before the pixel is recomputed with torch's exact
// sequence. Pixels are at most 255 and the weights of each axis sum to 1
// within 2^-23, so the fast path's six float32 operations put it within
// 6.1e-5 of the exact bilinear value, and torch's float32 corner weights and
// float32 result put torch's within 2.3e-5: the two differ by less than
// 1e-4 (4.6e-5 was the largest difference over 15.6 million pixels of random
// crops). Outside the margin, 10 times that, both round to the same integer.
const nearTie = 1.0 / 1024

// ResizedCrop writes to dst the box of src with top-left corner (top, left),
// ch rows and cw columns, resized to the full height x width, pixel for pixel
// as torchvision computes it (see Resizer); every channel is cut at the same
// box. src and dst hold channels*height*width bytes (CHW) and must not
// overlap; s is the calling goroutine's Scratch. It allocates nothing (unless
// s was made for a smaller size). It panics if the box is not inside the image
// or a slice is too short.
//
// On one channel it computes in float32, separably (box rows resized
// horizontally, then vertically), which is more than twice as fast as torch's
// four-tap sum, and redoes with torch's exact sequence the pixels (about 1% of
// them on FashionMNIST) that come within nearTie of a rounding boundary. On
// three channels torch's own kernel is separable, and ResizedCrop follows it.
func (z *Resizer) ResizedCrop(dst, src []uint8, top, left, ch, cw int, s *Scratch) {
	h, w := z.h, z.w
	if top < 0 || left < 0 || ch < 1 || cw < 1 || top+ch > h || left+cw > w {
		panic(fmt.Sprintf("randaug: crop box top %d, left %d, %dx%d outside a %dx%d image", top, left, ch, cw, h, w))
	}
	hw := h * w
	n := z.c * hw
	src, dst = src[:n], dst[:n]
	if ch == h && cw == w {
		copy(dst, src) // F.resize returns the image itself
		return
	}
	if len(s.f) < ch*w {
		s.f = make([]float32, hw)
	}
	for c := 0; c < n; c += hw {
		if z.c == 1 {
			z.resizedCropPlane(dst[c:c+hw], src[c:c+hw], top, left, ch, cw, s.f[:ch*w])
		} else {
			z.resizedCropPlaneFMA(dst[c:c+hw], src[c:c+hw], top, left, ch, cw, s.f[:ch*w])
		}
	}
}

// resizedCropPlaneFMA is one channel of ResizedCrop on three channels: torch's
// separable kernel with fused multiply-adds (see Resizer). The box rows
// resized across are computed once each, as torch's value for every output
// pixel that reads them.
func (z *Resizer) resizedCropPlaneFMA(dst, src []uint8, top, left, ch, cw int, rows []float32) {
	h, w := z.h, z.w
	box := src[top*w+left:]
	ys := z.rows[(ch-1)*h : ch*h]
	xs := z.cols[(cw-1)*w : cw*w]
	for y := 0; y < ch; y++ {
		in, out := box[y*w:y*w+cw], rows[y*w:y*w+w]
		for o, t := range xs[:len(out)] {
			out[o] = lerpFMA(u8f32[in[t.i0]], u8f32[in[t.i1]], t.l0, t.l1)
		}
	}
	for oy, ty := range ys {
		h0, h1 := rows[ty.i0:ty.i0+int32(w)], rows[ty.i1:ty.i1+int32(w)]
		out := dst[oy*w : oy*w+w]
		h0, h1 = h0[:len(out)], h1[:len(out)]
		for ox := range out {
			out[ox] = roundU8(lerpFMA(h0[ox], h1[ox], ty.l0, ty.l1))
		}
	}
}

// lerpFMA is p0*l0 + p1*l1 as GCC compiles it for AVX2: fma(p0, l0,
// float32(p1*l1)), one rounding to float32. The product p0*l0 of two float32
// is exact in float64, so the float64 sum is the exact sum rounded once; it
// rounds to float32 correctly unless it landed exactly halfway between two
// float32s, where fma32 decides.
func lerpFMA(p0, p1, l0, l1 float32) float32 {
	c := float32(p1 * l1)
	s := float64(p0)*float64(l0) + float64(c)
	if math.Float64bits(s)&(1<<29-1) == 1<<28 {
		return fma32(p0, l0, c)
	}
	return float32(s)
}

// resizedCropPlane is ResizedCrop of one channel, with rows for the box rows
// resized horizontally.
func (z *Resizer) resizedCropPlane(dst, src []uint8, top, left, ch, cw int, rows []float32) {
	h, w := z.h, z.w
	box := src[top*w+left:]
	ys := z.rows[(ch-1)*h : ch*h]
	xs := z.cols[(cw-1)*w : cw*w]
	// Box row y resized to w columns is rows[y*w : y*w+w], the row stride of
	// the box itself, so the row taps' offsets index both.
	for y := 0; y < ch; y++ {
		resizeRow(rows[y*w:y*w+w], box[y*w:y*w+cw], xs)
	}
	for oy, ty := range ys {
		h0, h1 := rows[ty.i0:ty.i0+int32(w)], rows[ty.i1:ty.i1+int32(w)]
		a0, a1 := ty.l0, ty.l1
		out := dst[oy*w : oy*w+w]
		h0, h1 = h0[:len(out)], h1[:len(out)]
		for ox := range out {
			v := h0[ox]*a0 + h1[ox]*a1
			t := v + 0x1p23 // the rounded integer in the low mantissa bits
			r := uint8(min(math.Float32bits(t)&0x7fffff, 255))
			if e := v - (t - 0x1p23); e > 0.5-nearTie || e < nearTie-0.5 {
				r = torchPixel(box[ty.i0:], box[ty.i1:], a0, a1, xs[ox])
			}
			out[ox] = r
		}
	}
}

// resizeRow sets out[o] = in[i0]*l0 + in[i1]*l1 for the column taps xs, in
// float32.
func resizeRow(out []float32, in []uint8, xs []tap) {
	xs = xs[:len(out)]
	for o, t := range xs {
		out[o] = u8f32[in[t.i0]]*t.l0 + u8f32[in[t.i1]]*t.l1
	}
}

// torchPixel is one output pixel as torch computes it, from box rows r0 and
// r1 (weights a0, a1) and column tap tx: the corner weights are float32
// products of the axes' float32 weights, the sum of the four products is
// taken in float64 in this order, and rounded to float32, then half to even.
// The products of 8-bit pixels with float32 weights are exact in float64, so
// a fused multiply-add changes nothing.
func torchPixel(r0, r1 []uint8, a0, a1 float32, tx tap) uint8 {
	w00 := float64(float32(a0 * tx.l0))
	w01 := float64(float32(a0 * tx.l1))
	w10 := float64(float32(a1 * tx.l0))
	w11 := float64(float32(a1 * tx.l1))
	v := float64(r0[tx.i0])*w00 + float64(r0[tx.i1])*w01 + float64(r1[tx.i0])*w10 + float64(r1[tx.i1])*w11
	return roundU8(float32(v))
}

// resizedCropTorch is ResizedCrop with torch's per-pixel sequence for every
// pixel (torchPixel on one channel, the nested fused sums of the separable
// kernel on three): the reference the fast paths are tested against.
func (z *Resizer) resizedCropTorch(dst, src []uint8, top, left, ch, cw int) {
	h, w := z.h, z.w
	ys := z.rows[(ch-1)*h : ch*h]
	xs := z.cols[(cw-1)*w : cw*w]
	for c := 0; c < z.c*h*w; c += h * w {
		box := src[c+top*w+left:]
		for oy, ty := range ys {
			for ox, tx := range xs {
				if z.c == 1 {
					dst[c+oy*w+ox] = torchPixel(box[ty.i0:], box[ty.i1:], ty.l0, ty.l1, tx)
					continue
				}
				r0, r1 := box[ty.i0:], box[ty.i1:]
				t0 := fma32(u8f32[r0[tx.i0]], tx.l0, float32(u8f32[r0[tx.i1]]*tx.l1))
				t1 := fma32(u8f32[r1[tx.i0]], tx.l0, float32(u8f32[r1[tx.i1]]*tx.l1))
				dst[c+oy*w+ox] = roundU8(fma32(t0, ty.l0, float32(t1*ty.l1)))
			}
		}
	}
}

// u8f32[v] is float32(v): a load is cheaper than a conversion.
var u8f32 = func() (t [256]float32) {
	for i := range t {
		t[i] = float32(i)
	}
	return t
}()

// roundU8 is torch.round (half to even) of a float32 in [0, 255] followed by
// the cast to uint8: adding 2^23 leaves the rounded integer in the low
// mantissa bits. Values a rounding error above 255 give 255.
func roundU8(v float32) uint8 {
	b := math.Float32bits(v+0x1p23) & 0x7fffff
	return uint8(min(b, 255))
}

// HFlip writes src mirrored left to right (torchvision's F.hflip) to dst.
// src and dst hold h*w pixels and may be the same slice (not otherwise
// overlapping). It panics if they are shorter. A CHW image of c channels is
// c*h rows of w pixels, so HFlip(dst, src, c*h, w) flips every channel.
func HFlip(dst, src []uint8, h, w int) {
	src, dst = src[:h*w], dst[:h*w]
	le := binary.LittleEndian
	for i := 0; i < h*w; i += w {
		s, d := src[i:i+w:i+w], dst[i:i+w:i+w]
		// Swap byte-reversed words from both ends inwards; both words are
		// read before either is written, so s and d may be the same row.
		a, b := 0, w
		for ; b-a >= 16; a, b = a+8, b-8 {
			x, y := le.Uint64(s[a:]), le.Uint64(s[b-8:])
			le.PutUint64(d[a:], bits.ReverseBytes64(y))
			le.PutUint64(d[b-8:], bits.ReverseBytes64(x))
		}
		for ; b-a >= 8; a, b = a+4, b-4 {
			x, y := le.Uint32(s[a:]), le.Uint32(s[b-4:])
			le.PutUint32(d[a:], bits.ReverseBytes32(y))
			le.PutUint32(d[b-4:], bits.ReverseBytes32(x))
		}
		for b--; a <= b; a, b = a+1, b-1 {
			d[a], d[b] = s[b], s[a]
		}
	}
}

// Package resize scales raster images with bilinear interpolation,
// antialiased when downsampling, byte for byte as torchvision 0.14 does for a
// uint8 tensor:
//
//	torchvision.transforms.functional.resize(img, [h, w],
//		interpolation=InterpolationMode.BILINEAR, antialias=True)
//
// which casts the image to float32, runs torch 1.13's
// interpolate(mode="bilinear", align_corners=False, antialias=True), rounds
// half to even and casts back to uint8 (and returns the image unchanged when
// the size is already [h, w]). weights.go derives the filter and the order of
// the float32 arithmetic; testdata/golden.py writes the vectors the tests
// compare with.
//
// A Resizer holds the weights for one input size and one output size, so that
// a folder of same-sized images pays for them once; Bilinear is the one-off
// form.
package resize

import (
	"fmt"

	"github.com/siampipe/siampipe/internal/raster"
)

// MaxSize is the largest height or width New accepts: sample indices must be
// exact in float32, as they are in the reference's weight computation.
const MaxSize = 1 << 24

// Resizer resizes images of one height and width (any channel count up to
// raster.MaxChannels) to another. The weights are computed once, by New; a
// resize allocates nothing but the output image (none with ResizeInto).
//
// A Resizer is not safe for concurrent use: it keeps scratch rows. Give each
// goroutine its own; Clone shares the weights.
type Resizer struct {
	rows, cols *axis     // height, width
	row        []float32 // one input row as float32
	tmp        []float32 // one channel resized along its width: in height x out width
	acc        []float32 // one output row before rounding
}

// New returns a Resizer from inH x inW to outH x outW. It returns an error if
// a size is not positive or exceeds MaxSize.
func New(inH, inW, outH, outW int) (*Resizer, error) {
	for _, s := range []int{inH, inW, outH, outW} {
		if s <= 0 || s > MaxSize {
			return nil, fmt.Errorf("resize: %dx%d to %dx%d: sizes must be between 1 and %d", inH, inW, outH, outW, MaxSize)
		}
	}
	rows, cols := newAxis(inH, outH), newAxis(inW, outW)
	return newResizer(&rows, &cols), nil
}

func newResizer(rows, cols *axis) *Resizer {
	return &Resizer{
		rows: rows, cols: cols,
		row: make([]float32, cols.in),
		tmp: make([]float32, rows.in*cols.out),
		acc: make([]float32, cols.out),
	}
}

// Clone returns a Resizer for the same sizes that shares r's weights and has
// its own scratch, for use in another goroutine.
func (r *Resizer) Clone() *Resizer { return newResizer(r.rows, r.cols) }

// InSize returns the height and width of the images r takes.
func (r *Resizer) InSize() (h, w int) { return r.rows.in, r.cols.in }

// OutSize returns the height and width of the images r makes.
func (r *Resizer) OutSize() (h, w int) { return r.rows.out, r.cols.out }

// Resize returns src resized to r's output size, in a new image with src's
// channel count. It returns an error if src fails raster.Image.Check or is
// not r's input size.
func (r *Resizer) Resize(src raster.Image) (raster.Image, error) {
	if err := r.checkSrc(src); err != nil {
		return raster.Image{}, err
	}
	dst := raster.New(src.C, r.rows.out, r.cols.out)
	r.resize(dst, src, nil)
	return dst, nil
}

// ResizeInto resizes src into dst, which must have src's channel count, r's
// output size and len(dst.Pix) == C*H*W, and must not overlap src. It
// allocates nothing.
func (r *Resizer) ResizeInto(dst, src raster.Image) error {
	if err := r.checkSrc(src); err != nil {
		return err
	}
	if err := dst.Check(); err != nil {
		return fmt.Errorf("resize: destination: %w", err)
	}
	if dst.C != src.C || dst.H != r.rows.out || dst.W != r.cols.out {
		return fmt.Errorf("resize: destination is %s, want %s", dst.Shape(), raster.Shape(src.C, r.rows.out, r.cols.out))
	}
	r.resize(dst, src, nil)
	return nil
}

func (r *Resizer) checkSrc(src raster.Image) error {
	if err := src.Check(); err != nil {
		return fmt.Errorf("resize: %w", err)
	}
	if src.H != r.rows.in || src.W != r.cols.in {
		return fmt.Errorf("resize: image is %s, this resizer takes %dx%d images", src.Shape(), r.rows.in, r.cols.in)
	}
	return nil
}

// Bilinear returns src resized to h x w as torchvision's antialiased bilinear
// resize does (see the package comment), always in a new image. It returns an
// error if src fails raster.Image.Check or h or w is not positive (or exceeds
// MaxSize). To resize many images of one size, use a Resizer.
func Bilinear(src raster.Image, h, w int) (raster.Image, error) {
	if err := src.Check(); err != nil {
		return raster.Image{}, fmt.Errorf("resize: %w", err)
	}
	r, err := New(src.H, src.W, h, w)
	if err != nil {
		return raster.Image{}, err
	}
	return r.Resize(src)
}

// resize resizes every channel of src into dst; when f is not nil it also
// receives the float32 values before rounding (for the tests).
func (r *Resizer) resize(dst, src raster.Image, f []float32) {
	n := r.rows.out * r.cols.out
	for c := 0; c < src.C; c++ {
		var fc []float32
		if f != nil {
			fc = f[c*n : (c+1)*n]
		}
		r.channel(dst.Plane(c), fc, src.Plane(c))
	}
}

// channel resizes one plane: along the width into r.tmp, then along the
// height, row by row, into dst (and f).
func (r *Resizer) channel(dst []uint8, f []float32, src []uint8) {
	rows, cols := r.rows, r.cols
	if rows.identity && cols.identity {
		copy(dst, src)
		for i, v := range src[:len(f)] {
			f[i] = float32(v)
		}
		return
	}
	inW, outW := cols.in, cols.out
	for y := 0; y < rows.in; y++ {
		out := r.tmp[y*outW : (y+1)*outW]
		in := src[y*inW : (y+1)*inW]
		if cols.identity {
			for x, v := range in {
				out[x] = float32(v)
			}
			continue
		}
		row := r.row[:len(in)]
		for x, v := range in {
			row[x] = float32(v)
		}
		cols.apply(out, row)
	}
	for i := 0; i < rows.out; i++ {
		acc := r.acc
		if rows.identity {
			acc = r.tmp[i*outW : (i+1)*outW]
		} else {
			rows.applyRows(acc, r.tmp, i)
		}
		out := dst[i*outW : (i+1)*outW]
		for x, v := range acc[:len(out)] {
			out[x] = toUint8(v)
		}
		if f != nil {
			copy(f[i*outW:(i+1)*outW], acc)
		}
	}
}

// apply resizes one row: out[i] is the weighted sum of in's taps for output i.
func (a *axis) apply(out, in []float32) {
	for i := range out {
		ws := a.w[a.off[i]:a.off[i+1]]
		s := in[a.start[i]:]
		s = s[:len(ws)]
		// Every product is converted to float32 before it is added, so the
		// compiler cannot fuse it: only fma32 fuses, where torch's kernel does.
		acc := float32(s[0] * ws[0])
		b := a.blocks[i]
		for k := 1; k <= b; k++ {
			acc += float32(s[k] * ws[k])
		}
		for k := b + 1; k < len(ws); k++ {
			// acc = fma32(s[k], ws[k], acc), inlined by hand
			p := float64(float64(s[k]) * float64(ws[k]))
			if sum := p + float64(acc); careful(sum) {
				acc = fma32Slow(p, float64(acc))
			} else {
				acc = float32(sum)
			}
		}
		out[i] = acc
	}
}

// applyRows computes output row i along the height into acc, from tmp's rows
// of len(acc) samples: the same sums as apply, one tap row at a time so that
// the inner loop runs along memory.
func (a *axis) applyRows(acc, tmp []float32, i int) {
	ws := a.w[a.off[i]:a.off[i+1]]
	n := len(acc)
	y := a.start[i]
	w := ws[0]
	for x, v := range tmp[y*n : y*n+n] {
		acc[x] = float32(v * w)
	}
	b := a.blocks[i]
	for k := 1; k < len(ws); k++ {
		w := ws[k]
		row := tmp[(y+k)*n : (y+k)*n+n]
		row = row[:len(acc)]
		if k <= b {
			for x, v := range row {
				acc[x] += float32(v * w)
			}
		} else {
			for x, v := range row {
				// acc[x] = fma32(v, w, acc[x]), inlined by hand
				p, a := float64(float64(v)*float64(w)), float64(acc[x])
				if sum := p + a; careful(sum) {
					acc[x] = fma32Slow(p, a)
				} else {
					acc[x] = float32(sum)
				}
			}
		}
	}
}

// toUint8 rounds half to even and clamps to 0..255, as torch.round followed
// by the cast (the sums are convex combinations of 0..255, so the clamp only
// guards against float32 slop above 255). Between 0 and 255, adding 2^23
// leaves no bits below the units, so the float32 addition itself rounds to an
// integer, half to even.
func toUint8(v float32) uint8 {
	if v <= 0 {
		return 0
	}
	if v >= 255 {
		return 255
	}
	return uint8(float32(v+0x1p23) - 0x1p23)
}

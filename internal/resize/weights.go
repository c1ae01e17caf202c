package resize

// The arithmetic here is torch 1.13's CPU kernel for
// interpolate(mode="bilinear", align_corners=False, antialias=True) on
// float32, re-derived and checked against it bit for bit (testdata/golden.py
// stores its float32 outputs):
//
// Along one axis of n input samples resized to m, output sample i is a
// weighted sum of the input samples whose centres lie within the support of a
// triangle filter centred on i's centre, mapped back to the input:
//
//	scale   = n / m                        (float32)
//	support = scale if scale >= 1, else 1  (the triangle's half-width)
//	centre  = scale * (i + 0.5)
//	taps    j = xmin .. xmax-1, with xmin = trunc(centre - support + 0.5) clamped to >= 0,
//	                                  xmax = trunc(centre + support + 0.5) clamped to <= n
//	w_j     = tri((j - centre + 0.5) / max(scale, 1)),  tri(x) = max(0, 1 - |x|)
//
// then normalised to sum to one. When downsampling the triangle is widened by
// the scale factor (the antialiasing); when upsampling it is plain bilinear
// interpolation with align_corners=False (source coordinate (i+0.5)*scale-0.5),
// including at the borders, where the weights left outside the image are
// dropped and the rest renormalised, which is the same as clamping the source
// coordinate to the image. Samples with weight zero at the ends of the support
// stay in the tap list: the kernel visits them, and they change which adds are
// fused (below).
//
// Precision follows the C++: centre, support, the filter's argument and the
// weights are float32, but some intermediate steps are double because of
// double literals (0.5, 1.0); see newAxis.
//
// The sum over taps is float32, in tap order, starting from x_0*w_0. Debian's
// torch 1.13 build runs its AVX2 kernel, where the compiler turned the tap
// loop into blocks of four taps whose products are rounded before being added
// one by one, and a tail of fewer than four taps whose multiply-adds are fused
// (one rounding). So tap k >= 1 is added as acc + round(x_k*w_k) when
// k <= 4*floor((taps-1)/4) and as fma(x_k, w_k, acc) after that. With either
// rule alone a few float32 outputs in a thousand differ from torch's in the
// last bit, and occasionally a byte.
//
// So torch's own result depends on the CPU it dispatches to: its DEFAULT
// kernel (ATEN_CPU_CAPABILITY=default) adds every rounded product in turn, and
// on random images about one float32 output in five and one byte in 7,500
// differ (by 1) from the AVX2 kernel's. This package follows the AVX2 kernel,
// the one torch runs on CPUs with AVX2 (its AVX-512 kernel, which it may pick
// on CPUs that have AVX-512, could not be checked here), and computes the same
// on every Go platform: products are rounded explicitly and fma32 is software.
//
// The image is resized along its width first (rows of uint8 samples, cast to
// float32, to an intermediate float32 image of the new width) and then along
// its height, as torch does; torchvision then rounds half to even and casts to
// uint8.

// axis holds the taps and weights of one axis for one (in, out) size pair.
type axis struct {
	in, out  int
	start    []int     // start[i]: the first input sample output i reads
	off      []int     // output i's weights are w[off[i]:off[i+1]]
	blocks   []int     // blocks[i]: taps 1..blocks[i] add rounded products, the rest fuse
	w        []float32 // all weights, output after output
	identity bool      // every output copies one input sample: the pass can be skipped
}

// newAxis computes the weights for resizing in samples to out. Both must be
// positive.
func newAxis(in, out int) axis {
	a := axis{in: in, out: out, start: make([]int, out), off: make([]int, out+1), blocks: make([]int, out)}
	scale := float32(in) / float32(out)
	support, invscale := float32(1), float32(1)
	if scale >= 1 {
		support = scale                        // (2 * 0.5) * scale in double, back to float
		invscale = float32(1 / float64(scale)) // 1.0 / scale in double, back to float
	}
	for i := 0; i < out; i++ {
		centre := float32(float64(scale) * (float64(i) + 0.5))
		xmin := max(int(float64(centre-support)+0.5), 0)
		xmax := min(int(float64(centre+support)+0.5), in)
		a.start[i] = xmin
		first := len(a.w)
		var total float32
		for j := xmin; j < xmax; j++ {
			x := float32((float64(float32(j)-centre) + 0.5) * float64(invscale))
			w := triangle(x)
			a.w = append(a.w, w)
			total += w
		}
		if total != 0 {
			for k := first; k < len(a.w); k++ {
				a.w[k] /= total
			}
		}
		a.off[i+1] = len(a.w)
		a.blocks[i] = (len(a.w) - first - 1) / 4 * 4
	}
	a.identity = in == out && a.isIdentity()
	return a
}

// triangle is the bilinear filter tri(x) = max(0, 1-|x|), with 1-|x| taken in
// double as the C++ does.
func triangle(x float32) float32 {
	if x < 0 {
		x = -x
	}
	if x < 1 {
		return float32(1 - float64(x))
	}
	return 0
}

// isIdentity reports whether output i takes input i with weight 1 and every
// other tap with weight 0: then the weighted sum is exactly input i
// (x*1 = x, x + 0*y = x, fused or not), so the pass can be a copy.
func (a *axis) isIdentity() bool {
	for i := 0; i < a.out; i++ {
		ws := a.w[a.off[i]:a.off[i+1]]
		if a.start[i] != i || len(ws) == 0 || ws[0] != 1 {
			return false
		}
		for _, w := range ws[1:] {
			if w != 0 {
				return false
			}
		}
	}
	return true
}

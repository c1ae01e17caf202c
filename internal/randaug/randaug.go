package randaug

import (
	"fmt"
	"math"
)

// Config holds RandAugment's settings. The zero value means 5 ops per view,
// magnitude bin 0 of 31 bins, all 14 ops; siampipe's augment stage passes
// magnitude 9 explicitly.
type Config struct {
	// NumOps is the number of ops applied in sequence to each view
	// (torchvision's num_ops). Zero means 5, the reference recipe.
	NumOps int
	// Magnitude is the magnitude bin, 0 <= Magnitude < Bins (torchvision's
	// magnitude; its default is 9).
	Magnitude int
	// Bins is the number of magnitude bins (num_magnitude_bins). Zero means 31.
	Bins int
	// Ops restricts the draw to these ops, drawn uniformly with replacement
	// (a repeated op is drawn more often). Nil means all 14 ops.
	Ops []Op
}

// Defaults returns c with zero fields replaced by their defaults.
func (c Config) Defaults() Config {
	if c.NumOps == 0 {
		c.NumOps = 5
	}
	if c.Bins == 0 {
		c.Bins = 31
	}
	if c.Ops == nil {
		c.Ops = AllOps()
	}
	return c
}

// Check reports whether the settings (defaults filled in) are in range.
func (c Config) Check() error {
	c = c.Defaults()
	switch {
	case c.NumOps < 0:
		return fmt.Errorf("randaug: num-ops %d: want >= 0", c.NumOps)
	case c.Bins < 2:
		return fmt.Errorf("randaug: bins %d: want >= 2", c.Bins)
	case c.Magnitude < 0 || c.Magnitude >= c.Bins:
		return fmt.Errorf("randaug: magnitude %d: want 0..%d (bins - 1)", c.Magnitude, c.Bins-1)
	case len(c.Ops) == 0:
		return fmt.Errorf("randaug: empty op list")
	}
	for _, op := range c.Ops {
		if op >= numOps {
			return fmt.Errorf("randaug: unknown op %v", op)
		}
	}
	return nil
}

// Augmenter applies RandAugment to channels x height x width images, stored
// channel after channel (CHW, as a torch tensor): 1 channel (grey) or 3 (RGB).
// It is read-only after New or NewC and safe for concurrent use.
type Augmenter struct {
	c, h, w, hw, n int // n = c*hw bytes per image
	cfg            Config
	ops            []Op

	maps  [numOps][2][]int32           // affine ops: source index per output pixel, hw = fill
	lut   [numOps][2][256]uint8        // Brightness, Posterize, Solarize
	ratio [numOps][2][2]float32        // Contrast: blend weights of the image and its mean
	pair  [numOps][2]*[256 * 256]uint8 // Sharpness, and Color on RGB: blend of x and y at [x<<8|y]
	value [numOps][2]float64           // the magnitude torchvision passes, for Value
	used  [numOps]bool
}

// New returns an Augmenter for single-channel height x width images (NewC
// with 1 channel). It fails when the size or the settings are out of range.
func New(height, width int, cfg Config) (*Augmenter, error) {
	return NewC(1, height, width, cfg)
}

// NewC returns an Augmenter for images of channels x height x width bytes in
// CHW order, channels 1 (grey) or 3 (RGB), the two counts torchvision's ops
// accept.
// On 3 channels the ops do what torchvision's tensor path does on a
// 3 x height x width uint8 tensor: Color blends with the grey image and
// Contrast with the grey image's mean (grey = rgb_to_grayscale); AutoContrast,
// Equalize and Sharpness work on each channel alone; Brightness, Posterize and
// Solarize on each value; the affine ops move every channel the same way,
// filling with 0. On 1 channel Color leaves the image unchanged, as
// adjust_saturation does. NewC fails when the channel count, the size or the
// settings are out of range.
func NewC(channels, height, width int, cfg Config) (*Augmenter, error) {
	cfg = cfg.Defaults()
	switch {
	case channels != 1 && channels != 3:
		return nil, fmt.Errorf("randaug: %d channels: want 1 (grey) or 3 (RGB)", channels)
	case height <= 0 || width <= 0:
		return nil, fmt.Errorf("randaug: image size %dx%d: want positive height and width", height, width)
	case int64(channels)*int64(height)*int64(width) >= math.MaxInt32:
		return nil, fmt.Errorf("randaug: image size %dx%dx%d too large", channels, height, width)
	}
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	hw := height * width
	a := &Augmenter{c: channels, h: height, w: width, hw: hw, n: channels * hw, cfg: cfg, ops: append([]Op(nil), cfg.Ops...)}
	for _, op := range a.ops {
		if a.used[op] {
			continue
		}
		a.used[op] = true
		for neg := 0; neg < 2; neg++ {
			if neg == 1 && !op.Signed() {
				continue
			}
			a.prepare(op, neg)
		}
	}
	return a, nil
}

func (a *Augmenter) prepare(op Op, neg int) {
	v := magnitude(op, a.cfg.Bins, a.cfg.Magnitude, a.h, a.w, neg == 1)
	a.value[op][neg] = v
	switch {
	case op.affine():
		a.maps[op][neg] = sourceMap(opMatrix(op, v, a.h, a.w), a.h, a.w, int32(a.hw))
	case op == Brightness:
		r1, r2 := blendWeights(1 + v)
		for x := range a.lut[op][neg] {
			a.lut[op][neg][x] = blend(r1, r2, float32(x), 0)
		}
	case op == Contrast:
		r1, r2 := blendWeights(1 + v)
		a.ratio[op][neg] = [2]float32{r1, r2}
	case op == Sharpness || op == Color && a.c == 3:
		a.pair[op][neg] = a.pairTable(1 + v)
	case op == Posterize:
		// F.posterize(img, int(magnitude)): img & -(2**(8-bits)).
		mask := ^uint8(1<<(8-int(v)) - 1)
		for x := range a.lut[op][neg] {
			a.lut[op][neg][x] = uint8(x) & mask
		}
	case op == Solarize:
		// torch.where(img >= threshold, 255 - img, img), compared in float32.
		thr := float32(v)
		for x := range a.lut[op][neg] {
			if float32(x) >= thr {
				a.lut[op][neg][x] = 255 - uint8(x)
			} else {
				a.lut[op][neg][x] = uint8(x)
			}
		}
	}
}

// pairTable returns the table of _blend with ratio of every pixel pair x, y
// at [x<<8|y], shared with an op already prepared with the same ratio (Color
// and Sharpness have the same magnitudes).
func (a *Augmenter) pairTable(ratio float64) *[256 * 256]uint8 {
	for _, op := range [...]Op{Color, Sharpness} {
		for neg, t := range a.pair[op] {
			if t != nil && 1+a.value[op][neg] == ratio {
				return t
			}
		}
	}
	r1, r2 := blendWeights(ratio)
	t := new([256 * 256]uint8)
	for x := 0; x < 256; x++ {
		for y := 0; y < 256; y++ {
			t[x<<8|y] = blend(r1, r2, float32(x), float32(y))
		}
	}
	return t
}

// blendWeights returns torchvision's _blend weights for ratio r as float32,
// as torch casts the Python scalars r and 1 - r.
func blendWeights(r float64) (float32, float32) { return float32(r), float32(1 - r) }

// blend is torchvision's _blend on uint8 images: (r1*x + r2*y) in float32,
// clamped to [0, 255] and truncated to uint8.
func blend(r1, r2, x, y float32) uint8 {
	v := float32(r1*x) + float32(r2*y)
	if v < 0 {
		v = 0
	} else if v > 255 {
		v = 255
	}
	return uint8(v)
}

// Channels returns the channel count the Augmenter was made for (1 or 3).
func (a *Augmenter) Channels() int { return a.c }

// Height returns the image height the Augmenter was made for.
func (a *Augmenter) Height() int { return a.h }

// Width returns the image width the Augmenter was made for.
func (a *Augmenter) Width() int { return a.w }

// Config returns the settings in use, defaults filled in.
func (a *Augmenter) Config() Config {
	c := a.cfg
	c.Ops = append([]Op(nil), a.ops...)
	return c
}

// Scratch is per-goroutine working memory for Augment and ResizedCrop. One
// made by an Augmenter or a Resizer for channels x height x width images
// serves both.
type Scratch struct {
	a, b []uint8
	f    []float32 // ResizedCrop's rows resized horizontally, one channel
}

// newScratch returns working memory for images of n bytes, hw per channel.
func newScratch(n, hw int) *Scratch {
	// One byte past each image stays 0: the fill pixel of the affine maps.
	return &Scratch{a: make([]uint8, n+1), b: make([]uint8, n+1), f: make([]float32, hw)}
}

// NewScratch returns working memory for one goroutine's calls to Augment
// (and ResizedCrop of the same image size).
func (a *Augmenter) NewScratch() *Scratch { return newScratch(a.n, a.hw) }

// Augment writes one RandAugment view of src to dst: NumOps times, an op drawn
// uniformly from the op list and, for signed ops, a sign drawn with
// probability 1/2 (the order torchvision draws them in), then the op applied.
// src and dst hold channels*height*width bytes (CHW) and may be the same
// slice. Augment panics if they are shorter.
func (a *Augmenter) Augment(dst, src []uint8, r *Rand, s *Scratch) {
	cur, nxt := s.a, s.b
	copy(cur[:a.n], src[:a.n])
	for k := 0; k < a.cfg.NumOps; k++ {
		op := a.ops[r.Intn(len(a.ops))]
		neg := 0
		if op.Signed() && r.Uint64()>>63 == 1 {
			neg = 1
		}
		if op == Identity || op == Color && a.c == 1 {
			continue
		}
		a.apply(op, neg, nxt, cur)
		cur, nxt = nxt, cur
	}
	copy(dst[:a.n], cur[:a.n])
}

// Apply writes op applied once to src into dst, with the configured magnitude,
// negated if negative and the op is signed. It is Augment's building block and
// allocates; it panics if op is not one of the configured ops or a slice is
// shorter than channels*height*width.
func (a *Augmenter) Apply(dst, src []uint8, op Op, negative bool) {
	if op >= numOps || !a.used[op] {
		panic("randaug: Apply of an op not in the Augmenter's op list: " + op.String())
	}
	neg := 0
	if negative && op.Signed() {
		neg = 1
	}
	in := make([]uint8, a.n+1)
	copy(in, src[:a.n])
	out := make([]uint8, a.n+1)
	if op == Identity || op == Color && a.c == 1 {
		copy(out, in)
	} else {
		a.apply(op, neg, out, in)
	}
	copy(dst[:a.n], out[:a.n])
}

// Value returns the magnitude torchvision passes to op under the Augmenter's
// settings (signed ops: the positive value).
func (a *Augmenter) Value(op Op) float64 { return a.value[op][0] }

// apply runs one op from src (n+1 bytes, src[n] == 0) into dst[:n], n =
// channels*height*width; dst and src do not overlap.
func (a *Augmenter) apply(op Op, neg int, dst, src []uint8) {
	hw, n := a.hw, a.n
	dst, src = dst[:n], src[:n+1]
	switch op {
	case ShearX, ShearY, TranslateX, TranslateY, Rotate:
		// The map's fill index hw reads the byte after the channel: the
		// zero byte past the image for the last channel, the next
		// channel's first pixel, zeroed for the gather, for the others.
		m := a.maps[op][neg][:hw]
		for c := 0; c < n; c += hw {
			plane := src[c : c+hw+1]
			keep := plane[hw]
			plane[hw] = 0
			gather(dst[c:c+hw], plane, m)
			plane[hw] = keep
		}
	case Brightness, Posterize, Solarize:
		lutApply(dst, src[:n], &a.lut[op][neg])
	case Contrast:
		contrast(dst, src[:n], a.greyMean(src[:n]), a.ratio[op][neg][0], a.ratio[op][neg][1])
	case Color:
		if a.c == 3 {
			saturation(dst, src[:n], a.pair[op][neg])
		} else {
			copy(dst, src[:n]) // adjust_saturation returns a grey image as it is
		}
	case Sharpness:
		for c := 0; c < n; c += hw {
			sharpness(dst[c:c+hw], src[c:c+hw], a.h, a.w, a.pair[op][neg])
		}
	case AutoContrast:
		for c := 0; c < n; c += hw {
			autoContrast(dst[c:c+hw], src[c:c+hw])
		}
	case Equalize:
		for c := 0; c < n; c += hw {
			equalize(dst[c:c+hw], src[c:c+hw])
		}
	}
}

// lutApply sets dst[i] = lut[src[i]], eight pixels per step.
func lutApply(dst, src []uint8, lut *[256]uint8) {
	n := len(src)
	dst = dst[:n]
	i := 0
	for ; i+8 <= n; i += 8 {
		s, d := src[i:i+8:i+8], dst[i:i+8:i+8]
		d[0], d[1], d[2], d[3] = lut[s[0]], lut[s[1]], lut[s[2]], lut[s[3]]
		d[4], d[5], d[6], d[7] = lut[s[4]], lut[s[5]], lut[s[6]], lut[s[7]]
	}
	for ; i < n; i++ {
		dst[i] = lut[src[i]]
	}
}

// gather sets dst[i] = src[m[i]], eight pixels per step.
func gather(dst, src []uint8, m []int32) {
	n := len(m)
	dst = dst[:n]
	i := 0
	for ; i+8 <= n; i += 8 {
		mm, d := m[i:i+8:i+8], dst[i:i+8:i+8]
		d[0], d[1], d[2], d[3] = src[mm[0]], src[mm[1]], src[mm[2]], src[mm[3]]
		d[4], d[5], d[6], d[7] = src[mm[4]], src[mm[5]], src[mm[6]], src[mm[7]]
	}
	for ; i < n; i++ {
		dst[i] = src[m[i]]
	}
}

// Weights of rgb_to_grayscale, 0.2989 r + 0.587 g + 0.114 b: Python floats
// that torch casts to float32 to multiply a uint8 channel promoted to float32.
var greyR, greyG, greyB = greyTable(0.2989), greyTable(0.587), greyTable(0.114)

// greyTable returns float32(weight) * float32(v) for every byte v.
func greyTable(weight float64) (t [256]float32) {
	w := float32(weight)
	for v := range t {
		t[v] = w * float32(v)
	}
	return t
}

// grey is F.rgb_to_grayscale of one uint8 RGB pixel: the three float32
// products summed left to right in float32, truncated to uint8 (the sum is at
// most 0.9999 * 255). The golden tests check all 2^24 colours.
func grey(r, g, b uint8) uint8 {
	return uint8(float32(greyR[r]+greyG[g]) + greyB[b])
}

// greyMean is torch.mean of the image as float32 (1 channel) or of its
// rgb_to_grayscale (3 channels), the mean adjust_contrast blends with: an
// exact sum of integers, then one float32 division. torch sums in float32, in
// any order exactly while the sum stays below 2^24, so this is its value for
// images of up to 65793 pixels (256x256). Above that torch's own mean depends
// on its summation order and thread count (for half of 200 random images of
// 257 to 700 pixels a side, torch.set_num_threads 1, 2, 3 and 8 did not all
// agree), so there is no single value to match; greyMean keeps the exact sum.
func (a *Augmenter) greyMean(src []uint8) float32 {
	hw := a.hw
	sum := 0
	if a.c == 1 {
		for _, v := range src[:hw] {
			sum += int(v)
		}
	} else {
		r, g, b := src[:hw], src[hw:2*hw], src[2*hw:3*hw]
		g, b = g[:len(r)], b[:len(r)]
		for i, v := range r {
			sum += int(grey(v, g[i], b[i]))
		}
	}
	return float32(sum) / float32(hw)
}

// contrast is F.adjust_contrast's blend of every value with mean.
func contrast(dst, src []uint8, mean, r1, r2 float32) {
	my := float32(r2 * mean)
	var lut [256]uint8
	for x := range lut {
		v := float32(r1*float32(x)) + my
		if v < 0 {
			v = 0
		} else if v > 255 {
			v = 255
		}
		lut[x] = uint8(v)
	}
	lutApply(dst, src, &lut)
}

// saturation is F.adjust_saturation of a 3-channel image (src and dst are
// 3*hw bytes): every channel blended with the image's rgb_to_grayscale, t
// holding the blend of channel value x and grey y at [x<<8|y].
func saturation(dst, src []uint8, t *[256 * 256]uint8) {
	hw := len(src) / 3
	r, g, b := src[:hw], src[hw:2*hw], src[2*hw:3*hw]
	dr, dg, db := dst[:hw], dst[hw:2*hw], dst[2*hw:3*hw]
	g, b, dr, dg, db = g[:len(r)], b[:len(r)], dr[:len(r)], dg[:len(r)], db[:len(r)]
	for i, x := range r {
		y := int(grey(x, g[i], b[i]))
		dr[i] = t[int(x)<<8|y]
		dg[i] = t[int(g[i])<<8|y]
		db[i] = t[int(b[i])<<8|y]
	}
}

// sharpness is F.adjust_sharpness: blend with the image blurred by the kernel
// [1 1 1; 1 5 1; 1 1 1]/13, the blur rounded to uint8 and border pixels kept.
// The blur's exact value is s/13 for an integer s, never within 0.03 of a
// rounding tie, so round(s/13) = (s+6)/13 equals torch's float32 convolution
// rounded to nearest.
func sharpness(dst, src []uint8, h, w int, t *[256 * 256]uint8) {
	if h <= 2 || w <= 2 {
		copy(dst, src)
		return
	}
	// Border rows and columns blend each pixel with itself (torch computes
	// the blend there too, which can move a pixel by one).
	for j := 0; j < w; j++ {
		x := int(src[j])
		dst[j] = t[x<<8|x]
		x = int(src[(h-1)*w+j])
		dst[(h-1)*w+j] = t[x<<8|x]
	}
	for i := 1; i < h-1; i++ {
		up := src[(i-1)*w : i*w]
		row := src[i*w : (i+1)*w]
		dn := src[(i+1)*w : (i+2)*w]
		out := dst[i*w : (i+1)*w]
		x := int(row[0])
		out[0] = t[x<<8|x]
		x = int(row[w-1])
		out[w-1] = t[x<<8|x]
		// Sliding column sums: left, centre and right columns of the 3x3
		// window; s = their total + 4 * centre pixel.
		left := int(up[0]) + int(row[0]) + int(dn[0])
		mid := int(up[1]) + int(row[1]) + int(dn[1])
		up, row, dn, out = up[:w], row[:w], dn[:w], out[:w]
		for j := 2; j < w; j++ {
			right := int(up[j]) + int(row[j]) + int(dn[j])
			c := int(row[j-1])
			d := (left + mid + right + 4*c + 6) / 13
			out[j-1] = t[c<<8|d]
			left, mid = mid, right
		}
	}
}

// autoContrast is F.autocontrast on one channel: stretch [min, max] to
// [0, 255] in float32, truncating; a constant channel is left unchanged.
// torchvision's scale is 255.0 / (max - min), which torch evaluates as
// float32(1 / (max - min)) * 255 (Tensor.__rtruediv__ is reciprocal() times
// the number). float32(255 / (max - min)), which this package computed
// before, differs by one on some values when max - min is not 255.
func autoContrast(dst, src []uint8) {
	// Two accumulators each, to shorten the dependency chains.
	lo, hi, lo2, hi2 := uint8(255), uint8(0), uint8(255), uint8(0)
	i := 0
	for ; i+2 <= len(src); i += 2 {
		a, b := src[i], src[i+1]
		lo, hi = min(lo, a), max(hi, a)
		lo2, hi2 = min(lo2, b), max(hi2, b)
	}
	for ; i < len(src); i++ {
		lo, hi = min(lo, src[i]), max(hi, src[i])
	}
	lo, hi = min(lo, lo2), max(hi, hi2)
	if lo == hi {
		copy(dst, src)
		return
	}
	scale := float32(float32(1)/float32(hi-lo)) * 255
	var lut [256]uint8
	for x := int(lo); x <= int(hi); x++ {
		v := float32(float32(x-int(lo)) * scale)
		if v > 255 {
			v = 255
		}
		lut[x] = uint8(v)
	}
	lutApply(dst, src, &lut)
}

// equalize is torchvision's _scale_channel: step = (pixels outside the
// brightest occupied bin) / 255, lut[v] = (cumulative count below v + step/2)
// / step clamped to 255; unchanged when step is 0.
func equalize(dst, src []uint8) {
	// Four partial histograms break the load-increment-store chains.
	var h4 [4][256]int32
	i := 0
	for ; i+4 <= len(src); i += 4 {
		h4[0][src[i]]++
		h4[1][src[i+1]]++
		h4[2][src[i+2]]++
		h4[3][src[i+3]]++
	}
	for ; i < len(src); i++ {
		h4[0][src[i]]++
	}
	var hist [256]int
	for v := range hist {
		hist[v] = int(h4[0][v] + h4[1][v] + h4[2][v] + h4[3][v])
	}
	last := 255
	for last > 0 && hist[last] == 0 {
		last--
	}
	step := (len(src) - hist[last]) / 255
	if step == 0 {
		copy(dst, src)
		return
	}
	var lut [256]uint8
	cum := 0
	if n := len(src) + step; n < 1<<16 {
		// x/step as (x * ceil(2^32/step)) >> 32: exact for x, step < 2^16.
		m := uint64(1<<32+step-1) / uint64(step)
		for v := range lut {
			lut[v] = uint8(min((uint64(cum+step/2)*m)>>32, 255))
			cum += hist[v]
		}
	} else {
		for v := range lut {
			lut[v] = uint8(min((cum+step/2)/step, 255))
			cum += hist[v]
		}
	}
	lutApply(dst, src, &lut)
}

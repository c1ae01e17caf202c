package randaug

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// rgbGolden is testdata/rgb_golden.json.gz, written by
// testdata/gen_rgb_golden.py with Debian's python3-torchvision from crops of
// scikit-learn's two sample photos. Outputs come in full ("output") or, to keep
// the file small, as their SHA-256 ("sha256").
type rgbGolden struct {
	Torchvision   string `json:"torchvision"`
	CPUCapability string `json:"cpu_capability"` // torch's kernels; the 3-channel resize depends on it
	Images        []struct {
		Name                    string `json:"name"`
		Channels, Height, Width int
		Pixels                  string `json:"pixels"`
	} `json:"images"`
	Formulas []struct {
		Name          string `json:"name"`
		Height, Width int
		Sha256        string `json:"sha256"`
	} `json:"formulas"`
	Cases []struct {
		Image     string  `json:"image"`
		Op        string  `json:"op"`
		Bins      int     `json:"bins"`
		Magnitude int     `json:"magnitude"`
		Negative  bool    `json:"negative"`
		Value     float64 `json:"value"`
		rgbOutput
	} `json:"cases"`
	Chains []struct {
		Image     string `json:"image"`
		Seed      int    `json:"seed"`
		Bins      int    `json:"bins"`
		Magnitude int    `json:"magnitude"`
		Ops       []struct {
			Op       string `json:"op"`
			Negative bool   `json:"negative"`
		} `json:"ops"`
		rgbOutput
	} `json:"chains"`
	Crops []struct {
		Image                    string `json:"image"`
		Top, Left, Height, Width int
		rgbOutput
	} `json:"crops"`
	Flips []struct {
		Image string `json:"image"`
		rgbOutput
	} `json:"flips"`
	Maps []struct {
		Height, Width int
		Op            string `json:"op"`
		Bins          int    `json:"bins"`
		Magnitude     int    `json:"magnitude"`
		Negative      bool   `json:"negative"`
		Sha256        string `json:"sha256"`
	} `json:"maps"`
	Grey struct {
		Sha256 string  `json:"sha256"`
		Colors []int   `json:"colors"`
		Values []uint8 `json:"values"`
	} `json:"grey"`
}

// rgbOutput is torchvision's output: the CHW bytes in base64, or their
// SHA-256 in hex.
type rgbOutput struct {
	Output string `json:"output"`
	Sha256 string `json:"sha256"`
}

type rgbImage struct {
	c, h, w int
	pix     []uint8
}

var (
	rgbGoldenOnce sync.Once
	rgbGoldenData *rgbGolden
	rgbGoldenErr  error
)

func loadRGBGolden(t testing.TB) (*rgbGolden, map[string]rgbImage) {
	t.Helper()
	rgbGoldenOnce.Do(func() {
		var g rgbGolden
		if rgbGoldenErr = readGzipJSON("testdata/rgb_golden.json.gz", &g); rgbGoldenErr == nil {
			rgbGoldenData = &g
		}
	})
	if rgbGoldenErr != nil {
		t.Fatalf("RGB golden vectors: %v (regenerate with /usr/bin/python3 testdata/gen_rgb_golden.py)", rgbGoldenErr)
	}
	imgs := map[string]rgbImage{}
	for _, im := range rgbGoldenData.Images {
		pix := unb64(t, im.Pixels)
		if im.Channels != 3 || len(pix) != 3*im.Height*im.Width {
			t.Fatalf("golden image %s: %d bytes for %dx%dx%d", im.Name, len(pix), im.Channels, im.Height, im.Width)
		}
		imgs[im.Name] = rgbImage{im.Channels, im.Height, im.Width, pix}
	}
	for _, f := range rgbGoldenData.Formulas {
		pix := formulaImage(f.Height, f.Width)
		if sum := sha256.Sum256(pix); hex.EncodeToString(sum[:]) != f.Sha256 {
			t.Fatalf("%s: formulaImage differs from gen_rgb_golden.py's formula_image", f.Name)
		}
		imgs[f.Name] = rgbImage{3, f.Height, f.Width, pix}
	}
	return rgbGoldenData, imgs
}

// formulaImage is gen_rgb_golden.py's formula_image: a 3 x h x w image made
// of ramps, a pattern and a flat block, for sizes too large to store.
func formulaImage(h, w int) []uint8 {
	pix := make([]uint8, 3*h*w)
	for c := 0; c < 3; c++ {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				v := (x*(c+1) + y*(3-c) + ((x*y)^(x+5*y+11*c))%41) % 200
				if y >= h/4 && y < h/2 && x >= w/4 && x < w/2 {
					v = 17 + 60*c
				}
				pix[(c*h+y)*w+x] = uint8(v)
			}
		}
	}
	return pix
}

// check reports whether got is torchvision's output want; for a full output
// it logs how many bytes differ and the first (channel, row, column).
func (want rgbOutput) check(t *testing.T, name string, got []uint8, im rgbImage) bool {
	t.Helper()
	if want.Output == "" {
		sum := sha256.Sum256(got)
		if want.Sha256 == "" || hex.EncodeToString(sum[:]) != want.Sha256 {
			t.Errorf("%s: output's SHA-256 %x, torchvision's %s", name, sum[:6], want.Sha256)
			return false
		}
		return true
	}
	w := unb64(t, want.Output)
	if n, i := diffCount(got, w); n > 0 || len(got) != len(w) {
		if i < 0 {
			i = 0
		}
		hw := im.h * im.w
		t.Errorf("%s: %d of %d bytes differ, first at channel %d (%d,%d): got %d, want %d",
			name, n, len(w), i/hw, i%hw/im.w, i%im.w, got[i], w[i])
		return false
	}
	return true
}

// TestRGBGreyMatchesTorchvision compares grey, rgb_to_grayscale on one pixel,
// with torch's on all 2^24 colours (their digest), and lists the colours where
// the float32 sum truncates differently from exact arithmetic.
func TestRGBGreyMatchesTorchvision(t *testing.T) {
	g, _ := loadRGBGolden(t)
	for k, c := range g.Grey.Colors {
		if got := grey(uint8(c>>16), uint8(c>>8), uint8(c)); got != g.Grey.Values[k] {
			t.Errorf("grey(%d, %d, %d) = %d, torch %d", c>>16, c>>8&255, c&255, got, g.Grey.Values[k])
		}
	}
	all := make([]uint8, 1<<24)
	for c := range all {
		all[c] = grey(uint8(c>>16), uint8(c>>8), uint8(c))
	}
	if sum := sha256.Sum256(all); hex.EncodeToString(sum[:]) != g.Grey.Sha256 {
		t.Errorf("grey of all 2^24 colours: SHA-256 %x, torch's %s", sum, g.Grey.Sha256)
	}
	if len(g.Grey.Colors) < 100 {
		t.Errorf("only %d colours where float32 and exact grey differ: regenerate the vectors", len(g.Grey.Colors))
	}
}

// TestRGBOpsMatchTorchvision applies every op once to RGB crops of real photos
// (32x32, 24x40, 40x24 with a flat channel, 64x80) and to two larger formula
// images (240x320, 97x61) at several magnitudes and both signs, as
// torchvision's _apply_op does on the 3xHxW uint8 tensor.
func TestRGBOpsMatchTorchvision(t *testing.T) {
	g, imgs := loadRGBGolden(t)
	full, seen := 0, map[string]bool{}
	for _, c := range g.Cases {
		name := fmt.Sprintf("%s/%s/bins%d/m%d/neg=%v (torchvision %s)", c.Image, c.Op, c.Bins, c.Magnitude, c.Negative, g.Torchvision)
		im := imgs[c.Image]
		op := mustOp(t, c.Op)
		a, err := NewC(3, im.h, im.w, Config{NumOps: 1, Bins: c.Bins, Magnitude: c.Magnitude, Ops: []Op{op}})
		if err != nil {
			t.Fatal(err)
		}
		if v := magnitude(op, c.Bins, c.Magnitude, im.h, im.w, c.Negative); v != c.Value {
			t.Errorf("%s: magnitude %v, torchvision %v", name, v, c.Value)
		}
		got := make([]uint8, len(im.pix))
		a.Apply(got, im.pix, op, c.Negative)
		c.check(t, name, got, im)
		if c.Output != "" {
			full++
		}
		seen[c.Op] = true
	}
	if len(seen) != int(numOps) || full < 40 {
		t.Errorf("golden cases cover %d ops, %d outputs in full: regenerate the vectors", len(seen), full)
	}
}

// TestRGBChainsMatchTorchvision replays the five ops torchvision's
// RandAugment drew (under fixed torch seeds, magnitudes 9 and 30) with Apply.
func TestRGBChainsMatchTorchvision(t *testing.T) {
	g, imgs := loadRGBGolden(t)
	for _, c := range g.Chains {
		im := imgs[c.Image]
		a, err := NewC(3, im.h, im.w, Config{Bins: c.Bins, Magnitude: c.Magnitude})
		if err != nil {
			t.Fatal(err)
		}
		cur := bytes.Clone(im.pix)
		var names []string
		for _, s := range c.Ops {
			a.Apply(cur, cur, mustOp(t, s.Op), s.Negative)
			names = append(names, map[bool]string{true: "-", false: "+"}[s.Negative]+s.Op)
		}
		c.check(t, fmt.Sprintf("%s seed %d m%d %s", c.Image, c.Seed, c.Magnitude, strings.Join(names, " ")), cur, im)
	}
	if len(g.Chains) < 10 {
		t.Errorf("only %d golden chains", len(g.Chains))
	}
}

// TestRGBResizedCropMatchesTorchvision resizes fixed and random boxes of the
// RGB images as F.resized_crop does on the 3xHxW tensor: every channel cut at
// the same box, with the fused multiply-adds of torch's AVX2 kernels.
func TestRGBResizedCropMatchesTorchvision(t *testing.T) {
	g, imgs := loadRGBGolden(t)
	if g.CPUCapability != "AVX2" {
		t.Fatalf("golden vectors made with torch's %q kernels; ResizedCrop reproduces the AVX2 ones", g.CPUCapability)
	}
	resizers := map[string]*Resizer{}
	for _, c := range g.Crops {
		im := imgs[c.Image]
		z := resizers[c.Image]
		if z == nil {
			var err error
			if z, err = NewResizerC(3, im.h, im.w); err != nil {
				t.Fatal(err)
			}
			resizers[c.Image] = z
		}
		got := make([]uint8, len(im.pix))
		z.ResizedCrop(got, im.pix, c.Top, c.Left, c.Height, c.Width, z.NewScratch())
		c.check(t, fmt.Sprintf("%s box top %d left %d %dx%d", c.Image, c.Top, c.Left, c.Height, c.Width), got, im)
	}
	if len(g.Crops) < 30 {
		t.Errorf("only %d golden boxes", len(g.Crops))
	}
}

// TestRGBHFlipMatchesTorchvision flips each RGB image as 3*h rows.
func TestRGBHFlipMatchesTorchvision(t *testing.T) {
	g, imgs := loadRGBGolden(t)
	for _, c := range g.Flips {
		im := imgs[c.Image]
		got := make([]uint8, len(im.pix))
		HFlip(got, im.pix, im.c*im.h, im.w)
		c.check(t, c.Image+" flipped", got, im)
	}
	if len(g.Flips) == 0 {
		t.Error("no golden flips")
	}
}

// TestAffineMapsOfLargerImagesMatchTorchvision compares the source pixel of
// every output pixel of the affine ops on 96x128, 127x201 and 224x224 images
// with torchvision's (on a 3-channel image of pixel indices, whose channels
// agree), by digest.
func TestAffineMapsOfLargerImagesMatchTorchvision(t *testing.T) {
	g, _ := loadRGBGolden(t)
	for _, c := range g.Maps {
		op := mustOp(t, c.Op)
		v := magnitude(op, c.Bins, c.Magnitude, c.Height, c.Width, c.Negative)
		m := sourceMap(opMatrix(op, v, c.Height, c.Width), c.Height, c.Width, -1)
		b := make([]byte, 4*len(m))
		for i, x := range m {
			binary.LittleEndian.PutUint32(b[4*i:], uint32(x))
		}
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != c.Sha256 {
			t.Errorf("%dx%d %s m%d neg=%v: source map differs from torchvision's", c.Height, c.Width, c.Op, c.Magnitude, c.Negative)
		}
	}
	if len(g.Maps) < 90 {
		t.Errorf("only %d golden maps", len(g.Maps))
	}
}

// TestRGBAugmentIsTheSequenceOfDrawnOps replays Augment's draws with Apply on
// RGB images, including a size whose planes are not a multiple of 8 bytes.
func TestRGBAugmentIsTheSequenceOfDrawnOps(t *testing.T) {
	for _, sz := range [][2]int{{32, 32}, {7, 13}} {
		h, w := sz[0], sz[1]
		for _, ops := range [][]Op{AllOps(), {Color, Contrast}, {Rotate, TranslateY}} {
			a, err := NewC(3, h, w, Config{NumOps: 5, Magnitude: 13, Ops: ops})
			if err != nil {
				t.Fatal(err)
			}
			src := testImage(3*h, w)
			s := a.NewScratch()
			for seed := uint64(0); seed < 100; seed++ {
				r := NewRand(seed)
				got := make([]uint8, len(src))
				a.Augment(got, src, &r, s)

				r = NewRand(seed)
				want := bytes.Clone(src)
				for k := 0; k < 5; k++ {
					op := ops[r.Intn(len(ops))]
					neg := op.Signed() && r.Uint64()>>63 == 1
					a.Apply(want, want, op, neg)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("%dx%d ops %s seed %d: Augment differs from its drawn ops applied in turn", h, w, FormatOps(ops), seed)
				}
			}
		}
	}
}

// TestRGBAffineFillsEveryChannelWithZero: a translation by the whole image
// leaves nothing but fill, in every channel (the zero past each channel is
// borrowed from the next channel's first pixel and given back).
func TestRGBAffineFillsEveryChannelWithZero(t *testing.T) {
	a, err := NewC(3, 4, 6, Config{NumOps: 1, Bins: 2, Magnitude: 1, Ops: []Op{TranslateX}})
	if err != nil {
		t.Fatal(err)
	}
	src := make([]uint8, 3*4*6)
	for i := range src {
		src[i] = uint8(1 + i)
	}
	got := make([]uint8, len(src))
	a.Apply(got, src, TranslateX, false) // int(150/331*6) = 2 columns right
	for i, v := range got {
		c, y, x := i/24, i%24/6, i%6
		want := uint8(0)
		if x >= 2 {
			want = src[c*24+y*6+x-2]
		}
		if v != want {
			t.Fatalf("channel %d (%d,%d) = %d, want %d", c, y, x, v, want)
		}
	}
	s := a.NewScratch()
	r := NewRand(0)
	a.Augment(got, src, &r, s)
	if s.a[len(src)] != 0 || s.b[len(src)] != 0 {
		t.Error("the zero byte past the image changed")
	}
}

// TestColorAndContrastOnGreyRGB: on an RGB image whose channels are equal the
// per-channel ops act as on the grey image, and Color blends towards
// rgb_to_grayscale, which is the channel value or one below it.
func TestColorAndContrastOnGreyRGB(t *testing.T) {
	const h, w = 9, 11
	grey1 := testImage(h, w)
	rgb := bytes.Join([][]byte{grey1, grey1, grey1}, nil)
	cfg := Config{NumOps: 1, Magnitude: 30}
	a1, err := New(h, w, cfg)
	if err != nil {
		t.Fatal(err)
	}
	a3, err := NewC(3, h, w, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range []Op{ShearX, Rotate, Brightness, Sharpness, Posterize, Solarize, AutoContrast, Equalize} {
		for _, neg := range []bool{false, true} {
			want := make([]uint8, h*w)
			a1.Apply(want, grey1, op, neg)
			got := make([]uint8, 3*h*w)
			a3.Apply(got, rgb, op, neg)
			for c := 0; c < 3; c++ {
				if !bytes.Equal(got[c*h*w:(c+1)*h*w], want) {
					t.Errorf("%v neg=%v: channel %d differs from the op on the grey image", op, neg, c)
				}
			}
		}
	}
	got := make([]uint8, 3*h*w)
	a3.Apply(got, rgb, Color, true) // factor 0.1: mostly the grey image
	for i, v := range got {
		x := rgb[i]
		if v > x || int(v) < int(x)-1 {
			t.Fatalf("Color of a grey pixel %d gave %d", x, v)
		}
	}
}

func TestNewCRejectsBadChannels(t *testing.T) {
	for _, c := range []int{0, 2, 4, -1} {
		if _, err := NewC(c, 8, 8, Config{}); err == nil || !strings.Contains(err.Error(), "channels") {
			t.Errorf("NewC(%d, ...) error %v, want one about channels", c, err)
		}
	}
	if _, err := NewResizerC(0, 8, 8); err == nil {
		t.Error("NewResizerC(0, ...) did not fail")
	}
	a, err := NewC(3, 5, 7, Config{})
	if err != nil || a.Channels() != 3 || a.Height() != 5 || a.Width() != 7 {
		t.Errorf("NewC(3, 5, 7) = %v, %v", a, err)
	}
}

// TestRGBResizedCropIsTorchSequence: on three channels the separable fast
// path (box rows resized once each) gives torch's per-pixel nested fused sums,
// every channel is cut at the same box and resized on its own (permuting the
// channels permutes the output), and the full box is the image.
func TestRGBResizedCropIsTorchSequence(t *testing.T) {
	for _, sz := range [][2]int{{32, 32}, {24, 40}, {9, 5}} {
		h, w := sz[0], sz[1]
		hw := h * w
		z, err := NewResizerC(3, h, w)
		if err != nil {
			t.Fatal(err)
		}
		src := testImage(3*h, w)
		for i := hw; i < 2*hw; i++ {
			src[i] = uint8(255 * ((i/w + i%w) % 2)) // a checkerboard channel
		}
		perm := bytes.Join([][]byte{src[2*hw:], src[:hw], src[hw : 2*hw]}, nil)
		got, want, gotPerm := make([]uint8, 3*hw), make([]uint8, 3*hw), make([]uint8, 3*hw)
		s := &Scratch{} // grown on first use
		r := NewRand(5)
		for k := 0; k < 500; k++ {
			top, left, ch, cw := CropParams(&r, h, w, 0.08)
			if k%5 == 0 {
				ch, cw = 1+r.Intn(h), 1+r.Intn(w)
				top, left = r.Intn(h-ch+1), r.Intn(w-cw+1)
			}
			z.ResizedCrop(got, src, top, left, ch, cw, s)
			z.resizedCropTorch(want, src, top, left, ch, cw)
			if ch == h && cw == w {
				copy(want, src)
			}
			if n, i := diffCount(got, want); n > 0 {
				t.Fatalf("%dx%d box top %d left %d %dx%d: %d bytes differ from torch's sequence, first at %d: %d, want %d",
					h, w, top, left, ch, cw, n, i, got[i], want[i])
			}
			z.ResizedCrop(gotPerm, perm, top, left, ch, cw, s)
			if !bytes.Equal(gotPerm, bytes.Join([][]byte{got[2*hw:], got[:hw], got[hw : 2*hw]}, nil)) {
				t.Fatalf("%dx%d box top %d left %d %dx%d: channels are not resized on their own", h, w, top, left, ch, cw)
			}
		}
	}
}

// TestLerpFMAIsFusedMultiplyAdd compares lerpFMA with fma32 on random float32
// operands of the sizes the resize meets, and on sums that fall exactly
// halfway between two float32s after rounding to float64.
func TestLerpFMAIsFusedMultiplyAdd(t *testing.T) {
	r := NewRand(8)
	for k := 0; k < 1000000; k++ {
		p0, p1 := float32(r.Intn(256)), float32(r.Float64()*256)
		l1 := float32(r.Float64())
		if k%3 == 0 {
			l1 = float32(r.Float64() * 0x1p-20)
		}
		l0 := 1 - l1
		if got, want := lerpFMA(p0, p1, l0, l1), fma32(p0, l0, float32(p1*l1)); got != want {
			t.Fatalf("lerpFMA(%v, %v, %v, %v) = %v, fma %v", p0, p1, l0, l1, got, want)
		}
	}
	// p0*l0 = (1 + 2^-12) * 2^-24 * (1 - 2^-12 + 2^-24) = 2^-24 + 2^-60, so
	// 1 + p0*l0 is just above 1 + 2^-24, halfway between the float32s 1 and
	// 1 + 2^-23; float64 rounds it onto the halfway point, where float32
	// rounding to even would give 1.
	p0, l0 := float32(1+0x1p-12), float32(0x1p-24*(1-0x1p-12+0x1p-24))
	if got := lerpFMA(p0, 1, l0, 1); got != 1+0x1p-23 || fma32(p0, l0, 1) != got {
		t.Errorf("halfway case: lerpFMA %v, fma32 %v, want 1 + 2^-23", got, fma32(p0, l0, 1))
	}
	if naive := float32(float64(p0)*float64(l0) + 1); naive != 1 {
		t.Errorf("the halfway case is not one: float64 sum rounds to %v", naive)
	}
}

func TestRGBAugmentDoesNotAllocate(t *testing.T) {
	a, err := NewC(3, 32, 32, Config{NumOps: 5, Magnitude: 9})
	if err != nil {
		t.Fatal(err)
	}
	z, err := NewResizerC(3, 32, 32)
	if err != nil {
		t.Fatal(err)
	}
	src, dst := testImage(96, 32), make([]uint8, 3*32*32)
	s := a.NewScratch()
	r := NewRand(1)
	if n := testing.AllocsPerRun(1000, func() {
		top, left, ch, cw := CropParams(&r, 32, 32, 0.2)
		z.ResizedCrop(dst, src, top, left, ch, cw, s)
		HFlip(dst, dst, 96, 32)
		a.Augment(dst, dst, &r, s)
	}); n != 0 {
		t.Errorf("an RGB view allocates %v times", n)
	}
}

// BenchmarkAugmentRGB is one goroutine making RandAugment views (num_ops 5,
// magnitude 9) of the 32x32 RGB crop of china.jpg; BenchmarkOpRGB per op.
func BenchmarkAugmentRGB(b *testing.B) {
	_, imgs := loadRGBGolden(b)
	src := imgs["china-32x32"].pix
	a, err := NewC(3, 32, 32, Config{NumOps: 5, Magnitude: 9})
	if err != nil {
		b.Fatal(err)
	}
	dst := make([]uint8, len(src))
	s := a.NewScratch()
	r := NewRand(1)
	b.ReportAllocs()
	for b.Loop() {
		a.Augment(dst, src, &r, s)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "views/s")
}

func BenchmarkOpRGB(b *testing.B) {
	_, imgs := loadRGBGolden(b)
	src := imgs["china-32x32"].pix
	a, err := NewC(3, 32, 32, Config{NumOps: 5, Magnitude: 9})
	if err != nil {
		b.Fatal(err)
	}
	in := make([]uint8, len(src)+1)
	copy(in, src)
	out := make([]uint8, len(src)+1)
	for _, op := range AllOps() {
		b.Run(op.String(), func(b *testing.B) {
			i := 0
			for b.Loop() {
				a.apply(op, i&1, out, in)
				i++
			}
		})
	}
}

// TestAutoContrastUsesTorchsScale checks AutoContrast on 1 and 3 channels
// against torch's scale, float32(1/(max-min))*255, on a range where the
// plain float32(255/(max-min)) (this package's grey scale before RGB came)
// differs from it by one on some values.
func TestAutoContrastUsesTorchsScale(t *testing.T) {
	ranges, values := 0, 0
	lo0, hi0 := -1, -1
	for lo := 0; lo < 256; lo++ {
		for hi := lo + 1; hi < 256; hi++ {
			legacy := float32(255) / float32(hi-lo)
			torch := float32(float32(1)/float32(hi-lo)) * 255
			n := 0
			for x := lo; x <= hi; x++ {
				d := float32(x - lo)
				if uint8(min(float32(d*legacy), 255)) != uint8(min(float32(d*torch), 255)) {
					n++
				}
			}
			if n > 0 {
				ranges++
				values += n
				if lo0 < 0 {
					lo0, hi0 = lo, hi
				}
			}
		}
	}
	t.Logf("grey AutoContrast differs from torchvision by one for %d values in %d of 32640 (min, max) ranges", values, ranges)
	if lo0 < 0 {
		t.Fatal("no range where the scales differ")
	}
	img := make([]uint8, 3*(hi0-lo0+1))
	for i := range img {
		img[i] = uint8(lo0 + i%(hi0-lo0+1))
	}
	a1, err := New(1, len(img), Config{Ops: []Op{AutoContrast}})
	if err != nil {
		t.Fatal(err)
	}
	a3, err := NewC(3, 1, len(img)/3, Config{Ops: []Op{AutoContrast}})
	if err != nil {
		t.Fatal(err)
	}
	grey, rgb := make([]uint8, len(img)), make([]uint8, len(img))
	a1.Apply(grey, img, AutoContrast, false)
	a3.Apply(rgb, img, AutoContrast, false)
	torchScale := float32(float32(1)/float32(hi0-lo0)) * 255
	for i, x := range img {
		d := float32(int(x) - lo0)
		torch := uint8(min(float32(d*torchScale), 255))
		if grey[i] != torch || rgb[i] != torch {
			t.Fatalf("range [%d, %d] value %d: grey %d, RGB %d, want torch's %d", lo0, hi0, x, grey[i], rgb[i], torch)
		}
	}
}

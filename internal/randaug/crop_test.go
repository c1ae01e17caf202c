package randaug

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
)

// cropGolden is testdata/crop_golden.json.gz, written by
// testdata/gen_crop_golden.py with Debian's python3-torchvision.
type cropGolden struct {
	Torchvision string `json:"torchvision"`
	Images      []struct {
		Name          string `json:"name"`
		Height, Width int
		Pixels        string `json:"pixels"`
	} `json:"images"`
	Crops []struct {
		Image                    string `json:"image"`
		Top, Left, Height, Width int
		Output                   string `json:"output"`
	} `json:"crops"`
	Flips []struct {
		Image  string `json:"image"`
		Output string `json:"output"`
	} `json:"flips"`
	Weights []struct {
		N, Size int
		W       string `json:"w"`
	} `json:"weights"`
	Fallback []struct {
		Height, Width, Top, Left, H, W int
	} `json:"fallback"`
	Stats []struct {
		Height, Width int
		ScaleLo       float64 `json:"scale_lo"`
		Draws         int     `json:"draws"`
		MeanArea      float64 `json:"mean_area"`
		StdArea       float64 `json:"std_area"`
		MeanLogRatio  float64 `json:"mean_log_ratio"`
		Whole         float64 `json:"whole"`
	} `json:"stats"`
}

var (
	cropGoldenOnce sync.Once
	cropGoldenData *cropGolden
	cropGoldenErr  error
)

func loadCropGolden(t testing.TB) *cropGolden {
	t.Helper()
	cropGoldenOnce.Do(func() {
		var g cropGolden
		if cropGoldenErr = readGzipJSON("testdata/crop_golden.json.gz", &g); cropGoldenErr == nil {
			cropGoldenData = &g
		}
	})
	if cropGoldenErr != nil {
		t.Fatalf("crop golden vectors: %v (regenerate with /usr/bin/python3 testdata/gen_crop_golden.py)", cropGoldenErr)
	}
	return cropGoldenData
}

func cropGoldenImages(t testing.TB, g *cropGolden) map[string]goldenImage {
	m := map[string]goldenImage{}
	for _, im := range g.Images {
		m[im.Name] = goldenImage{im.Height, im.Width, unb64(t, im.Pixels)}
	}
	return m
}

func mustResizer(t testing.TB, h, w int) *Resizer {
	t.Helper()
	z, err := NewResizer(h, w)
	if err != nil {
		t.Fatal(err)
	}
	return z
}

// TestResizedCropMatchesTorchvision resizes fixed and random boxes of real
// FashionMNIST images (and a 20x32 random one) as F.resized_crop does. The
// brief allowed +-1 for float rounding; none is needed, because ResizedCrop
// repeats torch's own float32/float64 sequence (see Resizer), so every pixel
// must be identical. The test still reports the largest difference and how
// many pixels are off by one, so a regression shows its size.
func TestResizedCropMatchesTorchvision(t *testing.T) {
	g := loadCropGolden(t)
	imgs := cropGoldenImages(t, g)
	resizers := map[[2]int]*Resizer{}
	total, off1, offMore, maxDiff := 0, 0, 0, 0
	for _, c := range g.Crops {
		im := imgs[c.Image]
		z := resizers[[2]int{im.h, im.w}]
		if z == nil {
			z = mustResizer(t, im.h, im.w)
			resizers[[2]int{im.h, im.w}] = z
		}
		got := make([]uint8, im.h*im.w)
		z.ResizedCrop(got, im.pix, c.Top, c.Left, c.Height, c.Width, z.NewScratch())
		want := unb64(t, c.Output)
		n, first := 0, -1
		for i := range want {
			d := int(got[i]) - int(want[i])
			if d < 0 {
				d = -d
			}
			if d > 0 {
				n++
				if first < 0 {
					first = i
				}
			}
			if d == 1 {
				off1++
			} else if d > 1 {
				offMore++
			}
			maxDiff = max(maxDiff, d)
		}
		total += len(want)
		if n > 0 {
			t.Errorf("%s box top %d left %d %dx%d (torchvision %s): %d of %d pixels differ, first at (%d,%d): got %d, want %d",
				c.Image, c.Top, c.Left, c.Height, c.Width, g.Torchvision, n, len(want), first/im.w, first%im.w, got[first], want[first])
		}
	}
	t.Logf("%d boxes, %d pixels: %d differ by 1, %d by more, max |diff| %d", len(g.Crops), total, off1, offMore, maxDiff)
	if len(g.Crops) < 200 {
		t.Errorf("only %d golden boxes: regenerate the vectors", len(g.Crops))
	}
}

// TestResizerTapsMatchTorch compares, for every box length n = 1..size and
// sizes 28, 20 and 32, the bilinear weight matrix the taps make with torch's
// (an identity matrix resized along one axis).
func TestResizerTapsMatchTorch(t *testing.T) {
	g := loadCropGolden(t)
	resizers := map[int]*Resizer{}
	bad := 0
	for _, c := range g.Weights {
		z := resizers[c.Size]
		if z == nil {
			z = mustResizer(t, c.Size, 1) // width 1: row taps with unit stride
			resizers[c.Size] = z
		}
		raw := unb64(t, c.W)
		if len(raw) != 4*c.Size*c.N {
			t.Fatalf("n %d size %d: %d bytes of weights", c.N, c.Size, len(raw))
		}
		got := make([]float64, c.Size*c.N)
		for o, tp := range z.rows[(c.N-1)*c.Size : c.N*c.Size] {
			got[o*c.N+int(tp.i0)] += float64(tp.l0)
			got[o*c.N+int(tp.i1)] += float64(tp.l1)
		}
		for i := range got {
			want := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
			if float32(got[i]) != want {
				bad++
				if bad <= 5 {
					t.Errorf("resize %d -> %d: weight of source %d in output %d is %v, torch %v",
						c.N, c.Size, i%c.N, i/c.N, float32(got[i]), want)
				}
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d weights differ from torch's", bad)
	}
}

// TestResizedCropFastPathIsTorchSequence compares the separable float32 path
// with torch's sequence on every pixel, over random boxes of images made to
// land on rounding boundaries: random noise, 0/255 checkerboards, small
// values, gradients and real FashionMNIST images. It also checks that a
// Scratch made for a smaller size is grown, not overrun.
func TestResizedCropFastPathIsTorchSequence(t *testing.T) {
	g := loadCropGolden(t)
	var imgs [][]uint8
	for _, im := range g.Images {
		if im.Height == 28 && im.Width == 28 {
			imgs = append(imgs, unb64(t, im.Pixels))
		}
	}
	r := NewRand(77)
	noise := testImage(28, 28)
	checker, small, grad := make([]uint8, 784), make([]uint8, 784), make([]uint8, 784)
	for i := range checker {
		y, x := i/28, i%28
		checker[i] = uint8(255 * ((x + y) % 2))
		small[i] = uint8(r.Intn(4))
		grad[i] = uint8(9*x + y)
	}
	imgs = append(imgs, noise, checker, small, grad)
	for _, sz := range [][2]int{{28, 28}, {20, 32}, {9, 5}} {
		h, w := sz[0], sz[1]
		z := mustResizer(t, h, w)
		s := &Scratch{} // grown on first use
		got, want := make([]uint8, h*w), make([]uint8, h*w)
		n := 0
		for k := 0; k < 3000; k++ {
			src := imgs[k%len(imgs)]
			if h*w != 784 {
				src = testImage(h, w)
				if k%2 == 0 {
					for i := range src {
						src[i] = uint8(255 * ((i/w + i%w) % 2))
					}
				}
			}
			ch, cw := 1+r.Intn(h), 1+r.Intn(w)
			top, left := r.Intn(h-ch+1), r.Intn(w-cw+1)
			z.ResizedCrop(got, src, top, left, ch, cw, s)
			z.resizedCropTorch(want, src, top, left, ch, cw)
			if ch == h && cw == w {
				copy(want, src)
			}
			if d, i := diffCount(got, want); d > 0 {
				t.Fatalf("%dx%d box top %d left %d %dx%d: %d pixels differ from torch's sequence, first (%d,%d): %d, want %d",
					h, w, top, left, ch, cw, d, i/w, i%w, got[i], want[i])
			}
			n += h * w
		}
		t.Logf("%dx%d: %d pixels identical", h, w, n)
	}
}

func TestResizedCropFullBoxIsTheImage(t *testing.T) {
	for _, s := range [][2]int{{28, 28}, {20, 32}, {1, 1}, {1, 7}, {5, 1}} {
		z := mustResizer(t, s[0], s[1])
		src := testImage(s[0], s[1])
		got := make([]uint8, len(src))
		z.ResizedCrop(got, src, 0, 0, s[0], s[1], z.NewScratch())
		if !bytes.Equal(got, src) {
			t.Errorf("%dx%d: the full box is not the image", s[0], s[1])
		}
	}
}

// TestResizedCropOfConstantBoxIsConstant: the weights sum to 1 within
// float32 rounding, so a constant box gives the constant back (255 included:
// a sum rounding just above 255 must not wrap).
func TestResizedCropOfConstantBoxIsConstant(t *testing.T) {
	z := mustResizer(t, 28, 28)
	for _, v := range []uint8{0, 1, 128, 254, 255} {
		src := testImage(28, 28)
		const top, left, ch, cw = 3, 9, 11, 13
		for y := top; y < top+ch; y++ {
			for x := left; x < left+cw; x++ {
				src[y*28+x] = v
			}
		}
		got := make([]uint8, 28*28)
		z.ResizedCrop(got, src, top, left, ch, cw, z.NewScratch())
		for i, g := range got {
			if g != v {
				t.Fatalf("constant %d box: pixel (%d,%d) = %d", v, i/28, i%28, g)
			}
		}
	}
}

func TestResizedCropRejectsBoxesOutside(t *testing.T) {
	z := mustResizer(t, 28, 28)
	src, dst := make([]uint8, 784), make([]uint8, 784)
	for _, b := range [][4]int{{-1, 0, 5, 5}, {0, -1, 5, 5}, {0, 0, 0, 5}, {0, 0, 5, 0}, {24, 0, 5, 5}, {0, 24, 5, 5}, {0, 0, 29, 28}} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "outside") {
					t.Errorf("box %v: recovered %v, want a panic about the box", b, r)
				}
			}()
			z.ResizedCrop(dst, src, b[0], b[1], b[2], b[3], z.NewScratch())
		}()
	}
	for _, s := range [][2]int{{0, 28}, {28, 0}, {-1, 5}, {1025, 1}} {
		if _, err := NewResizer(s[0], s[1]); err == nil {
			t.Errorf("NewResizer(%d, %d) did not fail", s[0], s[1])
		}
	}
}

func TestHFlipMatchesTorchvision(t *testing.T) {
	g := loadCropGolden(t)
	imgs := cropGoldenImages(t, g)
	for _, c := range g.Flips {
		im := imgs[c.Image]
		got := make([]uint8, len(im.pix))
		HFlip(got, im.pix, im.h, im.w)
		if n, i := diffCount(got, unb64(t, c.Output)); n > 0 {
			t.Errorf("%s: %d pixels differ from F.hflip, first at (%d,%d)", c.Image, n, i/im.w, i%im.w)
		}
	}
	if len(g.Flips) == 0 {
		t.Error("no golden flips")
	}
}

func TestHFlipTwiceIsIdentity(t *testing.T) {
	sizes := [][2]int{{28, 28}, {20, 32}, {3, 7}, {1, 1}, {4, 1}, {1, 2}}
	for w := 1; w <= 40; w++ {
		sizes = append(sizes, [2]int{3, w}) // every mix of word and byte swaps
	}
	for _, s := range sizes {
		h, w := s[0], s[1]
		src := testImage(h, w)
		once := make([]uint8, h*w)
		HFlip(once, src, h, w)
		for i := range once {
			if y, x := i/w, i%w; once[i] != src[y*w+w-1-x] {
				t.Fatalf("%dx%d: flipped (%d,%d) = %d, want source (%d,%d) = %d", h, w, y, x, once[i], y, w-1-x, src[y*w+w-1-x])
			}
		}
		inPlace := bytes.Clone(src)
		HFlip(inPlace, inPlace, h, w)
		if !bytes.Equal(inPlace, once) {
			t.Fatalf("%dx%d: flipping in place differs from flipping into another slice", h, w)
		}
		twice := bytes.Clone(once)
		HFlip(twice, twice, h, w) // in place
		if !bytes.Equal(twice, src) {
			t.Errorf("%dx%d: flipping twice (the second in place) is not the image", h, w)
		}
		if w > 1 && bytes.Equal(once, src) {
			t.Errorf("%dx%d: flip left a random image unchanged", h, w)
		}
	}
}

// boxPlausible reports whether some real width and height that round to cw
// and ch could have an area in [lo, 1]*h*w and a ratio in [3/4, 4/3]: the
// conditions CropParams draws under, allowing for its rounding.
func boxPlausible(h, w, ch, cw int, lo float64) bool {
	wl, wh := float64(cw)-0.5, float64(cw)+0.5
	hl, hh := float64(ch)-0.5, float64(ch)+0.5
	area := float64(h * w)
	return wh*hh >= lo*area && wl*hl <= area && wh/hl >= CropRatioLo && wl/hh <= CropRatioHi
}

// TestCropParamsDrawsBoxesInsideTheRanges draws many boxes per scale and
// size: all inside the image, each either plausible for the scale and ratio
// ranges or the fallback, and, on 28x28, the mean area fraction, mean log
// ratio and whole-image rate close to torchvision's own get_params over 40,000
// draws of torch's generator (testdata). The tolerances are about 4 standard
// errors of the difference of the two means.
func TestCropParamsDrawsBoxesInsideTheRanges(t *testing.T) {
	g := loadCropGolden(t)
	ref := map[float64]int{}
	for i, s := range g.Stats {
		ref[s.ScaleLo] = i
	}
	const draws = 40000
	for _, c := range []struct {
		h, w int
		lo   float64
	}{
		{28, 28, 0.08}, {28, 28, 0.2}, {28, 28, 0.5}, {28, 28, 0.9}, {28, 28, 1},
		{20, 32, 0.2}, {32, 20, 0.5}, {1, 1, 0.2}, {3, 40, 0.5},
	} {
		name := fmt.Sprintf("%dx%d/scale=%v", c.h, c.w, c.lo)
		r := NewRand(7, uint64(c.h), math.Float64bits(c.lo))
		ft, fl, fh, fw := cropFallback(c.h, c.w)
		sumArea, sumSq, sumLog, whole, fallback, below := 0.0, 0.0, 0.0, 0, 0, 0
		for k := 0; k < draws; k++ {
			top, left, ch, cw := CropParams(&r, c.h, c.w, c.lo)
			if top < 0 || left < 0 || ch < 1 || cw < 1 || top+ch > c.h || left+cw > c.w {
				t.Fatalf("%s: box top %d left %d %dx%d is not inside the image", name, top, left, ch, cw)
			}
			isFallback := top == ft && left == fl && ch == fh && cw == fw
			if !boxPlausible(c.h, c.w, ch, cw, c.lo) && !isFallback {
				t.Fatalf("%s: box %dx%d cannot come from scale (%v, 1) and ratio (3/4, 4/3)", name, ch, cw, c.lo)
			}
			if isFallback {
				fallback++
			}
			a := float64(ch*cw) / float64(c.h*c.w)
			if a < c.lo {
				below++
			}
			sumArea += a
			sumSq += a * a
			sumLog += math.Log(float64(cw) / float64(ch))
			if ch == c.h && cw == c.w {
				whole++
			}
		}
		mean := sumArea / draws
		std := math.Sqrt(sumSq/draws - mean*mean)
		t.Logf("%s: mean area %.4f (std %.4f), mean log ratio %+.4f, whole image %.4f, fallback %.4f, area below scale %.4f",
			name, mean, std, sumLog/draws, float64(whole)/draws, float64(fallback)/draws, float64(below)/draws)
		i, ok := ref[c.lo]
		if c.h != 28 || c.w != 28 || !ok {
			continue
		}
		s := g.Stats[i]
		tolArea := 4 * math.Sqrt(2*s.StdArea*s.StdArea/draws)
		if math.Abs(mean-s.MeanArea) > tolArea {
			t.Errorf("%s: mean area fraction %.4f, torchvision %.4f (tolerance %.4f)", name, mean, s.MeanArea, tolArea)
		}
		if math.Abs(std-s.StdArea) > 0.01 {
			t.Errorf("%s: area fraction std %.4f, torchvision %.4f", name, std, s.StdArea)
		}
		if m := sumLog / draws; math.Abs(m-s.MeanLogRatio) > 0.005 {
			t.Errorf("%s: mean log aspect ratio %+.4f, torchvision %+.4f", name, m, s.MeanLogRatio)
		}
		p := float64(whole) / draws
		if tol := 4*math.Sqrt(2*s.Whole*(1-s.Whole)/draws) + 0.001; math.Abs(p-s.Whole) > tol {
			t.Errorf("%s: whole image in %.4f of draws, torchvision %.4f (tolerance %.4f)", name, p, s.Whole, tol)
		}
	}
	if len(g.Stats) < 4 {
		t.Errorf("only %d torchvision statistics in the golden file", len(g.Stats))
	}
}

// TestCropFallbackMatchesTorchvision forces get_params's fallback (a scale
// range above 1, which no attempt can meet) on several shapes.
func TestCropFallbackMatchesTorchvision(t *testing.T) {
	g := loadCropGolden(t)
	for _, c := range g.Fallback {
		r := NewRand(3)
		top, left, ch, cw := cropParams(&r, c.Height, c.Width, 4, 5)
		if top != c.Top || left != c.Left || ch != c.H || cw != c.W {
			t.Errorf("%dx%d: fallback box top %d left %d %dx%d, torchvision top %d left %d %dx%d",
				c.Height, c.Width, top, left, ch, cw, c.Top, c.Left, c.H, c.W)
		}
	}
	if len(g.Fallback) == 0 {
		t.Error("no golden fallback boxes")
	}
}

func TestCropParamsPanicsOnBadArguments(t *testing.T) {
	for _, c := range []struct {
		h, w int
		lo   float64
	}{{28, 28, 0}, {28, 28, -0.5}, {28, 28, 1.01}, {28, 28, math.NaN()}, {0, 28, 0.5}, {28, -1, 0.5}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("CropParams(%dx%d, scale %v) did not panic", c.h, c.w, c.lo)
				}
			}()
			r := NewRand(1)
			CropParams(&r, c.h, c.w, c.lo)
		}()
	}
}

func TestRandFloat64IsUniform(t *testing.T) {
	r := NewRand(9)
	var bins [10]int
	const n = 100000
	for i := 0; i < n; i++ {
		f := r.Float64()
		if f < 0 || f >= 1 {
			t.Fatalf("Float64 = %v, outside [0, 1)", f)
		}
		bins[int(f*10)]++
	}
	for i, c := range bins {
		if c < n/10*95/100 || c > n/10*105/100 {
			t.Errorf("Float64 in [%.1f, %.1f) %d times of %d, want about %d", float64(i)/10, float64(i+1)/10, c, n, n/10)
		}
	}
}

// BenchmarkCropFlip measures one view's crop and flip: drawing the box,
// resizing it back to 28x28 and mirroring, on a FashionMNIST-like image.
func BenchmarkCropFlip(b *testing.B) {
	z := mustResizer(b, 28, 28)
	src := testImage(28, 28)
	dst := make([]uint8, 784)
	r := NewRand(1)
	s := z.NewScratch()
	b.ReportAllocs()
	for b.Loop() {
		top, left, ch, cw := CropParams(&r, 28, 28, 0.2)
		z.ResizedCrop(dst, src, top, left, ch, cw, s)
		if r.Float64() < 0.5 {
			HFlip(dst, dst, 28, 28)
		}
	}
}

// BenchmarkResizedCrop is the resize alone, for a fixed 15x17 box: the fast
// path, and torch's four-tap sum for every pixel.
func BenchmarkResizedCrop(b *testing.B) {
	z := mustResizer(b, 28, 28)
	src := testImage(28, 28)
	dst := make([]uint8, 784)
	s := z.NewScratch()
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			z.ResizedCrop(dst, src, 5, 4, 15, 17, s)
		}
	})
	b.Run("torch-sequence", func(b *testing.B) {
		for b.Loop() {
			z.resizedCropTorch(dst, src, 5, 4, 15, 17)
		}
	})
}

func BenchmarkHFlip(b *testing.B) {
	img := testImage(28, 28)
	for b.Loop() {
		HFlip(img, img, 28, 28)
	}
}

func BenchmarkCropParams(b *testing.B) {
	r := NewRand(1)
	for b.Loop() {
		CropParams(&r, 28, 28, 0.2)
	}
}

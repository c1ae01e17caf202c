package augment

import (
	"bytes"
	"context"
	"runtime"
	"strings"
	"testing"

	"github.com/siampipe/siampipe/internal/randaug"
)

// syntheticRGB returns n 3 x h x w images with indices 1000+i: a colour
// gradient plus noise, so every channel has its own range.
func syntheticRGB(n, h, w int) *Images {
	r := randaug.NewRand(43)
	im := &Images{Channels: 3, Height: h, Width: w, Index: make([]int64, n), Label: make([]uint8, n), Pixels: make([]uint8, n*3*h*w)}
	for i := range im.Index {
		im.Index[i] = int64(1000 + i)
		im.Label[i] = uint8(i % 10)
		img := im.Pixels[i*3*h*w : (i+1)*3*h*w]
		for c := 0; c < 3; c++ {
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					v := (c+1)*(3*x+2*y) + i + int(r.Uint64()%40)
					img[(c*h+y)*w+x] = uint8(v)
				}
			}
		}
	}
	return im
}

func TestRunRGBSameBytesWhateverTheCoreCount(t *testing.T) {
	for _, sz := range [][2]int{{32, 32}, {24, 40}} {
		im := syntheticRGB(150, sz[0], sz[1])
		for _, base := range []Config{
			{Epochs: 2, Seed: 99, RandAug: randaug.Config{NumOps: 5, Magnitude: 9}},
			{Epochs: 2, Seed: 99, CropScale: 0.2, Flip: true, RandAug: randaug.Config{NumOps: 5, Magnitude: 9}},
		} {
			run := func(procs, workers, chunk int) [32]byte {
				old := runtime.GOMAXPROCS(procs)
				defer runtime.GOMAXPROCS(old)
				rec := &recorder{}
				cfg := base
				cfg.Workers, cfg.ChunkRows = workers, chunk
				if err := Run(context.Background(), im, cfg, rec); err != nil {
					t.Fatal(err)
				}
				if len(rec.sum) != 300 {
					t.Fatalf("%d pairs, want 300", len(rec.sum))
				}
				return rec.h
			}
			ref := run(1, 0, 0)
			for _, c := range []struct{ procs, workers, chunk int }{{2, 0, 0}, {3, 0, 7}, {2, 5, 1}, {1, 1, 150}} {
				if got := run(c.procs, c.workers, c.chunk); got != ref {
					t.Errorf("%dx%d crop %v: GOMAXPROCS %d, %d workers, chunks of %d: output differs from GOMAXPROCS 1",
						sz[0], sz[1], base.CropScale, c.procs, c.workers, c.chunk)
				}
			}
		}
	}
}

// TestRunRGBViewsAreCropFlipThenRandAugment replays every RGB view from its
// own stream with randaug's 3-channel building blocks: one box and one flip
// for all channels, then RandAugment on the CHW image.
func TestRunRGBViewsAreCropFlipThenRandAugment(t *testing.T) {
	const h, w = 24, 40
	const n = 3 * h * w
	im := syntheticRGB(60, h, w)
	rac := randaug.Config{NumOps: 3, Magnitude: 9}
	aug, err := randaug.NewC(3, h, w, rac)
	if err != nil {
		t.Fatal(err)
	}
	z, err := randaug.NewResizerC(3, h, w)
	if err != nil {
		t.Fatal(err)
	}
	s := aug.NewScratch()
	cfg := Config{Epochs: 2, Seed: 31, ChunkRows: 16, CropScale: 0.2, Flip: true, RandAug: rac}
	rec := &recorder{keep: true}
	if err := Run(context.Background(), im, cfg, rec); err != nil {
		t.Fatal(err)
	}
	want, tmp := make([]uint8, n), make([]uint8, n)
	for k, p := range rec.pairs {
		pos := int(p.index - 1000)
		src := im.Pixels[pos*n : (pos+1)*n]
		for v, got := range [][]uint8{p.v1, p.v2} {
			if len(got) != n {
				t.Fatalf("view of %d bytes, want %d", len(got), n)
			}
			r := ViewRand(31, int(p.epoch), p.index, v)
			top, left, ch, cw := randaug.CropParams(&r, h, w, 0.2)
			z.ResizedCrop(tmp, src, top, left, ch, cw, s)
			if r.Float64() < 0.5 {
				randaug.HFlip(tmp, tmp, 3*h, w)
			}
			aug.Augment(want, tmp, &r, s)
			if !bytes.Equal(got, want) {
				t.Fatalf("pair %d (epoch %d, index %d) view %d is not crop, flip, RandAugment of its stream", k, p.epoch, p.index, v+1)
			}
		}
	}
}

// TestRunRGBDrawsWhatGreyDraws: the draws do not depend on the channel
// count. An RGB image of three copies of a grey image, with only ops that
// work per channel or per value, flipped half the time, gives views whose
// every channel is the grey view of the grey image. AutoContrast is left out:
// the grey path keeps a scale that differs from torchvision's by one on some
// values (randaug's TestAutoContrastLegacyScale).
func TestRunRGBDrawsWhatGreyDraws(t *testing.T) {
	const h, w = 20, 28
	grey := synthetic(80, h, w)
	rgb := &Images{Channels: 3, Height: h, Width: w, Index: grey.Index, Label: grey.Label}
	for i := 0; i < grey.Len(); i++ {
		img := grey.Pixels[i*h*w : (i+1)*h*w]
		rgb.Pixels = append(rgb.Pixels, img...)
		rgb.Pixels = append(rgb.Pixels, img...)
		rgb.Pixels = append(rgb.Pixels, img...)
	}
	ops := []randaug.Op{randaug.Identity, randaug.ShearX, randaug.TranslateY, randaug.Rotate, randaug.Brightness,
		randaug.Sharpness, randaug.Posterize, randaug.Solarize, randaug.Equalize}
	cfg := Config{Epochs: 2, Seed: 8, Flip: true, RandAug: randaug.Config{NumOps: 4, Magnitude: 13, Ops: ops}}
	g, c := &recorder{keep: true}, &recorder{keep: true}
	if err := Run(context.Background(), grey, cfg, g); err != nil {
		t.Fatal(err)
	}
	if err := Run(context.Background(), rgb, cfg, c); err != nil {
		t.Fatal(err)
	}
	for k, p := range c.pairs {
		q := g.pairs[k]
		if p.index != q.index || p.epoch != q.epoch {
			t.Fatalf("pair %d: RGB image %d epoch %d, grey image %d epoch %d", k, p.index, p.epoch, q.index, q.epoch)
		}
		for v, views := range [][2][]uint8{{p.v1, q.v1}, {p.v2, q.v2}} {
			for ch := 0; ch < 3; ch++ {
				if !bytes.Equal(views[0][ch*h*w:(ch+1)*h*w], views[1]) {
					t.Fatalf("pair %d view %d: channel %d is not the grey view", k, v+1, ch)
				}
			}
		}
	}
}

// TestRunChannelsOneIsGrey: Channels 1 is the same as the zero value.
func TestRunChannelsOneIsGrey(t *testing.T) {
	im := synthetic(100, 28, 28)
	cfg := Config{Epochs: 2, Seed: 2024, CropScale: 0.3, Flip: true, RandAug: randaug.Config{NumOps: 5, Magnitude: 9}}
	a, b := &recorder{}, &recorder{}
	if err := Run(context.Background(), im, cfg, a); err != nil {
		t.Fatal(err)
	}
	one := *im
	one.Channels = 1
	if err := Run(context.Background(), &one, cfg, b); err != nil {
		t.Fatal(err)
	}
	if a.h != b.h {
		t.Error("Channels 1 gives another stream than Channels 0")
	}
}

func TestRunRejectsBadChannels(t *testing.T) {
	good := syntheticRGB(4, 8, 8)
	for _, c := range []struct {
		name string
		im   *Images
		want string
	}{
		{"2 channels", &Images{Channels: 2, Height: 8, Width: 8, Index: good.Index, Label: good.Label, Pixels: good.Pixels[:4*2*64]}, "channels"},
		{"4 channels", &Images{Channels: 4, Height: 8, Width: 8, Index: good.Index, Label: good.Label, Pixels: good.Pixels}, "channels"},
		{"RGB pixels as grey", &Images{Height: 8, Width: 8, Index: good.Index, Label: good.Label, Pixels: good.Pixels}, "mixed sizes"},
		{"short RGB", &Images{Channels: 3, Height: 8, Width: 8, Index: good.Index, Label: good.Label, Pixels: good.Pixels[:4*64]}, "3x8x8"},
	} {
		err := Run(context.Background(), c.im, Config{}, &recorder{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Run returned %v, want an error mentioning %q", c.name, err, c.want)
		}
	}
}

// BenchmarkViewRGB makes one 32x32 RGB view at a time on one goroutine
// (synthetic images, num_ops 5, magnitude 9), without and with crop and flip,
// as BenchmarkView does for grey 28x28 images.
func BenchmarkViewRGB(b *testing.B) {
	const h, w = 32, 32
	const n = 3 * h * w
	im := syntheticRGB(256, h, w)
	for _, c := range []struct {
		name string
		cfg  Config
	}{
		{"randaugment", Config{}},
		{"crop+flip+randaugment", Config{CropScale: 0.2, Flip: true}},
		{"crop+flip", Config{CropScale: 0.2, Flip: true, RandAug: randaug.Config{NumOps: 1, Ops: []randaug.Op{randaug.Identity}}}},
	} {
		b.Run(c.name, func(b *testing.B) {
			cfg := c.cfg
			if cfg.RandAug.NumOps == 0 {
				cfg.RandAug = randaug.Config{NumOps: 5, Magnitude: 9}
			}
			v, err := newViewerC(3, h, w, cfg)
			if err != nil {
				b.Fatal(err)
			}
			s := v.aug.NewScratch()
			dst := make([]uint8, n)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				pos := i % im.Len()
				r := ViewRand(1, 0, int64(i), 0)
				v.view(dst, im.Pixels[pos*n:(pos+1)*n], &r, s)
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "views/s")
		})
	}
}

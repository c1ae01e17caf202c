package augment

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/siampipe/siampipe/internal/randaug"
	"github.com/siampipe/siampipe/internal/shard"
)

const fmnistDir = "/usr/share/datasets/fashion-mnist/"

// readIDX reads the first n images and labels of a FashionMNIST split
// (IDX, gzip); it skips the test when the Debian package is not installed.
func readIDX(t testing.TB, split string, n int) *Images {
	t.Helper()
	read := func(name string) []byte {
		f, err := os.Open(fmnistDir + name)
		if errors.Is(err, os.ErrNotExist) {
			t.Skipf("%s not installed (apt-get install dataset-fashion-mnist)", fmnistDir+name)
		}
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	img := read(split + "-images-idx3-ubyte.gz")
	lab := read(split + "-labels-idx1-ubyte.gz")
	if binary.BigEndian.Uint32(img) != 0x803 || binary.BigEndian.Uint32(lab) != 0x801 {
		t.Fatal("bad IDX magic")
	}
	count := int(binary.BigEndian.Uint32(img[4:]))
	h, w := int(binary.BigEndian.Uint32(img[8:])), int(binary.BigEndian.Uint32(img[12:]))
	n = min(n, count)
	im := &Images{Height: h, Width: w, Index: make([]int64, n), Label: lab[8 : 8+n], Pixels: img[16 : 16+n*h*w]}
	for i := range im.Index {
		im.Index[i] = int64(i)
	}
	return im
}

// synthetic returns n random h x w images with indices 1000+i.
func synthetic(n, h, w int) *Images {
	r := randaug.NewRand(42)
	im := &Images{Height: h, Width: w, Index: make([]int64, n), Label: make([]uint8, n), Pixels: make([]uint8, n*h*w)}
	for i := range im.Index {
		im.Index[i] = int64(1000 + i)
		im.Label[i] = uint8(i % 10)
	}
	for i := range im.Pixels {
		im.Pixels[i] = uint8(r.Uint64())
	}
	return im
}

type pair struct {
	index  int64
	label  uint8
	epoch  int32
	v1, v2 []uint8
}

// recorder keeps every pair and a digest of the whole stream.
type recorder struct {
	pairs []pair
	keep  bool
	h     [32]byte
	sum   []byte
	fail  int // return errStop at this pair (0: never)
}

var errStop = errors.New("sink full")

func (r *recorder) Append(index int64, label uint8, epoch int32, v1, v2 []uint8) error {
	if r.fail > 0 && len(r.sum) == r.fail {
		return errStop
	}
	d := sha256.New()
	d.Write(r.h[:])
	fmt.Fprint(d, index, label, epoch)
	d.Write(v1)
	d.Write(v2)
	copy(r.h[:], d.Sum(nil))
	r.sum = append(r.sum, 0)
	if r.keep {
		r.pairs = append(r.pairs, pair{index, label, epoch, bytes.Clone(v1), bytes.Clone(v2)})
	}
	return nil
}

func TestOrderIsAPermutationFreshEachEpoch(t *testing.T) {
	for _, n := range []int{1, 2, 3, 10, 1000, 60000} {
		prev := []int32(nil)
		for epoch := 0; epoch < 3; epoch++ {
			p := Order(n, 7, epoch)
			seen := make([]bool, n)
			for _, v := range p {
				if v < 0 || int(v) >= n || seen[v] {
					t.Fatalf("n=%d epoch %d: %d repeated or out of range", n, epoch, v)
				}
				seen[v] = true
			}
			if n >= 10 && prev != nil && fmt.Sprint(prev) == fmt.Sprint(p) {
				t.Errorf("n=%d: epoch %d has the same order as epoch %d", n, epoch, epoch-1)
			}
			if q := Order(n, 7, epoch); fmt.Sprint(q) != fmt.Sprint(p) {
				t.Errorf("n=%d epoch %d: order not reproducible", n, epoch)
			}
			prev = p
		}
	}
	if fmt.Sprint(Order(100, 1, 0)) == fmt.Sprint(Order(100, 2, 0)) {
		t.Error("seeds 1 and 2 give the same order")
	}
}

func TestOrderShufflesUniformly(t *testing.T) {
	// Position of element 0 over many seeds: roughly uniform over n slots.
	const n, trials = 8, 40000
	var count [n]int
	for s := 0; s < trials; s++ {
		p := Order(n, uint64(s), 0)
		for i, v := range p {
			if v == 0 {
				count[i]++
			}
		}
	}
	for i, c := range count {
		if c < trials/n*9/10 || c > trials/n*11/10 {
			t.Errorf("element 0 at position %d in %d of %d shuffles, want about %d", i, c, trials, trials/n)
		}
	}
}

func TestRunEmitsEveryImageOncePerEpochWithItsViews(t *testing.T) {
	im := synthetic(300, 28, 28)
	cfg := Config{Epochs: 3, Seed: 5, ChunkRows: 64, RandAug: randaug.Config{NumOps: 5, Magnitude: 9}}
	rec := &recorder{keep: true}
	if err := Run(context.Background(), im, cfg, rec); err != nil {
		t.Fatal(err)
	}
	if len(rec.pairs) != 3*300 {
		t.Fatalf("%d pairs, want %d", len(rec.pairs), 900)
	}
	aug, err := randaug.New(28, 28, cfg.RandAug)
	if err != nil {
		t.Fatal(err)
	}
	s := aug.NewScratch()
	want := make([]uint8, 784)
	for e := 0; e < 3; e++ {
		order := Order(300, 5, e)
		for k, pos := range order {
			p := rec.pairs[e*300+k]
			if p.epoch != int32(e) || p.index != im.Index[pos] || p.label != im.Label[pos] {
				t.Fatalf("pair %d of epoch %d is (epoch %d, index %d, label %d), want image %d of the shuffle",
					k, e, p.epoch, p.index, p.label, im.Index[pos])
			}
			src := im.Pixels[int(pos)*784 : int(pos+1)*784]
			for v, got := range [][]uint8{p.v1, p.v2} {
				r := ViewRand(5, e, p.index, v)
				aug.Augment(want, src, &r, s)
				if !bytes.Equal(got, want) {
					t.Fatalf("epoch %d index %d view %d differs from its own random stream", e, p.index, v+1)
				}
			}
		}
	}
	// The two views differ, and so do the views of one image across epochs
	// (with 5 ops of 14 per view, equal views are rare).
	same, sameEpochs := 0, 0
	first := map[int64][]uint8{}
	for _, p := range rec.pairs {
		if bytes.Equal(p.v1, p.v2) {
			same++
		}
		if p.epoch == 0 {
			first[p.index] = p.v1
		} else if bytes.Equal(first[p.index], p.v1) {
			sameEpochs++
		}
	}
	if same > 30 || sameEpochs > 60 {
		t.Errorf("%d of 900 pairs have equal views, %d views repeat across epochs: views not independent", same, sameEpochs)
	}
}

func TestRunSameBytesWhateverTheCoreCount(t *testing.T) {
	im := synthetic(500, 28, 28)
	for _, base := range []struct {
		name string
		cfg  Config
	}{
		{"randaugment", Config{Epochs: 2, Seed: 99}},
		{"crop+flip+randaugment", Config{Epochs: 2, Seed: 99, CropScale: 0.2, Flip: true}},
		{"crop only", Config{Epochs: 2, Seed: 99, CropScale: 0.5, RandAug: randaug.Config{NumOps: 1, Ops: []randaug.Op{randaug.Identity}}}},
	} {
		run := func(procs, workers, chunk int) [32]byte {
			old := runtime.GOMAXPROCS(procs)
			defer runtime.GOMAXPROCS(old)
			rec := &recorder{}
			cfg := base.cfg
			cfg.Workers, cfg.ChunkRows = workers, chunk
			if err := Run(context.Background(), im, cfg, rec); err != nil {
				t.Fatal(err)
			}
			if len(rec.sum) != 1000 {
				t.Fatalf("%d pairs, want 1000", len(rec.sum))
			}
			return rec.h
		}
		ref := run(1, 0, 0)
		for _, c := range []struct{ procs, workers, chunk int }{{2, 0, 0}, {4, 0, 0}, {8, 0, 7}, {3, 5, 1}, {1, 1, 500}} {
			if got := run(c.procs, c.workers, c.chunk); got != ref {
				t.Errorf("%s: GOMAXPROCS %d, %d workers, chunks of %d: output differs from GOMAXPROCS 1", base.name, c.procs, c.workers, c.chunk)
			}
		}
		rec := &recorder{}
		cfg := base.cfg
		cfg.Seed = 100
		if err := Run(context.Background(), im, cfg, rec); err != nil {
			t.Fatal(err)
		}
		if rec.h == ref {
			t.Errorf("%s: seed 100 gives the same stream as seed 99", base.name)
		}
	}
}

// TestRunWithoutCropOrFlipIsUnchanged pins the digest of a stream made before
// crop and flip existed: with CropScale 0 and Flip false the views draw and
// compute exactly what they did then, but for AutoContrast's scale, which
// now rounds as torch does (randaug's TestAutoContrastUsesTorchsScale; the
// digest was 17609ae7... before).
func TestRunWithoutCropOrFlipIsUnchanged(t *testing.T) {
	im := synthetic(300, 28, 28)
	rec := &recorder{}
	cfg := Config{Epochs: 2, Seed: 2024, ChunkRows: 50, RandAug: randaug.Config{NumOps: 5, Magnitude: 9}}
	if err := Run(context.Background(), im, cfg, rec); err != nil {
		t.Fatal(err)
	}
	const want = "6f8119b7341bcac8916c1160a3fa859577bcf82b85be0302eb7b7d26363123df"
	if got := fmt.Sprintf("%x", rec.h); got != want || len(rec.sum) != 600 {
		t.Errorf("%d pairs with digest %s, want 600 with %s (the stream before crop and flip)", len(rec.sum), got, want)
	}
	cfg.CropScale, cfg.Flip = 0.2, true
	rec2 := &recorder{}
	if err := Run(context.Background(), im, cfg, rec2); err != nil {
		t.Fatal(err)
	}
	if rec2.h == rec.h {
		t.Error("crop and flip on give the same stream as off")
	}
}

// TestRunViewsAreCropFlipThenRandAugment replays every view of a run from its
// own stream with randaug's building blocks, in the order torchvision's
// Compose([RandomResizedCrop, RandomHorizontalFlip, RandAugment]) draws:
// the box, then the flip, then RandAugment's ops.
func TestRunViewsAreCropFlipThenRandAugment(t *testing.T) {
	im := synthetic(120, 28, 28)
	rac := randaug.Config{NumOps: 2, Magnitude: 9}
	aug, err := randaug.New(28, 28, rac)
	if err != nil {
		t.Fatal(err)
	}
	z, err := randaug.NewResizer(28, 28)
	if err != nil {
		t.Fatal(err)
	}
	s := aug.NewScratch()
	for _, c := range []struct {
		scale float64
		flip  bool
	}{{0.2, true}, {0.08, false}, {1, true}, {0, true}} {
		cfg := Config{Epochs: 2, Seed: 31, ChunkRows: 16, CropScale: c.scale, Flip: c.flip, RandAug: rac}
		rec := &recorder{keep: true}
		if err := Run(context.Background(), im, cfg, rec); err != nil {
			t.Fatal(err)
		}
		want, tmp := make([]uint8, 784), make([]uint8, 784)
		flips, crops := 0, 0
		for k, p := range rec.pairs {
			pos := int(p.index - 1000)
			src := im.Pixels[pos*784 : (pos+1)*784]
			for v, got := range [][]uint8{p.v1, p.v2} {
				r := ViewRand(31, int(p.epoch), p.index, v)
				cur := src
				if c.scale > 0 {
					top, left, ch, cw := randaug.CropParams(&r, 28, 28, c.scale)
					z.ResizedCrop(tmp, src, top, left, ch, cw, s)
					cur = tmp
					if ch*cw < 784 {
						crops++
					}
				}
				if c.flip && r.Float64() < 0.5 {
					randaug.HFlip(tmp, cur, 28, 28)
					cur = tmp
					flips++
				}
				aug.Augment(want, cur, &r, s)
				if !bytes.Equal(got, want) {
					t.Fatalf("scale %v flip %v: pair %d (epoch %d, index %d) view %d is not crop, flip, RandAugment of its stream",
						c.scale, c.flip, k, p.epoch, p.index, v+1)
				}
			}
		}
		t.Logf("scale %v flip %v: %d of %d views cropped to less than the image, %d flipped", c.scale, c.flip, crops, 2*len(rec.pairs), flips)
		if c.flip && (flips < len(rec.pairs)*8/10 || flips > len(rec.pairs)*12/10) {
			t.Errorf("scale %v: %d of %d views flipped, want about half", c.scale, flips, 2*len(rec.pairs))
		}
		if c.scale > 0 && c.scale < 1 && crops < len(rec.pairs) {
			t.Errorf("scale %v: only %d of %d views cropped", c.scale, crops, 2*len(rec.pairs))
		}
	}
}

// TestFlipHappensHalfTheTime makes views with RandAugment reduced to Identity,
// so a view is either its image or the image mirrored.
func TestFlipHappensHalfTheTime(t *testing.T) {
	im := synthetic(1, 28, 28)
	v, err := newViewer(28, 28, Config{Flip: true, RandAug: randaug.Config{NumOps: 1, Ops: []randaug.Op{randaug.Identity}}})
	if err != nil {
		t.Fatal(err)
	}
	mirrored := make([]uint8, 784)
	randaug.HFlip(mirrored, im.Pixels, 28, 28)
	s := v.aug.NewScratch()
	got := make([]uint8, 784)
	const n = 20000
	flips := 0
	for i := 0; i < n; i++ {
		r := ViewRand(5, 0, int64(i), i%2)
		v.view(got, im.Pixels, &r, s)
		switch {
		case bytes.Equal(got, mirrored):
			flips++
		case !bytes.Equal(got, im.Pixels):
			t.Fatalf("view %d is neither the image nor its mirror", i)
		}
	}
	// 4 standard deviations of a binomial(20000, 1/2) fraction: 0.014.
	if p := float64(flips) / n; p < 0.486 || p > 0.514 {
		t.Errorf("%d of %d views flipped (%.4f), want about half", flips, n, p)
	}
}

func TestRunStopsPromptlyOnSinkError(t *testing.T) {
	im := synthetic(2000, 28, 28)
	before := runtime.NumGoroutine()
	rec := &recorder{fail: 700}
	start := time.Now()
	err := Run(context.Background(), im, Config{Epochs: 1000}, rec)
	if !errors.Is(err, errStop) {
		t.Fatalf("Run returned %v, want the sink's error", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Run took %v to stop after the sink failed", d)
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines left running after Run returned (had %d)", n, before)
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	im := synthetic(200, 28, 28)
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	sink := sinkFunc(func() error {
		if n++; n == 50 {
			cancel()
		}
		return nil
	})
	err := Run(ctx, im, Config{Epochs: 1000000}, sink)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v, want context.Canceled", err)
	}
}

// The shards of a run, each epoch's rows one shard after another, are the
// whole run's pairs, views included, whatever the number of shards.
func TestShardsInterleavedByEpochAreTheWholeRun(t *testing.T) {
	im := synthetic(37, 12, 10)
	cfg := Config{Epochs: 3, Seed: 5, ChunkRows: 8, CropScale: 0.3, Flip: true}
	whole := &recorder{keep: true}
	if err := Run(context.Background(), im, cfg, whole); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 2, 3, 7, 37} {
		parts := make([]*recorder, n)
		for i := range parts {
			c := cfg
			c.Shard, c.Workers = shard.Shard{I: i, N: n}, 1+i%2
			parts[i] = &recorder{keep: true}
			if err := Run(context.Background(), im, c, parts[i]); err != nil {
				t.Fatal(err)
			}
		}
		var joined []pair
		for e := range cfg.Epochs {
			for i, p := range parts {
				lo, hi := shard.Shard{I: i, N: n}.Range(int64(im.Len()))
				per := int(hi - lo)
				if len(p.pairs) != cfg.Epochs*per {
					t.Fatalf("%d shards: shard %d has %d pairs, want %d", n, i, len(p.pairs), cfg.Epochs*per)
				}
				joined = append(joined, p.pairs[e*per:(e+1)*per]...)
			}
		}
		if len(joined) != len(whole.pairs) {
			t.Fatalf("%d shards: %d pairs, the whole has %d", n, len(joined), len(whole.pairs))
		}
		for k, p := range joined {
			w := whole.pairs[k]
			if p.index != w.index || p.label != w.label || p.epoch != w.epoch || !bytes.Equal(p.v1, w.v1) || !bytes.Equal(p.v2, w.v2) {
				t.Fatalf("%d shards: pair %d is image %d of epoch %d, the whole's image %d of epoch %d (or other views)", n, k, p.index, p.epoch, w.index, w.epoch)
			}
		}
	}
}

type sinkFunc func() error

func (f sinkFunc) Append(int64, uint8, int32, []uint8, []uint8) error { return f() }

func TestRunRejectsBadInput(t *testing.T) {
	good := synthetic(4, 28, 28)
	for _, c := range []struct {
		name string
		im   *Images
		cfg  Config
		want string
	}{
		{"empty", &Images{Height: 28, Width: 28}, Config{}, "no images"},
		{"mixed sizes", &Images{Height: 28, Width: 28, Index: good.Index, Label: good.Label, Pixels: good.Pixels[:3*784+100]}, Config{}, "mixed sizes"},
		{"labels", &Images{Height: 28, Width: 28, Index: good.Index, Label: good.Label[:2], Pixels: good.Pixels}, Config{}, "labels"},
		{"zero size", &Images{Index: good.Index, Label: good.Label}, Config{}, "not positive"},
		{"negative epochs", good, Config{Epochs: -1}, "epochs"},
		{"magnitude", good, Config{RandAug: randaug.Config{Magnitude: 31}}, "magnitude"},
		{"negative crop scale", good, Config{CropScale: -0.2}, "crop scale"},
		{"crop scale above 1", good, Config{CropScale: 1.5}, "crop scale"},
		{"NaN crop scale", good, Config{CropScale: math.NaN()}, "crop scale"},
		{"shard index", good, Config{Shard: shard.Shard{I: 3, N: 3}}, "shard 3/3"},
		{"shard count", good, Config{Shard: shard.Shard{I: 0, N: -1}}, "shard 0/-1"},
	} {
		err := Run(context.Background(), c.im, c.cfg, &recorder{})
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte(c.want)) {
			t.Errorf("%s: Run returned %v, want an error mentioning %q", c.name, err, c.want)
		}
	}
}

// BenchmarkAugment measures pairs of views of real FashionMNIST training
// images (num_ops 5, magnitude 9), all cores, into a sink that drops them.
// It reports views/s (two per pair); bench/augment.sh sets it beside
// torchvision's RandAugment.
func BenchmarkAugment(b *testing.B) {
	im := readIDX(b, "train", 10000)
	cfg := Config{Seed: 1, RandAug: randaug.Config{NumOps: 5, Magnitude: 9}}
	rows := 0
	sink := sinkFunc(func() error { rows++; return nil })
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cfg.Seed = uint64(i)
		if err := Run(context.Background(), im, cfg, sink); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(2*rows)/b.Elapsed().Seconds(), "views/s")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkView makes one view at a time on one goroutine (synthetic 28x28
// images, num_ops 5, magnitude 9), without and with crop and flip; the
// difference of the two is what crop and flip add per view.
func BenchmarkView(b *testing.B) {
	im := synthetic(256, 28, 28)
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
			v, err := newViewer(28, 28, cfg)
			if err != nil {
				b.Fatal(err)
			}
			s := v.aug.NewScratch()
			dst := make([]uint8, 784)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				pos := i % im.Len()
				r := ViewRand(1, 0, int64(i), 0)
				v.view(dst, im.Pixels[pos*784:(pos+1)*784], &r, s)
				i++
			}
		})
	}
}

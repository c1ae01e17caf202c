package infer

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/siampipe/siampipe/internal/arch"
	"github.com/siampipe/siampipe/internal/contract"
	"github.com/siampipe/siampipe/internal/cpufeat"
	"github.com/siampipe/siampipe/internal/cpufeat/cpufeattest"
)

// TestKernelsComputeTheirContract holds each assembly micro-kernel to the
// plain Go definition on random tiles, for inner sizes around the unrolling
// and epilogues with and without ReLU; and checks that each SIMD level picks
// its kernel, the generic one (the fallback, forced) none: BLAS.
func TestKernelsComputeTheirContract(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, level := range cpufeattest.Kernels(t, cpufeat.AVX512, cpufeat.AVX2) {
		t.Run(level.String(), func(t *testing.T) {
			cpufeattest.Use(t, level)
			ks := kernels()
			var names []string
			for _, k := range ks {
				names = append(names, k.name)
			}
			wantEngine := "blas32"
			if level > cpufeat.Generic {
				if len(ks) == 0 || ks[0].name != level.String() {
					t.Fatalf("kernels %v, want %s first", names, level)
				}
				if !preferBLAS {
					wantEngine = level.String()
				}
			} else if len(ks) != 0 {
				t.Fatalf("kernels %v at the generic level", names)
			}
			if got := defaultEngine().name(); got != wantEngine {
				t.Errorf("engine %s, want %s", got, wantEngine)
			}
			if len(ks) == 0 {
				return
			}
			k := ks[0]
			ref := refKernel(k.mr, k.nr)
			for _, kk := range []int{1, 2, 9, 31, 288} {
				for _, relu := range []bool{false, true} {
					lda, ldc := kk+3, k.nr+5
					a := randSlice(r, (k.mr-1)*lda+kk)
					b := randSlice(r, kk*k.nr)
					ep := randSlice(r, 5*k.nr)
					for j := range k.nr {
						ep[2*k.nr+j] = float32(math.Inf(-1))
						if relu {
							ep[2*k.nr+j] = 0
						}
					}
					got := randSlice(r, (k.mr-1)*ldc+k.nr)
					want := slices.Clone(got)
					k.fn(kk, &a[0], lda, &b[0], &ep[0], &got[0], ldc)
					ref.fn(kk, &a[0], lda, &b[0], &ep[0], &want[0], ldc)
					for i := range got {
						if d := math.Abs(float64(got[i] - want[i])); d > 1e-5*(1+math.Abs(float64(want[i]))) || got[i] != got[i] {
							t.Fatalf("k%d relu %v: C[%d] = %v, want %v", kk, relu, i, got[i], want[i])
						}
					}
				}
			}
		})
	}
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = 2*r.Float32() - 1
	}
	return s
}

// TestForwardIsTheSameBytesWhateverTheBatch checks that an image's features
// do not depend on the batch it is computed in, bit for bit.
func TestForwardIsTheSameBytesWhateverTheBatch(t *testing.T) {
	const n = 29
	px := randomImages(n, 28*28, 5)
	for _, an := range arch.Names() {
		ts := randomCheckpoint(an, 2)
		for _, eng := range engines() {
			t.Run(an+"/"+eng.name(), func(t *testing.T) {
				m, err := newModel(an, ts, 28, 28, Predictor, eng)
				if err != nil {
					t.Fatal(err)
				}
				sameAloneAsInBatch(t, m, px, n)
			})
		}
	}
}

// TestNewRefusesBrokenCheckpoints names the problem for each kind of
// broken checkpoint or request.
func TestNewRefusesBrokenCheckpoints(t *testing.T) {
	edit := func(f func([]contract.Tensor) []contract.Tensor) []contract.Tensor {
		ts := randomCheckpoint(arch.Seed, 3)
		for i := range ts {
			ts[i].Values = slices.Clone(ts[i].Values)
		}
		return f(ts)
	}
	drop := func(name string) []contract.Tensor {
		return edit(func(ts []contract.Tensor) []contract.Tensor {
			return slices.DeleteFunc(ts, func(t contract.Tensor) bool { return t.Name == name })
		})
	}
	set := func(name string, f func(*contract.Tensor)) []contract.Tensor {
		return edit(func(ts []contract.Tensor) []contract.Tensor {
			for i := range ts {
				if ts[i].Name == name {
					f(&ts[i])
				}
			}
			return ts
		})
	}
	for _, c := range []struct {
		name          string
		arch, layer   string
		ts            []contract.Tensor
		height, width int
		is            error
		want          string
	}{
		{"missing conv bias", arch.Seed, "", drop("backbone.conv2.bias"), 28, 28, ErrMissingTensor, "backbone.conv2.bias"},
		{"missing running variance", arch.Seed, "", drop("backbone.bn3.running_var"), 28, 28, ErrMissingTensor, "backbone.bn3.running_var"},
		{"BN weight without bias", arch.Seed, "", drop("predictor.bn1.bias"), 28, 28, ErrMissingTensor, "predictor.bn1.bias"},
		{"missing predictor", arch.Seed, Backbone, drop("predictor.fc1.weight"), 28, 28, ErrMissingTensor, "predictor.fc1.weight"},
		{"simsiam without projector", arch.SimSiam, "", randomCheckpoint(arch.Seed, 3), 28, 28, ErrMissingTensor, "projector.fc1.weight"},
		{"conv channels that do not chain", arch.Seed, "", set("backbone.conv2.weight", func(t *contract.Tensor) {
			t.Shape = []int{64, 16, 3, 3}
			t.Values = t.Values[:64*16*9]
		}), 28, 28, ErrShape, "[64 16 3 3]"},
		{"5x5 kernel", arch.Seed, "", set("backbone.conv1.weight", func(t *contract.Tensor) { t.Shape = []int{32, 1, 1, 9} }), 28, 28, ErrShape, "[Cout 1 3 3]"},
		{"BN of the wrong width", arch.Seed, "", set("backbone.bn1.running_mean", func(t *contract.Tensor) {
			t.Shape = []int{31}
			t.Values = t.Values[:31]
		}), 28, 28, ErrShape, "backbone.bn1.running_mean has shape [31], expected [32]"},
		{"fewer values than the shape", arch.Seed, "", set("predictor.fc2.bias", func(t *contract.Tensor) { t.Values = t.Values[:10] }), 28, 28, ErrShape, "truncated"},
		{"fc widths that do not chain", arch.Seed, "", set("predictor.fc2.weight", func(t *contract.Tensor) {
			t.Shape = []int{4096, 32}
		}), 28, 28, ErrShape, "predictor.fc2.weight has shape [4096 32]"},
		{"images of another size", arch.Seed, "", randomCheckpoint(arch.Seed, 3), 14, 14, ErrImageSize, "14x14"},
		{"BatchNorm after the last predictor fc", arch.Seed, "", edit(func(ts []contract.Tensor) []contract.Tensor {
			return append(ts, contract.Tensor{Name: "predictor.bn2.running_mean", Shape: []int{2048}, Values: make([]float32, 2048)})
		}), 28, 28, ErrShape, "predictor.bn2"},
		{"projector of a seed model", arch.Seed, Projector, randomCheckpoint(arch.Seed, 3), 28, 28, ErrLayer, "no projector"},
		{"unknown layer", arch.Seed, "head", randomCheckpoint(arch.Seed, 3), 28, 28, ErrLayer, `"head"`},
		{"unknown arch", "byol", "", randomCheckpoint(arch.Seed, 3), 28, 28, nil, `"byol"`},
		{"NaN weight", arch.Seed, "", set("backbone.conv3.weight", func(t *contract.Tensor) { t.Values[7] = float32(math.NaN()) }), 28, 28, nil, "diverged"},
		{"two tensors of one name", arch.Seed, "", edit(func(ts []contract.Tensor) []contract.Tensor { return append(ts, ts[0]) }), 28, 28, ErrShape, "two tensors called backbone.conv1.weight"},
		{"negative variance", arch.Seed, "", set("backbone.bn2.running_var", func(t *contract.Tensor) { t.Values[0] = -1 }), 28, 28, nil, "negative variance"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(c.arch, c.ts, c.height, c.width, c.layer)
			if err == nil {
				t.Fatal("no error")
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("error %q is not %v", err, c.is)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not mention %q", err, c.want)
			}
		})
	}
}

// TestNewTellsTheArchFromTheTensors checks the arch "" rule and the
// output widths of each layer.
func TestNewTellsTheArchFromTheTensors(t *testing.T) {
	for _, c := range []struct {
		ckpt, layer string
		arch        string
		dim         int
	}{
		{arch.Seed, Backbone, arch.Seed, 2048},
		{arch.Seed, Predictor, arch.Seed, 2048},
		{arch.SimSiam, "", arch.SimSiam, 2048},
		{arch.SimSiam, Projector, arch.SimSiam, 512},
		{arch.SimSiam, Predictor, arch.SimSiam, 512},
	} {
		m, err := New("", randomCheckpoint(c.ckpt, 4), 28, 28, c.layer)
		if err != nil {
			t.Fatal(err)
		}
		if m.Arch() != c.arch || m.Dim() != c.dim {
			t.Errorf("%s checkpoint, layer %q: arch %s dim %d, want %s %d", c.ckpt, c.layer, m.Arch(), m.Dim(), c.arch, c.dim)
		}
	}
}

// TestRunKeepsInputOrder feeds numbered batches of varying size through
// several workers and checks each comes back in order with its own
// features, with no more than 2*workers+2 batches in flight.
func TestRunKeepsInputOrder(t *testing.T) {
	ts := randomCheckpoint(arch.Seed, 5)
	m, err := New(arch.Seed, ts, 28, 28, Backbone)
	if err != nil {
		t.Fatal(err)
	}
	px := randomImages(40, 784, 9)
	want := make([]float32, 40*m.Dim())
	m.NewWorker().Forward(px, 40, want)
	for _, workers := range []int{1, 3} {
		next, emitted := 0, 0
		var inFlight, most atomic.Int64
		fill := func(b *Batch) (bool, error) {
			if next == 40 {
				return false, nil
			}
			if n := inFlight.Add(1); n > most.Load() {
				most.Store(n)
			}
			n := min(1+next%4, 40-next)
			for i := next; i < next+n; i++ {
				b.Index = append(b.Index, int64(i))
				b.Label = append(b.Label, uint8(i%10))
			}
			b.Pixels = append(b.Pixels, px[next*784:(next+n)*784]...)
			b.N, next = n, next+n
			return true, nil
		}
		emit := func(b *Batch) error {
			for i := range b.N {
				if b.Index[i] != int64(emitted) || b.Label[i] != uint8(emitted%10) {
					return fmt.Errorf("got image %d, want %d", b.Index[i], emitted)
				}
				if !slices.Equal(b.Out[i*m.Dim():(i+1)*m.Dim()], want[emitted*m.Dim():(emitted+1)*m.Dim()]) {
					return fmt.Errorf("image %d: features differ from a single forward pass", emitted)
				}
				emitted++
			}
			inFlight.Add(-1)
			return nil
		}
		if err := m.Run(context.Background(), workers, fill, emit); err != nil {
			t.Fatalf("%d workers: %v", workers, err)
		}
		if most.Load() > int64(2*workers+2) {
			t.Errorf("%d workers: %d batches in flight, want at most %d", workers, most.Load(), 2*workers+2)
		}
		if emitted != 40 {
			t.Fatalf("%d workers: emitted %d images, want 40", workers, emitted)
		}
	}
}

// TestRunStopsAtTheFirstError checks that errors of fill and emit and a
// cancelled context end Run with that error, without a deadlock.
func TestRunStopsAtTheFirstError(t *testing.T) {
	m, err := New(arch.Seed, randomCheckpoint(arch.Seed, 6), 28, 28, Backbone)
	if err != nil {
		t.Fatal(err)
	}
	px := randomImages(2, 784, 1)
	errFill, errEmit := errors.New("fill failed"), errors.New("emit failed")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, c := range []struct {
		name         string
		ctx          context.Context
		failFillAt   int
		failEmitAt   int
		cancelEmitAt int
		want         error
	}{
		{"fill", context.Background(), 5, -1, -1, errFill},
		{"emit", context.Background(), -1, 3, -1, errEmit},
		{"cancel", ctx, -1, -1, 2, context.Canceled},
	} {
		t.Run(c.name, func(t *testing.T) {
			filled, emitted := 0, 0
			fill := func(b *Batch) (bool, error) {
				if filled == c.failFillAt {
					return false, errFill
				}
				filled++
				b.N, b.Index, b.Label, b.Pixels = 2, append(b.Index, 0, 1), append(b.Label, 0, 1), append(b.Pixels, px...)
				return true, nil
			}
			emit := func(b *Batch) error {
				if emitted == c.failEmitAt {
					return errEmit
				}
				if emitted == c.cancelEmitAt {
					cancel()
				}
				emitted++
				return nil
			}
			if err := m.Run(c.ctx, 2, fill, emit); !errors.Is(err, c.want) {
				t.Fatalf("Run: %v, want %v", err, c.want)
			}
		})
	}
}

// FuzzNew feeds checkpoints of arbitrary tensor shapes to New: it must
// either refuse them or build a model whose forward pass runs.
func FuzzNew(f *testing.F) {
	f.Add([]byte{4, 1, 3, 3, 8, 4, 3, 3, 16, 72, 16}, uint8(9), uint8(0))
	f.Add([]byte{2, 1, 3, 3, 2, 2, 3, 3, 5, 8, 5}, uint8(5), uint8(1))
	names := []string{
		"backbone.conv1.weight", "backbone.conv2.weight", "predictor.fc1.weight", "predictor.fc2.weight",
	}
	f.Fuzz(func(t *testing.T, dims []byte, size uint8, layer uint8) {
		if len(dims) < 11 || size == 0 || size > 40 {
			return
		}
		shapes := [][]int{
			{int(dims[0]), int(dims[1]), int(dims[2]), int(dims[3])},
			{int(dims[4]), int(dims[5]), int(dims[6]), int(dims[7])},
			{int(dims[8]), int(dims[9])},
			{int(dims[10]), int(dims[8])},
		}
		var ts []contract.Tensor
		vec := func(name string, n int, v float32) {
			ts = append(ts, contract.Tensor{Name: name, Shape: []int{n}, Values: slices.Repeat([]float32{v}, n)})
		}
		for i, name := range names {
			tt := contract.Tensor{Name: name, Shape: shapes[i]}
			tt.Values = slices.Repeat([]float32{0.01}, min(tt.Size(), 1<<16))
			ts = append(ts, tt)
			out := shapes[i][0]
			prefix := strings.TrimSuffix(name, ".weight")
			vec(prefix+".bias", out, 0.1)
			if i < 3 {
				bn := strings.Replace(prefix, "conv", "bn", 1)
				bn = strings.Replace(bn, "fc", "bn", 1)
				vec(bn+".running_mean", out, 0)
				vec(bn+".running_var", out, 1)
			}
		}
		m, err := New(arch.Seed, ts, int(size), int(size), []string{Backbone, Predictor}[layer%2])
		if err != nil {
			return
		}
		out := make([]float32, 2*m.Dim())
		m.NewWorker().Forward(make([]uint8, 2*int(size)*int(size)), 2, out)
	})
}

// TestALayerTheModelLacksIsALayerError checks that the error says which
// layers there are, for the caller's hint, and names no flag itself.
func TestALayerTheModelLacksIsALayerError(t *testing.T) {
	for _, c := range []struct {
		arch, layer string
		layers      []string
	}{
		{arch.Seed, Projector, []string{Backbone, Predictor}},
		{arch.Seed, "head", []string{Backbone, Predictor}},
		{arch.SimSiam, "Backbone", []string{Backbone, Projector, Predictor}},
	} {
		_, err := New(c.arch, randomCheckpoint(c.arch, 3), 28, 28, c.layer)
		var le *LayerError
		if !errors.As(err, &le) || !errors.Is(err, ErrLayer) || le.Layer != c.layer || !slices.Equal(le.Layers(), c.layers) {
			t.Errorf("%s %q: error %v, want a *LayerError listing %v", c.arch, c.layer, err, c.layers)
			continue
		}
		if strings.Contains(err.Error(), "--") {
			t.Errorf("error %q names a flag", err)
		}
	}
}

// TestASimSiamModelWithoutPredictorIsSimCLRs: a simsiam-architecture
// checkpoint without predictor tensors (trained with SimCLR) computes the
// same backbone and projector as with them, and has no predictor layer.
func TestASimSiamModelWithoutPredictorIsSimCLRs(t *testing.T) {
	full := randomCheckpoint(arch.SimSiam, 6)
	headless := slices.DeleteFunc(slices.Clone(full), func(t contract.Tensor) bool { return strings.HasPrefix(t.Name, "predictor.") })
	if len(headless) == len(full) {
		t.Fatal("the test checkpoint has no predictor")
	}
	const n = 5
	px := randomImages(n, 28*28, 8)
	for _, layer := range []string{Backbone, Projector} {
		for _, archName := range []string{arch.SimSiam, ""} {
			a, err := New(arch.SimSiam, full, 28, 28, layer)
			if err != nil {
				t.Fatal(err)
			}
			b, err := New(archName, headless, 28, 28, layer)
			if err != nil {
				t.Fatalf("%s without predictor, arch %q: %v", layer, archName, err)
			}
			if b.Arch() != arch.SimSiam || b.Dim() != a.Dim() {
				t.Fatalf("%s without predictor: arch %s dim %d, want simsiam %d", layer, b.Arch(), b.Dim(), a.Dim())
			}
			fa, fb := make([]float32, n*a.Dim()), make([]float32, n*b.Dim())
			a.NewWorker().Forward(px, n, fa)
			b.NewWorker().Forward(px, n, fb)
			if !slices.Equal(fa, fb) {
				t.Errorf("%s: features differ without the predictor", layer)
			}
		}
	}
	_, err := New(arch.SimSiam, headless, 28, 28, Predictor)
	var le *LayerError
	if !errors.As(err, &le) || !le.NoPredictor || !slices.Equal(le.Layers(), []string{Backbone, Projector}) ||
		!strings.Contains(err.Error(), "no predictor (trained with simclr)") {
		t.Errorf("predictor of a model without one: error %v, want a *LayerError listing backbone and projector", err)
	}
	// Without the projector as well, it is no model at all.
	bare := slices.DeleteFunc(slices.Clone(headless), func(t contract.Tensor) bool { return strings.HasPrefix(t.Name, "projector.") })
	if _, err := New(arch.SimSiam, bare, 28, 28, Backbone); !errors.Is(err, ErrMissingTensor) || !strings.Contains(err.Error(), "projector.fc1.weight") {
		t.Errorf("simsiam checkpoint with neither head: error %v, want ErrMissingTensor naming projector.fc1.weight", err)
	}
}

// deepGolden returns the golden model with two convolutions per backbone
// stage.
func deepGolden(t *testing.T) golden {
	t.Helper()
	for _, g := range loadGolden(t) {
		if _, ok := contract.FindTensor(g.tensors, "backbone.conv1_2.weight"); ok {
			return g
		}
	}
	t.Fatal("testdata/golden.json has no model of depth 2")
	return golden{}
}

// TestADeepBackboneNeedsEveryStageAlike: the depth is read from stage 1's
// names; a later stage that lacks one of its convolutions, or has one
// more, is refused, naming the tensor.
func TestADeepBackboneNeedsEveryStageAlike(t *testing.T) {
	g := deepGolden(t)
	if _, err := New("", g.tensors, 28, 28, Backbone); err != nil {
		t.Fatalf("the deep model itself: %v", err)
	}
	without := func(prefix string) []contract.Tensor {
		return slices.DeleteFunc(slices.Clone(g.tensors), func(t contract.Tensor) bool { return strings.HasPrefix(t.Name, prefix+".") })
	}
	extra := slices.Clone(g.tensors)
	for _, tt := range g.tensors {
		if strings.HasPrefix(tt.Name, "backbone.conv3_2.") || strings.HasPrefix(tt.Name, "backbone.bn3_2.") {
			tt.Name = strings.Replace(strings.Replace(tt.Name, "conv3_2", "conv3_3", 1), "bn3_2", "bn3_3", 1)
			extra = append(extra, tt)
		}
	}
	for _, c := range []struct {
		name string
		ts   []contract.Tensor
		is   error
		want string
	}{
		{"a stage without its second convolution", without("backbone.conv2_2"), ErrMissingTensor, "backbone.conv2_2.weight"},
		{"a second convolution without its BatchNorm", without("backbone.bn3_2"), ErrMissingTensor, "backbone.bn3_2.running_mean"},
		{"a stage with a third convolution", extra, ErrShape, "backbone.conv3_3.weight, but stage 1 has 2 convolutions"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(arch.SimSiam, c.ts, 28, 28, Backbone)
			if !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want %v naming %q", err, c.is, c.want)
			}
		})
	}
}

// TestDeepForwardIsTheSameBytesWhateverTheBatch: the stride-1 convolutions
// keep each image's features independent of its batch, bit for bit.
func TestDeepForwardIsTheSameBytesWhateverTheBatch(t *testing.T) {
	g := deepGolden(t)
	const n = 29
	px := randomImages(n, 28*28, 6)
	for _, eng := range engines() {
		t.Run(eng.name(), func(t *testing.T) {
			m, err := newModel(g.arch, g.tensors, 28, 28, Predictor, eng)
			if err != nil {
				t.Fatal(err)
			}
			sameAloneAsInBatch(t, m, px, n)
		})
	}
}

// sameAloneAsInBatch fails t unless images 0, 13 and n-1 of the n 28×28
// images px give, alone, the bytes they give in one batch of n.
func sameAloneAsInBatch(t *testing.T, m *Model, px []uint8, n int) {
	t.Helper()
	w := m.NewWorker()
	all := make([]float32, n*m.Dim())
	w.Forward(px, n, all)
	one := make([]float32, m.Dim())
	for _, i := range []int{0, 13, n - 1} {
		w.Forward(px[i*784:(i+1)*784], 1, one)
		if !slices.Equal(one, all[i*m.Dim():(i+1)*m.Dim()]) {
			t.Fatalf("image %d alone differs from image %d in a batch of %d", i, i, n)
		}
	}
}

package checkpoint

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/siampipe/siampipe/internal/arch"
	"github.com/siampipe/siampipe/internal/contract"
)

func tensors() []contract.Tensor {
	return []contract.Tensor{
		{Name: "backbone.conv1.weight", Shape: []int{2, 1, 3, 3}, Values: []float32{1, -2, 3, 4, 5, 6, 7, 8, 9, 0.5, -0.25, 1e-30, 3e38, -0, 11, 12, 13, 14}},
		{Name: "optim.backbone.conv1.weight.momentum_buffer", Shape: []int{2}, Values: []float32{float32(math.Inf(1)), 7}},
	}
}

// full is a header as train writes it.
func full() Header {
	return Header{
		Arch: arch.SimSiam, Depth: 1, Epoch: 3, Step: 30, Seed: 7,
		Input: Input{Height: 28, Width: 28, Channels: 1, Scaling: arch.Input},
		Train: Train{BatchSize: 256, LR: 0.2, Momentum: 0.9, WeightDecay: 1e-3, WarmupEpochs: 0.5, FixedPredictorLR: true,
			Method: arch.MethodSimSiam, PeakLR: 0.2, StepsPerEpoch: 234},
		BN: BN{Momentum: arch.BNMomentum, Eps: arch.BNEps},
		Pairs: Pairs{Seed: "1", Split: "train", Source: "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz",
			Augment: "randaugment (torchvision 0.14.1)", NumOps: "5", Magnitude: "9", Bins: "31",
			Ops: "Identity,ShearX,Rotate", CropScale: "0.4", Flip: "true", Epochs: 20, RowsPerEpoch: 60000},
		Stage: "train", Version: "v1.2.3",
	}
}

func TestWriteThenReadGivesTheSameCheckpoint(t *testing.T) {
	edit := func(fn func(*Header)) Header { h := full(); fn(&h); return h }
	for _, tc := range []struct {
		name string
		h    Header
	}{
		{"as train writes it", full()},
		{"seed architecture, no momentum, decaying predictor", edit(func(h *Header) {
			h.Arch, h.Train.Momentum, h.Train.WeightDecay, h.Train.FixedPredictorLR = arch.Seed, 0, 0, false
		})},
		{"extreme numbers", edit(func(h *Header) {
			h.Seed, h.Train.LR, h.Train.WarmupEpochs, h.BN.Eps = math.MaxUint64, 1e-300, 1.0/3, math.SmallestNonzeroFloat64
		})},
		{"a stream without augment metadata", edit(func(h *Header) { h.Pairs = Pairs{Epochs: 1, RowsPerEpoch: 1} })},
		{"odd strings", edit(func(h *Header) {
			h.Pairs.Source, h.Pairs.Split, h.Version = "/data/my images, v2/ünïcode=\"x\".gz", "test", ""
		})},
		{"RGB input of another size", edit(func(h *Header) { h.Input = Input{Height: 32, Width: 48, Channels: 3, Scaling: arch.Input} })},
		{"step 0", edit(func(h *Header) { h.Epoch, h.Step = 0, 0 })},
		{"simclr", edit(func(h *Header) { h.Train.Method, h.Train.Temperature = arch.MethodSimCLR, 0.5 })},
		{"simclr at an odd temperature", edit(func(h *Header) { h.Train.Method, h.Train.Temperature = arch.MethodSimCLR, 1.0/7 })},
		{"depth 2", edit(func(h *Header) { h.Depth = 2 })},
		{"the deepest simclr", edit(func(h *Header) { h.Depth, h.Train.Method, h.Train.Temperature = arch.MaxDepth, arch.MethodSimCLR, 0.2 })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Write(&b, Checkpoint{Header: tc.h, Tensors: tensors()}, contract.Options{}); err != nil {
				t.Fatal(err)
			}
			got, err := Read(&b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Header, tc.h) {
				t.Errorf("header read back\n%+v\nwant\n%+v", got.Header, tc.h)
			}
			want := tensors()
			if len(got.Tensors) != len(want) {
				t.Fatalf("%d tensors, want %d", len(got.Tensors), len(want))
			}
			for i := range want {
				a, w := got.Tensors[i], want[i]
				if a.Name != w.Name || !slices.Equal(a.Shape, w.Shape) || !slices.Equal(a.Values, w.Values) {
					t.Errorf("tensor %d: %+v, want %+v", i, a, w)
				}
			}
		})
	}
}

func TestWriteRecordsTheKeysReadersOfTheMetadataKnow(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, Checkpoint{Header: full(), Tensors: tensors()}, contract.Options{}); err != nil {
		t.Fatal(err)
	}
	meta, _, err := contract.ReadModel(&b)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		contract.MetaKind: contract.KindModel, contract.MetaTrainPeakLR: "0.2", contract.MetaTrainStepsPerEpoch: "234",
		contract.MetaTrainBNEps: "1e-05", contract.MetaTrainPairsCropScale: "0.4", contract.MetaChannels: "1",
		contract.MetaTrainMethod: "simsiam", contract.MetaTrainTemperature: "0",
	} {
		if meta[k] != v {
			t.Errorf("%s = %q, want %q", k, meta[k], v)
		}
	}
}

// TestDepthIsRecordedOnlyAboveOne: a depth-1 checkpoint (Depth 1, or 0)
// has no siampipe.depth, so its bytes are those of a checkpoint written
// before depth existed, and reads back as depth 1 with nothing absent; a
// deeper one records its depth.
func TestDepthIsRecordedOnlyAboveOne(t *testing.T) {
	var want []byte
	for _, tc := range []struct {
		depth, read int
		key         string // "" when not recorded
	}{{1, 1, ""}, {0, 1, ""}, {2, 2, "2"}, {arch.MaxDepth, arch.MaxDepth, "4"}} {
		h := full()
		h.Depth = tc.depth
		var b bytes.Buffer
		if err := Write(&b, Checkpoint{Header: h, Tensors: tensors()}, contract.Options{}); err != nil {
			t.Fatal(err)
		}
		if tc.depth <= 1 {
			if want == nil {
				want = slices.Clone(b.Bytes())
			} else if !bytes.Equal(b.Bytes(), want) {
				t.Errorf("depth %d: other bytes than depth 1", tc.depth)
			}
		}
		meta, _, err := contract.ReadModel(bytes.NewReader(b.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := meta[contract.MetaDepth]; v != tc.key || ok != (tc.key != "") {
			t.Errorf("depth %d: %s = %q (recorded: %v), want %q", tc.depth, contract.MetaDepth, v, ok, tc.key)
		}
		c, err := Read(&b)
		if err != nil {
			t.Fatal(err)
		}
		if c.Depth != tc.read || c.Absent != nil || !c.Has(contract.MetaDepth) {
			t.Errorf("depth %d: read back as depth %d, absent %v", tc.depth, c.Depth, c.Absent)
		}
	}
}

func TestWriteRefusesAHeaderThatDescribesNoModel(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Checkpoint)
		want string
	}{
		{"unknown architecture", func(c *Checkpoint) { c.Arch = "byol" }, `"byol"`},
		{"no architecture", func(c *Checkpoint) { c.Arch = "" }, `""`},
		{"no input size", func(c *Checkpoint) { c.Input.Height = 0 }, "input 0x28x1"},
		{"no channels", func(c *Checkpoint) { c.Input.Channels = 0 }, "input 28x28x0"},
		{"no batch size", func(c *Checkpoint) { c.Train.BatchSize = 0 }, "batch size 0"},
		{"no schedule", func(c *Checkpoint) { c.Pairs.Epochs = 0 }, "0 epochs"},
		{"negative step", func(c *Checkpoint) { c.Step = -1 }, "step -1"},
		{"depth beyond the deepest", func(c *Checkpoint) { c.Depth = arch.MaxDepth + 1 }, "depth 5"},
		{"negative depth", func(c *Checkpoint) { c.Depth = -1 }, "depth -1"},
		{"no method", func(c *Checkpoint) { c.Train.Method = "" }, `method ""`},
		{"unknown method", func(c *Checkpoint) { c.Train.Method = "byol" }, `"byol"`},
		{"simclr on the seed architecture", func(c *Checkpoint) {
			c.Arch, c.Train.Method, c.Train.Temperature = arch.Seed, arch.MethodSimCLR, 0.5
		}, "method simclr on architecture seed"},
		{"simclr without temperature", func(c *Checkpoint) { c.Train.Method = arch.MethodSimCLR }, "temperature 0"},
		{"simclr at NaN", func(c *Checkpoint) { c.Train.Method, c.Train.Temperature = arch.MethodSimCLR, math.NaN() }, "temperature NaN"},
		{"simclr at -Inf", func(c *Checkpoint) { c.Train.Method, c.Train.Temperature = arch.MethodSimCLR, math.Inf(-1) }, "temperature -Inf"},
		{"simsiam with a temperature", func(c *Checkpoint) { c.Train.Temperature = 0.5 }, "simsiam temperature 0.5"},
		{"no tensors", func(c *Checkpoint) { c.Tensors = nil }, "no tensors"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Checkpoint{Header: full(), Tensors: tensors()}
			tc.edit(&c)
			var b bytes.Buffer
			err := Write(&b, c, contract.Options{})
			if !errors.Is(err, ErrHeader) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want ErrHeader naming %q", err, tc.want)
			}
			if b.Len() != 0 {
				t.Errorf("%d bytes written", b.Len())
			}
		})
	}
}

// oldMeta is the metadata train wrote before this package existed (its
// modelMeta, key for key), for a run on a pairs stream with seed 9.
func oldMeta() contract.Meta {
	return contract.Meta{
		"siampipe.stage": "train", "siampipe.version": "v0.9.0",
		"siampipe.arch": "simsiam", "siampipe.epoch": "1", "siampipe.step": "2", "siampipe.seed": "3",
		"siampipe.height": "28", "siampipe.width": "28",
		"siampipe.train.batch_size": "8", "siampipe.train.lr": "0.2", "siampipe.train.peak_lr": "0.00625",
		"siampipe.train.momentum": "0.9", "siampipe.train.weight_decay": "0.001", "siampipe.train.warmup_epochs": "0",
		"siampipe.train.fixed_predictor_lr": "true", "siampipe.train.epochs": "4", "siampipe.train.rows_per_epoch": "16",
		"siampipe.train.steps_per_epoch": "2", "siampipe.train.input": "pixels/255", "siampipe.train.pairs_seed": "9",
		"siampipe.train.bn_momentum": "0.1", "siampipe.train.bn_eps": "1e-05",
	}
}

func TestCheckpointsOfTheOldFormatStillRead(t *testing.T) {
	var b bytes.Buffer
	if err := contract.WriteModel(&b, oldMeta(), tensors(), contract.Options{}); err != nil {
		t.Fatal(err)
	}
	c, err := Read(&b)
	if err != nil {
		t.Fatal(err)
	}
	want := Header{
		Arch: arch.SimSiam, Depth: 1, Epoch: 1, Step: 2, Seed: 3,
		Input: Input{Height: 28, Width: 28, Channels: 1, Scaling: "pixels/255"},
		Train: Train{BatchSize: 8, LR: 0.2, Momentum: 0.9, WeightDecay: 0.001, FixedPredictorLR: true, Method: arch.MethodSimSiam, PeakLR: 0.00625, StepsPerEpoch: 2},
		BN:    BN{Momentum: 0.1, Eps: 1e-5},
		Pairs: Pairs{Seed: "9", Epochs: 4, RowsPerEpoch: 16},
		Stage: "train", Version: "v0.9.0",
		Absent: []string{contract.MetaChannels, contract.MetaTrainPairsAugment, contract.MetaTrainPairsBins,
			contract.MetaTrainPairsCropScale, contract.MetaTrainPairsFlip, contract.MetaTrainPairsMagnitude,
			contract.MetaTrainPairsNumOps, contract.MetaTrainPairsOps, contract.MetaTrainPairsSource, contract.MetaTrainPairsSplit,
			contract.MetaTrainMethod, contract.MetaTrainTemperature},
	}
	slices.Sort(want.Absent)
	if !reflect.DeepEqual(c.Header, want) {
		t.Errorf("old checkpoint read as\n%+v\nwant\n%+v", c.Header, want)
	}
	// What it recorded is still checked; what it did not is reported.
	stream := Pairs{Seed: "9", Split: "train", Augment: "randaugment", CropScale: "0.2", Flip: "true", Epochs: 4, RowsPerEpoch: 16}
	diff, unchecked := c.ComparePairs(stream)
	if len(diff) != 0 {
		t.Errorf("same seed and schedule: mismatches %v", diff)
	}
	wantUnchecked := []string{"split", "source", "augment", "augment.num_ops", "augment.magnitude", "augment.bins", "augment.ops", "augment.crop_scale", "augment.flip"}
	if !slices.Equal(unchecked, wantUnchecked) {
		t.Errorf("unchecked %v, want %v", unchecked, wantUnchecked)
	}
	stream.Seed, stream.RowsPerEpoch = "10", 17
	diff, _ = c.ComparePairs(stream)
	if len(diff) != 2 || diff[0].Field() != "seed" || diff[1].Field() != "rows_per_epoch" {
		t.Errorf("another seed and rows: mismatches %v, want seed and rows_per_epoch", diff)
	}
}

func TestReadOfAMinimalModelLeavesTheRestAbsent(t *testing.T) {
	// What a hand-made checkpoint carries (bench/embed_ckpt.go, embed's tests).
	var b bytes.Buffer
	if err := contract.WriteModel(&b, contract.Meta{contract.MetaArch: arch.Seed}, tensors(), contract.Options{}); err != nil {
		t.Fatal(err)
	}
	c, err := Read(&b)
	if err != nil {
		t.Fatal(err)
	}
	if c.Arch != arch.Seed || c.Input.Channels != 1 || c.Input.Height != 0 || c.Has(contract.MetaHeight) || !c.Has(contract.MetaArch) || c.Has(contract.MetaTrainBNEps) {
		t.Errorf("header %+v", c.Header)
	}
}

func TestReadRefusesAFieldThatDoesNotParse(t *testing.T) {
	for _, tc := range []struct{ key, value string }{
		{contract.MetaStep, "ten"},
		{contract.MetaStep, "-3"},
		{contract.MetaEpoch, "1.5"},
		{contract.MetaSeed, "-1"},
		{contract.MetaSeed, "18446744073709551616"},
		{contract.MetaTrainLR, "fast"},
		{contract.MetaTrainFixedPredLR, "yes"},
		{contract.MetaChannels, ""},
		{contract.MetaTrainRowsPerEpoch, " 16"},
		{contract.MetaTrainTemperature, "warm"},
		{contract.MetaDepth, "0"},
		{contract.MetaDepth, "-2"},
		{contract.MetaDepth, "two"},
	} {
		t.Run(tc.key+"="+tc.value, func(t *testing.T) {
			m := oldMeta()
			m[tc.key] = tc.value
			var b bytes.Buffer
			if err := contract.WriteModel(&b, m, tensors(), contract.Options{}); err != nil {
				t.Fatal(err)
			}
			_, err := Read(&b)
			if !errors.Is(err, ErrHeader) || !strings.Contains(err.Error(), tc.key) {
				t.Errorf("error %v, want ErrHeader naming %s", err, tc.key)
			}
		})
	}
}

func TestReadPassesOnTheStreamErrors(t *testing.T) {
	var b bytes.Buffer
	w, err := contract.NewImagesWriter(&b, 2, 2, nil, contract.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w.Append(0, 1, []uint8{1, 2, 3, 4})
	w.Close()
	if _, err := Read(&b); !errors.Is(err, contract.ErrWrongKind) {
		t.Errorf("images stream: error %v, want contract.ErrWrongKind", err)
	}
	if _, err := Read(strings.NewReader("not arrow at all")); !errors.Is(err, contract.ErrNotArrow) {
		t.Errorf("text: error %v, want contract.ErrNotArrow", err)
	}
}

func FuzzHeaderOf(f *testing.F) {
	f.Add("siampipe.step", "12", "siampipe.train.lr", "0.2")
	f.Add("siampipe.channels", "3", "siampipe.train.pairs_flip", "")
	f.Add("siampipe.seed", "x", "siampipe.arch", "seed")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		h, err := headerOf(contract.Meta{k1: v1, k2: v2})
		if err != nil {
			if !errors.Is(err, ErrHeader) {
				t.Fatalf("error %v does not wrap ErrHeader", err)
			}
			return
		}
		// What parses, writes back the same way (for fields the header owns).
		m := h.meta()
		for _, fl := range fields {
			if v, ok := map[string]string{k1: v1, k2: v2}[fl.key]; ok && h.Has(fl.key) {
				rewrite := contract.Meta{}
				if mv, ok := m[fl.key]; ok { // a field at its implicit value is written as no key
					rewrite[fl.key] = mv
				}
				h2, err := headerOf(rewrite)
				if err != nil {
					t.Fatalf("%s=%q read, but its rewrite %q does not: %v", fl.key, v, m[fl.key], err)
				}
				if fl.get(&h2) != fl.get(&h) {
					t.Fatalf("%s=%q: rewritten as %q, read back as %q", fl.key, v, m[fl.key], fl.get(&h2))
				}
			}
		}
	})
}

// TestCheckTrainingRefusesUnusableHyperparameters: a checkpoint whose
// metadata was edited (or written by something else) must not resume into
// a NaN model.
func TestCheckTrainingRefusesUnusableHyperparameters(t *testing.T) {
	good := Header{Train: Train{BatchSize: 256, LR: 0.2, Momentum: 0.9, WeightDecay: 1e-3}, BN: BN{Momentum: 0.1, Eps: 1e-5}}
	if err := good.CheckTraining(); err != nil {
		t.Fatalf("a usable header: %v", err)
	}
	for name, edit := range map[string]func(*Header){
		"NaN lr":          func(h *Header) { h.Train.LR = math.NaN() },
		"infinite lr":     func(h *Header) { h.Train.LR = math.Inf(1) },
		"zero lr":         func(h *Header) { h.Train.LR = 0 },
		"momentum 1":      func(h *Header) { h.Train.Momentum = 1 },
		"negative decay":  func(h *Header) { h.Train.WeightDecay = -1 },
		"NaN warm-up":     func(h *Header) { h.Train.WarmupEpochs = math.NaN() },
		"batch of one":    func(h *Header) { h.Train.BatchSize = 1 },
		"infinite BN eps": func(h *Header) { h.BN.Eps = math.Inf(1) },
		"BN momentum 1.5": func(h *Header) { h.BN.Momentum = 1.5 },
	} {
		h := good
		edit(&h)
		if err := h.CheckTraining(); !errors.Is(err, ErrHeader) {
			t.Errorf("%s: %v, want an error wrapping ErrHeader", name, err)
		}
	}
}

package simsiam

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/siampipe/siampipe/internal/arch"
)

// paramsDigest is the SHA-256 of every parameter's name, shape and value
// bits, in order.
func paramsDigest(m *Model) string {
	h := sha256.New()
	for _, p := range m.Params {
		fmt.Fprintf(h, "%s %v\n", p.Name, p.Shape)
		for _, v := range p.Value {
			binary.Write(h, binary.LittleEndian, math.Float32bits(v))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TestDepthOneIsTheModelBeforeDepth: at depth 1 (given, or 0 for the
// default) New draws the same tensors, in the same order, with the same
// names and bits as before depth existed (digests taken then), so old
// checkpoints and seeds mean what they meant.
func TestDepthOneIsTheModelBeforeDepth(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "b7e8f02f74772db4798e92aa8cad21725279149f57d904255903d3c88b3df176"},
		{Config{Arch: arch.SimSiam}, "4f52d1e1e5133f350f3f70ee2d7c4b1b8c65ae802ad30662e16a98c14c31842b"},
		{Config{Arch: arch.SimSiam, Method: arch.MethodSimCLR}, "8bcced272fdbe7974346f9d5efbec3d3b82bb7b7ab8ac4b0e7e76499874b1276"},
	} {
		for _, depth := range []int{0, 1} {
			cfg := c.cfg
			cfg.Depth = depth
			m, err := New(cfg, 7)
			if err != nil {
				t.Fatal(err)
			}
			if got := paramsDigest(m); got != c.want {
				t.Errorf("%+v: parameters digest %s, want %s", cfg, got, c.want)
			}
			if m.Cfg.Depth != 1 {
				t.Errorf("%+v: depth %d after defaults, want 1", cfg, m.Cfg.Depth)
			}
		}
	}
}

// TestDepthAddsStrideOneConvolutionsPerStage: each stage gets depth−1
// convolutions of its width after its first, each with its BatchNorm, named
// backbone.conv<i>_<j> / backbone.bn<i>_<j>, in the order of the forward
// pass, initialised as PyTorch's Conv2d and BatchNorm2d are; the backbone's
// output size does not change.
func TestDepthAddsStrideOneConvolutionsPerStage(t *testing.T) {
	for depth := 1; depth <= arch.MaxDepth; depth++ {
		t.Run(fmt.Sprint("depth ", depth), func(t *testing.T) {
			cfg := smallConfig()
			cfg.Depth = depth
			m, err := New(cfg, 3)
			if err != nil {
				t.Fatal(err)
			}
			if m.ZDim != 8*7*7 {
				t.Errorf("ZDim %d, want %d (stride-1 convolutions keep the size)", m.ZDim, 8*7*7)
			}
			var want []string
			shapes := map[string][]int{}
			cin := 1
			for i, c := range cfg.Channels {
				for j := 1; j <= depth; j++ {
					conv, bn := arch.ConvName(i+1, j), arch.BNName(i+1, j)
					want = append(want, conv+".weight", conv+".bias", bn+".weight", bn+".bias", bn+".running_mean", bn+".running_var")
					shapes[conv+".weight"] = []int{c, cin, 3, 3}
					cin = c
				}
			}
			var got []string
			for _, p := range m.Params {
				if strings.HasPrefix(p.Name, "backbone.") {
					got = append(got, p.Name)
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("backbone tensors\n%v\nwant\n%v", got, want)
			}
			for name, shape := range shapes {
				p := m.Param(name)
				if !slices.Equal(p.Shape, shape) {
					t.Errorf("%s shape %v, want %v", name, p.Shape, shape)
				}
				// uniform ±1/sqrt(fan_in), weights and bias alike, and
				// spread over the range
				bound := 1 / math.Sqrt(float64(shape[1]*9))
				for _, v := range [][]float32{p.Value, m.Param(strings.TrimSuffix(name, "weight") + "bias").Value} {
					lo, hi := slices.Min(v), slices.Max(v)
					if float64(-lo) > bound || float64(hi) > bound || (len(v) >= 32 && (float64(hi) < bound/2 || float64(-lo) < bound/2)) {
						t.Errorf("%s: values in [%v, %v], want spread over ±%v", name, lo, hi, bound)
					}
				}
			}
			for _, p := range m.Params {
				if !strings.HasPrefix(p.Name, "backbone.bn") {
					continue
				}
				kind := p.Name[strings.LastIndex(p.Name, ".")+1:]
				want := map[string]float32{"weight": 1, "bias": 0, "running_mean": 0, "running_var": 1}[kind]
				if slices.ContainsFunc(p.Value, func(v float32) bool { return v != want }) || p.Trainable != (kind == "weight" || kind == "bias") {
					t.Errorf("%s = %v (trainable %v), want all %v", p.Name, p.Value, p.Trainable, want)
				}
			}
		})
	}
}

func TestDepthOutsideItsRangeIsErrDepth(t *testing.T) {
	for _, d := range []int{-1, arch.MaxDepth + 1, 1000} {
		cfg := smallConfig()
		cfg.Depth = d
		if _, err := New(cfg, 1); !errors.Is(err, ErrDepth) || !strings.Contains(err.Error(), fmt.Sprint(d)) {
			t.Errorf("depth %d: error %v, want ErrDepth naming it", d, err)
		}
	}
}

// TestConfigFromTensorsReadsTheDepthBack: the configuration a model's
// tensors describe is the one it was built from, at every depth, for both
// architectures and methods; stages of different depths are refused.
func TestConfigFromTensorsReadsTheDepthBack(t *testing.T) {
	simclr := smallConfig()
	simclr.Method, simclr.PredHidden = arch.MethodSimCLR, 0
	seed := Config{Arch: arch.Seed, Channels: []int{3, 5, 6}, PredHidden: 7}
	for _, base := range []Config{smallConfig(), simclr, seed} {
		for depth := 1; depth <= arch.MaxDepth; depth++ {
			cfg := base
			cfg.Depth = depth
			m, err := New(cfg, 1)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ConfigFromTensors(cfg.Arch, cfg.Method, tensorsOf(m))
			if err != nil {
				t.Fatal(err)
			}
			if got.Depth != depth || !slices.Equal(got.Channels, cfg.Channels) || got.PredHidden != cfg.PredHidden || !slices.Equal(got.ProjDims, cfg.ProjDims) {
				t.Errorf("%+v: read back as %+v", cfg, got)
			}
		}
	}
	cfg := smallConfig()
	cfg.Depth = 3
	m, _ := New(cfg, 1)
	var ts []Param
	for _, p := range tensorsOf(m) {
		if !strings.HasPrefix(p.Name, "backbone.conv2_3.") {
			ts = append(ts, p)
		}
	}
	if _, err := ConfigFromTensors(cfg.Arch, cfg.Method, ts); err == nil || !strings.Contains(err.Error(), "stage 2 has 2 convolutions, stage 1 has 3") {
		t.Errorf("stages of depths 3 and 2: error %v", err)
	}
}

func tensorsOf(m *Model) []Param {
	var ts []Param
	for _, p := range m.Params {
		ts = append(ts, *p)
	}
	return ts
}

// TestRestoreTrainerKeepsTheDepth: a depth-2 trainer's checkpoint restores
// into a depth-2 trainer that continues bit for bit; restored as depth 1 it
// is refused, naming a tensor of the second convolutions.
func TestRestoreTrainerKeepsTheDepth(t *testing.T) {
	cfg := TrainConfig{Model: smallConfig(), BatchSize: 4, Epochs: 1, RowsPerEpoch: 12, Seed: 5}
	cfg.Model.Depth = 2
	a, err := NewTrainer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	rng := rand.New(rand.NewPCG(1, 1))
	batch := func() ([]uint8, []uint8) {
		v1, v2 := make([]uint8, 4*784), make([]uint8, 4*784)
		for i := range v1 {
			v1[i], v2[i] = uint8(rng.IntN(256)), uint8(rng.IntN(256))
		}
		return v1, v2
	}
	v1, v2 := batch()
	if _, err := a.TrainStep(v1, v2); err != nil {
		t.Fatal(err)
	}
	ts := a.Tensors()
	mc, err := ConfigFromTensors(arch.SimSiam, "", ts)
	if err != nil {
		t.Fatal(err)
	}
	rc := cfg
	rc.Model = mc
	b, err := RestoreTrainer(rc, ts, a.Step)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Model.Cfg.Depth != 2 {
		t.Fatalf("restored depth %d, want 2", b.Model.Cfg.Depth)
	}
	v1, v2 = batch()
	ra, err := a.TrainStep(v1, v2)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := b.TrainStep(v1, v2)
	if err != nil {
		t.Fatal(err)
	}
	if ra.Loss != rb.Loss || paramsDigest(a.Model) != paramsDigest(b.Model) {
		t.Errorf("restored trainer: loss %v and parameters %s, the original's %v and %s", rb.Loss, paramsDigest(b.Model), ra.Loss, paramsDigest(a.Model))
	}
	rc.Model.Depth = 1
	if c, err := RestoreTrainer(rc, ts, a.Step); err == nil || !strings.Contains(err.Error(), "unexpected tensor backbone.conv1_2.weight") {
		if c != nil {
			c.Close()
		}
		t.Errorf("depth-2 tensors restored at depth 1: error %v", err)
	}
}

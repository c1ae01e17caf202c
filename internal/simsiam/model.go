// Package simsiam builds the SimSiam model (Chen & He, 2020) as a gorgonia
// graph of nnops Ops and runs its training steps: two views through one
// backbone, a predictor (and, for the paper architecture, a projector), the
// symmetric negative-cosine loss with a stop-gradient on the targets, and
// BatchNorm statistics per view whose running averages see both views in
// order, as one PyTorch module called twice does.
//
// The same graph trains with SimCLR (Chen et al. 2020, Config.Method
// arch.MethodSimCLR): backbone and projector, no predictor, no
// stop-gradient, and the NT-Xent loss over the 2N views of a batch.
//
// Parameters use PyTorch's state_dict names and layouts, so a checkpoint is
// a list of named tensors (see Tensors and Load).
package simsiam

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/siampipe/siampipe/internal/arch"
)

// Config describes a model. The zero value is the seed architecture for
// 28×28 images with the default sizes, trained with SimSiam.
type Config struct {
	Arch string // arch.Seed ("" means seed) or arch.SimSiam
	// Method is how the model trains: arch.MethodSimSiam ("" means
	// simsiam) or arch.MethodSimCLR, which takes the SimSiam architecture
	// without its predictor.
	Method        string
	Height, Width int // image size; 0 means arch.DefaultHeight, arch.DefaultWidth
	// InChannels is the images' channels, 1 (grey) or 3 (RGB); 0 means
	// arch.DefaultInChannels.
	InChannels int
	Channels   []int // backbone conv channels, one per stage; nil means arch.DefaultChannels
	// Depth is the backbone's convolutions per stage: the stride-2 one,
	// then Depth−1 stride-1 ones of the same width (1..arch.MaxDepth; 0
	// means arch.DefaultDepth, 1).
	Depth int
	// PredHidden is the predictor's hidden width; 0 means
	// arch.DefaultPredHidden (both architectures; simclr has no predictor
	// and takes 0 only).
	PredHidden int
	// ProjDims are the projector's fc output widths (simsiam only); nil
	// means arch.DefaultProjDims.
	ProjDims []int
}

func (c Config) withDefaults() Config {
	if c.Arch == "" {
		c.Arch = arch.Seed
	}
	if c.Method == "" {
		c.Method = arch.MethodSimSiam
	}
	if c.Height == 0 {
		c.Height = arch.DefaultHeight
	}
	if c.Width == 0 {
		c.Width = arch.DefaultWidth
	}
	if c.InChannels == 0 {
		c.InChannels = arch.DefaultInChannels
	}
	if c.Channels == nil {
		c.Channels = arch.DefaultChannels()
	}
	if c.Depth == 0 {
		c.Depth = arch.DefaultDepth
	}
	if c.PredHidden == 0 && c.Method == arch.MethodSimSiam {
		c.PredHidden = arch.DefaultPredHidden
	}
	if c.Arch == arch.SimSiam && c.ProjDims == nil {
		c.ProjDims = arch.DefaultProjDims()
	}
	return c
}

// Errors of a configuration whose method does not fit its architecture.
var (
	// ErrNeedsProjector: simclr trains the projector's output, and the seed
	// architecture has none.
	ErrNeedsProjector = errors.New("method simclr needs a projector, which the seed architecture lacks")
	// ErrNoPredictor: simclr has no predictor, so no predictor width.
	ErrNoPredictor = errors.New("method simclr has no predictor")
	// ErrDepth: the backbone's depth is outside 1..arch.MaxDepth.
	ErrDepth = fmt.Errorf("backbone depth must be 1..%d convolutions per stage", arch.MaxDepth)
)

// Param is one named tensor of the model (weights or running statistics).
type Param struct {
	Name  string
	Shape []int
	Value []float32
	// Trainable is false for BatchNorm running statistics.
	Trainable bool
	// Predictor marks the predictor's parameters (for a fixed predictor lr).
	Predictor bool
}

// Model holds the configuration and the parameters.
type Model struct {
	Cfg    Config
	Params []*Param
	byName map[string]*Param
	// ZDim is the size of the backbone output z.
	ZDim int
	// backbone geometry
	convOut [][2]int
}

// New builds a model with PyTorch's default initialisation (uniform
// ±1/sqrt(fan_in) for conv and fc weights and biases, BatchNorm scale 1 and
// shift 0, running mean 0 and variance 1) drawn from seed. A simclr model
// has the backbone and projector of the simsiam architecture and no
// predictor; asking for it on the seed architecture is ErrNeedsProjector,
// with a predictor width ErrNoPredictor. A depth outside 1..arch.MaxDepth
// is ErrDepth.
func New(cfg Config, seed uint64) (*Model, error) {
	cfg = cfg.withDefaults()
	if !arch.Known(cfg.Arch) {
		return nil, fmt.Errorf("simsiam: unknown architecture %q (want %q or %q)", cfg.Arch, arch.Seed, arch.SimSiam)
	}
	if !arch.KnownMethod(cfg.Method) {
		return nil, fmt.Errorf("simsiam: unknown method %q (want %q or %q)", cfg.Method, arch.MethodSimSiam, arch.MethodSimCLR)
	}
	if cfg.Method == arch.MethodSimCLR {
		if cfg.Arch != arch.SimSiam {
			return nil, fmt.Errorf("simsiam: %w", ErrNeedsProjector)
		}
		if cfg.PredHidden != 0 {
			return nil, fmt.Errorf("simsiam: %w (predictor width %d given)", ErrNoPredictor, cfg.PredHidden)
		}
	}
	if cfg.Depth < 1 || cfg.Depth > arch.MaxDepth {
		return nil, fmt.Errorf("simsiam: %w: %d", ErrDepth, cfg.Depth)
	}
	m := &Model{Cfg: cfg, byName: map[string]*Param{}}
	rng := rand.New(rand.NewPCG(seed, 0x5157))
	uni := func(n int, bound float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32((rng.Float64()*2 - 1) * bound)
		}
		return v
	}
	fill := func(n int, x float32) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = x
		}
		return v
	}
	add := func(name string, train bool, value []float32, shape ...int) {
		p := &Param{Name: name, Shape: shape, Value: value, Trainable: train, Predictor: strings.HasPrefix(name, "predictor.")}
		m.Params = append(m.Params, p)
		m.byName[name] = p
	}
	bn := func(prefix string, c int, affine bool) {
		if affine {
			add(prefix+".weight", true, fill(c, 1), c)
			add(prefix+".bias", true, fill(c, 0), c)
		}
		add(prefix+".running_mean", false, fill(c, 0), c)
		add(prefix+".running_var", false, fill(c, 1), c)
	}
	fc := func(prefix string, in, out int, bias bool) {
		b := 1 / math.Sqrt(float64(in))
		add(prefix+".weight", true, uni(out*in, b), out, in)
		if bias {
			add(prefix+".bias", true, uni(out, b), out)
		}
	}
	const k = arch.Kernel
	cin, h, w := cfg.InChannels, cfg.Height, cfg.Width
	// Each stage in the order of the forward pass (PyTorch's module order):
	// conv, its BN, the next conv, its BN...; at depth 1 the names and
	// draws of the seed backbone.
	for i, c := range cfg.Channels {
		for j := 1; j <= cfg.Depth; j++ {
			b := 1 / math.Sqrt(float64(cin*k*k))
			name := arch.ConvName(i+1, j)
			add(name+".weight", true, uni(c*cin*k*k, b), c, cin, k, k)
			add(name+".bias", true, uni(c, b), c)
			bn(arch.BNName(i+1, j), c, true)
			cin = c
		}
		h, w = arch.ConvOut(h), arch.ConvOut(w)
		m.convOut = append(m.convOut, [2]int{h, w})
	}
	m.ZDim = cin * h * w
	d := m.ZDim
	if cfg.Arch == arch.SimSiam {
		for i, o := range cfg.ProjDims {
			last := i == len(cfg.ProjDims)-1
			fc(fmt.Sprintf("projector.fc%d", i+1), d, o, false)
			bn(fmt.Sprintf("projector.bn%d", i+1), o, !last)
			d = o
		}
		if cfg.Method == arch.MethodSimSiam {
			fc("predictor.fc1", d, cfg.PredHidden, false)
			bn("predictor.bn1", cfg.PredHidden, true)
			fc("predictor.fc2", cfg.PredHidden, d, true)
		}
	} else {
		fc("predictor.fc1", d, cfg.PredHidden, true)
		bn("predictor.bn1", cfg.PredHidden, true)
		fc("predictor.fc2", cfg.PredHidden, d, true)
	}
	return m, nil
}

// Param returns the named parameter, or nil.
func (m *Model) Param(name string) *Param { return m.byName[name] }

// OutDim is the size of the vector the loss compares and z_std watches (z
// for seed, the projector output for the simsiam architecture, with either
// method).
func (m *Model) OutDim() int {
	if m.Cfg.Arch == arch.SimSiam {
		return m.Cfg.ProjDims[len(m.Cfg.ProjDims)-1]
	}
	return m.ZDim
}

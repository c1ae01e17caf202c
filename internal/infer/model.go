// Package infer runs the forward pass of a siampipe checkpoint for inference:
// the convolutional backbone and the projector and predictor heads, with
// BatchNorm in inference mode (running statistics).
//
// Convolutions (kernel 3, stride 2 or 1, padding 1) are lowered to matrix products
// by im2col over channels-last activations; every product and its per-channel
// epilogue (bias, ReLU, BatchNorm) runs in one pass of a register-tiled
// float32 micro-kernel (AVX-512 or AVX2 assembly on amd64, as cpufeat's level
// allows, chosen by New). Where no kernel fits the CPU, at the generic level
// (SIAMPIPE_SIMD=generic), and with the build tag purego, products go
// through gonum's blas32 instead; the build tag openblas sends all of them to
// OpenBLAS (cgo). Each output row depends only on its own image and its
// summation order is fixed, so results are the same bytes whatever the batch
// size, batch composition or number of goroutines (for one engine: the AVX2
// and AVX-512 kernels round differently, a few 1e-7 to 1e-6 apart).
//
// Tensor names and layouts are PyTorch's state_dict ones, as agreed for the
// checkpoints siampipe's train writes:
//
//	backbone.conv{i}.weight [Cout,Cin,3,3], .bias [Cout]; backbone.bn{i}.* [Cout]   conv -> ReLU -> BN
//	backbone.conv{i}_{j}.*, backbone.bn{i}_{j}.* (j = 2..depth)                    the same at stride 1
//	projector.fc{i}.weight [out,in], .bias [out]; projector.bn{i}.*                 fc -> BN (-> ReLU but last)
//	predictor.fc{i}.weight, .bias; predictor.bn{i}.* for all but the last fc        fc -> BN -> ReLU ... -> fc
//
// Stage i of the backbone is its stride-2 conv{i}, then, in a deeper
// backbone, the stride-1 conv{i}_2 ... conv{i}_{depth} (arch.ConvName), each
// followed by ReLU and BN; the depth is read from the names of stage 1, and
// every stage must have as many convolutions.
//
// A simsiam-architecture checkpoint without any predictor tensor is a model
// trained with SimCLR (backbone and projector only); it has no Predictor
// layer.
//
// BatchNorm tensors are .running_mean and .running_var, plus .weight and .bias
// unless the BatchNorm has no affine parameters; a missing fc .bias means no
// bias. Tensors whose names start with "optim." are ignored. Channel counts
// and layer widths come from the tensor shapes, the image size from the caller.
package infer

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/siampipe/siampipe/internal/arch"
	"github.com/siampipe/siampipe/internal/contract"
)

// Layers whose output a Model computes.
const (
	Backbone  = "backbone"  // z: the flattened (C,H,W) output of the last conv block
	Projector = "projector" // the projector's output (simsiam arch only)
	Predictor = "predictor" // p: the predictor's output
)

// Errors that checkpoint and image problems wrap, for errors.Is.
var (
	ErrMissingTensor = errors.New("missing tensor")
	ErrShape         = errors.New("wrong tensor shape")
	ErrImageSize     = errors.New("image size does not fit the model")
	ErrLayer         = errors.New("no such layer")
)

// LayerError reports a layer the model does not have. It wraps ErrLayer.
type LayerError struct {
	Layer string // the layer asked for
	Arch  string // the model's architecture
	// NoPredictor is set for a model of the simsiam architecture without a
	// predictor (trained with SimCLR).
	NoPredictor bool
}

func (e *LayerError) Error() string {
	switch {
	case e.Layer == Projector && e.Arch == arch.Seed:
		return fmt.Sprintf("%v: a %s model has no projector", ErrLayer, e.Arch)
	case e.Layer == Predictor && e.NoPredictor:
		return fmt.Sprintf("%v: this %s model has no predictor (trained with %s)", ErrLayer, e.Arch, arch.MethodSimCLR)
	}
	return fmt.Sprintf("%v: %q", ErrLayer, e.Layer)
}

// Unwrap returns ErrLayer.
func (e *LayerError) Unwrap() error { return ErrLayer }

// Layers returns the layers the model has, in order.
func (e *LayerError) Layers() []string {
	if e.NoPredictor {
		return []string{Backbone, Projector}
	}
	return Layers(e.Arch)
}

// Layers returns the layers a model of architecture archName has, in order.
func Layers(archName string) []string {
	if archName == arch.SimSiam {
		return []string{Backbone, Projector, Predictor}
	}
	return []string{Backbone, Predictor}
}

// Model is a checkpoint prepared for inference on images of one size. It is
// immutable and safe for concurrent use; each goroutine runs it through its
// own Worker.
type Model struct {
	arch          string
	layer         string
	height, width int
	channels      int   // image channels (the first conv's inputs)
	depth         int   // backbone convolutions per stage
	convs         []*op // backbone, in order
	dense         []*op // projector and predictor layers up to the output layer
	zdim          int   // backbone output width
	dim           int   // output width
	eng           engine
}

// op is one matrix product with its epilogue: a conv (im2col rows by
// weights) or a fully connected layer.
type op struct {
	name string
	// conv geometry (conv ops only)
	cin, hin, win, hout, wout int
	stride                    int
	k, n, npad                int       // inner size, outputs, outputs padded to whole kernel panels
	w                         []float32 // [n][k] row-major (conv k in (ky,kx,cin) order)
	mul, add, lo, s, t        []float32 // epilogue per output: max(v*mul+add, lo)*s + t
	bp, ep                    []float32 // kernel layouts of w and the epilogue (nil for BLAS)
}

// New prepares the tensors of a checkpoint of architecture archName
// (arch.Seed, arch.SimSiam, or "" to tell from the tensor names) to compute layer
// (Backbone, Projector or Predictor; "" means Backbone) of height x width
// images. It checks that every tensor the model needs is present with a
// shape that fits the image size and the layers before it, including the
// layers after the requested one, so a model that could not have been
// trained on such images is refused.
func New(archName string, tensors []contract.Tensor, height, width int, layer string) (*Model, error) {
	return newModel(archName, tensors, height, width, layer, defaultEngine())
}

// Arch returns the model's architecture.
func (m *Model) Arch() string { return m.arch }

// Layer returns the layer the model computes.
func (m *Model) Layer() string { return m.layer }

// Dim returns the width of the feature vector of one image.
func (m *Model) Dim() int { return m.dim }

// Depth returns the backbone's convolutions per stage (1 for the seed
// backbone).
func (m *Model) Depth() int { return m.depth }

// Channels returns the image channels the model takes (1 or 3), which the
// first convolution's weights tell.
func (m *Model) Channels() int { return m.channels }

// Size returns the image height and width the model takes.
func (m *Model) Size() (height, width int) { return m.height, m.width }

type tensors map[string]contract.Tensor

func (ts tensors) has(name string) bool { _, ok := ts[name]; return ok }

// get returns the tensor name with the given shape.
func (ts tensors) get(name string, shape ...int) ([]float32, error) {
	t, ok := ts[name]
	if !ok {
		return nil, fmt.Errorf("%w: checkpoint has no tensor %s (not a siampipe model, or written by another version?)", ErrMissingTensor, name)
	}
	if !slices.Equal(t.Shape, shape) {
		return nil, fmt.Errorf("%w: checkpoint tensor %s has shape %v, expected %v (layers do not fit each other: corrupt or hand-edited checkpoint?)", ErrShape, name, t.Shape, shape)
	}
	if len(t.Values) != t.Size() {
		return nil, fmt.Errorf("%w: checkpoint tensor %s has %d values for shape %v (truncated checkpoint?)", ErrShape, name, len(t.Values), t.Shape)
	}
	for _, v := range t.Values {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("checkpoint tensor %s holds %v (training diverged?)", name, v)
		}
	}
	return t.Values, nil
}

// bn returns the inference-mode BatchNorm of width c called prefix as scale
// and shift: y = x*scale + shift.
func (ts tensors) bn(prefix string, c int) (scale, shift []float32, err error) {
	mean, err := ts.get(prefix+".running_mean", c)
	if err != nil {
		return nil, nil, err
	}
	vr, err := ts.get(prefix+".running_var", c)
	if err != nil {
		return nil, nil, err
	}
	gamma, beta := ones(c), make([]float32, c)
	if ts.has(prefix+".weight") || ts.has(prefix+".bias") {
		if gamma, err = ts.get(prefix+".weight", c); err != nil {
			return nil, nil, err
		}
		if beta, err = ts.get(prefix+".bias", c); err != nil {
			return nil, nil, err
		}
	}
	scale, shift = make([]float32, c), make([]float32, c)
	for i := range c {
		if vr[i] < 0 {
			return nil, nil, fmt.Errorf("checkpoint tensor %s.running_var has a negative variance %v (corrupt checkpoint?)", prefix, vr[i])
		}
		// PyTorch's CPU inference kernel: alpha = weight/sqrt(var+eps), y = x*alpha + (bias - mean*alpha).
		inv := float32(1 / math.Sqrt(float64(vr[i])+arch.BNEps))
		scale[i] = gamma[i] * inv
		shift[i] = beta[i] - mean[i]*scale[i]
	}
	return scale, shift, nil
}

func ones(n int) []float32 { return filled(n, 1) }

func filled(n int, v float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = v
	}
	return s
}

func newModel(archName string, list []contract.Tensor, height, width int, layer string, eng engine) (*Model, error) {
	ts := tensors{}
	for _, t := range list {
		if strings.HasPrefix(t.Name, "optim.") {
			continue
		}
		if ts.has(t.Name) {
			return nil, fmt.Errorf("%w: checkpoint has two tensors called %s (corrupt checkpoint?)", ErrShape, t.Name)
		}
		ts[t.Name] = t
	}
	if archName == "" {
		archName = arch.Seed
		if ts.has("projector.fc1.weight") {
			archName = arch.SimSiam
		}
	}
	if !arch.Known(archName) {
		return nil, fmt.Errorf("unknown model architecture %q (want %s or %s: checkpoint from a newer train?)", archName, arch.Seed, arch.SimSiam)
	}
	if layer == "" {
		layer = Backbone
	}
	noPredictor := archName == arch.SimSiam && !slices.ContainsFunc(list, func(t contract.Tensor) bool {
		return strings.HasPrefix(t.Name, Predictor+".")
	})
	switch {
	case layer == Projector && archName == arch.Seed, layer == Predictor && noPredictor,
		layer != Backbone && layer != Projector && layer != Predictor:
		return nil, &LayerError{Layer: layer, Arch: archName, NoPredictor: noPredictor}
	}
	if height < 1 || width < 1 {
		return nil, fmt.Errorf("%w: %dx%d images", ErrImageSize, height, width)
	}
	m := &Model{arch: archName, layer: layer, height: height, width: width, eng: eng}

	// Backbone: stages of conv -> ReLU -> BN blocks, the first of each at
	// stride 2, the others at stride 1. The im2col below is written for
	// arch.Kernel 3 and arch.Pad 1.
	const k, kk = arch.Kernel, arch.Kernel * arch.Kernel
	c, h, w := arch.DefaultInChannels, height, width
	if t, ok := ts[arch.ConvName(1, 1)+".weight"]; ok && len(t.Shape) == 4 {
		c = t.Shape[1]
		if c != 1 && c != 3 {
			return nil, fmt.Errorf("%w: checkpoint tensor %s.weight has shape %v: %d input channels, expected 1 or 3 (corrupt checkpoint?)", ErrShape, arch.ConvName(1, 1), t.Shape, c)
		}
	}
	m.channels = c
	depth := 1
	for ts.has(arch.ConvName(1, depth+1) + ".weight") {
		depth++
	}
	m.depth = depth
	for i := 1; i == 1 || ts.has(arch.ConvName(i, 1)+".weight"); i++ {
		for j := 1; j <= depth; j++ {
			name := arch.ConvName(i, j)
			t, ok := ts[name+".weight"]
			if !ok {
				return nil, fmt.Errorf("%w: checkpoint has no tensor %s.weight (not a siampipe model?)", ErrMissingTensor, name)
			}
			if len(t.Shape) != 4 || t.Shape[1] != c || t.Shape[2] != k || t.Shape[3] != k || t.Shape[0] < 1 {
				return nil, fmt.Errorf("%w: checkpoint tensor %s.weight has shape %v, expected [Cout %d %d %d] (corrupt checkpoint?)", ErrShape, name, t.Shape, c, k, k)
			}
			cout := t.Shape[0]
			wt, err := ts.get(name+".weight", cout, c, k, k)
			if err != nil {
				return nil, err
			}
			bias, err := ts.get(name+".bias", cout)
			if err != nil {
				return nil, err
			}
			scale, shift, err := ts.bn(arch.BNName(i, j), cout)
			if err != nil {
				return nil, err
			}
			o := &op{name: name, cin: c, hin: h, win: w, hout: h, wout: w, stride: arch.ConvStride(j), k: kk * c, n: cout}
			if j == 1 {
				o.hout, o.wout = arch.ConvOut(h), arch.ConvOut(w)
			}
			// PyTorch [co][ci][ky][kx] -> [co][(ky*3+kx)*cin + ci], the order im2col writes.
			o.w = make([]float32, cout*o.k)
			for co := range cout {
				for ci := range c {
					for p := range kk {
						o.w[co*o.k+p*c+ci] = wt[(co*c+ci)*kk+p]
					}
				}
			}
			o.mul, o.add, o.lo, o.s, o.t = ones(cout), slices.Clone(bias), make([]float32, cout), scale, shift
			m.convs = append(m.convs, o)
			c, h, w = cout, o.hout, o.wout
		}
		if extra := arch.ConvName(i, depth+1); ts.has(extra + ".weight") {
			return nil, fmt.Errorf("%w: checkpoint has %s.weight, but stage 1 has %d convolutions (corrupt checkpoint?)", ErrShape, extra, depth)
		}
	}
	m.zdim = c * h * w
	backboneShape := fmt.Sprintf("%d = %dx%dx%d", m.zdim, c, h, w)

	// Heads. Every head the checkpoint has is checked, the computed ones kept.
	in := m.zdim
	heads := []string{Predictor}
	if archName == arch.SimSiam {
		heads = []string{Projector, Predictor}
		if noPredictor {
			heads = heads[:1]
		}
	}
	for _, head := range heads {
		for i := 1; i == 1 || ts.has(fmt.Sprintf("%s.fc%d.weight", head, i)); i++ {
			name := fmt.Sprintf("%s.fc%d", head, i)
			t, ok := ts[name+".weight"]
			if !ok {
				return nil, fmt.Errorf("%w: checkpoint has no tensor %s.weight (a %s model needs a %s)", ErrMissingTensor, name, archName, head)
			}
			if len(t.Shape) != 2 || t.Shape[0] < 1 {
				return nil, fmt.Errorf("%w: checkpoint tensor %s.weight has shape %v, expected [out %d] (corrupt checkpoint?)", ErrShape, name, t.Shape, in)
			}
			if t.Shape[1] != in {
				if i == 1 && head == heads[0] {
					return nil, fmt.Errorf("%w: the images are %dx%d, giving a backbone output of %s values, but %s.weight takes %d inputs (embed images of the size the model was trained on)", ErrImageSize, height, width, backboneShape, name, t.Shape[1])
				}
				return nil, fmt.Errorf("%w: checkpoint tensor %s.weight has shape %v, expected [out %d] (layers do not fit each other: corrupt checkpoint?)", ErrShape, name, t.Shape, in)
			}
			out := t.Shape[0]
			wt, err := ts.get(name+".weight", out, in)
			if err != nil {
				return nil, err
			}
			bias := make([]float32, out)
			if ts.has(name + ".bias") {
				b, err := ts.get(name+".bias", out)
				if err != nil {
					return nil, err
				}
				copy(bias, b) // the epilogue is built in place: never write the caller's tensors
			}
			last := !ts.has(fmt.Sprintf("%s.fc%d.weight", head, i+1))
			bnName := fmt.Sprintf("%s.bn%d", head, i)
			withBN := head == Projector || !last
			if !withBN && (ts.has(bnName+".running_mean") || ts.has(bnName+".weight")) {
				return nil, fmt.Errorf("%w: checkpoint has %s tensors but the predictor's last layer %s has no BatchNorm (checkpoint of another architecture?)", ErrShape, bnName, name)
			}
			o := &op{name: name, k: in, n: out, w: wt}
			o.mul, o.add, o.lo, o.s, o.t = ones(out), bias, filled(out, float32(math.Inf(-1))), ones(out), make([]float32, out)
			if withBN {
				scale, shift, err := ts.bn(bnName, out)
				if err != nil {
					return nil, err
				}
				for j := range out { // BN(x·w + b) = (x·w)*scale + (b*scale + shift)
					o.mul[j], o.add[j] = scale[j], bias[j]*scale[j]+shift[j]
				}
			}
			if !last {
				clear(o.lo) // ReLU after every BatchNorm but the head's last
			}
			if layer == Predictor || layer == head {
				m.dense = append(m.dense, o)
			}
			in = out
		}
	}
	m.dim = m.zdim
	if len(m.dense) > 0 {
		m.dim = m.dense[len(m.dense)-1].n
	}
	// Fully connected layers read the padded output of the layer before.
	for i, o := range m.dense {
		if i > 0 {
			o.w = padCols(o.w, o.n, o.k, m.dense[i-1].npad)
			o.k = m.dense[i-1].npad
		}
		m.eng.prepare(o)
	}
	for _, o := range m.convs {
		m.eng.prepare(o)
	}
	return m, nil
}

// padCols widens the rows of an [n][k] matrix to kpad columns with zeros.
func padCols(w []float32, n, k, kpad int) []float32 {
	if kpad == k {
		return w
	}
	p := make([]float32, n*kpad)
	for i := range n {
		copy(p[i*kpad:], w[i*k:(i+1)*k])
	}
	return p
}

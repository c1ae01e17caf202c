package simsiam

import (
	"errors"
	"fmt"
	"math"

	"github.com/siampipe/siampipe/internal/arch"
	"github.com/siampipe/siampipe/internal/nnops"
	"github.com/siampipe/siampipe/internal/par"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// bnModule is one BatchNorm module of the PyTorch model: one nnops.BN per
// view sharing the scale and shift nodes, and the running statistics both
// views update, view 1 first.
type bnModule struct {
	mean, vr *Param
	ops      []*nnops.BN
}

// Graph is a compiled training step for a fixed batch size.
type Graph struct {
	m       *Model
	batch   int
	g       *G.ExprGraph
	vm      G.VM
	x       [2]*tensor.Dense
	bns     []*bnModule
	zTap    [2]*nnops.StopGrad // simsiam: the targets z
	zView1  func() []float32   // the view-1 output z_std watches
	train   []*Param
	Grads   [][]float32 // gradient of each trainable parameter, after Run
	loss    []float32
	closed  bool
	scratch []float32 // shared by the convolutions' input gradients
}

// Trainable returns the trainable parameters in the order of Grads.
func (gr *Graph) Trainable() []*Param { return gr.train }

// targetMode says how the loss sees the other view's z (tests only use the
// last two).
type targetMode int

const (
	targetStopGrad targetMode = iota // SimSiam: stopgrad(z)
	targetConst                      // z fed in as a constant input
	targetPlain                      // z itself, gradients flow through it
)

// NewGraph compiles the training step of m for batches of n pairs. The
// temperature is NT-Xent's for a simclr model (0 means
// arch.DefaultTemperature; else it must be positive and finite) and is
// ignored by simsiam.
func (m *Model) NewGraph(n int, temperature float64) (*Graph, error) {
	if m.Cfg.Method == arch.MethodSimCLR {
		if temperature == 0 {
			temperature = arch.DefaultTemperature
		}
		if !(temperature > 0) || math.IsInf(temperature, 0) {
			return nil, fmt.Errorf("simsiam: %w: %v", ErrTemperature, temperature)
		}
	}
	return m.newGraph(n, temperature, targetStopGrad, nil)
}

// ErrTemperature is wrapped by the error for a temperature that is not a
// positive finite number.
var ErrTemperature = errors.New("temperature must be a positive finite number")

func (m *Model) newGraph(n int, temperature float64, mode targetMode, consts [][]float32) (*Graph, error) {
	if n < 2 {
		return nil, fmt.Errorf("simsiam: batch size %d: BatchNorm needs at least 2", n)
	}
	simclr := m.Cfg.Method == arch.MethodSimCLR
	gr := &Graph{m: m, batch: n, g: G.NewGraph()}
	g := gr.g
	nodes := map[string]*G.Node{}
	for _, p := range m.Params {
		if !p.Trainable {
			continue
		}
		t := tensor.New(tensor.WithShape(p.Shape...), tensor.WithBacking(p.Value))
		nodes[p.Name] = G.NewTensor(g, G.Float32, len(p.Shape), G.WithShape(p.Shape...), G.WithValue(t), G.WithName(p.Name))
		gr.train = append(gr.train, p)
	}
	mods := map[string]*bnModule{}
	bnFor := func(prefix string) *bnModule {
		if b, ok := mods[prefix]; ok {
			return b
		}
		b := &bnModule{mean: m.byName[prefix+".running_mean"], vr: m.byName[prefix+".running_var"]}
		mods[prefix] = b
		gr.bns = append(gr.bns, b)
		return b
	}
	applyBN := func(prefix string, x *G.Node, dims int, relu bool) (*G.Node, error) {
		mod := bnFor(prefix)
		w, affine := nodes[prefix+".weight"]
		// backbone: conv → ReLU → BN, the ReLU fused into the BN Op
		op := nnops.NewBN(dims, nnops.BNConfig{Rows: dims == 2, Affine: affine, PreReLU: dims == 4, ReLU: relu})
		mod.ops = append(mod.ops, op)
		if affine {
			return G.ApplyOp(op, x, w, nodes[prefix+".bias"])
		}
		return G.ApplyOp(op, x)
	}
	linear := func(prefix string, x *G.Node) (*G.Node, error) {
		if b, ok := nodes[prefix+".bias"]; ok {
			return G.ApplyOp(nnops.NewLinear(true), x, nodes[prefix+".weight"], b)
		}
		return G.ApplyOp(nnops.NewLinear(false), x, nodes[prefix+".weight"])
	}
	var z, p [2]*G.Node
	for v := 0; v < 2; v++ {
		gr.x[v] = tensor.New(tensor.WithShape(m.Cfg.InChannels, n, m.Cfg.Height, m.Cfg.Width), tensor.Of(tensor.Float32))
		h := G.NewTensor(g, G.Float32, 4, G.WithShape(m.Cfg.InChannels, n, m.Cfg.Height, m.Cfg.Width), G.WithValue(gr.x[v]), G.WithName(fmt.Sprintf("x%d", v+1)))
		var err error
		var prev *nnops.BN // the BN before the convolution, which it leaves to it
		for i := range m.Cfg.Channels {
			for j := 1; j <= m.Cfg.Depth; j++ {
				c := arch.ConvName(i+1, j)
				conv := nnops.NewConv(arch.ConvStride(j), arch.Pad, i == 0 && j == 1)
				conv.ShareScratch(&gr.scratch)
				if prev != nil {
					prev.Defer(conv)
				}
				if h, err = G.ApplyOp(conv, h, nodes[c+".weight"], nodes[c+".bias"]); err != nil {
					return nil, fmt.Errorf("simsiam: %s: %w", c, err)
				}
				if h, err = applyBN(arch.BNName(i+1, j), h, 4, false); err != nil {
					return nil, fmt.Errorf("simsiam: %s: %w", arch.BNName(i+1, j), err)
				}
				ops := bnFor(arch.BNName(i+1, j)).ops
				prev = ops[len(ops)-1]
				prev.TakeStatsFrom(conv)
				prev.DeferBackward(conv)
			}
		}
		if h, err = G.ApplyOp(nnops.NewToRows(), h); err != nil {
			return nil, fmt.Errorf("simsiam: flatten: %w", err)
		}
		if m.Cfg.Arch == arch.SimSiam {
			for i := range m.Cfg.ProjDims {
				last := i == len(m.Cfg.ProjDims)-1
				if h, err = linear(fmt.Sprintf("projector.fc%d", i+1), h); err != nil {
					return nil, fmt.Errorf("simsiam: projector fc%d: %w", i+1, err)
				}
				if h, err = applyBN(fmt.Sprintf("projector.bn%d", i+1), h, 2, !last); err != nil {
					return nil, fmt.Errorf("simsiam: projector bn%d: %w", i+1, err)
				}
			}
		}
		z[v] = h
		if simclr {
			continue
		}
		if h, err = linear("predictor.fc1", h); err != nil {
			return nil, fmt.Errorf("simsiam: predictor fc1: %w", err)
		}
		if h, err = applyBN("predictor.bn1", h, 2, true); err != nil {
			return nil, fmt.Errorf("simsiam: predictor bn1: %w", err)
		}
		if p[v], err = linear("predictor.fc2", h); err != nil {
			return nil, fmt.Errorf("simsiam: predictor fc2: %w", err)
		}
	}
	loss, err := gr.addLoss(z, p, temperature, mode, consts)
	if err != nil {
		return nil, err
	}
	wrt := make(G.Nodes, len(gr.train))
	for i, p := range gr.train {
		wrt[i] = nodes[p.Name]
	}
	grads, err := G.Grad(loss, wrt...)
	if err != nil {
		return nil, fmt.Errorf("simsiam: gradients: %w", err)
	}
	gr.loss = make([]float32, 1)
	dst := [][]float32{gr.loss}
	dims := []int{0}
	sinkIn := G.Nodes{loss}
	for i, gn := range grads {
		gr.Grads = append(gr.Grads, make([]float32, len(gr.train[i].Value)))
		dst = append(dst, gr.Grads[i])
		dims = append(dims, gn.Dims())
		sinkIn = append(sinkIn, gn)
	}
	if _, err := G.ApplyOp(nnops.NewSink(dst, dims...), sinkIn...); err != nil {
		return nil, fmt.Errorf("simsiam: sink: %w", err)
	}
	gr.vm = G.NewTapeMachine(g)
	return gr, nil
}

// addLoss adds the loss of the method to the graph: SimCLR's NT-Xent of z₁
// and z₂ at temperature, or SimSiam's negative cosine of each prediction
// and the other view's target (mode says how the loss sees the targets;
// tests only).
func (gr *Graph) addLoss(z, p [2]*G.Node, temperature float64, mode targetMode, consts [][]float32) (*G.Node, error) {
	if gr.m.Cfg.Method == arch.MethodSimCLR {
		op := nnops.NewNTXent(temperature)
		loss, err := G.ApplyOp(op, z[0], z[1])
		if err != nil {
			return nil, fmt.Errorf("simsiam: NT-Xent loss: %w", err)
		}
		gr.zView1 = func() []float32 {
			u := op.Normalized() // both views; nil before the first Run
			return u[:min(len(u), gr.batch*gr.m.OutDim())]
		}
		return loss, nil
	}
	var sg [2]*G.Node
	for v := 0; v < 2; v++ {
		op := nnops.NewStopGrad(2)
		op.Capture = true
		gr.zTap[v] = op
		var err error
		if sg[v], err = G.ApplyOp(op, z[v]); err != nil {
			return nil, fmt.Errorf("simsiam: stopgrad: %w", err)
		}
		switch mode {
		case targetConst:
			t := tensor.New(tensor.WithShape(z[v].Shape()...), tensor.WithBacking(consts[v]))
			sg[v] = G.NewTensor(gr.g, G.Float32, 2, G.WithShape(z[v].Shape()...), G.WithValue(t), G.WithName(fmt.Sprintf("zconst%d", v+1)))
		case targetPlain:
			sg[v] = z[v]
		}
	}
	gr.zView1 = gr.zTap[0].Last
	neg := nnops.NewNegCos(2)
	neg.ConstTargets = mode != targetPlain
	loss, err := G.ApplyOp(neg, p[0], sg[1], p[1], sg[0])
	if err != nil {
		return nil, fmt.Errorf("simsiam: loss: %w", err)
	}
	return loss, nil
}

// Close releases the tape machine.
func (gr *Graph) Close() {
	if !gr.closed {
		gr.vm.Close()
		gr.closed = true
	}
}

// Run does the forward and backward pass on a batch of pairs (view1 and
// view2 are n images of C·H·W pixels each, CHW, scaled by 1/255), leaves the gradients in
// Grads, folds the batch statistics into the running statistics and returns
// the loss. It does not change the trainable parameters.
func (gr *Graph) Run(view1, view2 []uint8) (float32, error) {
	for v, px := range [2][]uint8{view1, view2} {
		d := gr.x[v].Data().([]float32)
		if len(px) != len(d) {
			return 0, fmt.Errorf("simsiam: view %d has %d pixels, want %d", v+1, len(px), len(d))
		}
		// The Ops take x as (C, n, H, W): plane c of every image, then
		// plane c+1.
		c, hw := gr.m.Cfg.InChannels, gr.m.Cfg.Height*gr.m.Cfg.Width
		n := len(px) / (c * hw)
		const imgs = 16 // images a core converts at a time
		par.For(par.Blocks(n, imgs), func(blk int) {
			b0, b1 := par.Block(blk, n, imgs)
			for i := b0; i < b1; i++ {
				for ch := range c {
					src := px[(i*c+ch)*hw : (i*c+ch+1)*hw]
					dst := d[(ch*n+i)*hw : (ch*n+i+1)*hw]
					for j, b := range src {
						dst[j] = float32(b) / 255
					}
				}
			}
		})
	}
	gr.vm.Reset()
	if err := gr.vm.RunAll(); err != nil {
		return 0, fmt.Errorf("simsiam: step: %w", err)
	}
	for _, b := range gr.bns {
		for _, op := range b.ops {
			mean, uv := op.BatchStats()
			for c := range mean {
				b.mean.Value[c] = float32((1-arch.BNMomentum)*float64(b.mean.Value[c]) + arch.BNMomentum*mean[c])
				b.vr.Value[c] = float32((1-arch.BNMomentum)*float64(b.vr.Value[c]) + arch.BNMomentum*uv[c])
			}
		}
	}
	return gr.loss[0], nil
}

// ZStd is the collapse monitor of the last Run: the standard deviation over
// the batch of the l2-normalised view-1 output z (SimSiam's target, SimCLR's
// projection), averaged over its d dimensions: about 1/sqrt(d) when the
// outputs spread over the sphere, 0 when they collapse to one point.
// Before the first Run it is NaN.
func (gr *Graph) ZStd() float64 { return ZStd(gr.zView1(), gr.batch) }

// ZStd returns the standard deviation over n rows of the l2-normalised rows
// of z (n×d, row-major), averaged over the d columns; NaN for an empty z.
// n must be positive.
func ZStd(z []float32, n int) float64 {
	d := len(z) / n
	sum := make([]float64, d)
	sq := make([]float64, d)
	for i := 0; i < n; i++ {
		row := z[i*d : (i+1)*d]
		var nn float64
		for _, v := range row {
			nn += float64(v) * float64(v)
		}
		inv := 1 / math.Max(math.Sqrt(nn), 1e-12)
		for j, v := range row {
			u := float64(v) * inv
			sum[j] += u
			sq[j] += u * u
		}
	}
	var tot float64
	for j := range sum {
		mean := sum[j] / float64(n)
		tot += math.Sqrt(math.Max(sq[j]/float64(n)-mean*mean, 0))
	}
	return tot / float64(d)
}

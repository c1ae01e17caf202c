package nnops

import (
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// weightedSum is Σ out·r, the scalar through which the checks probe an Op.
type weightedSum struct {
	base
	r []float32
}

func (o *weightedSum) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.ScalarShape(), nil
}
func (o *weightedSum) Do(in ...G.Value) (G.Value, error) {
	var s float64
	for i, v := range data(in[0]) {
		s += float64(v) * float64(o.r[i])
	}
	f := G.F32(float32(s))
	return &f, nil
}
func (o *weightedSum) DiffWRT(int) []bool { return []bool{true} }
func (o *weightedSum) SymDiff(in G.Nodes, _, g *G.Node) (G.Nodes, error) {
	n, err := apply(&scaleBy{base: newBase("ScaleBy", o.inDims[0], 0), r: o.r, shape: in[0].Shape().Clone()}, g)
	return G.Nodes{n}, err
}

type scaleBy struct {
	base
	r     []float32
	shape tensor.Shape
}

func (o *scaleBy) InferShape(...G.DimSizer) (tensor.Shape, error) { return o.shape.Clone(), nil }
func (o *scaleBy) Do(in ...G.Value) (G.Value, error) {
	g := data(in[0])[0]
	t := tensor.New(tensor.WithShape(o.shape...), tensor.Of(tensor.Float32))
	for i, v := range o.r {
		t.Data().([]float32)[i] = v * g
	}
	return t, nil
}

type input struct {
	shape []int
	diff  bool    // has a gradient to check
	scale float64 // spread of the random values (0 = 1)
	shift float64
}

// probe builds op(inputs) → Σ out·r, returns a function that evaluates the
// cost and the gradients for given input values.
func probe(t *testing.T, build func(g *G.ExprGraph, in []*G.Node) (*G.Node, error), ins []input, seed uint64) (vals [][]float32, eval func() (float32, [][]float32)) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	g := G.NewGraph()
	nodes := make([]*G.Node, len(ins))
	vals = make([][]float32, len(ins))
	var wrt []*G.Node
	for i, in := range ins {
		n := 1
		for _, d := range in.shape {
			n *= d
		}
		v := make([]float32, n)
		sc := in.scale
		if sc == 0 {
			sc = 1
		}
		for j := range v {
			v[j] = float32(rng.NormFloat64()*sc + in.shift)
		}
		vals[i] = v
		tv := tensor.New(tensor.WithShape(in.shape...), tensor.WithBacking(v))
		nodes[i] = G.NewTensor(g, G.Float32, len(in.shape), G.WithShape(in.shape...), G.WithValue(tv), G.WithName(string(rune('a'+i))))
		if in.diff {
			wrt = append(wrt, nodes[i])
		}
	}
	o, err := build(g, nodes)
	if err != nil {
		t.Fatal(err)
	}
	cost := o
	if !o.IsScalar() {
		r := make([]float32, o.Shape().TotalSize())
		for j := range r {
			r[j] = float32(rng.NormFloat64())
		}
		if cost, err = apply(&weightedSum{base: newBase("WSum", 0, o.Dims()), r: r}, o); err != nil {
			t.Fatal(err)
		}
	}
	grads, err := G.Grad(cost, wrt...)
	if err != nil {
		t.Fatal(err)
	}
	dst := [][]float32{make([]float32, 1)}
	dims := []int{0}
	sinkIn := G.Nodes{cost}
	for k, gn := range grads {
		dst = append(dst, make([]float32, wrt[k].Shape().TotalSize()))
		dims = append(dims, gn.Dims())
		sinkIn = append(sinkIn, gn)
	}
	if _, err := apply(NewSink(dst, dims...), sinkIn...); err != nil {
		t.Fatal(err)
	}
	m := G.NewTapeMachine(g)
	t.Cleanup(func() { m.Close() })
	eval = func() (float32, [][]float32) {
		m.Reset()
		if err := m.RunAll(); err != nil {
			t.Fatal(err)
		}
		gs := make([][]float32, len(dst)-1)
		for k := range gs {
			gs[k] = append([]float32(nil), dst[k+1]...)
		}
		return dst[0][0], gs
	}
	return vals, eval
}

// checkGrad compares each analytic gradient with central differences along a
// random direction, and also coordinate-wise on a few entries.
func checkGrad(t *testing.T, build func(g *G.ExprGraph, in []*G.Node) (*G.Node, error), ins []input) {
	t.Helper()
	vals, eval := probe(t, build, ins, 7)
	_, grads := eval()
	rng := rand.New(rand.NewPCG(3, 4))
	k := 0
	for i, in := range ins {
		if !in.diff {
			continue
		}
		gr := grads[k]
		k++
		v := vals[i]
		orig := append([]float32(nil), v...)
		d := make([]float32, len(v))
		for j := range d {
			d[j] = float32(rng.NormFloat64())
		}
		const eps = 1e-3
		fd := func(dir []float32) float64 {
			for j := range v {
				v[j] = orig[j] + eps*dir[j]
			}
			lp, _ := eval()
			for j := range v {
				v[j] = orig[j] - eps*dir[j]
			}
			lm, _ := eval()
			copy(v, orig)
			return (float64(lp) - float64(lm)) / (2 * eps)
		}
		var an, norm float64
		for j := range d {
			an += float64(gr[j]) * float64(d[j])
			norm += float64(gr[j]) * float64(gr[j])
		}
		num := fd(d)
		scale := math.Max(math.Sqrt(norm*float64(len(d))), 1e-3)
		if math.Abs(num-an) > 2e-3*scale+1e-3 {
			t.Errorf("input %d: directional derivative %.6g, finite difference %.6g", i, an, num)
		}
		// a few coordinates
		for c := 0; c < 3; c++ {
			j := rng.IntN(len(v))
			e := make([]float32, len(v))
			e[j] = 1
			num := fd(e)
			if math.Abs(num-float64(gr[j])) > 2e-2*math.Max(1, math.Abs(num)) {
				t.Errorf("input %d[%d]: gradient %.6g, finite difference %.6g", i, j, gr[j], num)
			}
		}
		if norm == 0 {
			t.Errorf("input %d: gradient is identically zero", i)
		}
	}
}

func TestOpGradientsMatchFiniteDifferences(t *testing.T) {
	cases := []struct {
		name  string
		ins   []input
		build func(g *G.ExprGraph, in []*G.Node) (*G.Node, error)
	}{
		{"Conv stride 2 pad 1", []input{{shape: []int{2, 3, 7, 6}, diff: true}, {shape: []int{4, 2, 3, 3}, diff: true}, {shape: []int{4}, diff: true, scale: 0.3}},
			func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) { return apply(NewConv(2, 1, false), in...) }},
		{"Conv stride 1 pad 0 data input", []input{{shape: []int{1, 2, 5, 5}}, {shape: []int{3, 1, 3, 3}, diff: true}, {shape: []int{3}, diff: true, scale: 0.3}},
			func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) { return apply(NewConv(1, 0, true), in...) }},
		{"Conv stride 1 pad 1", []input{{shape: []int{3, 2, 5, 6}, diff: true}, {shape: []int{4, 3, 3, 3}, diff: true}, {shape: []int{4}, diff: true, scale: 0.3}},
			func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) { return apply(NewConv(1, 1, false), in...) }},
		{"Conv stride 2 pad 1 even size", []input{{shape: []int{3, 2, 8, 8}, diff: true}, {shape: []int{2, 3, 3, 3}, diff: true}, {shape: []int{2}, diff: true}},
			func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) { return apply(NewConv(2, 1, false), in...) }},
		{"BN channel-major PreReLU affine", []input{{shape: []int{3, 4, 3, 3}, diff: true, shift: 0.3}, {shape: []int{3}, diff: true, shift: 1}, {shape: []int{3}, diff: true}},
			func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) {
				return apply(NewBN(4, BNConfig{Affine: true, PreReLU: true}), in...)
			}},
		{"BN rows PreReLU and ReLU", []input{{shape: []int{8, 3}, diff: true, shift: 0.3}, {shape: []int{3}, diff: true, shift: 1}, {shape: []int{3}, diff: true}},
			func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) {
				return apply(NewBN(2, BNConfig{Rows: true, Affine: true, PreReLU: true, ReLU: true}), in...)
			}},
		{"BN channel-major affine", []input{{shape: []int{3, 4, 2, 3}, diff: true, scale: 2, shift: 1}, {shape: []int{3}, diff: true, shift: 1}, {shape: []int{3}, diff: true}},
			func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) {
				return apply(NewBN(4, BNConfig{Affine: true}), in...)
			}},
		{"BN channel-major affine ReLU", []input{{shape: []int{2, 5, 3, 3}, diff: true}, {shape: []int{2}, diff: true, shift: 1}, {shape: []int{2}, diff: true}},
			func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) {
				return apply(NewBN(4, BNConfig{Affine: true, ReLU: true}), in...)
			}},
		{"BN rows affine ReLU", []input{{shape: []int{9, 5}, diff: true, scale: 3}, {shape: []int{5}, diff: true, shift: 1}, {shape: []int{5}, diff: true}},
			func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) {
				return apply(NewBN(2, BNConfig{Rows: true, Affine: true, ReLU: true}), in...)
			}},
		{"BN rows no affine", []input{{shape: []int{7, 4}, diff: true, shift: -2}},
			func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) {
				return apply(NewBN(2, BNConfig{Rows: true}), in...)
			}},
		{"Linear with bias", []input{{shape: []int{5, 6}, diff: true}, {shape: []int{3, 6}, diff: true}, {shape: []int{3}, diff: true}},
			func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) { return apply(NewLinear(true), in...) }},
		{"Linear without bias", []input{{shape: []int{4, 3}, diff: true}, {shape: []int{7, 3}, diff: true}},
			func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) { return apply(NewLinear(false), in...) }},
		{"ToRows", []input{{shape: []int{3, 2, 2, 2}, diff: true}},
			func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) { return apply(NewToRows(), in...) }},
		{"NegCos two pairs", []input{{shape: []int{4, 6}, diff: true}, {shape: []int{4, 6}, diff: true}, {shape: []int{4, 6}, diff: true}, {shape: []int{4, 6}, diff: true}},
			func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) { return apply(NewNegCos(2), in...) }},
		{"NegCos constant targets", []input{{shape: []int{4, 6}, diff: true}, {shape: []int{4, 6}}, {shape: []int{4, 6}, diff: true}, {shape: []int{4, 6}}},
			func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) {
				op := NewNegCos(2)
				op.ConstTargets = true
				return apply(op, in...)
			}},
		{"NTXent temperature 0.5", []input{{shape: []int{4, 6}, diff: true}, {shape: []int{4, 6}, diff: true, shift: 0.5}},
			func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) { return apply(NewNTXent(0.5), in...) }},
		{"NTXent temperature 0.1 large rows", []input{{shape: []int{3, 5}, diff: true, scale: 4}, {shape: []int{3, 5}, diff: true, scale: 4, shift: 1}},
			func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) { return apply(NewNTXent(0.1), in...) }},
		{"NTXent two pairs temperature 1", []input{{shape: []int{2, 4}, diff: true}, {shape: []int{2, 4}, diff: true}},
			func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) { return apply(NewNTXent(1), in...) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkGrad(t, c.build, c.ins) })
	}
}

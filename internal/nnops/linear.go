package nnops

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Linear is y = x·Wᵀ + b for x (N, in), W (out, in) (PyTorch layout) and
// the optional b (out).
type Linear struct {
	base
	bias bool
}

// NewLinear returns the Op; without bias its inputs are (x, W).
func NewLinear(bias bool) *Linear {
	in := []int{2, 2}
	if bias {
		in = append(in, 1)
	}
	return &Linear{base: newBase("Linear", 2, in...), bias: bias}
}

// InferShape implements gorgonia.Op.
func (o *Linear) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	x, w := in[0].(tensor.Shape), in[1].(tensor.Shape)
	if len(x) != 2 || len(w) != 2 || x[1] != w[1] {
		return nil, fmt.Errorf("nnops: Linear: x %v and W %v do not fit", x, w)
	}
	return tensor.Shape{x[0], w[0]}, nil
}

func (o *Linear) Do(in ...G.Value) (G.Value, error) {
	xs, ws := shapeOf(in[0]), shapeOf(in[1])
	n, k, m := xs[0], xs[1], ws[0]
	y := o.out(n, m)
	yd := y.Data().([]float32)
	beta := float32(0)
	if o.bias {
		b := data(in[2])
		for i := 0; i < n; i++ {
			copy(yd[i*m:(i+1)*m], b)
		}
		beta = 1
	}
	sgemm(false, true, n, m, k, 1, data(in[0]), k, data(in[1]), k, beta, yd, m)
	return y, nil
}

// DiffWRT implements gorgonia.SDOp.
func (o *Linear) DiffWRT(n int) []bool {
	r := make([]bool, n)
	for i := range r {
		r[i] = true
	}
	return r
}

// SymDiff implements gorgonia.SDOp.
func (o *Linear) SymDiff(in G.Nodes, y, dy *G.Node) (G.Nodes, error) {
	dx, err := apply(&matMul{base: newBase("LinearDX", 2, 2, 2)}, dy, in[1])
	if err != nil {
		return nil, err
	}
	dw, err := apply(&matMul{base: newBase("LinearDW", 2, 2, 2), transA: true}, dy, in[0])
	if err != nil {
		return nil, err
	}
	res := G.Nodes{dx, dw}
	if o.bias {
		db, err := apply(&colSum{newBase("ColSum", 1, 2)}, dy)
		if err != nil {
			return nil, err
		}
		res = append(res, db)
	}
	return res, nil
}

// matMul is op(a)·b with op(a) = a or aᵀ.
type matMul struct {
	base
	transA bool
}

func (o *matMul) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	a, b := in[0].(tensor.Shape), in[1].(tensor.Shape)
	if o.transA {
		return tensor.Shape{a[1], b[1]}, nil
	}
	return tensor.Shape{a[0], b[1]}, nil
}
func (o *matMul) Do(in ...G.Value) (G.Value, error) {
	as, bs := shapeOf(in[0]), shapeOf(in[1])
	m, k := as[0], as[1]
	if o.transA {
		m, k = k, m
	}
	n := bs[1]
	c := o.out(m, n)
	sgemm(o.transA, false, m, n, k, 1, data(in[0]), as[1], data(in[1]), n, 0, c.Data().([]float32), n)
	return c, nil
}

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
	bias   bool
	xa, wa []float32 // x and W with a last column of ones and b (augmented)
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
	x, w := data(in[0]), data(in[1])
	switch {
	case !o.bias:
		sgemm(false, true, n, m, k, 1, x, k, w, k, 0, yd, m)
	case (n+m)*(k+1) < n*m:
		// A short product (few inputs, many outputs): the bias enters it
		// as one more term of each sum, a column of ones after x's and b
		// after W's, so y is written once rather than filled with b and
		// read back. The bytes are the same (acc + b rounded once).
		o.xa, o.wa = grow(o.xa, n*(k+1)), grow(o.wa, m*(k+1))
		augment(o.xa, x, n, k, nil)
		augment(o.wa, w, m, k, data(in[2]))
		sgemm(false, true, n, m, k+1, 1, o.xa, k+1, o.wa, k+1, 0, yd, m)
	default:
		b := data(in[2])
		for i := 0; i < n; i++ {
			copy(yd[i*m:(i+1)*m], b)
		}
		sgemm(false, true, n, m, k, 1, x, k, w, k, 1, yd, m)
	}
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

// augment copies the rows×k matrix src into dst as rows×(k+1), each row
// followed by last[i], or by 1 if last is nil.
func augment(dst, src []float32, rows, k int, last []float32) {
	for i := range rows {
		copy(dst[i*(k+1):i*(k+1)+k], src[i*k:(i+1)*k])
		v := float32(1)
		if last != nil {
			v = last[i]
		}
		dst[i*(k+1)+k] = v
	}
}

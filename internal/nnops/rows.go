package nnops

import (
	"github.com/siampipe/siampipe/internal/par"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// ToRows turns a channel-major (C, N, H, W) activation into the (N, C·H·W)
// matrix of torch.flatten on the NCHW tensor.
type ToRows struct{ base }

// NewToRows returns the Op.
func NewToRows() *ToRows { return &ToRows{newBase("ToRows", 2, 4)} }

// InferShape implements gorgonia.Op.
func (o *ToRows) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s := in[0].(tensor.Shape)
	return tensor.Shape{s[1], s[0] * s[2] * s[3]}, nil
}

func (o *ToRows) Do(in ...G.Value) (G.Value, error) {
	s := shapeOf(in[0])
	c, n, q := s[0], s[1], s[2]*s[3]
	r := o.out(n, c*q)
	transposeBlocks(data(in[0]), r.Data().([]float32), c, n, q)
	return r, nil
}

// DiffWRT implements gorgonia.SDOp.
func (o *ToRows) DiffWRT(int) []bool { return []bool{true} }

// SymDiff implements gorgonia.SDOp.
func (o *ToRows) SymDiff(in G.Nodes, _, dz *G.Node) (G.Nodes, error) {
	s := in[0].Shape().Clone()
	d, err := apply(&fromRows{base: newBase("FromRows", 4, 2), shape: s}, dz)
	return G.Nodes{d}, err
}

type fromRows struct {
	base
	shape tensor.Shape
}

func (o *fromRows) InferShape(...G.DimSizer) (tensor.Shape, error) { return o.shape.Clone(), nil }
func (o *fromRows) Do(in ...G.Value) (G.Value, error) {
	s := o.shape
	c, n, q := s[0], s[1], s[2]*s[3]
	r := o.out(s...)
	transposeBlocks(data(in[0]), r.Data().([]float32), n, c, q)
	return r, nil
}

// transposeBlocks views src as an a×b matrix of q-element blocks and writes
// its b×a transpose into dst.
// Rows of blocks run on all cores.
func transposeBlocks(src, dst []float32, a, b, q int) {
	par.For(a, func(i int) {
		for j := 0; j < b; j++ {
			copy(dst[(j*a+i)*q:(j*a+i+1)*q], src[(i*b+j)*q:(i*b+j+1)*q])
		}
	})
}

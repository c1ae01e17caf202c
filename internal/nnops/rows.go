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
// its b×a transpose into dst, in tiles of tileBlocks×tileBlocks blocks (so
// that the reads and the writes each keep to a few lines and pages at a
// time: a third faster than whole rows of blocks for the 2 MB of the
// model's). Bands of tile rows run on all cores.
func transposeBlocks(src, dst []float32, a, b, q int) {
	par.For(par.Blocks(a, tileBlocks), func(bi int) {
		i0, i1 := par.Block(bi, a, tileBlocks)
		for j0 := 0; j0 < b; j0 += tileBlocks {
			j1 := min(b, j0+tileBlocks)
			for i := i0; i < i1; i++ {
				for j := j0; j < j1; j++ {
					copy(dst[(j*a+i)*q:(j*a+i+1)*q], src[(i*b+j)*q:(i*b+j+1)*q])
				}
			}
		}
	})
}

// tileBlocks is the side of transposeBlocks' tiles, in blocks.
const tileBlocks = 4

package nnops

import (
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// StopGrad is the identity in the forward pass and a constant for the
// derivative (PyTorch's detach): it copies its input, never aliases it, and
// reports no differentiable input, so gorgonia sends no gradient through.
type StopGrad struct {
	base
	// Capture, when set, keeps a copy of the last forward value (Last).
	Capture bool
	last    []float32
}

// NewStopGrad returns the Op for inputs of rank dims.
func NewStopGrad(dims int) *StopGrad { return &StopGrad{base: newBase("StopGrad", dims, dims)} }

// Last returns the value copied by the last forward pass with Capture set.
func (o *StopGrad) Last() []float32 { return o.last }

// InferShape implements gorgonia.Op.
func (o *StopGrad) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	return clone(in[0].(tensor.Shape)), nil
}

func (o *StopGrad) Do(in ...G.Value) (G.Value, error) {
	r := o.out(shapeOf(in[0])...)
	src := data(in[0])
	copy(r.Data().([]float32), src)
	if o.Capture {
		o.last = append(o.last[:0], src...)
	}
	return r, nil
}

// DiffWRT implements gorgonia.SDOp: nothing is differentiable.
func (o *StopGrad) DiffWRT(int) []bool { return []bool{false} }

// SymDiff implements gorgonia.SDOp: no gradient flows back.
func (o *StopGrad) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) { return G.Nodes{nil}, nil }

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
	// Capture, when set, keeps the last forward value (Last): the Op's own
	// output, which no later Op of the step writes.
	Capture bool
	last    []float32
}

// NewStopGrad returns the Op for inputs of rank dims.
func NewStopGrad(dims int) *StopGrad { return &StopGrad{base: newBase("StopGrad", dims, dims)} }

// Last returns the value of the last forward pass with Capture set (valid
// until the next one).
func (o *StopGrad) Last() []float32 { return o.last }

// InferShape implements gorgonia.Op.
func (o *StopGrad) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	return clone(in[0].(tensor.Shape)), nil
}

func (o *StopGrad) Do(in ...G.Value) (G.Value, error) {
	r := o.out(shapeOf(in[0])...)
	dst := r.Data().([]float32)
	copy(dst, data(in[0]))
	if o.Capture {
		o.last = dst
	}
	return r, nil
}

// DiffWRT implements gorgonia.SDOp: nothing is differentiable.
func (o *StopGrad) DiffWRT(int) []bool { return []bool{false} }

// SymDiff implements gorgonia.SDOp: no gradient flows back.
func (o *StopGrad) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) { return G.Nodes{nil}, nil }

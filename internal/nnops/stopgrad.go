package nnops

import (
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// StopGrad is the identity in the forward pass and a constant for the
// derivative (PyTorch's detach): it hands on its input tensor itself, and
// reports no differentiable input, so gorgonia sends no gradient through.
// Its input is an Op's own result, which nothing writes again until the
// next step, so sharing it costs no copy (TestStopGradientEqualsConstantTargets
// checks the gradients against z fed as a constant).
type StopGrad struct {
	base
	// Capture, when set, keeps the last forward value (Last), which no
	// later Op of the step writes.
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
	if o.Capture {
		o.last = data(in[0])
	}
	return in[0], nil
}

// DiffWRT implements gorgonia.SDOp: nothing is differentiable.
func (o *StopGrad) DiffWRT(int) []bool { return []bool{false} }

// SymDiff implements gorgonia.SDOp: no gradient flows back.
func (o *StopGrad) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) { return G.Nodes{nil}, nil }

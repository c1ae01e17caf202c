// Package nnops holds the fast gorgonia Ops of the SimSiam trainer:
// convolution by im2col and sgemm, BatchNorm (optionally fused with ReLU)
// with its batch statistics kept per Op instance, fully connected layers,
// a stop-gradient, the symmetric negative-cosine loss and a gradient sink.
//
// Every Op computes in float32 with its own Do and derivative Ops
// (gorgonia's SymDiff), keeps its scratch buffers across steps and writes
// its result into a tensor it owns, so a training step allocates almost
// nothing after the first.
//
// Image activations use the channel-major layout (C, N, H, W): one channel
// of the whole batch is contiguous, so a convolution is the sgemm
// W[Cout×K]·cols[K×N·P], taken a chunk of images at a time, and BatchNorm
// reads one contiguous block per channel. A backbone BatchNorm can leave its
// output and its input gradient to the convolutions around it (BN.Defer,
// BN.DeferBackward), which make them a chunk at a time as they need them.
// Dense activations are row-major (N, D).
package nnops

import (
	"fmt"
	"hash"
	"hash/fnv"
	"sync/atomic"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

var opIDs atomic.Int64

// base carries the bookkeeping every Op shares: a unique name (stateful Ops
// must never be merged by gorgonia's node hashing), the input ranks and the
// output rank (0 = scalar).
type base struct {
	name   string
	id     int64
	inDims []int
	outDim int
	res    *tensor.Dense
}

func newBase(name string, outDim int, inDims ...int) base {
	return base{name: name, id: opIDs.Add(1), inDims: inDims, outDim: outDim}
}

func (b *base) Arity() int { return len(b.inDims) }

func tt(d int) hm.Type {
	if d == 0 {
		return G.Float32
	}
	return G.TensorType{Dims: d, Of: G.Float32}
}

func (b *base) Type() hm.Type {
	ts := make([]hm.Type, 0, len(b.inDims)+1)
	for _, d := range b.inDims {
		ts = append(ts, tt(d))
	}
	ts = append(ts, tt(b.outDim))
	return hm.NewFnType(ts...)
}

func (b *base) ReturnsPtr() bool      { return false }
func (b *base) CallsExtern() bool     { return false }
func (b *base) OverwritesInput() int  { return -1 }
func (b *base) String() string        { return fmt.Sprintf("%s#%d", b.name, b.id) }
func (b *base) WriteHash(h hash.Hash) { fmt.Fprint(h, b.String()) }
func (b *base) Hashcode() uint32 {
	h := fnv.New32a()
	b.WriteHash(h)
	return h.Sum32()
}

// data returns the float32 backing slice of a tensor value, or a one-element
// slice for a scalar.
func data(v G.Value) []float32 {
	switch t := v.(type) {
	case tensor.Tensor:
		return t.Data().([]float32)
	case *G.F32:
		return []float32{float32(*t)}
	}
	panic(fmt.Sprintf("nnops: unsupported value %T", v))
}

func shapeOf(v G.Value) tensor.Shape { return v.Shape() }

// out returns the Op's own result tensor of the given shape, allocated on
// the first call and reused afterwards.
//
// gorgonia's tape machine clears its registers on every Reset, so results
// written into its preallocated values would be reallocated on every step.
// Keeping the result in the Op is safe because each Op runs once per step
// and a node's value is only read while the node is live: if a later node
// reuses the register (and writes into this tensor), this Op's value is dead
// by then and is rewritten before anyone reads it again.
func (b *base) out(shape ...int) *tensor.Dense {
	if b.res == nil || !b.res.Shape().Eq(tensor.Shape(shape)) {
		b.res = tensor.New(tensor.WithShape(shape...), tensor.Of(tensor.Float32))
	}
	return b.res
}

// grow returns buf resized to n elements, reallocating only when it must.
func grow(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}

func clone(s tensor.Shape) tensor.Shape { return s.Clone() }

func apply(op G.Op, in ...*G.Node) (*G.Node, error) {
	n, err := G.ApplyOp(op, in...)
	if err != nil {
		return nil, fmt.Errorf("nnops: %v: %w", op, err)
	}
	return n, nil
}

func tensorOf(v []float32, shape ...int) *tensor.Dense {
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(v))
}

package nnops

import (
	"github.com/siampipe/siampipe/internal/par"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// ChanSum sums a (C, ...) tensor over everything but its first axis; it is
// the bias gradient of a convolution in the channel-major layout.
type ChanSum struct{ base }

// NewChanSum returns the Op (input rank 4, output rank 1).
func NewChanSum() *ChanSum { return &ChanSum{newBase("ChanSum", 1, 4)} }

// InferShape implements gorgonia.Op.
func (o *ChanSum) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{in[0].(tensor.Shape)[0]}, nil
}

func (o *ChanSum) Do(in ...G.Value) (G.Value, error) {
	c := shapeOf(in[0])[0]
	x := data(in[0])
	m := len(x) / c
	r := o.out(c)
	rd := r.Data().([]float32)
	par.For(c, func(i int) { rd[i] = sum32(x[i*m : (i+1)*m]) })
	return r, nil
}

// colSum sums a (N, D) matrix over its rows: the bias gradient of Linear.
type colSum struct{ base }

func (o *colSum) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{in[0].(tensor.Shape)[1]}, nil
}
func (o *colSum) Do(in ...G.Value) (G.Value, error) {
	s := shapeOf(in[0])
	n, d := s[0], s[1]
	x := data(in[0])
	r := o.out(d)
	rd := r.Data().([]float32)
	acc := make([]float64, d)
	for i := 0; i < n; i++ {
		row := x[i*d : (i+1)*d]
		for j, v := range row {
			acc[j] += float64(v)
		}
	}
	for j := range rd {
		rd[j] = float32(acc[j])
	}
	return r, nil
}

// sum32 adds x in float64 (blocked) and rounds once.
func sum32(x []float32) float32 {
	switch {
	case len(x) == 0:
	case useAVX512():
		return float32(sumAVX512(&x[0], len(x)))
	case useAVX2():
		return float32(sumAVX2(&x[0], len(x)))
	}
	return sum32Go(x)
}

func sum32Go(x []float32) float32 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += float64(x[i])
		s1 += float64(x[i+1])
		s2 += float64(x[i+2])
		s3 += float64(x[i+3])
	}
	for ; i < len(x); i++ {
		s0 += float64(x[i])
	}
	return float32(s0 + s1 + s2 + s3)
}

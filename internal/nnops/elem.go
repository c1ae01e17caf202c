package nnops

import (
	"github.com/siampipe/siampipe/internal/par"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// colBlock is how many columns colSum sums on one core at a time.
const colBlock = 256

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
	// Blocks of columns run on all cores; each column is summed down the
	// rows in order, whichever core runs it.
	par.For(par.Blocks(d, colBlock), func(bi int) {
		c0, c1 := par.Block(bi, d, colBlock)
		var acc [colBlock]float64
		for i := 0; i < n; i++ {
			for j, v := range x[i*d+c0 : i*d+c1] {
				acc[j] += float64(v)
			}
		}
		for j := range rd[c0:c1] {
			rd[c0+j] = float32(acc[j])
		}
	})
	return r, nil
}

// sum64 adds x in float64 (blocked).
func sum64(x []float32) float64 {
	switch {
	case len(x) == 0:
	case useAVX512():
		return sumAVX512(&x[0], len(x))
	case useAVX2():
		return sumAVX2(&x[0], len(x))
	}
	return sum64Go(x)
}

func sum64Go(x []float32) float64 {
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
	return s0 + s1 + s2 + s3
}

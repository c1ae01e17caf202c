package nnops

import (
	"fmt"
	"github.com/siampipe/siampipe/internal/par"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// NegCos is the SimSiam loss over k pairs of (N, D) matrices:
//
//	L = −(1/k) Σᵢ mean_n cos(pᵢ[n], zᵢ[n])
//
// with inputs p₁, z₁, p₂, z₂, …; for SimSiam k = 2 with (p₁, stopgrad(z₂))
// and (p₂, stopgrad(z₁)). The cosine's denominator is clamped at 1e-8 as in
// torch.nn.functional.cosine_similarity.
type NegCos struct {
	base
	k int
	// ConstTargets says the z inputs are constants (stop-gradient outputs,
	// as in SimSiam): their gradients are then neither built nor computed.
	ConstTargets bool
	rows         []cosStats // of the last forward pass, pair-major, for the gradients
}

// cosStats are one row's cosine and norms.
type cosStats struct{ c, np, nz float64 }

// NewNegCos returns the loss over k pairs.
func NewNegCos(k int) *NegCos {
	in := make([]int, 2*k)
	for i := range in {
		in[i] = 2
	}
	return &NegCos{base: newBase("NegCos", 0, in...), k: k}
}

// InferShape implements gorgonia.Op.
func (o *NegCos) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	for i := 1; i < len(in); i++ {
		if !in[i].(tensor.Shape).Eq(in[0].(tensor.Shape)) {
			return nil, fmt.Errorf("nnops: NegCos: input shapes differ: %v, %v", in[0], in[i])
		}
	}
	return tensor.ScalarShape(), nil
}

// Do implements gorgonia.Op.
func (o *NegCos) Do(in ...G.Value) (G.Value, error) {
	s := shapeOf(in[0])
	n, d := s[0], s[1]
	if cap(o.rows) < o.k*n {
		o.rows = make([]cosStats, o.k*n)
	}
	o.rows = o.rows[:o.k*n]
	xs := make([][]float32, len(in)) // data allocates: once per input
	for i := range in {
		xs[i] = data(in[i])
	}
	// Rows run on all cores; their cosines are then added in order. The
	// gradient Ops take the cosines and norms from here.
	par.For(par.Blocks(o.k*n, lossRows), func(bi int) {
		lo, hi := par.Block(bi, o.k*n, lossRows)
		for j := lo; j < hi; j++ {
			i, r := j/n, j%n
			p, z := xs[2*i], xs[2*i+1]
			c, np, nz, _ := cosRow(p[r*d:(r+1)*d], z[r*d:(r+1)*d])
			o.rows[j] = cosStats{c, np, nz}
		}
	})
	var tot float64
	for _, st := range o.rows {
		tot += st.c
	}
	v := G.F32(float32(-tot / float64(o.k*n)))
	return &v, nil
}

// cosRow returns cos(p, z), |p|, |z| and p·z.
func cosRow(p, z []float32) (c, np, nz, dot float64) {
	pp, zz, pz := dot3(p, z)
	np, nz = math.Sqrt(pp), math.Sqrt(zz)
	return pz / math.Max(np*nz, 1e-8), np, nz, pz
}

// dot3 returns p·p, z·z and p·z in float64.
func dot3(p, z []float32) (pp, zz, pz float64) {
	z = z[:len(p)]
	switch {
	case len(p) == 0:
	case useAVX512():
		return dot3AVX512(&p[0], &z[0], len(p))
	case useAVX2():
		return dot3AVX2(&p[0], &z[0], len(p))
	}
	return dot3Go(p, z)
}

func dot3Go(p, z []float32) (pp, zz, pz float64) {
	for j, a := range p {
		b := float64(z[j])
		pp += float64(a) * float64(a)
		zz += b * b
		pz += float64(a) * b
	}
	return pp, zz, pz
}

// DiffWRT implements gorgonia.SDOp.
func (o *NegCos) DiffWRT(n int) []bool {
	r := make([]bool, n)
	for i := range r {
		r[i] = !o.ConstTargets || i%2 == 0
	}
	return r
}

// SymDiff implements gorgonia.SDOp.
func (o *NegCos) SymDiff(in G.Nodes, _, g *G.Node) (G.Nodes, error) {
	res := make(G.Nodes, len(in))
	for i := 0; i < o.k; i++ {
		for w := 0; w < 2; w++ {
			if w == 1 && o.ConstTargets {
				continue
			}
			op := &negCosGrad{base: newBase("NegCosGrad", 2, 2, 2, 0), k: o.k, wrtZ: w == 1, loss: o, pair: i}
			n, err := apply(op, in[2*i], in[2*i+1], g)
			if err != nil {
				return nil, err
			}
			res[2*i+w] = n
		}
	}
	return res, nil
}

// negCosGrad is ∂L/∂p (or ∂L/∂z) of one pair, times the upstream scalar;
// it takes the rows' cosines and norms from the loss's forward pass (its
// inputs are the loss's, and its upstream gradient comes after the loss).
type negCosGrad struct {
	base
	k    int
	wrtZ bool
	loss *NegCos
	pair int
}

func (o *negCosGrad) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	return clone(in[0].(tensor.Shape)), nil
}
func (o *negCosGrad) Do(in ...G.Value) (G.Value, error) {
	s := shapeOf(in[0])
	n, d := s[0], s[1]
	p, z := data(in[0]), data(in[1])
	if o.wrtZ {
		p, z = z, p
	}
	up := float64(data(in[2])[0])
	r := o.out(n, d)
	rd := r.Data().([]float32)
	scale := -up / float64(o.k*n)
	// Rows are independent: blocks of rows run on all cores.
	par.For(par.Blocks(n, lossRows), func(bi int) {
		lo, hi := par.Block(bi, n, lossRows)
		for i := lo; i < hi; i++ {
			st := o.loss.rows[o.pair*n+i]
			if o.wrtZ {
				st.np, st.nz = st.nz, st.np
			}
			o.row(st, p[i*d:(i+1)*d], z[i*d:(i+1)*d], rd[i*d:(i+1)*d], scale)
		}
	})
	return r, nil
}

// lossRows is how many rows of the loss gradient one core takes at a time.
const lossRows = 32

// row sets dst to the gradient of one row's negative cosine, times scale,
// given the row's cosine and norms (np of pr, nz of zr).
func (o *negCosGrad) row(st cosStats, pr, zr, dst []float32, scale float64) {
	c, np, nz := st.c, st.np, st.nz
	den := math.Max(np*nz, 1e-8)
	a := scale / den
	b := 0.0
	if np > 0 {
		b = scale * c / (np * np)
	}
	axmby(dst, zr, pr, a, b)
}

// axmby sets dst[j] = float32(a·x[j] − b·y[j]), in float64.
func axmby(dst, x, y []float32, a, b float64) {
	if len(dst) == 0 {
		return
	}
	x, y = x[:len(dst)], y[:len(dst)]
	if useAVX512() {
		axmbyAVX512(&dst[0], &x[0], &y[0], len(dst), a, b)
		return
	}
	for j := range dst {
		dst[j] = float32(a*float64(x[j]) - b*float64(y[j]))
	}
}

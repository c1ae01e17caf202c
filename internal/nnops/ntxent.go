package nnops

import (
	"fmt"
	"math"

	"github.com/siampipe/siampipe/internal/par"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// NTXent is SimCLR's loss (Chen et al. 2020), the normalised
// temperature-scaled cross-entropy over the 2N views of a batch of N image
// pairs. Its inputs are the two views' projections z₁ and z₂, (N, D) each;
// with u_a the l2-normalised rows of [z₁; z₂] (a = 0 … 2N−1) and a⁺ = a ± N
// the other view of a's image,
//
//	L = (1/2N) Σ_a [ log Σ_{b≠a} exp(u_a·u_b / t) − u_a·u_{a⁺} / t ]
//
// so every anchor has one positive and 2N−2 negatives, and the denominator
// has 2N−1 terms, the positive included. The normalisation is
// torch.nn.functional.normalize's z/max(|z|, 1e-12).
//
// The similarities are one sgemm (float32, as PyTorch's matmul); norms,
// log-sum-exps (each row shifted by its maximum) and the softmax are taken
// in float64. Rows are independent and run on all cores; the loss sums the
// rows' terms in row order, so the result does not depend on the number of
// cores.
type NTXent struct {
	base
	st *ntxentState
}

// ntxentState is what the forward pass leaves for the gradient Ops.
type ntxentState struct {
	t      float64
	n, d   int
	u      []float32 // (2N, D): normalised rows, view 1 first
	norm   []float64 // |z_a|
	s      []float32 // (2N, 2N): u·uᵀ
	p      []float64 // (2N, 2N): softmax over b ≠ a of row a, 0 on the diagonal
	a      []float32 // (2N, 2N): W + Wᵀ, W = ∂L/∂(s/t)
	du     []float32 // (2N, D): ∂L/∂u · t
	dz     []float32 // (2N, D): ∂L/∂z
	terms  []float64 // per-anchor loss
	loss   float64
	graded bool // dz holds the gradient of the current forward pass
}

// ntxentEps is torch.nn.functional.normalize's default eps.
const ntxentEps = 1e-12

// NewNTXent returns the loss with temperature t, which must be positive and
// finite: NewNTXent panics otherwise.
func NewNTXent(t float64) *NTXent {
	if !(t > 0) || math.IsInf(t, 0) {
		panic(fmt.Sprintf("nnops: NTXent temperature %v: want a positive finite number", t))
	}
	return &NTXent{base: newBase("NTXent", 0, 2, 2), st: &ntxentState{t: t}}
}

// Normalized returns the l2-normalised rows of the last forward pass, (2N,
// D) with view 1's N rows first. It is valid until the next forward pass.
func (o *NTXent) Normalized() []float32 { return o.st.u }

// InferShape implements gorgonia.Op.
func (o *NTXent) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	a, b := in[0].(tensor.Shape), in[1].(tensor.Shape)
	if len(a) != 2 || !a.Eq(b) || a[0] < 1 {
		return nil, fmt.Errorf("nnops: NTXent: inputs %v and %v: want two equal (N, D) shapes", a, b)
	}
	return tensor.ScalarShape(), nil
}

// Do implements gorgonia.Op.
func (o *NTXent) Do(in ...G.Value) (G.Value, error) {
	st := o.st
	sh := shapeOf(in[0])
	n, d := sh[0], sh[1]
	m := 2 * n
	st.n, st.d, st.graded = n, d, false
	st.u = grow(st.u, m*d)
	st.norm = growF64(st.norm, m)
	st.s = grow(st.s, m*m)
	st.p = growF64(st.p, m*m)
	st.terms = growF64(st.terms, m)
	z1, z2 := data(in[0]), data(in[1])
	par.For(m, func(a int) {
		src := z1
		r := a
		if a >= n {
			src, r = z2, a-n
		}
		row, dst := src[r*d:(r+1)*d], st.u[a*d:(a+1)*d]
		var nn float64
		for _, v := range row {
			nn += float64(v) * float64(v)
		}
		st.norm[a] = math.Sqrt(nn)
		inv := 1 / math.Max(st.norm[a], ntxentEps)
		for j, v := range row {
			dst[j] = float32(float64(v) * inv)
		}
	})
	sgemm(false, true, m, m, d, 1, st.u, d, st.u, d, 0, st.s, m)
	inv := 1 / st.t
	par.For(m, func(a int) {
		s, p := st.s[a*m:(a+1)*m], st.p[a*m:(a+1)*m]
		pos := (a + n) % m
		// The row's maximum over b ≠ a: the largest s (inv > 0 keeps the
		// order); a NaN makes the sum below NaN, and the loss with it.
		top := float32(math.Inf(-1))
		for _, part := range [2][]float32{s[:a], s[a+1:]} {
			for _, v := range part {
				if v > top {
					top = v
				}
			}
		}
		mx := float64(top) * inv
		var sum float64
		for _, lo := range [2]int{0, a + 1} {
			hi := a
			if lo > 0 {
				hi = m
			}
			for b, v := range s[lo:hi] {
				e := math.Exp(float64(v)*inv - mx)
				p[lo+b] = e
				sum += e
			}
		}
		p[a] = 0
		for b := range p {
			p[b] /= sum
		}
		st.terms[a] = mx + math.Log(sum) - float64(s[pos])*inv
	})
	var tot float64
	for _, v := range st.terms {
		tot += v
	}
	st.loss = tot / float64(m)
	v := G.F32(float32(st.loss))
	return &v, nil
}

func growF64(buf []float64, n int) []float64 {
	if cap(buf) < n {
		return make([]float64, n)
	}
	return buf[:n]
}

// DiffWRT implements gorgonia.SDOp.
func (o *NTXent) DiffWRT(n int) []bool { return []bool{true, true} }

// SymDiff implements gorgonia.SDOp. The gradient Ops read the state of the
// forward pass; taking its output as an input makes them run after it.
func (o *NTXent) SymDiff(in G.Nodes, y, g *G.Node) (G.Nodes, error) {
	res := make(G.Nodes, 2)
	for v := range res {
		op := &ntxentGrad{base: newBase("NTXentGrad", 2, 0, 0), st: o.st, view: v, shape: in[v].Shape().Clone()}
		n, err := apply(op, y, g)
		if err != nil {
			return nil, err
		}
		res[v] = n
	}
	return res, nil
}

// ntxentGrad is ∂L/∂z₁ (view 0) or ∂L/∂z₂ (view 1) times the upstream
// scalar. The first of the two to run computes both.
type ntxentGrad struct {
	base
	st    *ntxentState
	view  int
	shape tensor.Shape
}

func (o *ntxentGrad) InferShape(...G.DimSizer) (tensor.Shape, error) { return o.shape.Clone(), nil }

func (o *ntxentGrad) Do(in ...G.Value) (G.Value, error) {
	st := o.st
	if !st.graded {
		st.backward()
	}
	n, d := st.n, st.d
	up := data(in[1])[0]
	r := o.out(n, d)
	rd := r.Data().([]float32)
	src := st.dz[o.view*n*d : (o.view+1)*n*d]
	if up == 1 {
		copy(rd, src)
	} else {
		for i, v := range src {
			rd[i] = v * up
		}
	}
	return r, nil
}

// backward fills dz with ∂L/∂z for all 2N rows. With W_ab = (p_ab − [b =
// a⁺])/2N the derivative of L by the logit s_ab/t,
//
//	∂L/∂u_a = (1/t) Σ_b (W_ab + W_ba) u_b
//	∂L/∂z_a = (∂L/∂u_a − u_a (u_a·∂L/∂u_a)) / |z_a|   (|z_a| > 1e-12; else ∂L/∂u_a / 1e-12)
func (st *ntxentState) backward() {
	n, d := st.n, st.d
	m := 2 * n
	st.a = grow(st.a, m*m)
	st.du = grow(st.du, m*d)
	st.dz = grow(st.dz, m*d)
	scale := 1 / float64(m)
	w := func(a, b int) float64 {
		v := st.p[a*m+b]
		if b == a+n || b == a-n { // b = a⁺
			v--
		}
		return v * scale
	}
	// A = W + Wᵀ in square tiles, so that the transposed reads of p stay
	// in cache (a row of p is 4 KiB a step down a column otherwise).
	const tile = 32
	tiles := par.Blocks(m, tile)
	par.For(tiles, func(ti int) {
		a0, a1 := par.Block(ti, m, tile)
		for tj := range tiles {
			b0, b1 := par.Block(tj, m, tile)
			for a := a0; a < a1; a++ {
				row := st.a[a*m : (a+1)*m]
				for b := b0; b < b1; b++ {
					row[b] = float32(w(a, b) + w(b, a))
				}
			}
		}
	})
	sgemm(false, false, m, d, m, float32(1/st.t), st.a, m, st.u, d, 0, st.du, d)
	par.For(m, func(a int) {
		u, g, dst := st.u[a*d:(a+1)*d], st.du[a*d:(a+1)*d], st.dz[a*d:(a+1)*d]
		if st.norm[a] <= ntxentEps {
			for j, v := range g {
				dst[j] = float32(float64(v) / ntxentEps)
			}
			return
		}
		var ug float64
		for j, v := range u {
			ug += float64(v) * float64(g[j])
		}
		inv := 1 / st.norm[a]
		for j, v := range g {
			dst[j] = float32((float64(v) - float64(u[j])*ug) * inv)
		}
	})
	st.graded = true
}

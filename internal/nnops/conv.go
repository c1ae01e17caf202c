package nnops

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// convState is shared by a convolution and its derivative Ops: the im2col
// matrix of the last forward pass (reused by the weight gradient) and the
// geometry.
type convState struct {
	stride, pad           int
	cin, n, h, w, cout, k int
	ho, wo                int
	cols, dcols           []float32 // K × N·Ho·Wo
	noInputGrad           bool
}

func (s *convState) kdim() int { return s.cin * s.k * s.k }
func (s *convState) np() int   { return s.n * s.ho * s.wo }

// ConvReLU is y = ReLU(conv(x, W) + b) for x of shape (Cin, N, H, W),
// W of shape (Cout, Cin, k, k) (PyTorch layout), b of shape (Cout); y has
// shape (Cout, N, Ho, Wo) with Ho = (H + 2·pad − k)/stride + 1.
type ConvReLU struct {
	base
	st *convState
}

// NewConvReLU returns the Op. With noInputGrad the gradient with respect to
// x is not built (x is the data).
func NewConvReLU(stride, pad int, noInputGrad bool) *ConvReLU {
	return &ConvReLU{base: newBase("ConvReLU", 4, 4, 4, 1), st: &convState{stride: stride, pad: pad, noInputGrad: noInputGrad}}
}

// InferShape implements gorgonia.Op.
func (o *ConvReLU) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	x, w := in[0].(tensor.Shape), in[1].(tensor.Shape)
	if len(x) != 4 || len(w) != 4 || w[2] != w[3] || w[1] != x[0] {
		return nil, fmt.Errorf("nnops: ConvReLU: x %v and W %v do not fit", x, w)
	}
	k := w[2]
	ho := (x[2]+2*o.st.pad-k)/o.st.stride + 1
	wo := (x[3]+2*o.st.pad-k)/o.st.stride + 1
	return tensor.Shape{w[0], x[1], ho, wo}, nil
}

// Do implements gorgonia.Op.
func (o *ConvReLU) Do(in ...G.Value) (G.Value, error) { return o.do(in...) }

func (o *ConvReLU) do(in ...G.Value) (G.Value, error) {
	s := o.st
	xs, ws := shapeOf(in[0]), shapeOf(in[1])
	s.cin, s.n, s.h, s.w = xs[0], xs[1], xs[2], xs[3]
	s.cout, s.k = ws[0], ws[2]
	s.ho = (s.h+2*s.pad-s.k)/s.stride + 1
	s.wo = (s.w+2*s.pad-s.k)/s.stride + 1
	K, NP := s.kdim(), s.np()
	s.cols = grow(s.cols, K*NP)
	Im2Col(data(in[0]), s.cols, s.cin, s.n, s.h, s.w, s.k, s.stride, s.pad, s.ho, s.wo)
	y := o.out(s.cout, s.n, s.ho, s.wo)
	yd := y.Data().([]float32)
	sgemm(false, false, s.cout, NP, K, 1, data(in[1]), K, s.cols, NP, 0, yd, NP)
	b := data(in[2])
	for c := 0; c < s.cout; c++ {
		bc := b[c]
		row := yd[c*NP : (c+1)*NP]
		for j, v := range row {
			v += bc
			if v < 0 {
				v = 0
			}
			row[j] = v
		}
	}
	return y, nil
}

// DiffWRT implements gorgonia.SDOp.
func (o *ConvReLU) DiffWRT(int) []bool { return []bool{!o.st.noInputGrad, true, true} }

// SymDiff implements gorgonia.SDOp.
func (o *ConvReLU) SymDiff(in G.Nodes, y, dy *G.Node) (G.Nodes, error) {
	g, err := apply(newReLUGrad(4), y, dy)
	if err != nil {
		return nil, err
	}
	res := make(G.Nodes, 3)
	if !o.st.noInputGrad {
		if res[0], err = apply(&convDX{base: newBase("ConvDX", 4, 4, 4), st: o.st}, g, in[1]); err != nil {
			return nil, err
		}
	}
	if res[1], err = apply(&convDW{base: newBase("ConvDW", 4, 4), st: o.st}, g); err != nil {
		return nil, err
	}
	if res[2], err = apply(NewChanSum(), g); err != nil {
		return nil, err
	}
	return res, nil
}

// convDX is dx = col2im(Wᵀ·g).
type convDX struct {
	base
	st *convState
}

func (o *convDX) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{o.st.cin, o.st.n, o.st.h, o.st.w}, nil
}
func (o *convDX) Do(in ...G.Value) (G.Value, error) { return o.do(in...) }
func (o *convDX) do(in ...G.Value) (G.Value, error) {
	s := o.st
	K, NP := s.kdim(), s.np()
	s.dcols = grow(s.dcols, K*NP)
	sgemm(true, false, K, NP, s.cout, 1, data(in[1]), K, data(in[0]), NP, 0, s.dcols, NP)
	dx := o.out(s.cin, s.n, s.h, s.w)
	Col2Im(s.dcols, dx.Data().([]float32), s.cin, s.n, s.h, s.w, s.k, s.stride, s.pad, s.ho, s.wo)
	return dx, nil
}

// convDW is dW = g·colsᵀ, using the forward pass's im2col matrix.
type convDW struct {
	base
	st *convState
}

func (o *convDW) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{o.st.cout, o.st.cin, o.st.k, o.st.k}, nil
}
func (o *convDW) Do(in ...G.Value) (G.Value, error) { return o.do(in...) }
func (o *convDW) do(in ...G.Value) (G.Value, error) {
	s := o.st
	K, NP := s.kdim(), s.np()
	dw := o.out(s.cout, s.cin, s.k, s.k)
	sgemm(false, true, s.cout, K, NP, 1, data(in[0]), NP, s.cols, NP, 0, dw.Data().([]float32), K)
	return dw, nil
}

// Im2Col writes the patch matrix of x (C, N, H, W) into cols, laid out
// (C·k·k) × (N·Ho·Wo); positions in the zero padding give 0.
func Im2Col(x, cols []float32, c, n, h, w, k, stride, pad, ho, wo int) {
	P := ho * wo
	NP := n * P
	for ci := 0; ci < c; ci++ {
		for ky := 0; ky < k; ky++ {
			for kx := 0; kx < k; kx++ {
				row := cols[((ci*k+ky)*k+kx)*NP : ((ci*k+ky)*k+kx+1)*NP]
				for b := 0; b < n; b++ {
					img := x[(ci*n+b)*h*w : (ci*n+b+1)*h*w]
					dst := row[b*P : (b+1)*P]
					for oy := 0; oy < ho; oy++ {
						iy := oy*stride - pad + ky
						d := dst[oy*wo : (oy+1)*wo]
						if iy < 0 || iy >= h {
							clear(d)
							continue
						}
						src := img[iy*w : (iy+1)*w]
						for ox := range d {
							ix := ox*stride - pad + kx
							if ix < 0 || ix >= w {
								d[ox] = 0
							} else {
								d[ox] = src[ix]
							}
						}
					}
				}
			}
		}
	}
}

// Col2Im is the adjoint of Im2Col: it sums cols back into x (overwritten).
func Col2Im(cols, x []float32, c, n, h, w, k, stride, pad, ho, wo int) {
	clear(x)
	P := ho * wo
	NP := n * P
	for ci := 0; ci < c; ci++ {
		for ky := 0; ky < k; ky++ {
			for kx := 0; kx < k; kx++ {
				row := cols[((ci*k+ky)*k+kx)*NP : ((ci*k+ky)*k+kx+1)*NP]
				for b := 0; b < n; b++ {
					img := x[(ci*n+b)*h*w : (ci*n+b+1)*h*w]
					src := row[b*P : (b+1)*P]
					for oy := 0; oy < ho; oy++ {
						iy := oy*stride - pad + ky
						if iy < 0 || iy >= h {
							continue
						}
						dst := img[iy*w : (iy+1)*w]
						s := src[oy*wo : (oy+1)*wo]
						for ox, v := range s {
							ix := ox*stride - pad + kx
							if ix >= 0 && ix < w {
								dst[ix] += v
							}
						}
					}
				}
			}
		}
	}
}

package nnops

import (
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// BNConfig configures a BatchNorm Op.
type BNConfig struct {
	// Rows selects the (N, C) layout of a dense layer; otherwise the input is
	// channel-major (C, N, H, W) as the convolutions produce it.
	Rows bool
	// Affine adds the scale and shift inputs (gamma, beta of shape (C)).
	Affine bool
	// ReLU fuses a ReLU after the normalisation.
	ReLU bool
	// Eps is added to the variance; 0 means PyTorch's 1e-5.
	Eps float64
}

type bnState struct {
	cfg          BNConfig
	c, m         int
	mean, invstd []float64
	varb         []float64
	dgamma       []float32
	dbeta        []float32
}

// BN normalises its input with the statistics of the batch (training mode).
// One BN Op serves one view: its batch statistics live in the Op and are
// used by its own derivative Ops. Two views share scale and shift by feeding
// the same gamma and beta nodes to two BN Ops.
type BN struct {
	base
	st *bnState
}

// NewBN returns a BatchNorm Op for inputs of rank dims (4 channel-major or 2).
func NewBN(dims int, cfg BNConfig) *BN {
	if cfg.Eps == 0 {
		cfg.Eps = 1e-5
	}
	in := []int{dims}
	if cfg.Affine {
		in = append(in, 1, 1)
	}
	return &BN{base: newBase("BN", dims, in...), st: &bnState{cfg: cfg}}
}

// BatchStats returns the mean and the unbiased variance of the last forward
// pass, per channel: what PyTorch folds into its running statistics.
func (o *BN) BatchStats() (mean, unbiasedVar []float64) {
	s := o.st
	uv := make([]float64, s.c)
	for i := range uv {
		uv[i] = s.varb[i] * float64(s.m) / float64(s.m-1)
	}
	return append([]float64(nil), s.mean...), uv
}

// InferShape implements gorgonia.Op.
func (o *BN) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	return clone(in[0].(tensor.Shape)), nil
}

// Do implements gorgonia.Op.
func (o *BN) Do(in ...G.Value) (G.Value, error) { return o.do(in...) }

func (s *bnState) geometry(sh tensor.Shape) {
	n := sh.TotalSize()
	if s.cfg.Rows {
		s.c = sh[1]
	} else {
		s.c = sh[0]
	}
	s.m = n / s.c
	if len(s.mean) != s.c {
		s.mean = make([]float64, s.c)
		s.invstd = make([]float64, s.c)
		s.varb = make([]float64, s.c)
		s.dgamma = make([]float32, s.c)
		s.dbeta = make([]float32, s.c)
	}
}

func (o *BN) do(in ...G.Value) (G.Value, error) {
	s := o.st
	sh := shapeOf(in[0])
	s.geometry(sh)
	x := data(in[0])
	h := o.out(sh...)
	hd := h.Data().([]float32)
	var gamma, beta []float32
	if s.cfg.Affine {
		gamma, beta = data(in[1]), data(in[2])
	}
	C, M := s.c, s.m
	if s.cfg.Rows {
		sum := make([]float64, 2*C)
		for i := 0; i < M; i++ {
			row := x[i*C : (i+1)*C]
			for c, v := range row {
				sum[c] += float64(v)
			}
		}
		for c := 0; c < C; c++ {
			s.mean[c] = sum[c] / float64(M)
		}
		for i := 0; i < M; i++ {
			row := x[i*C : (i+1)*C]
			for c, v := range row {
				d := float64(v) - s.mean[c]
				sum[C+c] += d * d
			}
		}
		sc := make([]float32, 2*C)
		for c := 0; c < C; c++ {
			s.varb[c] = sum[C+c] / float64(M)
			s.invstd[c] = 1 / math.Sqrt(s.varb[c]+s.cfg.Eps)
			a, b := s.invstd[c], -s.mean[c]*s.invstd[c]
			if gamma != nil {
				a, b = a*float64(gamma[c]), b*float64(gamma[c])+float64(beta[c])
			}
			sc[c], sc[C+c] = float32(a), float32(b)
		}
		for i := 0; i < M; i++ {
			row, dst := x[i*C:(i+1)*C], hd[i*C:(i+1)*C]
			for c, v := range row {
				r := v*sc[c] + sc[C+c]
				if s.cfg.ReLU && r < 0 {
					r = 0
				}
				dst[c] = r
			}
		}
		return h, nil
	}
	for c := 0; c < C; c++ {
		blk := x[c*M : (c+1)*M]
		mean := float64(sum32(blk)) / float64(M)
		var v0, v1 float64
		i := 0
		for ; i+2 <= len(blk); i += 2 {
			d0, d1 := float64(blk[i])-mean, float64(blk[i+1])-mean
			v0 += d0 * d0
			v1 += d1 * d1
		}
		for ; i < len(blk); i++ {
			d := float64(blk[i]) - mean
			v0 += d * d
		}
		s.mean[c] = mean
		s.varb[c] = (v0 + v1) / float64(M)
		s.invstd[c] = 1 / math.Sqrt(s.varb[c]+s.cfg.Eps)
		a, b := s.invstd[c], -mean*s.invstd[c]
		if gamma != nil {
			a, b = a*float64(gamma[c]), b*float64(gamma[c])+float64(beta[c])
		}
		a32, b32 := float32(a), float32(b)
		dst := hd[c*M : (c+1)*M]
		if s.cfg.ReLU {
			for j, v := range blk {
				dst[j] = max(v*a32+b32, 0)
			}
		} else {
			for j, v := range blk {
				dst[j] = v*a32 + b32
			}
		}
	}
	return h, nil
}

// DiffWRT implements gorgonia.SDOp.
func (o *BN) DiffWRT(n int) []bool {
	r := make([]bool, n)
	for i := range r {
		r[i] = true
	}
	return r
}

// SymDiff implements gorgonia.SDOp.
func (o *BN) SymDiff(in G.Nodes, h, dh *G.Node) (G.Nodes, error) {
	dims := o.inDims[0]
	gx := &bnGradX{base: newBase("BNGradX", dims, dims, dims, dims), st: o.st}
	args := G.Nodes{in[0], h, dh}
	if o.st.cfg.Affine {
		gx.inDims = append(gx.inDims, 1)
		args = append(args, in[1])
	}
	dx, err := apply(gx, args...)
	if err != nil {
		return nil, err
	}
	res := G.Nodes{dx}
	if o.st.cfg.Affine {
		dg, err := apply(&bnGradParam{base: newBase("BNGradGamma", 1, dims), st: o.st}, dx)
		if err != nil {
			return nil, err
		}
		db, err := apply(&bnGradParam{base: newBase("BNGradBeta", 1, dims), st: o.st, beta: true}, dx)
		if err != nil {
			return nil, err
		}
		res = append(res, dg, db)
	}
	return res, nil
}

// bnGradX computes dx from (x, h, dh[, gamma]) and leaves dgamma, dbeta in
// the shared state for the bnGradParam Ops, which depend on its output.
type bnGradX struct {
	base
	st *bnState
}

func (o *bnGradX) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	return clone(in[0].(tensor.Shape)), nil
}
func (o *bnGradX) Do(in ...G.Value) (G.Value, error) { return o.do(in...) }
func (o *bnGradX) do(in ...G.Value) (G.Value, error) {
	s := o.st
	sh := shapeOf(in[0])
	x, h, dh := data(in[0]), data(in[1]), data(in[2])
	dxT := o.out(sh...)
	dx := dxT.Data().([]float32)
	C, M := s.c, s.m
	relu := s.cfg.ReLU
	gam := func(c int) float64 { return 1 }
	if s.cfg.Affine {
		g := data(in[3])
		gam = func(c int) float64 { return float64(g[c]) }
	}
	if s.cfg.Rows {
		acc := make([]float64, 2*C) // sum dh', sum dh'·xhat
		for i := 0; i < M; i++ {
			for c := 0; c < C; c++ {
				k := i*C + c
				g := dh[k]
				if relu && h[k] <= 0 {
					g = 0
				}
				xh := (float64(x[k]) - s.mean[c]) * s.invstd[c]
				acc[c] += float64(g)
				acc[C+c] += float64(g) * xh
			}
		}
		coef := make([]float64, 3*C)
		for c := 0; c < C; c++ {
			s.dbeta[c], s.dgamma[c] = float32(acc[c]), float32(acc[C+c])
			k := gam(c) * s.invstd[c]
			coef[c] = k
			coef[C+c] = k * acc[c] / float64(M)
			coef[2*C+c] = k * acc[C+c] / float64(M)
		}
		for i := 0; i < M; i++ {
			for c := 0; c < C; c++ {
				k := i*C + c
				g := dh[k]
				if relu && h[k] <= 0 {
					g = 0
				}
				xh := (float64(x[k]) - s.mean[c]) * s.invstd[c]
				dx[k] = float32(coef[c]*float64(g) - coef[C+c] - coef[2*C+c]*xh)
			}
		}
		return dxT, nil
	}
	for c := 0; c < C; c++ {
		xb, hb, db, dxb := x[c*M:(c+1)*M], h[c*M:(c+1)*M], dh[c*M:(c+1)*M], dx[c*M:(c+1)*M]
		mean, inv := float32(s.mean[c]), float32(s.invstd[c])
		var sg, sgx float64
		for j, g := range db {
			if relu && hb[j] <= 0 {
				continue
			}
			sg += float64(g)
			sgx += float64(g) * float64((xb[j]-mean)*inv)
		}
		s.dbeta[c], s.dgamma[c] = float32(sg), float32(sgx)
		k := gam(c) * s.invstd[c]
		a := float32(k)
		b := float32(k * sg / float64(M))
		e := float32(k * sgx / float64(M))
		for j, g := range db {
			if relu && hb[j] <= 0 {
				g = 0
			}
			dxb[j] = a*g - b - e*((xb[j]-mean)*inv)
		}
	}
	return dxT, nil
}

// bnGradParam hands out dgamma or dbeta computed by bnGradX.
type bnGradParam struct {
	base
	st   *bnState
	beta bool
}

func (o *bnGradParam) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{o.st.c}, nil
}
func (o *bnGradParam) Do(in ...G.Value) (G.Value, error) { return o.do(in...) }
func (o *bnGradParam) do(_ ...G.Value) (G.Value, error) {
	r := o.out(o.st.c)
	if o.beta {
		copy(r.Data().([]float32), o.st.dbeta)
	} else {
		copy(r.Data().([]float32), o.st.dgamma)
	}
	return r, nil
}

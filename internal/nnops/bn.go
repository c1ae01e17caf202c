package nnops

import (
	"math"

	"github.com/siampipe/siampipe/internal/arch"
	"github.com/siampipe/siampipe/internal/par"
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
	// PreReLU applies a ReLU to the input first: the Op is BN(ReLU(x)), the
	// backbone's conv → ReLU → BN with the ReLU fused in.
	PreReLU bool
	// ReLU applies a ReLU to the output: ReLU(BN(x)).
	ReLU bool
	// Eps is added to the variance; 0 means arch.BNEps (PyTorch's 1e-5).
	Eps float64
}

type bnState struct {
	cfg          BNConfig
	c, m         int
	mean, invstd []float64
	varb         []float64
	dgamma       []float32
	dbeta        []float32
	acc          []float64  // scratch, 3·C
	coef         []float32  // scratch, 5·C
	src          *chanStats // the convolution's sums of the input, if taken
	deferred     bool       // the output is left to the convolution it feeds (Defer)
	backDeferred bool       // the input gradient is left to the convolution before (DeferBackward)
}

// TakeStatsFrom makes the BN take the per-channel sums of its input from
// the convolution c, which computes them chunk by chunk as it writes its
// output, instead of a pass of its own. The BN's input must be c's output,
// and the BN must be a PreReLU one over (C, N, H, W) (not Rows); otherwise
// TakeStatsFrom does nothing. The sums are added in chunk order (fixed by
// the batch), so the bytes do not depend on the core count.
func (o *BN) TakeStatsFrom(c *Conv) {
	if !o.st.cfg.PreReLU || o.st.cfg.Rows {
		return
	}
	c.st.stats.on = true
	o.st.src = &c.st.stats
}

// Defer makes the BN hand its input on unchanged and c, the convolution
// its output feeds, normalise that input as it reads it (for its patches,
// forward and for the weight gradient), so the BN's output is never
// written nor read back. The bits are the same. The BN must be a PreReLU
// one over (C, N, H, W) without a ReLU after it (the backbone's), and its
// output must feed nothing but c; otherwise Defer does nothing.
func (o *BN) Defer(c *Conv) {
	if !o.st.cfg.PreReLU || o.st.cfg.Rows || o.st.cfg.ReLU {
		return
	}
	o.st.deferred = true
	c.st.pre = o.st
}

// DeferBackward makes the BN's input gradient Op take only the sums it
// needs (and the scale and shift gradients) and hand on its upstream
// gradient unchanged, and c, the convolution whose output the BN
// normalises, turn that into the BN's input gradient a chunk of images at
// a time as its own gradients read it: the BN's input gradient is never
// written nor read back. The bits are the same. The BN must be a PreReLU
// one over (C, N, H, W) without a ReLU after it, and its input must be c's
// output and nothing else's; otherwise DeferBackward does nothing.
func (o *BN) DeferBackward(c *Conv) {
	if !o.st.cfg.PreReLU || o.st.cfg.Rows || o.st.cfg.ReLU {
		return
	}
	o.st.backDeferred = true
	c.st.post = o.st
}

// gradInto writes the BN's input gradient for the elements [e0, e1) of
// every channel (each channel's elements m apart) into dst, rows of e1−e0
// floats, from the upstream gradient dh and the BN's input x, with the
// coefficients of the last bnGradX (DeferBackward): the bits bnGradX would
// have written.
func (s *bnState) gradInto(dst, dh, x []float32, e0, e1 int) {
	C, M, n := s.c, s.m, e1-e0
	for c := range C {
		gradReLU(dst[c*n:(c+1)*n], dh[c*M+e0:c*M+e1], x[c*M+e0:c*M+e1], s.coef[2*C+c], s.coef[3*C+c], s.coef[4*C+c])
	}
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
		cfg.Eps = arch.BNEps
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
		s.acc = make([]float64, 3*s.c)
		s.coef = make([]float32, 5*s.c)
	}
}

// relu0 is max(v, 0), +0 for v ≤ 0 (and −0), without a branch: half of
// the inputs are negative, so a branch would be mispredicted half the time.
func relu0(v float32) float32 {
	b := math.Float32bits(v)
	return math.Float32frombits(b &^ uint32(int32(b)>>31))
}

// keepIfPos is r if v > 0 and 0 otherwise (v = ±0 gives 0), without a branch.
func keepIfPos(r, v float32) float32 {
	b := math.Float32bits(v)
	m := ^uint32((int32(b-1) | int32(b)) >> 31)
	return math.Float32frombits(math.Float32bits(r) & m)
}

// finish turns sums into mean, variance and the per-channel affine map
// h = x·a + b, stored in coef[0:C] and coef[C:2C].
func (s *bnState) finish(sum, sq []float64, gamma, beta []float32) {
	C, M := s.c, float64(s.m)
	for c := 0; c < C; c++ {
		mean := sum[c] / M
		v := math.Max(sq[c]/M-mean*mean, 0)
		s.mean[c], s.varb[c] = mean, v
		s.invstd[c] = 1 / math.Sqrt(v+s.cfg.Eps)
		a, b := s.invstd[c], -mean*s.invstd[c]
		if gamma != nil {
			a, b = a*float64(gamma[c]), b*float64(gamma[c])+float64(beta[c])
		}
		s.coef[c], s.coef[C+c] = float32(a), float32(b)
	}
}

// Do implements gorgonia.Op.
func (o *BN) Do(in ...G.Value) (G.Value, error) {
	s := o.st
	sh := shapeOf(in[0])
	s.geometry(sh)
	x := data(in[0])
	var h *tensor.Dense
	var hd []float32
	if !s.deferred {
		h = o.out(sh...)
		hd = h.Data().([]float32)
	}
	var gamma, beta []float32
	if s.cfg.Affine {
		gamma, beta = data(in[1]), data(in[2])
	}
	C, M := s.c, s.m
	pre, post := s.cfg.PreReLU, s.cfg.ReLU
	sum, sq := s.acc[:C], s.acc[C:2*C]
	clear(s.acc)
	if s.cfg.Rows {
		// Blocks of columns run on all cores; each column's sums are
		// taken row by row, in the same order whichever core runs them.
		par.For(par.Blocks(C, rowBlock), func(bi int) {
			c0, c1 := par.Block(bi, C, rowBlock)
			for i := 0; i < M; i++ {
				row := x[i*C+c0 : i*C+c1]
				for j, v := range row {
					if pre {
						v = relu0(v)
					}
					sum[c0+j] += float64(v)
					sq[c0+j] += float64(v) * float64(v)
				}
			}
		})
		s.finish(sum, sq, gamma, beta)
		a, b := s.coef[:C], s.coef[C:2*C]
		par.For(par.Blocks(C, rowBlock), func(bi int) {
			c0, c1 := par.Block(bi, C, rowBlock)
			for i := 0; i < M; i++ {
				row, dst := x[i*C+c0:i*C+c1], hd[i*C+c0:i*C+c1]
				for j, v := range row {
					if pre {
						v = relu0(v)
					}
					r := v*a[c0+j] + b[c0+j]
					if post {
						r = relu0(r)
					}
					dst[j] = r
				}
			}
		})
		return h, nil
	}
	if src := s.src; src != nil && src.ready && len(src.sum) == src.chunks*C {
		src.ready = false
		for i := range src.chunks {
			for c := range C {
				sum[c] += src.sum[i*C+c]
				sq[c] += src.sq[i*C+c]
			}
		}
	} else {
		par.For(C, func(c int) {
			if pre {
				sum[c], sq[c] = sumSqReLU(x[c*M : (c+1)*M])
			} else {
				sum[c], sq[c] = sumSq(x[c*M : (c+1)*M])
			}
		})
	}
	s.finish(sum, sq, gamma, beta)
	if s.deferred {
		return in[0], nil
	}
	par.For(C, func(c int) {
		blk, dst := x[c*M:(c+1)*M], hd[c*M:(c+1)*M]
		a, b := s.coef[c], s.coef[C+c]
		switch {
		case pre && post:
			for j, v := range blk {
				dst[j] = relu0(relu0(v)*a + b)
			}
		case pre:
			scaleShiftReLU(dst, blk, a, b)
		case post:
			for j, v := range blk {
				dst[j] = relu0(v*a + b)
			}
		default:
			for j, v := range blk {
				dst[j] = v*a + b
			}
		}
	})
	return h, nil
}

// rowBlock is how many columns of a row-major (N, C) batch one core
// normalises at a time.
const rowBlock = 64

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
//
// With x̂ = (relu?(x) − mean)·invstd and g = dh·[h > 0 if ReLU]:
// dbeta = Σg, dgamma = Σg·x̂, dx = γ·invstd·(g − dbeta/M − x̂·dgamma/M)·[x > 0 if PreReLU].
type bnGradX struct {
	base
	st *bnState
}

func (o *bnGradX) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	return clone(in[0].(tensor.Shape)), nil
}

func (o *bnGradX) Do(in ...G.Value) (G.Value, error) {
	s := o.st
	sh := shapeOf(in[0])
	x, h, dh := data(in[0]), data(in[1]), data(in[2])
	var dxT *tensor.Dense
	var dx []float32
	if !s.backDeferred {
		dxT = o.out(sh...)
		dx = dxT.Data().([]float32)
	}
	C, M := s.c, s.m
	pre, post := s.cfg.PreReLU, s.cfg.ReLU
	var gamma []float32
	if s.cfg.Affine {
		gamma = data(in[3])
	}
	gam := func(c int) float64 {
		if gamma == nil {
			return 1
		}
		return float64(gamma[c])
	}
	if s.cfg.Rows {
		sg, sgx := s.acc[:C], s.acc[C:2*C]
		clear(s.acc)
		mean, inv := s.coef[:C], s.coef[C:2*C]
		for c := 0; c < C; c++ {
			mean[c], inv[c] = float32(s.mean[c]), float32(s.invstd[c])
		}
		par.For(par.Blocks(C, rowBlock), func(bi int) {
			c0, c1 := par.Block(bi, C, rowBlock)
			for i := 0; i < M; i++ {
				for c := c0; c < c1; c++ {
					k := i*C + c
					g := dh[k]
					if post {
						g = keepIfPos(g, h[k])
					}
					v := x[k]
					if pre {
						v = relu0(v)
					}
					sg[c] += float64(g)
					sgx[c] += float64(g) * float64((v-mean[c])*inv[c])
				}
			}
		})
		ka, kb, ke := s.coef[2*C:3*C], s.coef[3*C:4*C], s.coef[4*C:5*C]
		for c := 0; c < C; c++ {
			s.dbeta[c], s.dgamma[c] = float32(sg[c]), float32(sgx[c])
			k := gam(c) * s.invstd[c]
			ka[c], kb[c], ke[c] = float32(k), float32(k*sg[c]/float64(M)), float32(k*sgx[c]/float64(M))
		}
		par.For(par.Blocks(C, rowBlock), func(bi int) {
			c0, c1 := par.Block(bi, C, rowBlock)
			for i := 0; i < M; i++ {
				for c := c0; c < c1; c++ {
					k := i*C + c
					g := dh[k]
					if post {
						g = keepIfPos(g, h[k])
					}
					v := x[k]
					if pre {
						v = relu0(v)
					}
					r := ka[c]*g - kb[c] - ke[c]*((v-mean[c])*inv[c])
					if pre {
						r = keepIfPos(r, x[k])
					}
					dx[k] = r
				}
			}
		})
		return dxT, nil
	}
	par.For(C, func(c int) {
		xb, hb, db := x[c*M:(c+1)*M], h[c*M:(c+1)*M], dh[c*M:(c+1)*M]
		mean, inv := float32(s.mean[c]), float32(s.invstd[c])
		var sg, sgx float64
		if pre && !post {
			sg, sgx = sumGradReLU(db, xb, mean, inv)
		} else {
			for j, g := range db {
				if post {
					g = keepIfPos(g, hb[j])
				}
				v := xb[j]
				if pre {
					v = relu0(v)
				}
				sg += float64(g)
				sgx += float64(g * ((v - mean) * inv))
			}
		}
		s.dbeta[c], s.dgamma[c] = float32(sg), float32(sgx)
		k := gam(c) * s.invstd[c]
		a := float32(k)
		// dx = a·g − b − e·x̂ = a·g − (b − e·mean·inv) − (e·inv)·v
		b := float32(k*sg/float64(M) - k*sgx/float64(M)*s.mean[c]*s.invstd[c])
		e := float32(k * sgx / float64(M) * s.invstd[c])
		s.coef[2*C+c], s.coef[3*C+c], s.coef[4*C+c] = a, b, e
		if s.backDeferred {
			return // the convolution before applies them (gradInto)
		}
		dxb := dx[c*M : (c+1)*M]
		switch {
		case pre && !post:
			gradReLU(dxb, db, xb, a, b, e)
		default:
			for j, g := range db {
				if post {
					g = keepIfPos(g, hb[j])
				}
				v := xb[j]
				if pre {
					v = relu0(v)
				}
				r := a*g - b - e*v
				if pre {
					r = keepIfPos(r, xb[j])
				}
				dxb[j] = r
			}
		}
	})
	if s.backDeferred {
		return in[2], nil
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

func (o *bnGradParam) Do(...G.Value) (G.Value, error) {
	r := o.out(o.st.c)
	if o.beta {
		copy(r.Data().([]float32), o.st.dbeta)
	} else {
		copy(r.Data().([]float32), o.st.dgamma)
	}
	return r, nil
}

// sumSq returns Σx and Σx² in float64 with four independent chains each.
func sumSq(x []float32) (float64, float64) {
	var s0, s1, s2, s3, q0, q1, q2, q3 float64
	j := 0
	for ; j+4 <= len(x); j += 4 {
		v0, v1, v2, v3 := float64(x[j]), float64(x[j+1]), float64(x[j+2]), float64(x[j+3])
		s0, s1, s2, s3 = s0+v0, s1+v1, s2+v2, s3+v3
		q0, q1, q2, q3 = q0+v0*v0, q1+v1*v1, q2+v2*v2, q3+v3*v3
	}
	for ; j < len(x); j++ {
		v := float64(x[j])
		s0 += v
		q0 += v * v
	}
	return s0 + s1 + s2 + s3, q0 + q1 + q2 + q3
}

// sumSqReLU is sumSq of max(x, 0).
func sumSqReLU(x []float32) (float64, float64) {
	switch {
	case len(x) == 0:
	case useAVX512():
		return sumSqReLUAVX512(&x[0], len(x))
	case useAVX2():
		return sumSqReLUAVX2(&x[0], len(x))
	}
	return sumSqReLUGo(x)
}

func sumSqReLUGo(x []float32) (float64, float64) {
	var s0, s1, s2, s3, q0, q1, q2, q3 float64
	j := 0
	for ; j+4 <= len(x); j += 4 {
		v0, v1 := float64(relu0(x[j])), float64(relu0(x[j+1]))
		v2, v3 := float64(relu0(x[j+2])), float64(relu0(x[j+3]))
		s0, s1, s2, s3 = s0+v0, s1+v1, s2+v2, s3+v3
		q0, q1, q2, q3 = q0+v0*v0, q1+v1*v1, q2+v2*v2, q3+v3*v3
	}
	for ; j < len(x); j++ {
		v := float64(relu0(x[j]))
		s0 += v
		q0 += v * v
	}
	return s0 + s1 + s2 + s3, q0 + q1 + q2 + q3
}

// scaleShiftReLU sets dst[j] = max(x[j], 0)·a + b.
func scaleShiftReLU(dst, x []float32, a, b float32) {
	dst = dst[:len(x)]
	switch {
	case len(x) == 0:
	case useAVX512():
		scaleShiftReLUAVX512(&dst[0], &x[0], len(x), a, b)
		return
	case useAVX2():
		scaleShiftReLUAVX2(&dst[0], &x[0], len(x), a, b)
		return
	}
	// float32(…) rounds the product, so that no build (GOAMD64=v3 fuses
	// x·y + z) turns this into an FMA the kernels do not do.
	for j, v := range x {
		dst[j] = float32(relu0(v)*a) + b
	}
}

// gradReLU sets dx[j] = a·g[j] − b − e·x[j] where x[j] > 0, else 0: the
// input gradient of BatchNorm after a ReLU.
func gradReLU(dx, g, x []float32, a, b, e float32) {
	dx, x = dx[:len(g)], x[:len(g)]
	switch {
	case len(g) == 0:
	case useAVX512():
		gradReLUAVX512(&dx[0], &g[0], &x[0], len(g), a, b, e)
		return
	case useAVX2():
		gradReLUAVX2(&dx[0], &g[0], &x[0], len(g), a, b, e)
		return
	}
	for j, gj := range g {
		v := x[j]
		dx[j] = keepIfPos(float32(a*gj)-b-float32(e*v), v) // no FMA, as in scaleShiftReLU
	}
}

// sumGradReLU returns Σg and Σg·x̂ for x̂ = (max(x, 0) − mean)·inv.
func sumGradReLU(g, x []float32, mean, inv float32) (float64, float64) {
	x = x[:len(g)]
	switch {
	case len(g) == 0:
	case useAVX512():
		return sumGradReLUAVX512(&g[0], &x[0], len(g), mean, inv)
	case useAVX2():
		return sumGradReLUAVX2(&g[0], &x[0], len(g), mean, inv)
	}
	return sumGradReLUGo(g, x, mean, inv)
}

func sumGradReLUGo(g, x []float32, mean, inv float32) (float64, float64) {
	var s0, s1, s2, s3, q0, q1, q2, q3 float64
	j := 0
	for ; j+4 <= len(g); j += 4 {
		g0, g1, g2, g3 := g[j], g[j+1], g[j+2], g[j+3]
		s0, s1, s2, s3 = s0+float64(g0), s1+float64(g1), s2+float64(g2), s3+float64(g3)
		q0 += float64(g0 * ((relu0(x[j]) - mean) * inv))
		q1 += float64(g1 * ((relu0(x[j+1]) - mean) * inv))
		q2 += float64(g2 * ((relu0(x[j+2]) - mean) * inv))
		q3 += float64(g3 * ((relu0(x[j+3]) - mean) * inv))
	}
	for ; j < len(g); j++ {
		s0 += float64(g[j])
		q0 += float64(g[j] * ((relu0(x[j]) - mean) * inv))
	}
	return s0 + s1 + s2 + s3, q0 + q1 + q2 + q3
}

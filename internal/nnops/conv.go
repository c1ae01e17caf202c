package nnops

import (
	"fmt"

	"github.com/siampipe/siampipe/internal/par"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// convState is shared by a convolution and its derivative Ops: the
// geometry, the weights with the bias as a last column, and transient
// buffers.
type convState struct {
	stride, pad           int
	cin, n, h, w, cout, k int
	ho, wo                int
	wb                    []float32  // Cout × (K+1): W with the bias as its last column
	dcols                 []float32  // transient patch chunks (and weight-gradient partials)
	dbPart                []float64  // the bias gradient's sums, chunks × Cout, chunk-major
	db                    []float32  // the bias gradient, from the last convDW
	scratch               *[]float32 // shared transient buffer, if set
	noInputGrad           bool
	stats                 chanStats // for the BN that follows, if it takes them
	pre                   *bnState  // the BN the input still has to go through, if deferred (BN.Defer)
	post                  *bnState  // the BN after, whose input gradient is left to this (BN.DeferBackward)
	y                     []float32 // the output of the last forward pass
	dwFused               []float32 // the weight gradient convDX computed with the input gradient
}

// scratchSize is the floats of per-core scratch patches needs besides the
// patch rows: a channel's images normalised (if the BN is deferred) and a
// padded plane.
func (s *convState) scratchSize(images int) int {
	n := (s.h + 2*s.pad) * (s.w + 2*s.pad)
	if s.pre != nil {
		n += images * s.h * s.w
	}
	return padLine(n)
}

// patches writes the patch rows of images b0..b1-1 of x into cols (rows
// ld apart), through the deferred BN if there is one: each channel's
// images are normalised into scratch (h = relu(x)·a + b, the BN's own
// kernel, so the same bits as the BN's output), then read from there.
func (s *convState) patches(x, cols []float32, ld, b0, b1 int, scratch []float32) {
	if s.pre == nil {
		im2colPlane(x, cols, ld, s.cin, s.n, s.h, s.w, s.k, s.stride, s.pad, s.ho, s.wo, b0, b1, scratch)
		return
	}
	hw, nb, kk := s.h*s.w, b1-b0, s.k*s.k
	img, plane := scratch[:nb*hw], scratch[nb*hw:]
	a, b := s.pre.coef[:s.cin], s.pre.coef[s.cin:2*s.cin]
	for ci := range s.cin {
		scaleShiftReLU(img, x[(ci*s.n+b0)*hw:(ci*s.n+b1)*hw], a[ci], b[ci])
		im2colPlane(img, cols[ci*kk*ld:], ld, 1, nb, s.h, s.w, s.k, s.stride, s.pad, s.ho, s.wo, 0, nb, plane)
	}
}

// chanStats are a convolution's per-channel sums of max(y, 0) and of its
// square, taken a chunk of images at a time right after the product wrote
// the chunk (while it is in cache), for the BN with PreReLU that follows
// to use instead of a pass of its own over y (BN.TakeStatsFrom).
type chanStats struct {
	on      bool      // a BN takes them
	ready   bool      // filled by the last forward pass and not yet taken
	chunks  int       // chunks of the last forward pass
	sum, sq []float64 // chunks × Cout, chunk-major
}

// buffer returns n floats of the transient buffer (the shared one if set);
// its contents are whatever the last Op left.
func (s *convState) buffer(n int) []float32 {
	buf := &s.dcols
	if s.scratch != nil {
		buf = s.scratch
	}
	*buf = grow(*buf, n)
	return (*buf)[:n]
}

func (s *convState) kdim() int { return s.cin * s.k * s.k }

// chunkBytes is the size of the patch-matrix chunk built and multiplied at
// a time: well inside L2, so the product reads it from there.
const chunkBytes = 1 << 20

// chunkAlign is what the number of patch-matrix chunks is rounded up to
// (when there are several): chunks of equal size, in a count that 1, 2 and
// 4 cores share evenly. It is fixed, never the core count, so the chunks
// (and the BN statistics summed by chunk) are the same on any machine.
const chunkAlign = 4

// chunks returns how many patch-matrix chunks the batch makes, and the
// most images one holds; chunk i is images span(i, chunks, n).
func (s *convState) chunks() (chunks, most int) {
	most = max(1, chunkBytes/(4*s.kdim()*s.ho*s.wo))
	chunks = (s.n + most - 1) / most
	if chunks > 1 {
		chunks = min(s.n, (chunks+chunkAlign-1)/chunkAlign*chunkAlign)
	}
	return chunks, (s.n + chunks - 1) / chunks
}
func (s *convState) np() int { return s.n * s.ho * s.wo }

// Conv is y = conv(x, W) + b for x of shape (Cin, N, H, W), W of shape
// (Cout, Cin, k, k) (PyTorch layout) and b of shape (Cout); y has shape
// (Cout, N, Ho, Wo) with Ho = (H + 2·pad − k)/stride + 1. The ReLU that
// follows it in the model is fused into the next BN (BNConfig.PreReLU).
type Conv struct {
	base
	st *convState
}

// NewConv returns the Op. With noInputGrad the gradient with respect to x
// is not built (x is the data).
func NewConv(stride, pad int, noInputGrad bool) *Conv {
	return &Conv{base: newBase("Conv", 4, 4, 4, 1), st: &convState{stride: stride, pad: pad, noInputGrad: noInputGrad}}
}

// ShareScratch makes the Op use *s for its transient input-gradient buffer;
// Ops of one graph may share one (they run one at a time).
func (o *Conv) ShareScratch(s *[]float32) { o.st.scratch = s }

// InferShape implements gorgonia.Op.
func (o *Conv) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	x, w := in[0].(tensor.Shape), in[1].(tensor.Shape)
	if len(x) != 4 || len(w) != 4 || w[2] != w[3] || w[1] != x[0] {
		return nil, fmt.Errorf("nnops: Conv: x %v and W %v do not fit", x, w)
	}
	k := w[2]
	ho := (x[2]+2*o.st.pad-k)/o.st.stride + 1
	wo := (x[3]+2*o.st.pad-k)/o.st.stride + 1
	return tensor.Shape{w[0], x[1], ho, wo}, nil
}

// Do implements gorgonia.Op.
func (o *Conv) Do(in ...G.Value) (G.Value, error) {
	s := o.st
	xs, ws := shapeOf(in[0]), shapeOf(in[1])
	s.cin, s.n, s.h, s.w = xs[0], xs[1], xs[2], xs[3]
	s.cout, s.k = ws[0], ws[2]
	s.ho = (s.h+2*s.pad-s.k)/s.stride + 1
	s.wo = (s.w+2*s.pad-s.k)/s.stride + 1
	K, NP := s.kdim(), s.np()
	// The bias enters the product as one more term of each output's sum:
	// a last column of the weights times a last row of ones under the
	// patches. So the output is written once, by the product, and never
	// filled or read back first.
	s.wb = grow(s.wb, s.cout*(K+1))
	w, b := data(in[1]), data(in[2])
	for c := range s.cout {
		copy(s.wb[c*(K+1):c*(K+1)+K], w[c*K:(c+1)*K])
		s.wb[c*(K+1)+K] = b[c]
	}
	y := o.out(s.cout, s.n, s.ho, s.wo)
	yd := y.Data().([]float32)
	s.y = yd
	// The patch matrix is built and multiplied a chunk of images at a
	// time, in a buffer of each core's that stays in its L2 cache (the
	// weight gradient builds its patches again rather than keep 24 MB of
	// them). Chunks own disjoint columns of y: they run on all cores, and
	// each output is computed the same way whichever core runs it.
	P, x := s.ho*s.wo, data(in[0])
	chunks, most := s.chunks()
	ldc := padLine(most * P) // rows of whole cache lines, for im2col's stores
	rows := (K + 1) * ldc
	per := rows + s.scratchSize(most)
	bufs := s.buffer(par.Workers() * per)
	st := &s.stats
	if st.on {
		st.sum, st.sq = growF64(st.sum, chunks*s.cout), growF64(st.sq, chunks*s.cout)
	}
	par.ForScratch(chunks, func(worker, i int) {
		b0, b1 := span(i, chunks, s.n)
		cp := (b1 - b0) * P
		cols := bufs[worker*per : worker*per+rows]
		s.patches(x, cols, ldc, b0, b1, bufs[worker*per+rows:(worker+1)*per])
		fillValue(cols[K*ldc:K*ldc+cp], 1)
		sgemmSerial(false, false, s.cout, cp, K+1, 1, s.wb, K+1, cols, ldc, 0, yd[b0*P:], NP)
		if st.on {
			for c := range s.cout {
				st.sum[i*s.cout+c], st.sq[i*s.cout+c] = sumSqReLU(yd[c*NP+b0*P : c*NP+b1*P])
			}
		}
	})
	st.ready, st.chunks = st.on, chunks
	return y, nil
}

// DiffWRT implements gorgonia.SDOp.
func (o *Conv) DiffWRT(int) []bool { return []bool{!o.st.noInputGrad, true, true} }

// SymDiff implements gorgonia.SDOp.
func (o *Conv) SymDiff(in G.Nodes, y, g *G.Node) (G.Nodes, error) {
	var err error
	res := make(G.Nodes, 3)
	if o.st.noInputGrad {
		if res[1], err = apply(&convDW{base: newBase("ConvDW", 4, 4, 4), st: o.st}, g, in[0]); err != nil {
			return nil, err
		}
	} else {
		// One pass over the chunks computes the input gradient and the
		// weight gradient (each chunk of g read once); convDX does it and
		// convDW, which takes its output so as to run after it, hands on
		// the weight gradient.
		if res[0], err = apply(&convDX{base: newBase("ConvDX", 4, 4, 4, 4), st: o.st}, g, in[1], in[0]); err != nil {
			return nil, err
		}
		if res[1], err = apply(&convDW{base: newBase("ConvDW", 4, 4, 4, 4), st: o.st, fused: true}, g, in[0], res[0]); err != nil {
			return nil, err
		}
	}
	// The bias gradient is summed by convDW while its chunks of g are in
	// cache; convDB hands it on, after convDW (it takes dW as its input).
	if res[2], err = apply(&convDB{base: newBase("ConvDB", 1, 4), st: o.st}, res[1]); err != nil {
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
func (o *convDX) Do(in ...G.Value) (G.Value, error) {
	s := o.st
	dx := o.out(s.cin, s.n, s.h, s.w)
	s.dwFused = grow(s.dwFused, s.cout*s.kdim())
	s.backward(data(in[0]), data(in[2]), data(in[1]), dx.Data().([]float32), s.dwFused)
	return dx, nil
}

// convDW is dW = g·colsᵀ, from the upstream gradient g and the layer's
// input x, whose patches it builds again a chunk at a time. It multiplies
// dWᵀ = cols·gᵀ (the same sums): the gemm reads the patch rows in place
// (AVX-512) and transposes only g, Cout rows, rather than the 9·Cin rows
// of the patches. When the convolution has an input gradient, convDX
// computes dW with it (fused) and convDW hands it on.
type convDW struct {
	base
	st    *convState
	fused bool
}

// dwImages is the number of images of a weight-gradient chunk: the
// products of chunks are summed in chunk order, so the chunks are fixed by
// the batch alone, never by the core count.
const dwImages = 16

// dwGroups is the number of groups of weight-gradient chunks: each sums
// its chunks' products as it goes, and the groups are summed at the end.
const dwGroups = 4

// span returns the b-th of parts balanced slices of [0, n).
func span(b, parts, n int) (lo, hi int) { return b * n / parts, (b + 1) * n / parts }

func (o *convDW) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{o.st.cout, o.st.cin, o.st.k, o.st.k}, nil
}
func (o *convDW) Do(in ...G.Value) (G.Value, error) {
	s := o.st
	dw := o.out(s.cout, s.cin, s.k, s.k)
	if o.fused {
		copy(dw.Data().([]float32), s.dwFused)
		return dw, nil
	}
	s.backward(data(in[0]), data(in[1]), nil, nil, dw.Data().([]float32))
	return dw, nil
}

// backward computes the weight gradient dW (into dwd) and the bias
// gradient (s.db) and, if dxd is not nil, the input gradient (into dxd,
// with the weights w), from the upstream gradient g and the layer's input
// x, a chunk of dwImages images at a time. If the BN after the layer left
// its input gradient to it (DeferBackward), g is that BN's upstream
// gradient and each chunk of the layer's gradient is made from it first,
// in a per-core buffer. The chunks go in a fixed number of groups, on any
// core; a group's chunks add their dW products into its slot of partials
// in order, and the slots are then summed in group order.
func (s *convState) backward(g, x, w, dxd, dwd []float32) {
	K, NP, P := s.kdim(), s.np(), s.ho*s.wo
	chunks, size := par.Blocks(s.n, dwImages), s.cout*K
	groups := min(chunks, dwGroups)
	ldc := padLine(dwImages * P)
	rows := K * ldc
	gsize := 0
	if s.post != nil {
		gsize = padLine(s.cout * dwImages * P)
	}
	per := rows + gsize + s.scratchSize(dwImages)
	buf := s.buffer(groups*size + par.Workers()*per)
	parts, work := buf[:groups*size], buf[groups*size:]
	s.dbPart = growF64(s.dbPart, chunks*s.cout)
	par.ForScratch(groups, func(worker, gi int) {
		c0, c1 := span(gi, groups, chunks)
		part := parts[gi*size : (gi+1)*size]
		wb := work[worker*per : (worker+1)*per]
		cols, gb, scratch := wb[:rows], wb[rows:rows+gsize], wb[rows+gsize:]
		for i := c0; i < c1; i++ {
			b0, b1 := par.Block(i, s.n, dwImages)
			cp := (b1 - b0) * P
			gc, ldg := g[b0*P:], NP
			if s.post != nil {
				gc, ldg = gb, cp
				s.post.gradInto(gb, g, s.y, b0*P, b1*P)
			}
			for co := range s.cout {
				s.dbPart[i*s.cout+co] = sum64(gc[co*ldg : co*ldg+cp])
			}
			if dxd != nil {
				sgemmSerial(true, false, K, cp, s.cout, 1, w, K, gc, ldg, 0, cols, cp)
				col2imRange(cols, cp, dxd, s.cin, s.n, s.h, s.w, s.k, s.stride, s.pad, s.ho, s.wo, b0, b1)
			}
			s.patches(x, cols, ldc, b0, b1, scratch)
			beta := float32(1)
			if i == c0 {
				beta = 0
			}
			sgemmSerial(false, true, K, s.cout, cp, 1, cols, ldc, gc, ldg, beta, part, s.cout)
		}
	})
	s.db = grow(s.db, s.cout)
	for co := range s.cout {
		var sum float64
		for i := range chunks {
			sum += s.dbPart[i*s.cout+co]
		}
		s.db[co] = float32(sum)
	}
	// The partials are dWᵀ (K × Cout); each core sums and transposes a
	// block of rows of them, read in order (the block's writes to dW stay
	// in a few cache lines per channel).
	const block = 16
	par.For(par.Blocks(K, block), func(bi int) {
		k0, k1 := par.Block(bi, K, block)
		for k := k0; k < k1; k++ {
			row := parts[k*s.cout : (k+1)*s.cout]
			for gi := 1; gi < groups; gi++ {
				add := parts[gi*size+k*s.cout : gi*size+(k+1)*s.cout]
				for co := range row {
					row[co] += add[co]
				}
			}
			for co, v := range row {
				dwd[co*K+k] = v
			}
		}
	})
}

// convDB is the bias gradient, g summed over all but its channel axis:
// convDW sums it a chunk at a time while the chunk is in cache (in float64,
// the chunks added in order), and convDB, whose input is convDW's output
// so that it runs after it, returns it.
type convDB struct {
	base
	st *convState
}

func (o *convDB) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{o.st.cout}, nil
}
func (o *convDB) Do(...G.Value) (G.Value, error) {
	r := o.out(o.st.cout)
	copy(r.Data().([]float32), o.st.db)
	return r, nil
}

// fillValue sets every element of dst to v, by doubling copies (memmove's
// vector loop) rather than one store at a time.
func fillValue(dst []float32, v float32) {
	if len(dst) == 0 {
		return
	}
	dst[0] = v
	for n := 1; n < len(dst); n *= 2 {
		copy(dst[n:], dst[:n])
	}
}

// validRange returns the output columns [lo, hi) whose input column
// ox·stride − pad + kx lies inside [0, w).
func validRange(wo, w, stride, pad, kx int) (lo, hi int) {
	lo, hi = 0, wo
	for lo < wo && lo*stride-pad+kx < 0 {
		lo++
	}
	for hi > lo && (hi-1)*stride-pad+kx >= w {
		hi--
	}
	return lo, hi
}

// Im2Col writes the patch matrix of x (C, N, H, W) into cols, laid out
// (C·k·k) × (N·Ho·Wo); positions in the zero padding give 0.
func Im2Col(x, cols []float32, c, n, h, w, k, stride, pad, ho, wo int) {
	im2colRange(x, cols, n*ho*wo, c, n, h, w, k, stride, pad, ho, wo, 0, n)
}

// im2colRange is Im2Col for the images b0..b1-1 of x: their columns, in
// rows ld apart, start at cols[0].
func im2colRange(x, cols []float32, ld, c, n, h, w, k, stride, pad, ho, wo, b0, b1 int) {
	im2colPlane(x, cols, ld, c, n, h, w, k, stride, pad, ho, wo, b0, b1, nil)
}

// im2colPlane is im2colRange with a buffer for the padded-plane paths'
// plane (nil, or too short, allocates one).
func im2colPlane(x, cols []float32, ld, c, n, h, w, k, stride, pad, ho, wo, b0, b1 int, plane []float32) {
	if stride2Fits(stride, ho, wo, h, w, k, pad) {
		im2colStride2(x, cols, ld, c, n, h, w, k, pad, ho, wo, b0, b1, plane)
		return
	}
	if stride1Fits(stride, ho, wo, h, w, k, pad) {
		im2colStride1(x, cols, ld, c, n, h, w, k, pad, ho, wo, b0, b1, plane)
		return
	}
	im2colGeneric(x, cols, ld, c, n, h, w, k, stride, pad, ho, wo, b0, b1)
}

// im2colGeneric is im2colRange for any geometry, one output row at a time.
func im2colGeneric(x, cols []float32, ld, c, n, h, w, k, stride, pad, ho, wo, b0, b1 int) {
	P := ho * wo
	for ci := 0; ci < c; ci++ {
		for ky := 0; ky < k; ky++ {
			for kx := 0; kx < k; kx++ {
				lo, hi := validRange(wo, w, stride, pad, kx)
				off := kx - pad
				row := cols[((ci*k+ky)*k+kx)*ld:]
				for b := b0; b < b1; b++ {
					img := x[(ci*n+b)*h*w : (ci*n+b+1)*h*w]
					dst := row[(b-b0)*P : (b-b0+1)*P]
					for oy := 0; oy < ho; oy++ {
						iy := oy*stride - pad + ky
						d := dst[oy*wo : (oy+1)*wo]
						if iy < 0 || iy >= h {
							clear(d)
							continue
						}
						src := img[iy*w : (iy+1)*w]
						clear(d[:lo])
						clear(d[hi:])
						if stride == 2 && lo < hi {
							s := src[2*lo+off : 2*(hi-1)+off+1]
							dd := d[lo:hi]
							for j := range dd {
								dd[j] = s[2*j]
							}
						} else {
							for ox := lo; ox < hi; ox++ {
								d[ox] = src[ox*stride+off]
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
	col2imRange(cols, n*ho*wo, x, c, n, h, w, k, stride, pad, ho, wo, 0, n)
}

// col2imRange is Col2Im for the images b0..b1-1 of x (the others are left
// alone), whose columns, in rows ld apart, start at cols[0].
func col2imRange(cols []float32, ld int, x []float32, c, n, h, w, k, stride, pad, ho, wo, b0, b1 int) {
	if stride2Fits(stride, ho, wo, h, w, k, pad) {
		col2imStride2(cols, ld, x, c, n, h, w, k, pad, ho, wo, b0, b1)
		return
	}
	if stride1Fits(stride, ho, wo, h, w, k, pad) {
		col2imStride1(cols, ld, x, c, n, h, w, k, pad, ho, wo, b0, b1)
		return
	}
	col2imGeneric(cols, ld, x, c, n, h, w, k, stride, pad, ho, wo, b0, b1)
}

// col2imGeneric is col2imRange for any geometry.
func col2imGeneric(cols []float32, ld int, x []float32, c, n, h, w, k, stride, pad, ho, wo, b0, b1 int) {
	for ci := 0; ci < c; ci++ {
		clear(x[(ci*n+b0)*h*w : (ci*n+b1)*h*w])
	}
	P := ho * wo
	for ci := 0; ci < c; ci++ {
		for ky := 0; ky < k; ky++ {
			for kx := 0; kx < k; kx++ {
				lo, hi := validRange(wo, w, stride, pad, kx)
				off := kx - pad
				row := cols[((ci*k+ky)*k+kx)*ld:]
				for b := b0; b < b1; b++ {
					img := x[(ci*n+b)*h*w : (ci*n+b+1)*h*w]
					src := row[(b-b0)*P : (b-b0+1)*P]
					for oy := 0; oy < ho; oy++ {
						iy := oy*stride - pad + ky
						if iy < 0 || iy >= h {
							continue
						}
						dst := img[iy*w : (iy+1)*w]
						sv := src[oy*wo+lo : oy*wo+hi]
						if stride == 2 && lo < hi {
							d := dst[2*lo+off : 2*(hi-1)+off+1]
							for j, v := range sv {
								d[2*j] += v
							}
						} else {
							for j, v := range sv {
								dst[(lo+j)*stride+off] += v
							}
						}
					}
				}
			}
		}
	}
}

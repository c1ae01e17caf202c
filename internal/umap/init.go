package umap

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/siampipe/siampipe/internal/neighbors"
	"github.com/siampipe/siampipe/internal/spectral"
	"gonum.org/v1/gonum/mat"
)

// spectralInit is umap-learn's spectral_layout: the normalised-Laplacian
// eigenvectors of a connected graph; for a disconnected one,
// multi_component_layout: components placed at +-unit vectors (up to 2*dim
// components) or at a spectral embedding of their centroids, each embedded
// on its own and scaled to half the distance to the nearest other component.
// Components too small for an eigensolver, or whose solver fails, are
// placed at random around their position; failed reports them.
func spectralInit(g *spectral.Graph, x []float32, n, dim, nc int, metric neighbors.Metric, r *rand.Rand, info *spectral.Info) (out []float64, failed int, err error) {
	labels, ncomp := spectral.Components(g)
	if ncomp == 1 {
		v, in, err := spectral.Embedding(g, nc, spectral.Options{Seed: r.Uint64()})
		*info = in
		return v, 0, err
	}
	meta := make([]float64, ncomp*nc)
	if ncomp <= 2*nc {
		k := (ncomp + 1) / 2
		for c := 0; c < ncomp; c++ {
			if c < k {
				meta[c*nc+c] = 1
			} else {
				meta[c*nc+c-k] = -1
			}
		}
	} else {
		meta, err = componentLayout(x, n, dim, labels, ncomp, nc, metric)
		if err != nil {
			return nil, 0, err
		}
	}
	out = make([]float64, n*nc)
	for c := 0; c < ncomp; c++ {
		rangeC := math.Inf(1)
		for o := 0; o < ncomp; o++ {
			var d float64
			for t := 0; t < nc; t++ {
				diff := meta[c*nc+t] - meta[o*nc+t]
				d += diff * diff
			}
			if d > 0 {
				rangeC = min(rangeC, math.Sqrt(d))
			}
		}
		rangeC /= 2
		sub, verts := spectral.Subgraph(g, labels, int32(c))
		var v []float64
		if sub.N >= 2*nc && sub.N > nc+1 {
			var e error
			var in spectral.Info
			v, in, e = spectral.Embedding(sub, nc, spectral.Options{Seed: r.Uint64()})
			info.Matvecs += in.Matvecs
			info.Residual = max(info.Residual, in.Residual)
			if e != nil {
				failed++
				v = nil
			}
		}
		if v == nil {
			for i, vi := range verts {
				_ = i
				for t := 0; t < nc; t++ {
					out[int(vi)*nc+t] = r.Float64()*2*rangeC - rangeC + meta[c*nc+t]
				}
			}
			continue
		}
		mx := 0.0
		for _, val := range v {
			mx = max(mx, math.Abs(val))
		}
		for i, vi := range verts {
			for t := 0; t < nc; t++ {
				out[int(vi)*nc+t] = v[i*nc+t]*rangeC/mx + meta[c*nc+t]
			}
		}
	}
	return out, failed, nil
}

// componentLayout places components by a spectral embedding of the affinity
// exp(-d^2) between their centroids (umap-learn's component_layout, after
// sklearn's SpectralEmbedding: normalised Laplacian, vectors divided by
// sqrt(degree), then by their maximum).
func componentLayout(x []float32, n, dim int, labels []int32, ncomp, nc int, metric neighbors.Metric) ([]float64, error) {
	if ncomp > 3000 {
		return nil, fmt.Errorf("umap: %d connected components are too many to lay out (raise n_neighbors)", ncomp)
	}
	cent := make([]float64, ncomp*dim)
	cnt := make([]float64, ncomp)
	for i := 0; i < n; i++ {
		c := int(labels[i])
		cnt[c]++
		for t := 0; t < dim; t++ {
			cent[c*dim+t] += float64(x[i*dim+t])
		}
	}
	for c := 0; c < ncomp; c++ {
		for t := 0; t < dim; t++ {
			cent[c*dim+t] /= cnt[c]
		}
	}
	dist := func(a, b int) float64 {
		var s, na, nb float64
		for t := 0; t < dim; t++ {
			u, v := cent[a*dim+t], cent[b*dim+t]
			s += (u - v) * (u - v)
			na += u * u
			nb += v * v
		}
		if metric == neighbors.Cosine {
			if na == 0 || nb == 0 {
				return 1
			}
			return 1 - (na+nb-s)/2/math.Sqrt(na*nb)
		}
		return math.Sqrt(s)
	}
	aff := mat.NewSymDense(ncomp, nil)
	deg := make([]float64, ncomp)
	for a := 0; a < ncomp; a++ {
		for b := a + 1; b < ncomp; b++ {
			d := dist(a, b)
			w := math.Exp(-d * d)
			aff.SetSym(a, b, w)
			deg[a] += w
			deg[b] += w
		}
	}
	for a := 0; a < ncomp; a++ {
		for b := a + 1; b < ncomp; b++ {
			if deg[a] > 0 && deg[b] > 0 {
				aff.SetSym(a, b, aff.At(a, b)/math.Sqrt(deg[a]*deg[b]))
			}
		}
	}
	var es mat.EigenSym
	if !es.Factorize(aff, true) {
		return nil, fmt.Errorf("umap: component layout eigendecomposition failed")
	}
	var ev mat.Dense
	es.VectorsTo(&ev)
	out := make([]float64, ncomp*nc)
	mx := 0.0
	for t := 0; t < nc; t++ {
		col := ncomp - 2 - t
		for c := 0; c < ncomp; c++ {
			v := ev.At(c, col)
			if deg[c] > 0 {
				v /= math.Sqrt(deg[c])
			}
			out[c*nc+t] = v
			mx = max(mx, v)
		}
	}
	if mx > 0 {
		for i := range out {
			out[i] /= mx
		}
	}
	return out, nil
}

// pcaInit returns the projection of the centred data on its nc leading
// principal axes, found by randomized subspace iteration (4 steps, nc+8
// vectors), in float64. Deterministic for a given r.
func pcaInit(x []float32, n, dim, nc int, r *rand.Rand) []float64 {
	mean := make([]float64, dim)
	for i := 0; i < n; i++ {
		for t := 0; t < dim; t++ {
			mean[t] += float64(x[i*dim+t])
		}
	}
	for t := range mean {
		mean[t] /= float64(n)
	}
	p := min(nc+8, dim, n)
	q := mat.NewDense(dim, p, nil)
	for i := 0; i < dim; i++ {
		for j := 0; j < p; j++ {
			q.Set(i, j, r.NormFloat64())
		}
	}
	xq := func(q *mat.Dense) *mat.Dense { // (X - mean) Q, n x p
		out := mat.NewDense(n, p, nil)
		mq := make([]float64, p)
		for j := 0; j < p; j++ {
			for t := 0; t < dim; t++ {
				mq[j] += mean[t] * q.At(t, j)
			}
		}
		qr := q.RawMatrix()
		for i := 0; i < n; i++ {
			row := x[i*dim : (i+1)*dim]
			o := out.RawRowView(i)
			for t, v := range row {
				qrow := qr.Data[t*qr.Stride : t*qr.Stride+p]
				fv := float64(v)
				for j := range o {
					o[j] += fv * qrow[j]
				}
			}
			for j := range o {
				o[j] -= mq[j]
			}
		}
		return out
	}
	xtz := func(z *mat.Dense) *mat.Dense { // (X - mean)^T Z, dim x p
		out := mat.NewDense(dim, p, nil)
		zs := make([]float64, p)
		or := out.RawMatrix()
		for i := 0; i < n; i++ {
			zr := z.RawRowView(i)
			for j := range zs {
				zs[j] += zr[j]
			}
			for t, v := range x[i*dim : (i+1)*dim] {
				orow := or.Data[t*or.Stride : t*or.Stride+p]
				fv := float64(v)
				for j := range orow {
					orow[j] += fv * zr[j]
				}
			}
		}
		for t := 0; t < dim; t++ {
			for j := 0; j < p; j++ {
				out.Set(t, j, out.At(t, j)-mean[t]*zs[j])
			}
		}
		return out
	}
	orth := func(a *mat.Dense) *mat.Dense {
		var qrf mat.QR
		qrf.Factorize(a)
		var qq mat.Dense
		qrf.QTo(&qq)
		_, c := a.Dims()
		return mat.DenseCopyOf(qq.Slice(0, a.RawMatrix().Rows, 0, c))
	}
	q = orth(q)
	for it := 0; it < 4; it++ {
		q = orth(xtz(xq(q)))
	}
	z := xq(q) // n x p; the principal axes within span(q): eigenvectors of Z^T Z
	var ztz mat.SymDense
	ztz.SymOuterK(1, z.T())
	var es mat.EigenSym
	es.Factorize(&ztz, true)
	var ev mat.Dense
	es.VectorsTo(&ev)
	out := make([]float64, n*nc)
	for t := 0; t < nc; t++ {
		col := p - 1 - t
		// deterministic sign: largest |loading| positive
		var big float64
		for j := 0; j < p; j++ {
			if v := ev.At(j, col); math.Abs(v) > math.Abs(big) {
				big = v
			}
		}
		s := 1.0
		if big < 0 {
			s = -1
		}
		for i := 0; i < n; i++ {
			var v float64
			zr := z.RawRowView(i)
			for j := 0; j < p; j++ {
				v += zr[j] * ev.At(j, col)
			}
			out[i*nc+t] = s * v
		}
	}
	return out
}

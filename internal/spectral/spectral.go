// Package spectral computes spectral embeddings of sparse symmetric weighted
// graphs: the eigenvectors of the symmetric normalised Laplacian
// L = I - D^-1/2 W D^-1/2 for its smallest non-trivial eigenvalues, found with
// a thick-restart Lanczos (Krylov-Schur) solver that never forms a dense
// n x n matrix above a small n.
package spectral

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"gonum.org/v1/gonum/mat"
)

// Graph is a symmetric sparse matrix in CSR form: row i's entries are
// Indices[Indptr[i]:Indptr[i+1]] with weights Weights[...]. Weights must be
// non-negative and the matrix symmetric.
type Graph struct {
	N       int
	Indptr  []int
	Indices []int32
	Weights []float32
}

// ErrNotConverged is returned (wrapped) when the eigensolver does not reach
// a usable accuracy.
var ErrNotConverged = errors.New("eigensolver did not converge")

// Components labels the connected components of g: labels[i] in [0, count),
// numbered in order of their smallest vertex.
func Components(g *Graph) (labels []int32, count int) {
	labels = make([]int32, g.N)
	for i := range labels {
		labels[i] = -1
	}
	stack := []int32{}
	for s := 0; s < g.N; s++ {
		if labels[s] >= 0 {
			continue
		}
		c := int32(count)
		count++
		labels[s] = c
		stack = append(stack[:0], int32(s))
		for len(stack) > 0 {
			v := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for p := g.Indptr[v]; p < g.Indptr[v+1]; p++ {
				u := g.Indices[p]
				if labels[u] < 0 && g.Weights[p] > 0 {
					labels[u] = c
					stack = append(stack, u)
				}
			}
		}
	}
	return labels, count
}

// Subgraph returns the graph induced by the vertices whose label is c, and
// those vertices in increasing order.
func Subgraph(g *Graph, labels []int32, c int32) (*Graph, []int32) {
	var verts []int32
	local := make(map[int32]int32)
	for i, l := range labels {
		if l == c {
			local[int32(i)] = int32(len(verts))
			verts = append(verts, int32(i))
		}
	}
	s := &Graph{N: len(verts), Indptr: make([]int, len(verts)+1)}
	for li, v := range verts {
		for p := g.Indptr[v]; p < g.Indptr[v+1]; p++ {
			if lj, ok := local[g.Indices[p]]; ok {
				s.Indices = append(s.Indices, lj)
				s.Weights = append(s.Weights, g.Weights[p])
			}
		}
		s.Indptr[li+1] = len(s.Indices)
	}
	return s, verts
}

// Options tunes the solver. The zero value is a sensible default.
type Options struct {
	Seed     uint64  // start vector
	Tol      float64 // residual norm ||A x - theta x|| to accept; 0 = 1e-6
	MaxIter  int     // operator applications at most; 0 = max(3000, 30*sqrt(n))
	Basis    int     // Krylov basis size; 0 = max(2*(dim+1)+1, 40)
	DenseMax int     // solve densely up to this many vertices; 0 = 200
}

// Info reports how the solver went.
type Info struct {
	Matvecs  int     // operator applications
	Residual float64 // largest residual norm of the returned vectors
	Dense    bool    // solved by a dense eigendecomposition
}

// Embedding returns the n x dim row-major matrix of the eigenvectors of the
// normalised Laplacian of the connected graph g for eigenvalues 2..dim+1
// (ascending), each with unit norm and a deterministic sign (its largest
// absolute entry positive). It needs g.N > dim+1 and every vertex with
// positive degree. If the solver stops at MaxIter short of Tol, it still
// returns the vectors when the residual is below 100*Tol (Info.Residual says
// how far it got) and ErrNotConverged otherwise.
func Embedding(g *Graph, dim int, opt Options) ([]float64, Info, error) {
	n := g.N
	if n <= dim+1 {
		return nil, Info{}, fmt.Errorf("spectral: %d vertices, need more than %d", n, dim+1)
	}
	if opt.Tol == 0 {
		opt.Tol = 1e-6
	}
	if opt.DenseMax == 0 {
		opt.DenseMax = 200
	}
	if opt.Basis == 0 {
		opt.Basis = max(2*(dim+1)+1, 40)
	}
	if opt.MaxIter == 0 {
		opt.MaxIter = max(3000, 30*int(math.Sqrt(float64(n))))
	}
	isd := make([]float64, n) // D^-1/2
	for i := 0; i < n; i++ {
		var d float64
		for p := g.Indptr[i]; p < g.Indptr[i+1]; p++ {
			d += float64(g.Weights[p])
		}
		if !(d > 0) {
			return nil, Info{}, fmt.Errorf("spectral: vertex %d has no edges", i)
		}
		isd[i] = 1 / math.Sqrt(d)
	}
	var vecs []float64
	var info Info
	var err error
	if n <= opt.DenseMax {
		vecs, err = dense(g, isd, dim)
		info.Dense = true
	} else {
		vecs, info, err = lanczos(g, isd, dim, opt)
	}
	if err != nil {
		return nil, info, err
	}
	for c := 0; c < dim; c++ {
		best := 0.0
		for i := 0; i < n; i++ {
			if v := vecs[i*dim+c]; math.Abs(v) > math.Abs(best) {
				best = v
			}
		}
		if best < 0 {
			for i := 0; i < n; i++ {
				vecs[i*dim+c] = -vecs[i*dim+c]
			}
		}
	}
	return vecs, info, nil
}

// dense solves with a full eigendecomposition of M = D^-1/2 W D^-1/2.
func dense(g *Graph, isd []float64, dim int) ([]float64, error) {
	n := g.N
	m := mat.NewSymDense(n, nil)
	for i := 0; i < n; i++ {
		for p := g.Indptr[i]; p < g.Indptr[i+1]; p++ {
			j := int(g.Indices[p])
			m.SetSym(i, j, float64(g.Weights[p])*isd[i]*isd[j])
		}
	}
	var es mat.EigenSym
	if !es.Factorize(m, true) {
		return nil, fmt.Errorf("spectral: dense eigendecomposition failed: %w", ErrNotConverged)
	}
	var ev mat.Dense
	es.VectorsTo(&ev)
	// ascending eigenvalues of M; L's smallest are M's largest: skip the top one.
	out := make([]float64, n*dim)
	for c := 0; c < dim; c++ {
		col := n - 2 - c
		for i := 0; i < n; i++ {
			out[i*dim+c] = ev.At(i, col)
		}
	}
	return out, nil
}

// lanczos finds the dim largest eigenpairs of A = (I + M)/2 on the
// complement of the trivial eigenvector u0 = D^1/2 1 (eigenvalue 1), with a
// Krylov-Schur style thick restart: keep the best Ritz vectors, continue the
// Krylov expansion from their common residual direction, full
// reorthogonalisation throughout (twice, classical Gram-Schmidt).
func lanczos(g *Graph, isd []float64, dim int, opt Options) ([]float64, Info, error) {
	n := g.N
	u0 := make([]float64, n)
	for i := range u0 {
		u0[i] = 1 / isd[i]
	}
	normalize(u0)
	apply := func(x, y []float64) { // y = (x + M x)/2, projected off u0
		for i := 0; i < n; i++ {
			var s float64
			for p := g.Indptr[i]; p < g.Indptr[i+1]; p++ {
				j := g.Indices[p]
				s += float64(g.Weights[p]) * isd[j] * x[j]
			}
			y[i] = 0.5 * (x[i] + isd[i]*s)
		}
		axpy(-dotf(u0, y), u0, y)
	}
	m := min(opt.Basis, n-1)
	keep := min(m-1, max(dim+8, m/2))
	V := make([][]float64, 0, m)
	AV := make([][]float64, 0, m)
	var info Info

	r := rand.New(rand.NewPCG(opt.Seed, 0x5eed))
	cand := make([]float64, n)
	for i := range cand {
		cand[i] = r.Float64() - 0.5
	}
	orth := func(w []float64) float64 {
		for pass := 0; pass < 2; pass++ {
			axpy(-dotf(u0, w), u0, w)
			for _, v := range V {
				axpy(-dotf(v, w), v, w)
			}
		}
		return math.Sqrt(dotf(w, w))
	}
	var theta []float64
	var X [][]float64
	for {
		for len(V) < m {
			nrm := orth(cand)
			if nrm < 1e-10 { // invariant subspace: restart from a random direction
				for i := range cand {
					cand[i] = r.Float64() - 0.5
				}
				nrm = orth(cand)
			}
			v := make([]float64, n)
			for i := range v {
				v[i] = cand[i] / nrm
			}
			av := make([]float64, n)
			apply(v, av)
			info.Matvecs++
			V = append(V, v)
			AV = append(AV, av)
			copy(cand, av)
		}
		// Rayleigh-Ritz.
		k := len(V)
		h := mat.NewSymDense(k, nil)
		for a := 0; a < k; a++ {
			for b := a; b < k; b++ {
				h.SetSym(a, b, 0.5*(dotf(V[a], AV[b])+dotf(V[b], AV[a])))
			}
		}
		var es mat.EigenSym
		if !es.Factorize(h, true) {
			return nil, info, fmt.Errorf("spectral: projected eigenproblem failed: %w", ErrNotConverged)
		}
		vals := es.Values(nil)
		var y mat.Dense
		es.VectorsTo(&y)
		order := make([]int, k)
		for i := range order {
			order[i] = i
		}
		sort.SliceStable(order, func(a, b int) bool { return vals[order[a]] > vals[order[b]] })
		X = make([][]float64, keep)
		AX := make([][]float64, keep)
		theta = make([]float64, keep)
		worst := 0.0
		for c := 0; c < keep; c++ {
			col := order[c]
			x, ax := make([]float64, n), make([]float64, n)
			for a := 0; a < k; a++ {
				ya := y.At(a, col)
				axpy(ya, V[a], x)
				axpy(ya, AV[a], ax)
			}
			theta[c] = vals[col]
			X[c], AX[c] = x, ax
			if c < dim {
				res := make([]float64, n)
				copy(res, ax)
				axpy(-theta[c], x, res)
				worst = max(worst, math.Sqrt(dotf(res, res)))
			}
		}
		info.Residual = worst
		if worst < opt.Tol || info.Matvecs >= opt.MaxIter {
			break
		}
		// Restart: the kept Ritz vectors, then the residual direction of the last one.
		V, AV = X, AX
		copy(cand, AX[keep-1])
	}
	if info.Residual > 100*opt.Tol {
		return nil, info, fmt.Errorf("spectral: residual %.2g after %d matrix-vector products: %w",
			info.Residual, info.Matvecs, ErrNotConverged)
	}
	out := make([]float64, n*dim)
	for c := 0; c < dim; c++ {
		for i := 0; i < n; i++ {
			out[i*dim+c] = X[c][i]
		}
	}
	return out, info, nil
}

func dotf(x, y []float64) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * y[i]
		s1 += x[i+1] * y[i+1]
		s2 += x[i+2] * y[i+2]
		s3 += x[i+3] * y[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func axpy(a float64, x, y []float64) {
	for i, v := range x {
		y[i] += a * v
	}
}

func normalize(x []float64) {
	s := 1 / math.Sqrt(dotf(x, x))
	for i := range x {
		x[i] *= s
	}
}

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
// complement of the trivial eigenvector u0 = D^1/2 1 (eigenvalue 1) by
// thick-restart Lanczos (Wu & Simon 2000) with full reorthogonalisation
// (classical Gram-Schmidt, twice). The projected matrix H = V^T A V is
// assembled from the orthogonalisation coefficients; after a restart it is
// diag(theta) bordered by beta*y_m (the arrowhead), so neither A V nor the
// Ritz residuals need storing: |beta_m y_{m,i}| is residual i's norm.
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
	V := make([][]float64, 0, m+1)
	H := make([]float64, m*m) // row-major m x m, symmetric
	var info Info
	r := rand.New(rand.NewPCG(opt.Seed, 0x5eed))
	w := make([]float64, n)
	coef := make([]float64, m+1)
	// orth makes w orthogonal to u0 and V (twice) and returns the summed
	// coefficients in coef[:len(V)] and the remaining norm.
	orth := func() float64 {
		k := len(V)
		for i := range coef[:k] {
			coef[i] = 0
		}
		for pass := 0; pass < 2; pass++ {
			axpy(-dotf(u0, w), u0, w)
			for i, v := range V {
				c := dotf(v, w)
				coef[i] += c
				axpy(-c, v, w)
			}
		}
		return math.Sqrt(dotf(w, w))
	}
	randomStart := func() float64 {
		for i := range w {
			w[i] = r.Float64() - 0.5
		}
		return orth()
	}
	beta := randomStart()
	fresh := true // w is a random start, not A v_last
	var theta []float64
	var Y mat.Dense
	var order []int
	for {
		// Extend the basis to m vectors: v = w/beta, w = A v - ...
		for len(V) < m {
			if beta < 1e-10*math.Sqrt(float64(n)) || math.IsNaN(beta) { // invariant subspace
				beta = randomStart()
				fresh = true
			}
			s := len(V)
			if !fresh && s > 0 {
				H[s*m+s-1], H[(s-1)*m+s] = beta, beta
			}
			v := make([]float64, n)
			for i := range v {
				v[i] = w[i] / beta
			}
			V = append(V, v)
			apply(v, w)
			info.Matvecs++
			beta = orth()
			fresh = false
			for i := 0; i <= s; i++ {
				if i == s || H[i*m+s] == 0 {
					H[i*m+s], H[s*m+i] = coef[i], coef[i]
				}
			}
		}
		// Rayleigh-Ritz on H.
		h := mat.NewSymDense(m, nil)
		for a := 0; a < m; a++ {
			for b := a; b < m; b++ {
				h.SetSym(a, b, H[a*m+b])
			}
		}
		var es mat.EigenSym
		if !es.Factorize(h, true) {
			return nil, info, fmt.Errorf("spectral: projected eigenproblem failed: %w", ErrNotConverged)
		}
		vals := es.Values(nil)
		es.VectorsTo(&Y)
		order = make([]int, m)
		for i := range order {
			order[i] = i
		}
		sort.SliceStable(order, func(a, b int) bool { return vals[order[a]] > vals[order[b]] })
		theta = make([]float64, keep)
		worst := 0.0
		for c := 0; c < keep; c++ {
			theta[c] = vals[order[c]]
			if c < dim {
				worst = max(worst, math.Abs(beta*Y.At(m-1, order[c])))
			}
		}
		info.Residual = worst
		if worst < opt.Tol || info.Matvecs >= opt.MaxIter {
			break
		}
		// Thick restart: V <- V Y[:, :keep], H <- diag(theta) bordered by
		// beta*y_m, next vector w/beta (the common residual direction).
		X := ritz(V, &Y, order[:keep], n)
		V = append(V[:0], X...)
		for i := range H {
			H[i] = 0
		}
		for c := 0; c < keep; c++ {
			H[c*m+c] = theta[c]
			sc := beta * Y.At(m-1, order[c])
			H[c*m+keep], H[keep*m+c] = sc, sc
		}
		// The next vector's column must keep those border entries: the
		// extension loop only fills H entries that are still zero above the
		// diagonal, and the sub-diagonal beta is the border for s = keep.
		fresh = true
	}
	X := ritz(V, &Y, order[:dim], n)
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

// ritz returns V Y[:, cols], computed in row blocks that stay in cache.
func ritz(V [][]float64, Y *mat.Dense, cols []int, n int) [][]float64 {
	X := make([][]float64, len(cols))
	for c := range X {
		X[c] = make([]float64, n)
	}
	const blk = 2048
	for lo := 0; lo < n; lo += blk {
		hi := min(n, lo+blk)
		for a, v := range V {
			va := v[lo:hi]
			for c, col := range cols {
				axpy(Y.At(a, col), va, X[c][lo:hi])
			}
		}
	}
	return X
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

package umap

import (
	"math"
	"sort"

	"github.com/siampipe/siampipe/internal/spectral"
)

const (
	smoothKTolerance = 1e-5
	minKDistScale    = 1e-3
)

// SmoothKNNDist computes, for each of the n rows of a k-nearest-neighbour
// distance matrix (row-major, ascending, the point itself first), rho (the
// distance to the local_connectivity-th nearest non-identical neighbour,
// interpolated) and sigma, found by 64 steps of bisection so that
// sum_{j>=1} exp(-max(0, d_ij - rho_i)/sigma_i) = log2(k) * bandwidth,
// floored at 1e-3 times the mean distance (of the row if rho_i > 0, else of
// the whole matrix). This is umap-learn's smooth_knn_dist, in float32 like it.
func SmoothKNNDist(dist []float32, n, k int, localConnectivity, bandwidth float64) (sigma, rho []float32) {
	target := float32(math.Log2(float64(k)) * bandwidth)
	sigma = make([]float32, n)
	rho = make([]float32, n)
	var total float64
	for _, d := range dist[:n*k] {
		total += float64(d)
	}
	meanAll := float32(total / float64(n*k))
	nonZero := make([]float32, 0, k)
	for i := 0; i < n; i++ {
		row := dist[i*k : (i+1)*k]
		nonZero = nonZero[:0]
		for _, d := range row {
			if d > 0 {
				nonZero = append(nonZero, d)
			}
		}
		if float64(len(nonZero)) >= localConnectivity {
			idx := int(math.Floor(localConnectivity))
			interp := float32(localConnectivity - float64(idx))
			if idx > 0 {
				rho[i] = nonZero[idx-1]
				if interp > smoothKTolerance {
					rho[i] += interp * (nonZero[idx] - nonZero[idx-1])
				}
			} else {
				rho[i] = interp * nonZero[0]
			}
		} else if len(nonZero) > 0 {
			rho[i] = nonZero[len(nonZero)-1]
		}
		lo, hi, mid := float32(0), float32(math.Inf(1)), float32(1)
		for it := 0; it < 64; it++ {
			var psum float32
			for _, d := range row[1:] {
				if d := d - rho[i]; d > 0 {
					psum += float32(math.Exp(float64(-(d / mid))))
				} else {
					psum++
				}
			}
			if math.Abs(float64(psum-target)) < smoothKTolerance {
				break
			}
			if psum > target {
				hi = mid
				mid = (lo + hi) / 2
			} else {
				lo = mid
				if math.IsInf(float64(hi), 1) {
					mid *= 2
				} else {
					mid = (lo + hi) / 2
				}
			}
		}
		sigma[i] = mid
		if rho[i] > 0 {
			var s float64
			for _, d := range row {
				s += float64(d)
			}
			if m := float32(s / float64(k)); sigma[i] < minKDistScale*m {
				sigma[i] = minKDistScale * m
			}
		} else if sigma[i] < minKDistScale*meanAll {
			sigma[i] = minKDistScale * meanAll
		}
	}
	return sigma, rho
}

// fuzzyGraph builds the symmetric fuzzy simplicial set: memberships
// exp(-(d - rho)/sigma) (1 within rho, 0 for the point itself), combined by the
// fuzzy union A + A^T - A o A^T (set_op_mix_ratio 1) or, in general,
// mix*(A + A^T - A o A^T) + (1-mix)*(A o A^T). Rows are sorted by column.
func fuzzyGraph(idx []int32, dist []float32, n, k int, sigma, rho []float32, mix float64) *spectral.Graph {
	type entry struct {
		j int32
		v float32
	}
	rows := make([][]entry, n)
	for i := 0; i < n; i++ {
		for t := 0; t < k; t++ {
			j := idx[i*k+t]
			if j < 0 || int(j) == i {
				continue
			}
			var v float32
			if d := dist[i*k+t] - rho[i]; d <= 0 || sigma[i] == 0 {
				v = 1
			} else {
				v = float32(math.Exp(float64(-(d / sigma[i]))))
			}
			if v != 0 {
				rows[i] = append(rows[i], entry{j, v})
			}
		}
		sort.Slice(rows[i], func(a, b int) bool { return rows[i][a].j < rows[i][b].j })
	}
	lookup := func(i, j int32) float32 {
		r := rows[i]
		p := sort.Search(len(r), func(x int) bool { return r[x].j >= j })
		if p < len(r) && r[p].j == j {
			return r[p].v
		}
		return 0
	}
	g := &spectral.Graph{N: n, Indptr: make([]int, n+1)}
	// union pattern: for each i, columns from row i and from rows j that list i
	rev := make([][]int32, n)
	for i := 0; i < n; i++ {
		for _, e := range rows[i] {
			rev[e.j] = append(rev[e.j], int32(i))
		}
	}
	cols := []int32{}
	for i := 0; i < n; i++ {
		cols = cols[:0]
		for _, e := range rows[i] {
			cols = append(cols, e.j)
		}
		cols = append(cols, rev[i]...)
		sort.Slice(cols, func(a, b int) bool { return cols[a] < cols[b] })
		for x, j := range cols {
			if x > 0 && cols[x-1] == j {
				continue
			}
			a, b := lookup(int32(i), j), lookup(j, int32(i))
			prod := a * b
			v := float32(mix)*(a+b-prod) + float32(1-mix)*prod
			if v != 0 {
				g.Indices = append(g.Indices, j)
				g.Weights = append(g.Weights, v)
			}
		}
		g.Indptr[i+1] = len(g.Indices)
	}
	return g
}

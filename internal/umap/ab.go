package umap

import (
	"fmt"
	"math"
)

// FindAB fits a and b of the curve 1/(1 + a x^(2b)) by least squares to the
// target membership 1 for x < minDist and exp(-(x - minDist)/spread) beyond,
// on 300 points evenly spaced over [0, 3*spread], as umap-learn's
// find_ab_params does with scipy's curve_fit (Levenberg-Marquardt from
// a = b = 1). Defaults (0.1, 1.0) give a = 1.577, b = 0.895.
func FindAB(spread, minDist float64) (a, b float64, err error) {
	if !(spread > 0) || minDist < 0 || math.IsNaN(minDist) {
		return 0, 0, fmt.Errorf("umap: spread %v, min_dist %v: need spread > 0 and min_dist >= 0", spread, minDist)
	}
	const m = 300
	xs := make([]float64, m)
	ys := make([]float64, m)
	for i := range xs {
		xs[i] = spread * 3 * float64(i) / (m - 1)
		if xs[i] < minDist {
			ys[i] = 1
		} else {
			ys[i] = math.Exp(-(xs[i] - minDist) / spread)
		}
	}
	// residuals and Jacobian of f(x) = 1/(1 + a x^(2b))
	eval := func(a, b float64, jac bool) (ss float64, jtj [2][2]float64, jtr [2]float64) {
		for i, x := range xs {
			var p, lx float64
			if x > 0 {
				lx = math.Log(x)
				p = math.Exp(2 * b * lx)
			}
			den := 1 + a*p
			f := 1 / den
			r := f - ys[i]
			ss += r * r
			if jac {
				da := -p / (den * den)
				db := -a * p * 2 * lx / (den * den)
				jtj[0][0] += da * da
				jtj[0][1] += da * db
				jtj[1][1] += db * db
				jtr[0] += da * r
				jtr[1] += db * r
			}
		}
		jtj[1][0] = jtj[0][1]
		return
	}
	a, b = 1, 1
	lambda := 1e-3
	ss, jtj, jtr := eval(a, b, true)
	for it := 0; it < 500; it++ {
		// (J^T J + lambda diag(J^T J)) delta = -J^T r
		m00 := jtj[0][0] * (1 + lambda)
		m11 := jtj[1][1] * (1 + lambda)
		m01 := jtj[0][1]
		det := m00*m11 - m01*m01
		if det == 0 || math.IsNaN(det) {
			break
		}
		da := (-jtr[0]*m11 + jtr[1]*m01) / det
		db := (-jtr[1]*m00 + jtr[0]*m01) / det
		na, nb := a+da, b+db
		nss, _, _ := eval(na, nb, false)
		if nss < ss {
			improved := ss - nss
			a, b = na, nb
			ss, jtj, jtr = eval(a, b, true)
			lambda /= 10
			if improved <= 1e-15*(ss+1e-300) && math.Abs(da) < 1e-12*(math.Abs(a)+1e-12) {
				break
			}
			if math.Abs(da) <= 1.49e-8*math.Abs(a) && math.Abs(db) <= 1.49e-8*math.Abs(b) {
				break
			}
		} else {
			lambda *= 10
			if lambda > 1e12 {
				break
			}
		}
	}
	if math.IsNaN(a) || math.IsNaN(b) || a <= 0 || b <= 0 {
		return 0, 0, fmt.Errorf("umap: fitting a, b for spread %v, min_dist %v failed", spread, minDist)
	}
	return a, b, nil
}

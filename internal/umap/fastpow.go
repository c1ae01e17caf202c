package umap

import "math"

// fastPow returns x**y for x > 0 as exp2(y*log2(x)), each from a 64-entry
// table and a degree-4 polynomial: relative error below 1e-10, a few times
// faster than math.Pow. The layout calls it once per sample.
func fastPow(x, y float64) float64 {
	// log2(x): exponent, table entry, and a polynomial in r = m/c_j - 1
	bits := math.Float64bits(x)
	e := int64(bits>>52&0x7ff) - 1023
	if e == -1023 { // subnormal
		return math.Pow(x, y)
	}
	j := bits >> 46 & 63
	m := math.Float64frombits(bits&(1<<52-1) | 1023<<52) // [1, 2)
	r := m*log2Inv[j] - 1                                // |r| < 1/128
	l := r * (1 + r*(-0.5+r*(1.0/3+r*(-0.25+r*0.2))))
	z := y * (float64(e) + log2Tab[j] + l*(1/math.Ln2))
	// exp2(z)
	if z >= 1023 {
		return math.Inf(1)
	}
	if z < -1022 {
		return 0
	}
	n := int64(z)
	if float64(n) > z {
		n--
	}
	f := (z - float64(n)) * 64 // [0, 64)
	k := int64(f)
	u := (f - float64(k)) * (math.Ln2 / 64) // [0, ln2/64)
	p := 1 + u*(1+u*(0.5+u*(1.0/6+u*(1.0/24+u*(1.0/120)))))
	return p * exp2Tab[k&63] * math.Float64frombits(uint64(n+1023)<<52)
}

var (
	log2Inv, log2Tab [64]float64 // 1/c_j and log2(c_j) for c_j = 1 + (j+0.5)/64
	exp2Tab          [64]float64 // 2^(j/64)
)

func init() {
	for j := range log2Inv {
		c := 1 + (float64(j)+0.5)/64
		log2Inv[j] = 1 / c
		log2Tab[j] = math.Log2(c)
		exp2Tab[j] = math.Exp2(float64(j) / 64)
	}
}

package resize

import "math"

// fma32 returns x*y + z computed exactly and rounded once to float32 (to
// nearest, ties to even): what a fused multiply-add instruction gives, and
// what PyTorch's kernel computes where its compiler fused the multiply and the
// add (see weights.go).
//
// The product of two float32 values is exact in float64 (24+24 significand
// bits), but the float64 sum p+z is rounded, and rounding that again to float32
// can go wrong, but only where the float64 sum lands exactly on a tie between
// two float32 values (float64 holds every such tie, so rounding to float64
// cannot carry the sum across one). There, the sum is rounded to odd instead
// (the float64 neighbour with an odd last bit whenever the sum is inexact,
// found with Knuth's TwoSum), and that, having more than 24+2 bits, rounds to
// float32 correctly (Boldo and Melquiond, 2008).
//
// apply and applyRows inline fma32 by hand (the call to fma32Slow puts it over
// the compiler's inlining budget); the tests check this form against big.Float.
func fma32(x, y, z float32) float32 {
	p := float64(float64(x) * float64(y)) // exact; the conversion keeps the compiler from fusing
	s := p + float64(z)
	if careful(s) {
		return fma32Slow(p, float64(z))
	}
	return float32(s)
}

// careful reports whether the float64 sum s, rounded to float32, may differ
// from the exact sum rounded once: when s lies exactly on a tie between two
// float32 values (the 29 bits float32 drops are 1000...0) or is nonzero and
// below float32's normal range. (A zero sum is exact: a float64 sum that
// rounds to zero is zero.)
func careful(s float64) bool {
	b := math.Float64bits(s)
	return b&(1<<29-1) == 1<<28 || b&(0x7ff<<52) < (1023-126)<<52 && b<<1 != 0
}

// fma32Slow rounds p+z to odd in float64 and then to float32. It is kept out
// of line so that the common path inlined into the loops stays small.
//
//go:noinline
func fma32Slow(p, z float64) float32 {
	s := p + z
	bv := s - p
	e := (p - (s - bv)) + (z - bv) // p + z == s + e exactly
	if e != 0 {
		if b := math.Float64bits(s); b&1 == 0 {
			if (e > 0) == (s > 0) {
				b++ // the exact sum lies farther from zero than s
			} else {
				b--
			}
			s = math.Float64frombits(b)
		}
	}
	return float32(s)
}

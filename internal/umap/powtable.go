package umap

import "math"

// powTable evaluates x**b for float32 x > 0 by linear interpolation in a
// table indexed by the top 14 bits of x's representation (exponent and 6
// mantissa bits): 16,385 entries (64 KiB), relative error below
// |b(b-1)|/8 * 2^-12 (3e-6 at the default b = 0.895), two table reads and a
// multiply-add instead of a log and an exp.
// The SGD layout evaluates it once per sample; it is where most of its time went.
type powTable struct{ t []float32 }

func newPowTable(b float64) *powTable {
	t := make([]float32, 1<<14+1)
	for i := range t {
		x := float64(math.Float32frombits(uint32(i) << 17))
		if i>>6 == 0xff { // infinity / NaN exponents
			x = math.MaxFloat32
		}
		t[i] = float32(math.Pow(x, b))
	}
	return &powTable{t: t}
}

func (p *powTable) pow(x float32) float32 {
	bits := math.Float32bits(x)
	i := bits >> 17
	f := float32(bits&(1<<17-1)) * (1.0 / (1 << 17))
	t := p.t[i : i+2 : i+2]
	return t[0] + f*(t[1]-t[0])
}

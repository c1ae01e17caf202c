package resize

import (
	"math"
	"math/big"
	"testing"

	"github.com/siampipe/siampipe/internal/splitmix"
)

// exactFMA32 is x*y + z rounded once to float32, with big.Float.
func exactFMA32(x, y, z float32) float32 {
	bx := new(big.Float).SetPrec(200).SetFloat64(float64(x))
	by := new(big.Float).SetPrec(200).SetFloat64(float64(y))
	bz := new(big.Float).SetPrec(200).SetFloat64(float64(z))
	s := new(big.Float).SetPrec(200).Mul(bx, by)
	s.Add(s, bz)
	f, _ := s.Float32() // nearest, ties to even
	return f
}

func TestFMA32RoundsOnce(t *testing.T) {
	// (1+2^-23) + 2^-24*(1+2^-18)*(1-2^-18) = 1 + 2^-23 + 2^-24 - 2^-60: just
	// below the tie between 1+2^-23 and 1+2^-22. The float64 sum is the tie
	// itself, which rounds (to even) up: double rounding gets this wrong.
	x := float32(math.Ldexp(1+math.Ldexp(1, -18), -24))
	y := float32(1 - math.Ldexp(1, -18))
	z := float32(1 + math.Ldexp(1, -23))
	want := exactFMA32(x, y, z)
	if want != z {
		t.Fatalf("test case broken: exact result %v, want %v", want, z)
	}
	if naive := float32(float64(x)*float64(y) + float64(z)); naive == want {
		t.Fatalf("test case broken: float64 then float32 rounding gets it right too")
	}
	if got := fma32(x, y, z); got != want {
		t.Errorf("fma32 = %v, want %v", got, want)
	}
	// The mirror image: the exact sum just above the tie rounds up.
	y2 := float32(1 + math.Ldexp(1, -18))
	z2 := float32(1)
	if got, want := fma32(x, y2, z2), exactFMA32(x, y2, z2); got != want {
		t.Errorf("fma32 = %v, want %v", got, want)
	}
}

func TestFMA32MatchesBigFloat(t *testing.T) {
	r := splitmix.Stream{S: 7}
	f := func() float32 {
		u := r.Next()
		// A significand with few or many bits and a spread of exponents and
		// signs, so that sums often land on or near float32 ties.
		m := float64(u>>40) / (1 << 24)
		if u&1 == 0 {
			m = math.Round(m*256) / 256
		}
		v := math.Ldexp(1+m, int(u>>8&31)-16)
		if u&2 != 0 {
			v = -v
		}
		return float32(v)
	}
	// Results at and below float32's smallest normal number.
	tiny := []float32{0x1p-70, 0x1.8p-70, 0x1.000002p-63, 0x1p-126, 0x1.fffffcp-127, 0x1p-149, 0x1.8p-140, 0}
	for _, x := range tiny {
		for _, y := range tiny {
			for _, z := range tiny {
				for _, sz := range []float32{1, -1} {
					if got, want := fma32(x, y, sz*z), exactFMA32(x, y, sz*z); got != want {
						t.Fatalf("fma32(%v, %v, %v) = %v, want %v", x, y, sz*z, got, want)
					}
				}
			}
		}
	}
	for i := 0; i < 200000; i++ {
		x, y, z := f(), f(), f()
		if got, want := fma32(x, y, z), exactFMA32(x, y, z); got != want {
			t.Fatalf("fma32(%v, %v, %v) = %v, want %v", x, y, z, got, want)
		}
	}
}

package randaug

import (
	"math/bits"

	"github.com/siampipe/siampipe/internal/splitmix"
)

// Rand is a small, fast, splittable random stream (SplitMix64, Steele et al.
// 2014). Seeding it from (seed, epoch, index, view) gives every view its own
// stream, so the views do not depend on which goroutine computes them.
// The zero value is a valid stream.
type Rand struct{ s uint64 }

const gamma64 = splitmix.Gamma

func mix64(z uint64) uint64 { return splitmix.Mix(z) }

// NewRand returns a stream determined by keys, in order: different key
// sequences give unrelated streams.
func NewRand(keys ...uint64) Rand {
	h := uint64(gamma64)
	for _, k := range keys {
		h = mix64(h ^ mix64(k+gamma64))
	}
	return Rand{s: h}
}

// Uint64 returns 64 uniformly random bits.
func (r *Rand) Uint64() uint64 {
	r.s += gamma64
	return mix64(r.s)
}

// Float64 returns a uniform float64 in [0, 1), a multiple of 2^-53.
func (r *Rand) Float64() float64 { return float64(r.Uint64()>>11) * 0x1p-53 }

// Intn returns a uniform integer in [0, n) (Lemire's multiply-shift with
// rejection, so without bias). It panics if n <= 0.
func (r *Rand) Intn(n int) int {
	if n <= 0 {
		panic("randaug: Intn of non-positive n")
	}
	un := uint64(n)
	hi, lo := bits.Mul64(r.Uint64(), un)
	if lo < un {
		thresh := -un % un
		for lo < thresh {
			hi, lo = bits.Mul64(r.Uint64(), un)
		}
	}
	return int(hi)
}

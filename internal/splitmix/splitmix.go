// Package splitmix is SplitMix64 (Steele, Lea and Flood, 2014): a 64-bit
// mixer and the small, fast random stream built on it. Streams seeded from
// keys such as (seed, epoch, chunk) let parallel work draw random numbers
// without depending on which goroutine runs it.
package splitmix

// Gamma is SplitMix64's increment, the odd integer closest to 2^64 / phi.
const Gamma = 0x9e3779b97f4a7c15

// Mix is SplitMix64's finalizer: a bijective mix of the bits of z.
func Mix(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Hash is one SplitMix64 step from state x: Mix(x + Gamma). It serves as a
// hash of x for deriving seeds.
func Hash(x uint64) uint64 { return Mix(x + Gamma) }

// Stream is a SplitMix64 stream whose state is S; the zero value is valid.
type Stream struct{ S uint64 }

// Next advances the stream and returns 64 random bits: Hash of the new state.
func (r *Stream) Next() uint64 { r.S += Gamma; return Hash(r.S) }

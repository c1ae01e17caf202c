package splitmix

import "testing"

// TestKnownValues checks the mixer against the first outputs of the
// reference SplitMix64 generator seeded with 0 (state += Gamma; Mix(state)).
func TestKnownValues(t *testing.T) {
	want := []uint64{0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4, 0x06c45d188009454f}
	var s uint64
	for i, w := range want {
		s += Gamma
		if got := Mix(s); got != w {
			t.Fatalf("output %d: %#x, want %#x", i, got, w)
		}
	}
	r := Stream{}
	g := uint64(Gamma)
	if got := r.Next(); got != Hash(g) || got != Mix(g+g) {
		t.Fatalf("Stream.Next %#x", got)
	}
}

package holdout

import (
	"errors"
	"math"
	"testing"
)

func TestSplitIsStratifiedDeterministicAndComplete(t *testing.T) {
	for _, tc := range []struct {
		name   string
		counts []int // rows per class
		f      float64
	}{
		{"balanced", []int{100, 100, 100}, 0.2},
		{"skewed", []int{1000, 10, 3}, 0.25},
		{"tiny classes", []int{2, 2, 1}, 0.1},
		{"large fraction", []int{50, 7}, 0.9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var labels []int
			for c, k := range tc.counts {
				for range k {
					labels = append(labels, c)
				}
			}
			// Interleave the classes so that positions do not follow labels.
			for i := range labels {
				j := (i * 7919) % len(labels)
				labels[i], labels[j] = labels[j], labels[i]
			}
			a, err := Test(labels, len(labels), tc.f)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := Test(append([]int(nil), labels...), len(labels), tc.f)
			for i := range a {
				if a[i] != b[i] {
					t.Fatal("two calls cut different rows")
				}
			}
			for c, k := range tc.counts {
				got := 0
				for i, l := range labels {
					if l == c && a[i] {
						got++
					}
				}
				want := int(math.Round(tc.f * float64(k)))
				if k >= 2 {
					want = min(max(want, 1), k-1)
				}
				if got != want {
					t.Errorf("class %d of %d rows: %d test rows, want %d", c, k, got, want)
				}
			}
		})
	}
}

func TestUnlabelledIsOneStratum(t *testing.T) {
	test, err := Test(nil, 10, 0.3)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, v := range test {
		if v {
			n++
		}
	}
	if n != 3 {
		t.Fatalf("%d test rows of 10 at 0.3", n)
	}
}

func TestBadFractionsAreRefused(t *testing.T) {
	for _, f := range []float64{0, 1, -0.1, 1.5, math.NaN(), math.Inf(1)} {
		if _, err := Test([]int{0, 1}, 2, f); !errors.Is(err, ErrFraction) {
			t.Errorf("fraction %v: %v", f, err)
		}
	}
}

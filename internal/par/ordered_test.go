package par

import (
	"context"
	"errors"
	"runtime"
	"testing"
)

func TestOrderedEmitsInOrderAndStopsAtTheFirstError(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	boom := errors.New("boom")
	for _, procs := range []int{1, 2, 3} {
		runtime.GOMAXPROCS(procs)
		for _, tc := range []struct {
			name     string
			n, block int
			failAt   int // -1: none
			emitted  int
		}{
			{"all", 1000, 7, -1, 1000},
			{"default block", 300, 0, -1, 300},
			{"empty", 0, 5, -1, 0},
			{"error mid-block", 100, 16, 37, 37},
		} {
			var got []int
			err := Ordered(context.Background(), tc.n, tc.block, func(i int) (int, error) {
				if i == tc.failAt {
					return 0, boom
				}
				return i * i, nil
			}, func(i, v int) error {
				if v != i*i {
					t.Fatalf("%s: item %d got %d", tc.name, i, v)
				}
				got = append(got, i)
				return nil
			})
			if (tc.failAt >= 0) != errors.Is(err, boom) {
				t.Fatalf("%s: error %v", tc.name, err)
			}
			if len(got) != tc.emitted {
				t.Fatalf("%s: %d emitted, want %d", tc.name, len(got), tc.emitted)
			}
			for k, i := range got {
				if k != i {
					t.Fatalf("%s: emitted out of order: %v", tc.name, got[:k+1])
				}
			}
		}
	}
}

func TestOrderedStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	err := Ordered(ctx, 100, 10, func(i int) (int, error) { return i, nil }, func(i, v int) error {
		n++
		if i == 15 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || n != 20 {
		t.Fatalf("error %v after %d items, want context.Canceled after 20", err, n)
	}
}

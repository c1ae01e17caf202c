package par

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

func TestForRunsEveryItemOnce(t *testing.T) {
	for _, tc := range []struct{ n, w int }{{0, 4}, {1, 4}, {2, 1}, {7, 2}, {100, 3}, {1000, 8}} {
		counts := make([]atomic.Int32, tc.n)
		ForWorkers(tc.n, tc.w, func(i int) { counts[i].Add(1) })
		for i := range counts {
			if c := counts[i].Load(); c != 1 {
				t.Fatalf("n %d w %d: item %d ran %d times", tc.n, tc.w, i, c)
			}
		}
	}
}

func TestForUsesSeveralGoroutines(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs GOMAXPROCS >= 2 to see two goroutines at once")
	}
	// Stale invitations of earlier tests' loops (their callers finished
	// before a helper came) can fill the queue, and a full queue drops the
	// invitation this test needs: let the helpers drain it first.
	for deadline := time.Now().Add(10 * time.Second); len(workq) > 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	// Two items that each wait for the other: they can only both finish if
	// they run at the same time.
	var arrived atomic.Int32
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		ForWorkers(2, 2, func(int) {
			if arrived.Add(1) == 2 {
				close(done)
			}
			<-done
		})
		close(finished)
	}()
	select {
	case <-finished:
	case <-time.After(30 * time.Second):
		t.Fatal("the second item did not run beside the first within 30 s: no helper joined the loop")
	}
}

func TestBlocksCoverTheRange(t *testing.T) {
	for _, tc := range []struct{ n, size, want int }{{0, 4, 0}, {1, 4, 1}, {8, 4, 2}, {9, 4, 3}, {5, 0, 5}} {
		if got := Blocks(tc.n, tc.size); got != tc.want {
			t.Fatalf("Blocks(%d, %d) = %d, want %d", tc.n, tc.size, got, tc.want)
		}
		size := max(tc.size, 1)
		next := 0
		for b := range Blocks(tc.n, tc.size) {
			lo, hi := Block(b, tc.n, size)
			if lo != next || hi <= lo || hi > tc.n {
				t.Fatalf("n %d size %d: block %d is [%d, %d), want it to start at %d", tc.n, tc.size, b, lo, hi, next)
			}
			next = hi
		}
		if next != tc.n {
			t.Fatalf("n %d size %d: blocks end at %d", tc.n, tc.size, next)
		}
	}
}

func TestForScratchNamesDistinctWorkers(t *testing.T) {
	// Two items that wait for each other run at once, so on two different
	// workers, each below Workers().
	if Workers() < 2 {
		t.Skip("needs GOMAXPROCS >= 2")
	}
	var arrived atomic.Int32
	done := make(chan struct{})
	var ws [2]int
	ForScratch(2, func(w, i int) {
		ws[i] = w
		if arrived.Add(1) == 2 {
			close(done)
		}
		<-done
	})
	if ws[0] == ws[1] || ws[0] >= Workers() || ws[1] >= Workers() || ws[0] < 0 || ws[1] < 0 {
		t.Fatalf("workers %v: want two distinct workers below %d", ws, Workers())
	}
}

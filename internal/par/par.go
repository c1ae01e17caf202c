// Package par runs the iterations of a loop on all cores.
//
// The work is split by the caller into items whose results do not depend on
// one another; par only decides which goroutine runs which item. A caller
// that keeps every floating-point reduction inside one item (or sums the
// items' partial results in item order afterwards) gets the same bytes out
// whatever the number of cores, which is how siampipe keeps its outputs
// reproducible on any machine size.
package par

import "runtime"

// Workers returns how many goroutines For uses at most: GOMAXPROCS.
func Workers() int { return runtime.GOMAXPROCS(0) }

// For calls body(i) once for every i in [0, n), on up to Workers()
// goroutines (the calling one and the shared helpers), and returns when all
// calls have returned. The calls run in no particular order and concurrently, so body
// must only write what item i owns. With one worker, or n < 2, everything
// runs on the caller's goroutine.
func For(n int, body func(i int)) {
	ForWorkers(n, Workers(), body)
}

// ForWorkers is For with at most w goroutines.
func ForWorkers(n, w int, body func(i int)) {
	forWorkers(n, w, func(_, i int) { body(i) })
}

// ForScratch is For for items that need scratch space: body(worker, i) is
// told which of at most Workers() participants runs it (0 <= worker <
// Workers()), so that it can use scratch[worker]. Which worker runs an item
// varies from run to run, so an item must not leave anything in its scratch
// that another item reads.
func ForScratch(n int, body func(worker, i int)) {
	forWorkers(n, Workers(), body)
}

// forWorkers runs body for every item on the caller and up to w-1 of the
// shared helper goroutines (see Invite).
func forWorkers(n, w int, body func(worker, i int)) {
	if w > n {
		w = n
	}
	if w <= 1 {
		for i := 0; i < n; i++ {
			body(0, i)
		}
		return
	}
	l := &loop{n: int64(n), body: body, done: make(chan struct{})}
	l.pending.Store(int64(n))
	Invite(l, 0, w-1)
	l.run()
	if !SpinUntil(func() bool { return l.pending.Load() == 0 }) {
		<-l.done
	}
}

// Blocks returns the number of blocks of at most size items that n items
// make, and Block returns block b's range; a loop over blocks with For
// splits the work by n and size alone, never by the core count.
func Blocks(n, size int) int {
	if size < 1 {
		size = 1
	}
	return (n + size - 1) / size
}

// Block returns the half-open range [lo, hi) of block b of size items out
// of n.
func Block(b, n, size int) (lo, hi int) {
	lo = b * size
	return lo, min(lo+size, n)
}

package gemm

import (
	"sync/atomic"
	"unsafe"

	"github.com/siampipe/siampipe/internal/par"
)

// A job is one product under way. It runs in phases (see plan); each phase
// is a set of tasks that the caller and the helpers it woke claim one at a
// time. Which goroutine runs a task does not change what the task
// computes.
//
// The claim counter state packs (phase sequence number, end, next) into one
// word: the caller claims tasks from the front (next), the helpers from the
// back (end), so that a product repeated with the same shape leaves each
// part of C with the same core, in its cache, as far as the load allows.
// A helper holding a token of a phase that has ended (or of an earlier
// product that used this job) can never claim anything, as the sequence
// number differs: the caller moves on as soon as every task of a phase is
// done, without waiting for helpers that have not even woken up.
type job struct {
	o       operands
	p       plan
	phase   int           // 0: packing A, 1: products, 2: sums of the k groups
	state   atomic.Uint64 // seq<<32 | end<<16 | next: tasks next..end-1 are unclaimed
	pending atomic.Int64  // tasks of the phase not finished
	wake    chan struct{} // signalled when pending reaches 0
}

// maxPhaseTasks bounds the tasks of one phase (16 bits of state).
const maxPhaseTasks = 1<<16 - 1

var jobs = newFreeList[job]()

// Work implements par.Job: a helper invited to phase seq runs its tasks,
// from the back.
func (j *job) Work(seq uint32) { helperTasks.Add(j.work(seq, true)) }

// work runs tasks of phase seq of j until none is left to claim, taking
// them from the front (the caller) or the back (helpers), and returns how
// many it ran.
func (j *job) work(seq uint32, fromBack bool) (ran int64) {
	var buf *buffer
	for {
		v := j.state.Load()
		next, end := v&0xFFFF, v>>16&0xFFFF
		if uint32(v>>32) != seq || next >= end {
			break
		}
		t, claimed := next, v+1
		if fromBack {
			t, claimed = end-1, v-1<<16
		}
		if !j.state.CompareAndSwap(v, claimed) {
			continue
		}
		// The phase cannot end before this task is done, so what the
		// caller set up for it (j.phase, j.p) holds still.
		switch j.phase {
		case 0:
			j.p.pack(int(t))
		case 1:
			if buf == nil {
				buf = buffers.get()
			}
			j.p.product(int(t), buf)
		default:
			j.p.reduce(int(t))
		}
		ran++
		if j.pending.Add(-1) == 0 {
			select {
			case j.wake <- struct{}{}:
			default:
			}
		}
	}
	if buf != nil {
		buffers.put(buf)
	}
	return ran
}

// runPhase runs ntasks tasks of the given phase on the caller and up to
// nhelp helpers, and returns when all are done.
func (j *job) runPhase(phase, ntasks, nhelp int) {
	select { // a signal left by the last phase
	case <-j.wake:
	default:
	}
	j.phase = phase
	seq := uint32(j.state.Load()>>32) + 1
	j.pending.Store(int64(ntasks))
	j.state.Store(uint64(seq)<<32 | uint64(ntasks)<<16)
	if nhelp = min(nhelp, ntasks-1); nhelp > 0 {
		par.Invite(j, seq, nhelp)
	}
	j.work(seq, false)
	if !par.SpinUntil(func() bool { return j.pending.Load() == 0 }) {
		for j.pending.Load() > 0 {
			<-j.wake
		}
	}
}

// helperTasks counts the tasks helpers have run (tests check that they
// do).
var helperTasks atomic.Int64

// multiply computes the product described by ops with kern on up to
// nthreads goroutines.
func multiply(kern *kernel, nthreads int, ops operands) {
	j := jobs.get()
	if j.wake == nil {
		j.wake = make(chan struct{}, 1)
	}
	j.o = ops
	o := &j.o
	j.p = newPlan(kern, o)
	ap := packedAs.get()
	ap.f = growAligned(ap.f, j.p.packedSize())
	j.p.apack = ap.f
	var ws *floats
	if j.p.groups > 1 {
		ws = partials.get()
		ws.f = grow(ws.f, j.p.groups*o.m*o.n)
		j.p.ws = ws.f
	}
	nhelp := nthreads - 1
	if 2*float64(o.m)*float64(o.n)*float64(o.k) < parallelFlops {
		nhelp = 0
	}
	for phase, n := range []int{j.p.packTasks(), j.p.tasks(), j.p.redTasks} {
		if n > 0 {
			j.runPhase(phase, n, nhelp)
		}
	}
	packedAs.put(ap)
	if ws != nil {
		partials.put(ws)
	}
	j.p, j.o = plan{}, operands{}
	jobs.put(j)
}

// A buffer holds one goroutine's packed B panel.
type buffer struct {
	b []float32 // 64-byte aligned
}

// floats is a reusable slice.
type floats struct{ f []float32 }

// The buffers of products under way come from free lists, not from
// sync.Pools: a trainer collects garbage often, and a sync.Pool drops what
// it holds within two collections, which would cost megabytes of
// allocation per product.
var (
	buffers  = newFreeList[buffer]() // packed B panels, one per goroutine
	packedAs = newFreeList[floats]() // packed op(a), one per product
	partials = newFreeList[floats]() // the k groups' partial products
)

// A freeList keeps up to 64 values for reuse.
type freeList[T any] struct{ ch chan *T }

func newFreeList[T any]() *freeList[T] { return &freeList[T]{make(chan *T, 64)} }

// get returns a kept value, or a new zero one.
func (l *freeList[T]) get() *T {
	select {
	case x := <-l.ch:
		return x
	default:
		return new(T)
	}
}

// put keeps x for reuse, unless the list is full.
func (l *freeList[T]) put(x *T) {
	select {
	case l.ch <- x:
	default:
	}
}

// grow returns s with length n, reallocated if its capacity is short.
func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// growAligned returns s with length n and a 64-byte aligned start,
// reallocated if its capacity is short.
func growAligned(s []float32, n int) []float32 {
	if cap(s) >= n && uintptr(unsafe.Pointer(unsafe.SliceData(s)))%64 == 0 {
		return s[:n]
	}
	s = make([]float32, n+16)
	off := int((64 - uintptr(unsafe.Pointer(unsafe.SliceData(s)))%64) % 64 / 4)
	return s[off : off+n : off+n]
}

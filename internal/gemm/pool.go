package gemm

import (
	"sync"
	"sync/atomic"
	"unsafe"
)

// A job is one phase of one product: tasks 0..ntasks-1, claimed in turn by
// the caller and the helpers it woke.
type job struct {
	o      operands
	p      plan
	phase  int // 0: packing A, 1: products, 2: sums of the k groups
	ntasks int
	next   atomic.Int64
	wg     sync.WaitGroup
}

var jobs = sync.Pool{New: func() any { return new(job) }}

// work runs tasks of j until none is left.
func (j *job) work() {
	buf := buffers.Get().(*buffer)
	for {
		t := int(j.next.Add(1)) - 1
		if t >= j.ntasks {
			break
		}
		switch j.phase {
		case 0:
			j.p.pack(t)
		case 1:
			j.p.product(t, buf)
		default:
			j.p.reduce(t)
		}
	}
	buffers.Put(buf)
}

// workq hands jobs to the helper goroutines.
var workq = make(chan *job, 256)

var (
	helpersMu sync.Mutex
	helpers   atomic.Int64 // helper goroutines started
)

// startHelpers makes sure n helper goroutines exist. They live as long as
// the process and sleep on workq when idle.
func startHelpers(n int) {
	if int(helpers.Load()) >= n {
		return
	}
	helpersMu.Lock()
	defer helpersMu.Unlock()
	for int(helpers.Load()) < n {
		go helper()
		helpers.Add(1)
	}
}

func helper() {
	for j := range workq {
		j.work()
		j.wg.Done()
	}
}

// run runs the tasks of j on the caller and up to nhelp helpers, and
// returns when all are done and no helper holds j any more.
func run(j *job, nhelp int) {
	nhelp = min(nhelp, j.ntasks-1)
	if nhelp > 0 {
		startHelpers(nhelp)
		for range nhelp {
			j.wg.Add(1)
			select {
			case workq <- j:
			default: // the queue is full: do without this helper
				j.wg.Done()
			}
		}
	}
	j.work()
	j.wg.Wait()
}

// multiply computes the product described by o with kern on up to
// nthreads goroutines.
func multiply(kern *kernel, nthreads int, ops operands) {
	j := jobs.Get().(*job)
	j.o = ops
	o := &j.o
	j.p = newPlan(kern, o)
	ap := workspaces.Get().(*[]float32)
	*ap = growAligned(*ap, j.p.packedSize())
	j.p.apack = *ap
	var ws *[]float32
	if j.p.groups > 1 {
		ws = workspaces.Get().(*[]float32)
		*ws = grow(*ws, j.p.groups*o.m*o.n)
		j.p.ws = *ws
	}
	nhelp := nthreads - 1
	if 2*float64(o.m)*float64(o.n)*float64(o.k) < parallelFlops {
		nhelp = 0
	}
	for phase, n := range []int{j.p.packTasks(), j.p.tasks(), j.p.redTasks} {
		if n > 0 {
			j.phase, j.ntasks = phase, n
			j.next.Store(0)
			run(j, nhelp)
		}
	}
	workspaces.Put(ap)
	if ws != nil {
		workspaces.Put(ws)
	}
	j.p, j.o = plan{}, operands{}
	jobs.Put(j)
}

// A buffer holds one goroutine's packed B panel.
type buffer struct {
	b []float32 // 64-byte aligned
}

var buffers = sync.Pool{New: func() any { return new(buffer) }}

// workspaces holds the packed A and the k groups' partial products of
// products under way.
var workspaces = sync.Pool{New: func() any { return new([]float32) }}

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

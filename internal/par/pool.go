package par

import (
	"sync"
	"sync/atomic"
	"time"
)

// A Job is work that helper goroutines can be invited to join (Invite): its
// Work method runs the tasks of phase seq that are still unclaimed and
// returns when none is left. A helper may call Work with a phase that has
// ended, or long after: Work must then return at once.
type Job interface {
	Work(seq uint32)
}

// A token invites a helper to phase seq of a job.
type token struct {
	j   Job
	seq uint32
}

// workq hands tokens to the helper goroutines.
var workq = make(chan token, 256)

var (
	helpersMu sync.Mutex
	helpers   atomic.Int64 // helper goroutines started
)

// Invite asks up to n helper goroutines to join phase seq of j, starting
// them when fewer exist; it does not wait for them. Every loop of this
// package and every matrix product of internal/gemm shares these helpers, so
// one that has just finished a product is at once free for the next loop,
// and no goroutine of one holds a core the other needs.
func Invite(j Job, seq uint32, n int) {
	if n <= 0 {
		return
	}
	startHelpers(n)
	for range n {
		select {
		case workq <- token{j, seq}:
		default: // the queue is full: do without this helper
		}
	}
}

// startHelpers makes sure n helper goroutines exist. They live as long as
// the process, and sleep on workq when idle.
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

// helper runs the phases it is invited to. After one, it polls for the
// next for a while before it sleeps.
func helper() {
	for {
		var t token
		got := SpinUntil(func() bool {
			select {
			case t = <-workq:
				return true
			default:
				return false
			}
		})
		if !got {
			t = <-workq
		}
		t.j.Work(t.seq)
	}
}

// spinTime is how long a goroutine waiting for work keeps polling before
// it sleeps. Waking a sleeping goroutine on an idle core takes tens of
// microseconds (more in a virtual machine), while the phases of a product,
// and the Ops of a training step, follow each other within a few: a helper
// that slept between them would join every phase late. A helper idles at
// most this long on its core after the last task of a burst.
const spinTime = 200 * time.Microsecond

// SpinUntil polls done for up to spinTime and reports whether it became
// true. It does not yield to the scheduler: a yielding goroutine goes to
// the global run queue, and the runtime does not wake an idle processor
// for it, so a yielding helper can end up sharing one processor with the
// caller.
func SpinUntil(done func() bool) bool {
	var deadline time.Time
	for i := 0; ; i++ {
		if done() {
			return true
		}
		if i%64 == 0 {
			now := time.Now()
			if deadline.IsZero() {
				deadline = now.Add(spinTime)
			} else if now.After(deadline) {
				return false
			}
		}
	}
}

// loop is one For call under way: its items are claimed one at a time by
// the caller and the helpers it invited; each participant takes a slot
// number (for ForScratch) when it claims its first item.
type loop struct {
	n       int64
	body    func(slot, i int)
	next    atomic.Int64
	slots   atomic.Int64
	pending atomic.Int64
	done    chan struct{}
}

// Work implements Job: it runs items until none is left. A loop is never
// reused, so a helper that comes late finds nothing to claim.
func (l *loop) Work(uint32) { l.run() }

func (l *loop) run() {
	slot := -1
	for {
		i := l.next.Add(1) - 1
		if i >= l.n {
			return
		}
		if slot < 0 {
			slot = int(l.slots.Add(1) - 1)
		}
		l.body(slot, int(i))
		if l.pending.Add(-1) == 0 {
			close(l.done)
		}
	}
}

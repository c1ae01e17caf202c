package ipcguard

import (
	"fmt"

	"github.com/apache/arrow/go/v15/arrow/memory"
)

// Allocator is Go's allocator (memory.NewGoAllocator), refusing any one
// allocation above its limit with a panic, before the Go runtime is
// asked: the runtime cannot recover from an allocation the machine
// refuses, while Arrow Go's readers turn a panic into an error (and the
// callers of this package recover the rest).
//
// A Reader gives Arrow Go an Allocator whose limit it sets per batch to
// what the batch's body can hold: the body length (at least 64 MiB, for
// dictionary deltas that join earlier ones) or, for a compressed body,
// 1 GiB (the most a compressed buffer may claim). It is safe for one
// reader at a time.
type Allocator struct {
	memory.Allocator
	limit int64
}

// minLimit is the least per-batch limit of a Reader's Allocator.
const minLimit = 64 << 20

// NewAllocator returns an Allocator refusing allocations of more than
// limit bytes.
func NewAllocator(limit int64) *Allocator {
	return &Allocator{Allocator: memory.NewGoAllocator(), limit: limit}
}

// SetLimit sets the largest allocation a allows.
func (a *Allocator) SetLimit(limit int64) { a.limit = limit }

// Limit returns the largest allocation a allows.
func (a *Allocator) Limit() int64 { return a.limit }

// limitTo sets the limit for reading a batch.
func (a *Allocator) limitTo(info batchInfo) {
	a.limit = max(info.body, minLimit)
	if info.compressed {
		a.limit = maxBuffer
	}
}

func (a *Allocator) check(n int) {
	if n < 0 || int64(n) > a.limit {
		panic(fmt.Sprintf("allocation of %d bytes refused (the limit is %d)", n, a.limit))
	}
}

// Allocate allocates n bytes, or panics if n is above the limit.
func (a *Allocator) Allocate(n int) []byte {
	a.check(n)
	return a.Allocator.Allocate(n)
}

// Reallocate grows b to n bytes, or panics if n is above the limit.
func (a *Allocator) Reallocate(n int, b []byte) []byte {
	a.check(n)
	return a.Allocator.Reallocate(n, b)
}

// Package shard splits the rows of a map stage among N workers, and reads
// which worker a stage is from its flags (--shard I/N) or, in a Kubernetes
// Indexed Job, from the environment (--shards N and $JOB_COMPLETION_INDEX).
//
// Shard I (0-based) of N of n rows is the rows [I*n/N, (I+1)*n/N), in
// integer arithmetic that rounds down (computed exactly, with a 128-bit
// product, for every n >= 0). The N shards are contiguous, in index order,
// and cover the n rows exactly once; their sizes differ by at most one, and
// every shard has a row when N <= n.
package shard

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
)

// EnvIndex is the environment variable in which a Kubernetes Indexed Job
// gives each of its pods its index, 0..completions-1.
const EnvIndex = "JOB_COMPLETION_INDEX"

// MaxShards is the most shards a stage can be split into.
const MaxShards = math.MaxInt32

// Shard is shard I (0-based) of N. The zero value (N == 0) is no shard: the
// whole stream.
type Shard struct {
	I, N int
}

// Whole reports whether s is the zero value: the stage is not sharded.
func (s Shard) Whole() bool { return s.N == 0 }

// String formats s as "I/N", as --shard takes it and the siampipe.shard
// metadata records it.
func (s Shard) String() string { return strconv.Itoa(s.I) + "/" + strconv.Itoa(s.N) }

// Parse parses "I/N": shard I (0-based) of N, 0 <= I < N <= MaxShards. The
// error names the flag --shard and says what is wanted.
func Parse(v string) (Shard, error) {
	a, b, found := strings.Cut(v, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	switch {
	case !found || err1 != nil || err2 != nil:
		return Shard{}, fmt.Errorf("--shard %q: want I/N, shard I (0-based) of N, e.g. 0/4", v)
	case n < 1 || n > MaxShards:
		return Shard{}, fmt.Errorf("--shard %s: want 1..%d shards", v, MaxShards)
	case i < 0 || i >= n:
		return Shard{}, fmt.Errorf("--shard %s: want a shard index in 0..%d (shards count from 0)", v, n-1)
	}
	return Shard{I: i, N: n}, nil
}

// Range returns shard s of n rows: the rows [lo, hi) with lo = I*n/N and hi
// = (I+1)*n/N, rounded down. The whole (the zero Shard) is [0, n). It panics
// on a negative n or an invalid s.
func (s Shard) Range(n int64) (lo, hi int64) {
	if n < 0 || s.N < 0 || s.N > 0 && (s.I < 0 || s.I >= s.N) {
		panic(fmt.Sprintf("shard: Range(%d) of shard %d/%d", n, s.I, s.N))
	}
	if s.Whole() {
		return 0, n
	}
	return mulDiv(s.I, n, s.N), mulDiv(s.I+1, n, s.N)
}

// mulDiv returns floor(i*n/d) for 0 <= i <= d, n >= 0, exactly: the
// product is 128 bits wide, and the quotient is at most n.
func mulDiv(i int, n int64, d int) int64 {
	hi, lo := bits.Mul64(uint64(i), uint64(n))
	q, _ := bits.Div64(hi, lo, uint64(d)) // hi < d since i*n/d <= n < 2^63
	return int64(q)
}

// ErrEmpty is returned (wrapped) by Rows for a shard without rows.
var ErrEmpty = errors.New("empty shard")

// Rows is Range, refusing an empty shard (more shards than rows): a shard
// stream always has a row.
func (s Shard) Rows(n int64) (lo, hi int64, err error) {
	lo, hi = s.Range(n)
	if lo == hi && n == 0 {
		return lo, hi, fmt.Errorf("shard %s of no rows: %w (the input is empty)", s, ErrEmpty)
	}
	if lo == hi {
		return lo, hi, fmt.Errorf("shard %s of %d rows has no row: %w (use at most %d shards)", s, n, ErrEmpty, n)
	}
	return lo, hi, nil
}

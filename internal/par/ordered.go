package par

import "context"

// Ordered computes work(i) for every i in [0, n) on all cores, block items
// at a time, and hands the results to emit in the order of i, on the
// caller's goroutine: what emit sees does not depend on the core count. It
// stops at the first error in the order of i (work's or emit's, returned as
// it is) and, between blocks, when ctx is done (returning ctx.Err()). At
// most block results are held at once; block < 1 means 64 per worker.
func Ordered[T any](ctx context.Context, n, block int, work func(i int) (T, error), emit func(i int, v T) error) error {
	if block < 1 {
		block = 64 * Workers()
	}
	vals := make([]T, min(block, n))
	errs := make([]error, len(vals))
	for lo := 0; lo < n; lo += block {
		if err := ctx.Err(); err != nil {
			return err
		}
		hi := min(lo+block, n)
		For(hi-lo, func(k int) {
			vals[k], errs[k] = work(lo + k)
		})
		for k := range hi - lo {
			if errs[k] != nil {
				return errs[k]
			}
			if err := emit(lo+k, vals[k]); err != nil {
				return err
			}
			var zero T
			vals[k] = zero
		}
	}
	return nil
}

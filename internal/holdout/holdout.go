// Package holdout splits a labelled data set into train and test rows,
// stratified and deterministic: within each class, rows are ordered by a
// hash of their position and the first round(fraction·n) of the class are
// the test rows. The split depends only on the labels and the fraction, so
// every stage, machine and rerun cuts the same rows, and the test split of a
// class keeps its share of the whole.
package holdout

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/siampipe/siampipe/internal/splitmix"
)

// ErrFraction is returned (wrapped) by Test for a fraction outside (0, 1).
var ErrFraction = errors.New("holdout: test fraction must be in (0, 1)")

// Test returns, for rows with the given labels (nil: unlabelled, one
// stratum), whether each row belongs to the test split at fraction f of
// every class. Each class of at least two rows keeps at least one row on
// either side.
func Test(labels []int, n int, f float64) ([]bool, error) {
	if !(f > 0 && f < 1) {
		return nil, fmt.Errorf("%w: %v", ErrFraction, f)
	}
	if labels != nil && len(labels) != n {
		return nil, fmt.Errorf("holdout: %d labels for %d rows", len(labels), n)
	}
	strata := map[int][]int{}
	for i := range n {
		l := 0
		if labels != nil {
			l = labels[i]
		}
		strata[l] = append(strata[l], i)
	}
	test := make([]bool, n)
	for _, rows := range strata {
		sort.Slice(rows, func(a, b int) bool {
			ha, hb := splitmix.Hash(uint64(rows[a])), splitmix.Hash(uint64(rows[b]))
			return ha < hb || ha == hb && rows[a] < rows[b]
		})
		k := int(math.Round(f * float64(len(rows))))
		if len(rows) >= 2 {
			k = min(max(k, 1), len(rows)-1)
		}
		for _, r := range rows[:k] {
			test[r] = true
		}
	}
	return test, nil
}

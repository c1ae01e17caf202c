// Package cpufeattest helps tests run code at each SIMD level of
// cpufeat: the assembly kernels and the Go loops they replace.
package cpufeattest

import (
	"slices"
	"testing"

	"github.com/siampipe/siampipe/internal/cpufeat"
)

// Use makes l the level in effect until t ends. It fails t when this
// process cannot run l (see cpufeat.Limit) or SIAMPIPE_SIMD is bad.
func Use(t testing.TB, l cpufeat.Level) {
	t.Helper()
	check(t)
	if l > cpufeat.Limit() {
		t.Fatalf("cpufeattest: level %v is above this process's %s", l, cpufeat.Describe())
	}
	t.Cleanup(cpufeat.Set(l))
}

// Kernels returns the levels of kernels, highest first, that this process
// runs, followed by cpufeat.Generic (the Go loops, to force the fallback).
// It skips t, saying why, when it runs none of them: a test that compares
// assembly with the Go loops has nothing to compare.
func Kernels(t testing.TB, kernels ...cpufeat.Level) []cpufeat.Level {
	t.Helper()
	check(t)
	var ls []cpufeat.Level
	for _, l := range kernels {
		if l > cpufeat.Generic && l <= cpufeat.Limit() && !slices.Contains(ls, l) {
			ls = append(ls, l)
		}
	}
	if len(ls) == 0 {
		t.Skipf("no assembly to compare: SIMD level %s, kernels need %v", cpufeat.Describe(), kernels)
	}
	slices.SortFunc(ls, func(a, b cpufeat.Level) int { return int(b) - int(a) })
	return append(ls, cpufeat.Generic)
}

func check(t testing.TB) {
	t.Helper()
	if err := cpufeat.Check(); err != nil {
		t.Fatal(err)
	}
}

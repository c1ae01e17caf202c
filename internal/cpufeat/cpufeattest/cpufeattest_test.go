package cpufeattest

import (
	"slices"
	"testing"

	"github.com/siampipe/siampipe/internal/cpufeat"
)

func TestUseRestoresTheLevelAfterTheTest(t *testing.T) {
	limit := cpufeat.Limit()
	t.Run("inner", func(t *testing.T) {
		Use(t, cpufeat.Generic)
		if cpufeat.Current() != cpufeat.Generic {
			t.Errorf("inside: %v, want generic", cpufeat.Current())
		}
	})
	if cpufeat.Current() != limit {
		t.Errorf("after the subtest: %v, want %v", cpufeat.Current(), limit)
	}
}

func TestKernelsListsRunnableLevelsThenGeneric(t *testing.T) {
	var got []cpufeat.Level
	t.Run("probe", func(t *testing.T) {
		got = Kernels(t, cpufeat.AVX2, cpufeat.AVX512, cpufeat.AVX2)
	})
	var want []cpufeat.Level
	for _, l := range []cpufeat.Level{cpufeat.AVX512, cpufeat.AVX2} {
		if l <= cpufeat.Limit() {
			want = append(want, l)
		}
	}
	if len(want) == 0 {
		if got != nil {
			t.Errorf("Kernels = %v where nothing runs; want a skip", got)
		}
		return
	}
	want = append(want, cpufeat.Generic)
	if !slices.Equal(got, want) {
		t.Errorf("Kernels = %v, want %v", got, want)
	}
}

package cli

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
)

func TestFloatAcceptsOnlyFiniteValuesInTheInterval(t *testing.T) {
	tests := []struct {
		v    float64
		iv   Interval
		ok   bool
		want string
	}{
		{0.2, Positive(10), true, ""},
		{10, Positive(10), true, ""},
		{0, Positive(10), false, "--x 0: want a number in (0, 10]"},
		{-1, Positive(10), false, "--x -1: want a number in (0, 10]"},
		{math.NaN(), Positive(10), false, "--x NaN: want a number in (0, 10]"},
		{math.Inf(1), Closed(0, math.MaxFloat64), false, "--x +Inf: want a number in [0, 1.7976931348623157e+308]"},
		{math.Inf(-1), Closed(-1, 1), false, "--x -Inf"},
		{0, Below(0, 1), true, ""},
		{1, Below(0, 1), false, "--x 1: want a number in [0, 1)"},
		{1e12, Closed(0, 1), false, "--x 1e+12: want a number in [0, 1]"},
	}
	for _, tc := range tests {
		err := Float("x", tc.v, tc.iv)
		var ue *UsageError
		switch {
		case tc.ok && err != nil:
			t.Errorf("Float(%v, %v): %v, want accepted", tc.v, tc.iv, err)
		case !tc.ok && (!errors.As(err, &ue) || !strings.HasPrefix(err.Error(), tc.want)):
			t.Errorf("Float(%v, %v): %v, want a usage error %q", tc.v, tc.iv, err, tc.want)
		}
	}
	if err := Float("crop-scale", 0, Positive(1), "leave the flag out for no crop"); err == nil || err.Error() != "--crop-scale 0: want a number in (0, 1] (leave the flag out for no crop)" {
		t.Errorf("note: %v", err)
	}
}

func TestIntChecksTheRange(t *testing.T) {
	tests := []struct {
		v, lo, hi int
		ok        bool
	}{
		{1, 1, 10, true}, {10, 1, 10, true}, {0, 1, 10, false}, {-1, 0, 10, false},
		{9999999999999, 1, 100000, false}, {math.MinInt, 0, 1, false},
	}
	for _, tc := range tests {
		err := Int("epochs", tc.v, tc.lo, tc.hi, "0 = all")
		if (err == nil) != tc.ok {
			t.Errorf("Int(%d, %d..%d): %v", tc.v, tc.lo, tc.hi, err)
		}
		if err != nil && !strings.HasSuffix(err.Error(), "want an integer in "+strconv.Itoa(tc.lo)+".."+strconv.Itoa(tc.hi)+" (0 = all)") {
			t.Errorf("message %q", err)
		}
	}
	if err := FirstError(nil, Int("a", 5, 0, 1), Int("b", 5, 0, 1)); err == nil || !strings.HasPrefix(err.Error(), "--a 5") {
		t.Errorf("FirstError: %v", err)
	}
	if FirstError(nil, nil) != nil {
		t.Error("FirstError of nils is not nil")
	}
}

func TestIntList(t *testing.T) {
	tests := []struct {
		v    string
		want []int
		ok   bool
	}{
		{"", nil, true},
		{"32,64, 128", []int{32, 64, 128}, true},
		{"0", nil, false},
		{"-3", nil, false},
		{"9999999999999", nil, false},
		{"1,2,3,4,5", nil, false},
		{"a", nil, false},
	}
	for _, tc := range tests {
		got, err := IntList("channels", tc.v, 1, 4096, 4)
		if (err == nil) != tc.ok || len(got) != len(tc.want) {
			t.Errorf("IntList(%q) = %v, %v", tc.v, got, err)
		}
		var ue *UsageError
		if err != nil && !errors.As(err, &ue) {
			t.Errorf("IntList(%q): %v is not a usage error", tc.v, err)
		}
	}
}

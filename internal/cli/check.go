package cli

import (
	"math"
	"strconv"
	"strings"
)

// Interval is the range of values a float flag accepts.
type Interval struct {
	Lo, Hi         float64
	OpenLo, OpenHi bool // the bound itself is excluded
}

// Closed is [lo, hi].
func Closed(lo, hi float64) Interval { return Interval{Lo: lo, Hi: hi} }

// Positive is (0, hi]: above zero, at most hi.
func Positive(hi float64) Interval { return Interval{Lo: 0, Hi: hi, OpenLo: true} }

// Below is [lo, hi): hi itself excluded.
func Below(lo, hi float64) Interval { return Interval{Lo: lo, Hi: hi, OpenHi: true} }

// Contains reports whether v is a finite number in the interval.
func (iv Interval) Contains(v float64) bool {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return false
	}
	if v < iv.Lo || (iv.OpenLo && v == iv.Lo) {
		return false
	}
	return v < iv.Hi || (!iv.OpenHi && v == iv.Hi)
}

func (iv Interval) String() string {
	l, r := "[", "]"
	if iv.OpenLo {
		l = "("
	}
	if iv.OpenHi {
		r = ")"
	}
	return l + num(iv.Lo) + ", " + num(iv.Hi) + r
}

func num(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// Float checks a float flag: a finite number in iv. The *UsageError names
// the flag, its value and the range, then note if given (what a special
// value means, say): "--lr NaN: want a number in (0, 10]".
func Float(name string, v float64, iv Interval, note ...string) error {
	if iv.Contains(v) {
		return nil
	}
	return Usagef("--%s %s: want a number in %s%s", name, num(v), iv, notes(note))
}

// Int checks an integer flag: lo <= v <= hi, with the message of Float.
func Int(name string, v, lo, hi int, note ...string) error {
	if v >= lo && v <= hi {
		return nil
	}
	return Usagef("--%s %d: want an integer in %d..%d%s", name, v, lo, hi, notes(note))
}

func notes(note []string) string {
	if len(note) == 0 {
		return ""
	}
	return " (" + strings.Join(note, "; ") + ")"
}

// FirstError returns the first error that is not nil, or nil: a stage
// checks all its flags in one expression.
func FirstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// IntList parses a flag's comma-separated integers, each in lo..hi, at most
// maxLen of them; "" gives nil (the default).
func IntList(name, v string, lo, hi, maxLen int) ([]int, error) {
	if v == "" {
		return nil, nil
	}
	parts := strings.Split(v, ",")
	if len(parts) > maxLen {
		return nil, Usagef("--%s %q: %d values, want at most %d", name, v, len(parts), maxLen)
	}
	out := make([]int, 0, len(parts))
	for _, d := range parts {
		n, err := strconv.Atoi(strings.TrimSpace(d))
		if err != nil || n < lo || n > hi {
			return nil, Usagef("--%s %q: want integers in %d..%d separated by commas", name, v, lo, hi)
		}
		out = append(out, n)
	}
	return out, nil
}

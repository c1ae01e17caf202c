package shard

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Shard
		err  string // part of the error; "" for none
	}{
		{"0/1", Shard{0, 1}, ""},
		{"2/3", Shard{2, 3}, ""},
		{"6/7", Shard{6, 7}, ""},
		{"0/2147483647", Shard{0, MaxShards}, ""},
		{"3/2", Shard{}, "--shard 3/2: want a shard index in 0..1"},
		{"2/2", Shard{}, "--shard 2/2: want a shard index in 0..1"},
		{"-1/2", Shard{}, "want a shard index in 0..1"},
		{"0/0", Shard{}, "--shard 0/0: want 1..2147483647 shards"},
		{"0/-3", Shard{}, "want 1..2147483647 shards"},
		{"0/2147483648", Shard{}, "want 1..2147483647 shards"},
		{"x", Shard{}, `--shard "x": want I/N`},
		{"1", Shard{}, "want I/N"},
		{"1/", Shard{}, "want I/N"},
		{"/2", Shard{}, "want I/N"},
		{"1/2/3", Shard{}, "want I/N"},
		{"1 / 2", Shard{}, "want I/N"},
		{"", Shard{}, "want I/N"},
	} {
		got, err := Parse(c.in)
		if c.err == "" {
			if err != nil || got != c.want {
				t.Errorf("Parse(%q) = %v, %v; want %v", c.in, got, err, c.want)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("Parse(%q) error %v, want one containing %q", c.in, err, c.err)
		}
	}
}

func TestRangeFormula(t *testing.T) {
	for _, c := range []struct {
		s      Shard
		n      int64
		lo, hi int64
	}{
		{Shard{}, 10, 0, 10},
		{Shard{0, 1}, 10, 0, 10},
		{Shard{0, 3}, 10, 0, 3},
		{Shard{1, 3}, 10, 3, 6},
		{Shard{2, 3}, 10, 6, 10},
		{Shard{0, 7}, 1000, 0, 142},
		{Shard{6, 7}, 1000, 857, 1000},
		{Shard{1, 4}, 2, 0, 1}, // more shards than rows: some are empty
		{Shard{0, 4}, 2, 0, 0},
		{Shard{3, 4}, 0, 0, 0},
		// No overflow: I*n does not fit in 64 bits.
		{Shard{MaxShards - 1, MaxShards}, math.MaxInt64, math.MaxInt64 - math.MaxInt64/MaxShards - 1, math.MaxInt64},
	} {
		lo, hi := c.s.Range(c.n)
		if lo != c.lo || hi != c.hi {
			t.Errorf("%v.Range(%d) = [%d, %d), want [%d, %d)", c.s, c.n, lo, hi, c.lo, c.hi)
		}
	}
}

func TestRangesCoverTheRowsOnce(t *testing.T) {
	for n := int64(0); n <= 40; n++ {
		for N := 1; N <= 12; N++ {
			next := int64(0)
			for i := range N {
				lo, hi := Shard{i, N}.Range(n)
				if lo != next || hi < lo || hi-lo > n/int64(N)+1 || hi-lo < n/int64(N) {
					t.Fatalf("n=%d: shard %d/%d is [%d, %d) after %d", n, i, N, lo, hi, next)
				}
				next = hi
			}
			if next != n {
				t.Fatalf("n=%d, %d shards end at %d", n, N, next)
			}
		}
	}
}

func TestRowsRefusesAnEmptyShard(t *testing.T) {
	if lo, hi, err := (Shard{2, 3}).Rows(3); err != nil || lo != 2 || hi != 3 {
		t.Fatalf("Rows = %d, %d, %v", lo, hi, err)
	}
	for _, c := range []struct {
		s    Shard
		n    int64
		want string
	}{
		{Shard{0, 4}, 2, "shard 0/4 of 2 rows has no row: empty shard (use at most 2 shards)"},
		{Shard{0, 2}, 0, "shard 0/2 of no rows: empty shard (the input is empty)"},
	} {
		_, _, err := c.s.Rows(c.n)
		if !errors.Is(err, ErrEmpty) || err.Error() != c.want {
			t.Errorf("%v.Rows(%d): %v, want %q", c.s, c.n, err, c.want)
		}
	}
}

func TestResolve(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k != EnvIndex {
				t.Fatalf("read $%s", k)
			}
			return v
		}
	}
	for _, c := range []struct {
		args []string
		env  string
		want Shard
		err  string
	}{
		{nil, "", Shard{}, ""},
		{nil, "3", Shard{}, ""}, // the variable alone shards nothing
		{[]string{"--shard", "1/3"}, "", Shard{1, 3}, ""},
		{[]string{"--shard", "1/3"}, "2", Shard{1, 3}, ""}, // --shard wins
		{[]string{"--shards", "3"}, "2", Shard{2, 3}, ""},
		{[]string{"--shards", "1"}, "0", Shard{0, 1}, ""},
		{[]string{"--shard", "1/3", "--shards", "3"}, "0", Shard{1, 3}, ""},
		{[]string{"--shard", "1/3", "--shards", "4"}, "", Shard{}, "--shard 1/3 and --shards 4 disagree on the number of shards"},
		{[]string{"--shards", "3"}, "", Shard{}, "--shards 3: $JOB_COMPLETION_INDEX is not set (a Kubernetes Indexed Job sets it; elsewhere give --shard I/3)"},
		{[]string{"--shards", "3"}, "3", Shard{}, `--shards 3: $JOB_COMPLETION_INDEX="3": want a shard index in 0..2`},
		{[]string{"--shards", "3"}, "-1", Shard{}, "want a shard index in 0..2"},
		{[]string{"--shards", "3"}, "x", Shard{}, "want a shard index in 0..2"},
		{[]string{"--shards", "0"}, "0", Shard{}, "--shards 0: want 1..2147483647 shards"},
		{[]string{"--shards", "-2"}, "0", Shard{}, "--shards -2: want 1..2147483647 shards"},
		{[]string{"--shards", "0", "--shard", "0/1"}, "", Shard{}, "--shards 0: want 1..2147483647 shards"},
		{[]string{"--shard", "3/2"}, "", Shard{}, "--shard 3/2: want a shard index in 0..1"},
	} {
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		f := AddFlags(fs, "the rows")
		if err := fs.Parse(c.args); err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		got, err := f.Resolve(env(c.env))
		name := fmt.Sprintf("%v with $%s=%q", c.args, EnvIndex, c.env)
		if c.err == "" {
			if err != nil || got != c.want {
				t.Errorf("%s: %v, %v; want %v", name, got, err, c.want)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.err) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want one line containing %q", name, err, c.err)
		}
	}
}

func TestShardsFlagRefusesNonIntegers(t *testing.T) {
	for _, v := range []string{"NaN", "1.5", "", "9999999999999999999999"} {
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		fs.SetOutput(new(strings.Builder))
		AddFlags(fs, "the rows")
		if err := fs.Parse([]string{"--shards", v}); err == nil {
			t.Errorf("--shards %q parsed", v)
		}
	}
}

func ExampleShard_Range() {
	for i := range 3 {
		lo, hi := Shard{I: i, N: 3}.Range(10)
		fmt.Printf("shard %d/3 of 10 rows: [%d, %d)\n", i, lo, hi)
	}
	// Output:
	// shard 0/3 of 10 rows: [0, 3)
	// shard 1/3 of 10 rows: [3, 6)
	// shard 2/3 of 10 rows: [6, 10)
}

package shard

import (
	"flag"
	"fmt"
	"strconv"
)

// Flags are what a stage's --shard and --shards flags were given.
type Flags struct {
	Shard     string // --shard I/N; "" when not given
	Shards    int    // --shards N
	ShardsSet bool   // --shards was given (0 is then refused)
}

// AddFlags defines --shard and --shards on fs and returns the Flags they
// set; call Resolve once fs is parsed. rows says, for --help, which n rows
// the stage shards: "the rows it would write", "the input rows".
func AddFlags(fs *flag.FlagSet, rows string) *Flags {
	f := &Flags{}
	fs.StringVar(&f.Shard, "shard", "", "write only shard `I/N`, I (0-based) of N: the rows [I*n/N, (I+1)*n/N) (integer division) of the n rows of "+rows+
		"; concat joins the N shards into the whole stream, byte for byte (default: the whole)")
	fs.Var((*countFlag)(f), "shards", "write shard $"+EnvIndex+" of N (a Kubernetes Indexed Job sets the variable), as --shard $"+EnvIndex+"/N does")
	return f
}

// countFlag is --shards: an int that records that it was given.
type countFlag Flags

func (c *countFlag) String() string {
	if c == nil {
		return "0"
	}
	return strconv.Itoa(c.Shards)
}

func (c *countFlag) Set(v string) error {
	n, err := strconv.ParseInt(v, 0, strconv.IntSize)
	if err != nil {
		return fmt.Errorf("want an integer")
	}
	c.Shards, c.ShardsSet = int(n), true
	return nil
}

// Get makes --help show the flag as "--shards int".
func (c *countFlag) Get() any { return c.Shards }

// Resolve returns the shard the flags ask for, or the zero Shard (the whole
// stream) when neither was given: --shard I/N; else, with --shards N, shard
// $JOB_COMPLETION_INDEX of N, read with getenv (os.Getenv); --shard and
// --shards together must agree on N (the variable is then not read). The
// error is one line naming the flag or the variable.
func (f *Flags) Resolve(getenv func(string) string) (Shard, error) {
	if f.ShardsSet && (f.Shards < 1 || f.Shards > MaxShards) {
		return Shard{}, fmt.Errorf("--shards %d: want 1..%d shards", f.Shards, MaxShards)
	}
	if f.Shard != "" {
		s, err := Parse(f.Shard)
		if err != nil {
			return Shard{}, err
		}
		if f.ShardsSet && f.Shards != s.N {
			return Shard{}, fmt.Errorf("--shard %s and --shards %d disagree on the number of shards (give one of them)", f.Shard, f.Shards)
		}
		return s, nil
	}
	if !f.ShardsSet {
		return Shard{}, nil
	}
	v := getenv(EnvIndex)
	if v == "" {
		return Shard{}, fmt.Errorf("--shards %d: $%s is not set (a Kubernetes Indexed Job sets it; elsewhere give --shard I/%d)", f.Shards, EnvIndex, f.Shards)
	}
	i, err := strconv.Atoi(v)
	if err != nil || i < 0 || i >= f.Shards {
		return Shard{}, fmt.Errorf("--shards %d: $%s=%q: want a shard index in 0..%d", f.Shards, EnvIndex, v, f.Shards-1)
	}
	return Shard{I: i, N: f.Shards}, nil
}

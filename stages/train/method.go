package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/siampipe/siampipe/internal/arch"
	"github.com/siampipe/siampipe/internal/cli"
	"github.com/siampipe/siampipe/internal/simsiam"
)

// checkMethodFlags checks --method and --temperature after parsing: a known
// method and a positive finite temperature always; for a new run also that
// the other flags fit the method (simclr needs --arch simsiam's projector
// and has no predictor; simsiam has no temperature). On --resume the
// checkpoint's method rules, and restore compares the flags with it.
func checkMethodFlags(fs *flag.FlagSet, resume bool) error {
	method := fs.Lookup("method").Value.String()
	temp := fs.Lookup("temperature").Value.(flag.Getter).Get().(float64)
	if !arch.KnownMethod(method) {
		return cli.Usagef("--method %q: want %s", method, strings.Join(arch.Methods(), " or "))
	}
	if !(temp > 0) || math.IsInf(temp, 0) {
		return cli.Usagef("--temperature %v: want a positive finite number (default %v)", temp, arch.DefaultTemperature)
	}
	if resume {
		return nil
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch method {
	case arch.MethodSimCLR:
		if a := fs.Lookup("arch").Value.String(); a != arch.SimSiam {
			return cli.Usagef("--method simclr trains a projector, which --arch %s lacks: use --arch %s", a, arch.SimSiam)
		}
		for _, name := range []string{"pred-hidden", "fixed-predictor-lr"} {
			if set[name] {
				return cli.Usagef("--method simclr has no predictor: drop --%s", name)
			}
		}
	case arch.MethodSimSiam:
		if set["temperature"] {
			return cli.Usagef("--temperature is simclr's: add --method simclr or drop it")
		}
	}
	return nil
}

// methodDesc describes how a trainer trains, for the log: "simsiam" or
// "simclr, temperature 0.5".
func methodDesc(c simsiam.TrainConfig) string {
	if c.Model.Method == arch.MethodSimCLR {
		return fmt.Sprintf("%s, temperature %g", c.Model.Method, c.Temperature)
	}
	return c.Model.Method
}

// depthDesc describes the backbone's depth for the log: "" at depth 1,
// " of depth 3" above.
func depthDesc(depth int) string {
	if depth <= 1 {
		return ""
	}
	return fmt.Sprintf(" of depth %d", depth)
}

// collapseWarning returns the Collapse hook: one line on w, printed even
// with --quiet, since a collapsed run's features are worthless.
func collapseWarning(w io.Writer) func(step int, zstd, threshold float64) {
	return func(step int, zstd, threshold float64) {
		fmt.Fprintf(w, "train: warning: step %d: z_std %.3g is under %.3g (%g/sqrt(d)): the outputs are collapsing to one point; lower --lr or add --warmup-epochs\n",
			step, zstd, threshold, simsiam.CollapseFactor)
	}
}

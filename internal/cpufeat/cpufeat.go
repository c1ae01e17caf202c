// Package cpufeat decides, once per process, which SIMD level siampipe's
// assembly kernels may use: AVX-512, AVX2 with FMA, or none (the Go loops).
// Every package with assembly picks its kernels from Current, so one
// switch lowers them all.
//
// The level is the highest the CPU runs (golang.org/x/sys/cpu), Generic in
// a build with the tag purego (which links no assembly) or off amd64, and
// lowered by the environment variable SIAMPIPE_SIMD when it names a lower
// one: SIAMPIPE_SIMD=avx2 runs the AVX2 kernels on an AVX-512 machine,
// SIAMPIPE_SIMD=generic the Go loops. The variable never raises the level
// above what the CPU and the build run. An unknown value leaves the level
// as detected and is reported by Check, which every stage calls at
// start-up through internal/cli (a one-line error, exit status 2).
//
// AVX512 needs AVX-512 F and VL, because nnops masks 256-bit tails (VL).
// The AVX-512 kernels of knn and infer need only F, but one level serves
// every package: a CPU with F and without VL (Xeon Phi) runs AVX2.
//
// Tests compare the paths with Set, which changes the level in effect
// until the function it returns is called.
package cpufeat

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/cpu"
)

// Level is a set of SIMD instructions the kernels may use. Each level
// includes the ones below it.
type Level int8

// The levels, lowest first.
const (
	Generic Level = iota // no assembly: the Go loops
	AVX2                 // AVX2 and FMA: the 256-bit kernels
	AVX512               // AVX-512 F and VL, with AVX2 and FMA: the 512-bit kernels
)

// EnvVar is the environment variable that lowers the level.
const EnvVar = "SIAMPIPE_SIMD"

var names = [...]string{Generic: "generic", AVX2: "avx2", AVX512: "avx512"}

// String returns the level's name, as SIAMPIPE_SIMD spells it.
func (l Level) String() string {
	if l >= 0 && int(l) < len(names) {
		return names[l]
	}
	return fmt.Sprintf("Level(%d)", int(l))
}

// ErrUnknownLevel is wrapped by the errors of ParseLevel and Check.
var ErrUnknownLevel = errors.New("unknown SIMD level")

// ParseLevel returns the level named s: "avx512", "avx2" or "generic"
// (case and surrounding spaces ignored).
func ParseLevel(s string) (Level, error) {
	if l, ok := lookup(s); ok {
		return l, nil
	}
	return Generic, fmt.Errorf("%q: %w (want avx512, avx2 or generic)", s, ErrUnknownLevel)
}

func lookup(s string) (Level, bool) {
	t := strings.ToLower(strings.TrimSpace(s))
	for l, name := range names {
		if t == name {
			return Level(l), true
		}
	}
	return Generic, false
}

// Features is what the processor offers, whatever the build and the
// environment say.
type Features struct {
	AVX2, FMA                             bool
	AVX512F, AVX512BW, AVX512DQ, AVX512VL bool
}

// Host returns the features of this processor (those the operating system
// has enabled too).
func Host() Features {
	return Features{
		AVX2: cpu.X86.HasAVX2, FMA: cpu.X86.HasFMA,
		AVX512F: cpu.X86.HasAVX512F, AVX512BW: cpu.X86.HasAVX512BW,
		AVX512DQ: cpu.X86.HasAVX512DQ, AVX512VL: cpu.X86.HasAVX512VL,
	}
}

// Level returns the highest level whose instructions f has.
func (f Features) Level() Level {
	switch {
	case f.AVX2 && f.FMA && f.AVX512F && f.AVX512VL:
		return AVX512
	case f.AVX2 && f.FMA:
		return AVX2
	}
	return Generic
}

// state is what init decided.
var state struct {
	detected Level  // the CPU's level, capped by the build
	limit    Level  // detected, lowered by SIAMPIPE_SIMD
	env      string // SIAMPIPE_SIMD
	envErr   error  // a SIAMPIPE_SIMD that names no level
}

// current is the level in effect: limit, or what Set made it.
var current atomic.Int32

func init() {
	state.env = os.Getenv(EnvVar)
	state.detected, state.limit, state.envErr = resolve(Host().Level(), built, state.env)
	current.Store(int32(state.limit))
}

// resolve returns the detected level (the CPU's, capped by what the build
// links) and the limit (lowered by the value env of SIAMPIPE_SIMD, if it
// names a level; "" leaves it), with the error for an env that names none.
func resolve(cpu, build Level, env string) (detected, limit Level, err error) {
	detected = min(cpu, build)
	limit = detected
	if strings.TrimSpace(env) == "" {
		return detected, limit, nil
	}
	l, ok := lookup(env)
	if !ok {
		return detected, limit, fmt.Errorf("%s=%q: %w (use avx512, avx2 or generic, or unset it for the best this CPU runs: %s)", EnvVar, env, ErrUnknownLevel, detected)
	}
	return detected, min(l, detected), nil
}

// Check returns an error wrapping ErrUnknownLevel when SIAMPIPE_SIMD names
// no level, and nil otherwise. Stages call it at start-up.
func Check() error { return state.envErr }

// Detected returns the highest level this CPU runs with this build:
// Generic with the tag purego or off amd64.
func Detected() Level { return state.detected }

// Limit returns the level of this process: Detected, lowered by
// SIAMPIPE_SIMD. Set cannot go above it.
func Limit() Level { return state.limit }

// Current returns the level in effect: the one the kernels use. It is
// Limit unless Set changed it.
func Current() Level { return Level(current.Load()) }

// Set makes l, capped at Limit, the level in effect, and returns the
// function that restores the previous one. It is meant for tests and
// measurements: changing the level while kernels run on other goroutines
// lets them mix paths.
func Set(l Level) (restore func()) {
	old := current.Swap(int32(max(Generic, min(l, state.limit))))
	return func() { current.Store(old) }
}

// Levels returns the levels this process can run, lowest first: Generic up
// to Limit.
func Levels() []Level {
	ls := make([]Level, 0, state.limit+1)
	for l := Generic; l <= state.limit; l++ {
		ls = append(ls, l)
	}
	return ls
}

// Describe says which level is in effect and, when it is not AVX512, why:
// e.g. "avx2 (SIAMPIPE_SIMD=avx2)" or "generic (built with -tags purego)".
func Describe() string {
	cur := Current()
	var why []string
	switch {
	case runtime.GOARCH != "amd64":
		why = append(why, "no kernels for "+runtime.GOARCH)
	case built == Generic:
		why = append(why, "built with -tags purego")
	case state.detected < AVX512:
		why = append(why, "the CPU runs "+state.detected.String())
	}
	if state.limit < state.detected {
		why = append(why, EnvVar+"="+state.env)
	}
	if cur < state.limit {
		why = append(why, "set from "+state.limit.String()+" by the program")
	}
	if len(why) == 0 {
		return cur.String()
	}
	return cur.String() + " (" + strings.Join(why, "; ") + ")"
}

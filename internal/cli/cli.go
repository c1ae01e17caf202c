// Package cli holds the conventions every siampipe stage follows: flags with
// --help and --version, stdin/stdout or -i/-o files (written as package
// outfile does) or s3:// objects (package objstore), one-line errors
// prefixed with the stage name, exit codes, signals, logs and progress on
// stderr.
//
// A stage's streams are injected (Stage.Run takes stdin, stdout and
// stderr), so stages run in-process in tests; Main is the os.Exit wrapper.
//
// Exit codes: 0 success, 1 runtime error, 2 usage error, 130 interrupted,
// 141 (quietly) when the reader of stdout went away, and any code a stage
// returns in an *ExitError.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/siampipe/siampipe/internal/contract"
	"github.com/siampipe/siampipe/internal/cpufeat"
	"github.com/siampipe/siampipe/internal/objstore"
	"github.com/siampipe/siampipe/internal/outfile"
	"golang.org/x/term"
)

// Version is siampipe's release version; --version adds the VCS revision the
// binary was built from, when known.
const Version = "0.1.0"

// Common is a set of the flags a stage may take besides --quiet and
// --version, which every stage takes.
type Common uint

// The common flags.
const (
	InputFlag    Common = 1 << iota // -i FILE: read the input stream from a file
	OutputFlag                      // -o FILE: write the output to a file
	CompressFlag                    // --compress: Arrow body compression of the output

	// Streams is what a stage that reads and writes Arrow streams takes.
	Streams = InputFlag | OutputFlag | CompressFlag
)

// Stage is one siampipe program: its name, flags and I/O conventions.
type Stage struct {
	Name    string        // e.g. "augment"; prefixes every message
	Summary string        // one line: what the stage does
	Example string        // a pipeline that shows the stage in use
	Flags   *flag.FlagSet // the stage's own flags; Parse adds the common ones
	// Common is which of -i, -o and --compress the stage takes (New sets
	// Streams); --help lists only those, and the others are unknown flags.
	Common Common
	// Args names the arguments the stage takes after its flags, for --help
	// ("FILE..."); the stage reads them from Flags.Args(). Without it an
	// argument is a usage error.
	Args string

	// Graceful makes the first SIGINT/SIGTERM only cancel the context given to
	// the run function (which then finishes its step and returns); without it
	// the stage removes its temporary files and exits at once.
	Graceful bool
	// Exit ends the process on such a hard stop; nil means os.Exit.
	Exit func(code int)

	in, out  string
	compress string
	quiet    bool
	version  bool
	parsed   bool

	stdin  io.Reader
	stdout *stdoutWriter
	stderr *stderrWriter
	ttyErr bool
}

// New returns a Stage that takes -i, -o and --compress and uses the
// process's stdin, stdout and stderr until Run is given others. example is
// shown by --help.
func New(name, summary, example string) *Stage {
	s := &Stage{Name: name, Summary: summary, Example: example, Common: Streams}
	s.Flags = flag.NewFlagSet(name, flag.ContinueOnError)
	s.Flags.SetOutput(io.Discard)
	s.SetIO(os.Stdin, os.Stdout, os.Stderr)
	return s
}

// SetIO sets the stage's streams (Run calls it); a nil stdin is empty, a
// nil stdout or stderr discards. Writes to stderr never fail: a log line
// that cannot be written is dropped, since a stage must not die or skip its
// work because nobody reads its log (tee was killed by the same Ctrl-C, say).
func (s *Stage) SetIO(stdin io.Reader, stdout, stderr io.Writer) {
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	s.stdin = stdin
	s.stdout = &stdoutWriter{w: stdout}
	s.stderr = &stderrWriter{w: stderr}
	f, ok := stderr.(*os.File)
	s.ttyErr = ok && IsTerminal(f)
}

// Stdin returns the stage's standard input.
func (s *Stage) Stdin() io.Reader { return s.stdin }

// Stdout returns the stage's standard output.
func (s *Stage) Stdout() io.Writer { return s.stdout }

// Stderr returns the stage's standard error; its writes never fail.
func (s *Stage) Stderr() io.Writer { return s.stderr }

// stdoutWriter notes when the reader of stdout has gone away (EPIPE), so
// that the stage then stops quietly whatever error that turns into.
type stdoutWriter struct {
	w    io.Writer
	gone atomic.Bool
}

func (o *stdoutWriter) Write(p []byte) (int, error) {
	n, err := o.w.Write(p)
	if err != nil && errors.Is(err, syscall.EPIPE) {
		o.gone.Store(true)
	}
	return n, err
}

// stderrWriter serialises writes to stderr and never fails.
type stderrWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (e *stderrWriter) Write(p []byte) (int, error) {
	e.mu.Lock()
	e.w.Write(p) // a log that cannot be written is dropped, never fatal
	e.mu.Unlock()
	return len(p), nil
}

// addCommon adds the common flags the stage takes, each unless the stage
// has defined a flag of that name itself, and --quiet and --version.
func (s *Stage) addCommon() {
	if s.Common&InputFlag != 0 && s.Flags.Lookup("i") == nil {
		s.Flags.StringVar(&s.in, "i", "", "read the input stream from `FILE` (or object s3://bucket/key) instead of stdin")
	}
	if s.Common&OutputFlag != 0 && s.Flags.Lookup("o") == nil {
		s.Flags.StringVar(&s.out, "o", "", "write the output to `FILE` (or object s3://bucket/key) instead of stdout: a file appears whole, only on success; a device, FIFO or /dev/stdout is written directly")
	}
	if s.Common&CompressFlag != 0 && s.Flags.Lookup("compress") == nil {
		s.Flags.StringVar(&s.compress, "compress", "", "Arrow body compression of the output: zstd or none")
	}
	s.Flags.BoolVar(&s.quiet, "quiet", false, "no progress or log lines on stderr (errors are still printed)")
	s.Flags.BoolVar(&s.version, "version", false, "print the version and exit")
}

// Usage writes the stage's help text to w: every flag the stage accepts
// ("-o FILE", "--lr float"), numeric ones with their type (int, uint or
// float) after the name.
func (s *Stage) Usage(w io.Writer) {
	args := ""
	if s.Args != "" {
		args = " " + s.Args
	}
	fmt.Fprintf(w, "%s: %s\n\nUsage: %s [flags]%s\n\nExample:\n  %s\n\nFlags:\n", s.Name, s.Summary, s.Name, args, s.Example)
	s.Flags.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		if t := numericType(f); t != "" {
			name = t
		}
		dash := "--"
		if len(f.Name) == 1 {
			dash = "-" // -i, -o
		}
		var b strings.Builder
		fmt.Fprintf(&b, "  %s%s", dash, f.Name)
		if name != "" {
			b.WriteString(" " + name)
		}
		b.WriteString("\n    \t")
		b.WriteString(strings.ReplaceAll(usage, "\n", "\n    \t"))
		switch d := f.DefValue; {
		case d == "" || d == "0" || d == "false":
		case name == "" || numericType(f) != "":
			fmt.Fprintf(&b, " (default %s)", d)
		default:
			fmt.Fprintf(&b, " (default %q)", d)
		}
		fmt.Fprintln(w, b.String())
	})
	fmt.Fprintf(w, "\nExit status: 0 success, 1 runtime error, 2 usage error, 130 interrupted, 141 (quietly) the reader of stdout went away.\n")
}

// numericType names the type of a numeric flag ("int", "uint", "float"),
// or returns "".
func numericType(f *flag.Flag) string {
	g, ok := f.Value.(flag.Getter)
	if !ok {
		return ""
	}
	switch g.Get().(type) {
	case int, int64:
		return "int"
	case uint, uint64:
		return "uint"
	case float64:
		return "float"
	}
	return ""
}

// CheckArgsEnv names the environment variable that makes a stage only check
// how it was called: with SIAMPIPE_CHECK_ARGS=1, Parse parses and checks the
// arguments as always (unknown flags, bad values, stray arguments,
// --compress, SIAMPIPE_SIMD) and then returns an *ExitError with Code 0, so
// Run exits 0 without calling the stage's run function: nothing is opened,
// read or written. The checks a stage makes inside its run function (a
// required flag, a range checked there) do not run. Unset, empty or "0" is
// off; any other value than "1" is a usage error. deploy's test runs every
// stage invocation of the Kubernetes and Argo manifests this way.
const CheckArgsEnv = "SIAMPIPE_CHECK_ARGS"

// checkArgsOnly reports whether CheckArgsEnv asks for a check only.
func checkArgsOnly() (bool, error) {
	switch v := os.Getenv(CheckArgsEnv); v {
	case "", "0":
		return false, nil
	case "1":
		return true, nil
	default:
		return false, Usagef("%s=%q: set it to 1 to check the arguments only, or unset it", CheckArgsEnv, v)
	}
}

// Parse parses args (without the program name). A nil error means: run the
// stage. --help writes the usage and --version the version to stdout and
// return an *ExitError with Code 0 (done, successfully), as does a check
// only (see CheckArgsEnv) once the arguments pass; a bad flag, or an
// environment variable SIAMPIPE_SIMD that names no SIMD level (see
// cpufeat) or a SIAMPIPE_CHECK_ARGS other than 1, 0 or empty, returns a
// *UsageError.
func (s *Stage) Parse(args []string) error {
	if !s.parsed {
		s.addCommon()
		s.parsed = true
	}
	err := s.Flags.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		s.Usage(s.stdout)
		return &ExitError{Code: 0}
	case err != nil:
		return Usagef("%v (see '%s --help')", err, s.Name)
	}
	if s.version {
		fmt.Fprintf(s.stdout, "%s %s\n", s.Name, VersionString())
		return &ExitError{Code: 0}
	}
	if s.Flags.NArg() > 0 && s.Args == "" {
		where := "on stdin"
		if s.Common&InputFlag != 0 {
			where += " or with -i"
		}
		return Usagef("unexpected argument %q (inputs come %s; see '%s --help')", s.Flags.Arg(0), where, s.Name)
	}
	if err := contract.CheckCompress(s.compress); err != nil {
		return Usagef("--compress: %v", err)
	}
	if err := cpufeat.Check(); err != nil { // SIAMPIPE_SIMD names no SIMD level
		return Usagef("%v", err)
	}
	switch only, err := checkArgsOnly(); {
	case err != nil:
		return err
	case only:
		return &ExitError{Code: 0} // SIAMPIPE_CHECK_ARGS=1 and the arguments pass
	}
	return nil
}

// VersionString returns Version plus the VCS revision, when the binary knows it.
func VersionString() string {
	v := Version
	if bi, ok := debug.ReadBuildInfo(); ok {
		var rev, dirty string
		for _, st := range bi.Settings {
			switch st.Key {
			case "vcs.revision":
				rev = st.Value
			case "vcs.modified":
				if st.Value == "true" {
					dirty = "+dirty"
				}
			}
		}
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if rev != "" {
			v += " (" + rev + dirty + ")"
		}
	}
	return v
}

// InputPath returns the -i flag's value ("" for stdin).
func (s *Stage) InputPath() string { return s.in }

// OutputPath returns the -o flag's value ("" for stdout).
func (s *Stage) OutputPath() string { return s.out }

// WriterOptions returns the contract writer options the flags ask for.
func (s *Stage) WriterOptions() contract.Options {
	c := s.compress
	if c == "none" {
		c = ""
	}
	return contract.Options{Compress: c}
}

// Quiet reports whether --quiet was given.
func (s *Stage) Quiet() bool { return s.quiet }

// UsageError is an error in how the stage was called; Run exits 2 on it.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Usagef returns a *UsageError.
func Usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// ExitError makes Run exit with Code after printing Err (if not nil).
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// ErrInterrupted is what Run reports when a signal stopped the stage.
var ErrInterrupted = errors.New("interrupted")

// Main is Run with the process's arguments and streams, then os.Exit.
func (s *Stage) Main(run func(ctx context.Context) error) {
	os.Exit(s.Run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, run))
}

// Run is a stage's whole life: it parses args, runs run with a context that
// is cancelled on SIGINT or SIGTERM, prints run's error as one line prefixed
// with the stage name on stderr and returns the exit status. A write to a
// stdout whose reader went away ends the stage quietly with 141 (as SIGPIPE
// would); a write to stderr never ends it.
func (s *Stage) Run(args []string, stdin io.Reader, stdout, stderr io.Writer, run func(ctx context.Context) error) int {
	// With SIGPIPE notified, a write to fd 1 or 2 whose reader is gone
	// fails with EPIPE instead of killing the process (os/signal, "SIGPIPE"):
	// stdout's EPIPE then ends the stage quietly, stderr's is ignored.
	pipe := make(chan os.Signal, 1)
	signal.Notify(pipe, syscall.SIGPIPE)
	defer signal.Stop(pipe)

	s.SetIO(stdin, stdout, stderr)
	if err := s.Parse(args); err != nil {
		return s.report(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				return
			case sig := <-sigs:
				n++
				if !s.Graceful || n > 1 {
					outfile.RemovePending()
					objstore.AbortPending(5 * time.Second)
					fmt.Fprintf(s.stderr, "%s: %s, stopped\n", s.Name, sig)
					exit := s.Exit
					if exit == nil {
						exit = os.Exit
					}
					exit(130)
					return
				}
				fmt.Fprintf(s.stderr, "%s: %s: finishing the current step (again to abort)\n", s.Name, sig)
				cancel()
			}
		}
	}()
	return s.report(run(ctx))
}

// report prints err and returns the exit code for it.
func (s *Stage) report(err error) int {
	if err == nil {
		return 0
	}
	if errors.Is(err, syscall.EPIPE) || s.stdout.gone.Load() {
		return 141 // the reader went away: quiet, like a process killed by SIGPIPE
	}
	code := 1
	var ue *UsageError
	var ee *ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.Code
		if ee.Err == nil {
			return code
		}
	case errors.As(err, &ue):
		code = 2
	case errors.Is(err, ErrInterrupted), errors.Is(err, context.Canceled):
		code = 130
	}
	fmt.Fprintln(s.stderr, s.Line(err))
	return code
}

// Line formats err as the stage's one-line message: "augment: ...".
func (s *Stage) Line(err error) string {
	msg := strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
	prefix := s.Name + ": "
	for strings.HasPrefix(msg, prefix) {
		msg = strings.TrimPrefix(msg, prefix)
	}
	return prefix + msg
}

// Logf writes one log line to stderr: "augment: ..." on a terminal, with an
// RFC 3339 UTC timestamp in front otherwise (logs of unattended runs).
// --quiet silences it; errors are reported by Run regardless.
func (s *Stage) Logf(format string, args ...any) {
	if s.quiet {
		return
	}
	msg := fmt.Sprintf(format, args...)
	if s.ttyErr {
		fmt.Fprintf(s.stderr, "%s: %s\n", s.Name, msg)
		return
	}
	fmt.Fprintf(s.stderr, "%s %s: %s\n", time.Now().UTC().Format(time.RFC3339), s.Name, msg)
}

// IsTerminal reports whether f is a terminal (not merely a character
// device: /dev/null is one too).
func IsTerminal(f *os.File) bool { return IsTerminalFd(f.Fd()) }

// IsTerminalFd reports whether the descriptor fd is a terminal.
func IsTerminalFd(fd uintptr) bool { return term.IsTerminal(int(fd)) }

// Package cli holds the conventions every siampipe stage follows: flags with
// --help and --version, stdin/stdout or -i/-o files (written atomically),
// one-line errors prefixed with the stage name, exit codes, signals, logs and
// progress on stderr.
//
// Exit codes: 0 success, 1 runtime error, 2 usage error, 130 interrupted,
// and any code a stage returns in an *ExitError.
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
	"syscall"
	"time"

	"github.com/siampipe/siampipe/internal/contract"
	"github.com/siampipe/siampipe/internal/outfile"
	"golang.org/x/term"
)

// Version is siampipe's release version; --version adds the VCS revision the
// binary was built from, when known.
const Version = "0.1.0"

// Stage is one siampipe program: its name, flags and I/O conventions.
type Stage struct {
	Name    string        // e.g. "augment"; prefixes every message
	Summary string        // one line: what the stage does
	Example string        // a pipeline that shows the stage in use
	Flags   *flag.FlagSet // the stage's own flags; Parse adds the common ones

	// Graceful makes the first SIGINT/SIGTERM only cancel the context given to
	// the run function (which then finishes its step and returns); without it
	// the stage removes its temporary files and exits at once.
	Graceful bool

	in, out  string
	compress string
	quiet    bool
	version  bool
	stderr   io.Writer
	ttyErr   bool
}

// New returns a Stage. example is shown by --help.
func New(name, summary, example string) *Stage {
	s := &Stage{Name: name, Summary: summary, Example: example, stderr: os.Stderr, ttyErr: IsTerminal(os.Stderr)}
	s.Flags = flag.NewFlagSet(name, flag.ContinueOnError)
	s.Flags.SetOutput(io.Discard)
	return s
}

// addCommon adds -i, -o, --compress, --quiet and --version, each unless the
// stage has defined a flag of that name itself.
func (s *Stage) addCommon() {
	if s.Flags.Lookup("i") == nil {
		s.Flags.StringVar(&s.in, "i", "", "read the input stream from `FILE` instead of stdin")
	}
	if s.Flags.Lookup("o") == nil {
		s.Flags.StringVar(&s.out, "o", "", "write the output to `FILE` (atomically) instead of stdout")
	}
	if s.Flags.Lookup("compress") == nil {
		s.Flags.StringVar(&s.compress, "compress", "", "Arrow body compression of the output: zstd or none")
	}
	s.Flags.BoolVar(&s.quiet, "quiet", false, "no progress or log lines on stderr (errors are still printed)")
	s.Flags.BoolVar(&s.version, "version", false, "print the version and exit")
}

// Usage writes the stage's help text to w.
func (s *Stage) Usage(w io.Writer) {
	fmt.Fprintf(w, "%s: %s\n\nUsage: %s [flags]\n\nExample:\n  %s\n\nFlags:\n", s.Name, s.Summary, s.Name, s.Example)
	s.Flags.SetOutput(w)
	s.Flags.PrintDefaults()
	s.Flags.SetOutput(io.Discard)
	fmt.Fprintf(w, "\nExit status: 0 success, 1 runtime error, 2 usage error, 130 interrupted.\n")
}

// Parse parses args (without the program name). --help prints the usage to
// stdout and exits 0; --version prints the version and exits 0; a bad flag
// prints one line and exits 2.
func (s *Stage) Parse(args []string) {
	s.addCommon()
	err := s.Flags.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		s.Usage(os.Stdout)
		os.Exit(0)
	case err != nil:
		fmt.Fprintf(os.Stderr, "%s: %v (see '%s --help')\n", s.Name, err, s.Name)
		os.Exit(2)
	}
	if s.version {
		fmt.Printf("%s %s\n", s.Name, VersionString())
		os.Exit(0)
	}
	if s.Flags.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "%s: unexpected argument %q (inputs come on stdin or with -i; see '%s --help')\n", s.Name, s.Flags.Arg(0), s.Name)
		os.Exit(2)
	}
	if err := contract.CheckCompress(s.compress); err != nil {
		fmt.Fprintf(os.Stderr, "%s: --compress: %v\n", s.Name, err)
		os.Exit(2)
	}
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

// UsageError is an error in how the stage was called; Main exits 2 on it.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Usagef returns a *UsageError.
func Usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// ExitError makes Main exit with Code after printing Err (if not nil).
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

// ErrInterrupted is what Main reports when a signal stopped the stage.
var ErrInterrupted = errors.New("interrupted")

// Main runs run with a context that is cancelled on SIGINT or SIGTERM, prints
// its error as one line prefixed with the stage name, and exits. It does not
// return.
func (s *Stage) Main(run func(ctx context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		n := 0
		for sig := range sigs {
			n++
			if !s.Graceful || n > 1 {
				outfile.RemovePending()
				fmt.Fprintf(os.Stderr, "%s: %s, stopped\n", s.Name, sig)
				os.Exit(130)
			}
			fmt.Fprintf(os.Stderr, "%s: %s: finishing the current step (again to abort)\n", s.Name, sig)
			cancel()
		}
	}()
	err := run(ctx)
	cancel()
	os.Exit(s.report(err))
}

// report prints err and returns the exit code for it.
func (s *Stage) report(err error) int {
	if err == nil {
		return 0
	}
	if errors.Is(err, syscall.EPIPE) {
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
	fmt.Fprintln(os.Stderr, s.Line(err))
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
// --quiet silences it; errors are reported by Main regardless.
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

package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/siampipe/siampipe/internal/outfile"
)

// stage is a test stage: --limit N, --lr X, --model FILE and the given
// common flags.
func stage(common Common) (*Stage, *int) {
	s := New("demo", "a demo stage", "fetch | demo")
	s.Common = common
	n := s.Flags.Int("limit", 3, "emit only the first `N` rows")
	s.Flags.Float64("lr", 0.1, "learning rate")
	s.Flags.String("model", "", "checkpoint `FILE`")
	return s, n
}

// runStage runs a stage in-process on buffers.
func runStage(s *Stage, stdin string, args []string, run func(ctx context.Context) error) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = s.Run(args, strings.NewReader(stdin), &o, &e, run)
	return code, o.String(), e.String()
}

func TestRunInjectsStreamsAndReturnsTheExitCode(t *testing.T) {
	ok := func(context.Context) error { return nil }
	tests := []struct {
		name       string
		args       []string
		run        func(s *Stage) func(context.Context) error
		code       int
		out, err   string
		errIsEmpty bool
	}{
		{"help to stdout", []string{"--help"}, nil, 0, "Usage: demo [flags]", "", true},
		{"version to stdout", []string{"--version"}, nil, 0, "demo 0.", "", true},
		{"bad flag: one line", []string{"--nope"}, nil, 2, "", "demo: flag provided but not defined: -nope (see 'demo --help')\n", false},
		{"bad value: one line", []string{"--limit", "NaN"}, nil, 2, "", "demo: invalid value \"NaN\" for flag -limit: parse error (see 'demo --help')\n", false},
		{"argument", []string{"extra"}, nil, 2, "", "demo: unexpected argument \"extra\" (inputs come on stdin or with -i; see 'demo --help')\n", false},
		{"bad --compress", []string{"--compress", "lz4"}, nil, 2, "", "demo: --compress", false},
		{"run error: one line", nil, func(*Stage) func(context.Context) error {
			return func(context.Context) error { return errors.New("bad\ninput") }
		}, 1, "", "demo: bad; input\n", false},
		{"usage error", nil, func(*Stage) func(context.Context) error {
			return func(context.Context) error { return Usagef("--model is required") }
		}, 2, "", "demo: --model is required\n", false},
		{"stdin and stdout", []string{"--quiet"}, func(s *Stage) func(context.Context) error {
			return func(context.Context) error {
				in, err := s.Input()
				if err != nil {
					return err
				}
				b, _ := io.ReadAll(in)
				out, err := s.Output()
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "read %s", b)
				s.Logf("hidden by --quiet")
				return out.Commit()
			}
		}, 0, "read stdin bytes", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := stage(Streams)
			run := ok
			if tc.run != nil {
				run = tc.run(s)
			}
			code, out, errs := runStage(s, "stdin bytes", tc.args, run)
			if code != tc.code || !strings.Contains(out, tc.out) || !strings.HasPrefix(errs, tc.err) || (tc.errIsEmpty && errs != "") {
				t.Fatalf("exit %d, stdout %q, stderr %q; want %d, stdout with %q, stderr %q", code, out, errs, tc.code, tc.out, tc.err)
			}
			if code != 0 && strings.Count(errs, "\n") != 1 {
				t.Fatalf("stderr %q is not one line", errs)
			}
		})
	}
}

func TestHelpListsExactlyTheFlagsTheStageTakes(t *testing.T) {
	tests := []struct {
		common       Common
		want, refuse []string
	}{
		{Streams, []string{"\n  -i FILE\n", "\n  -o FILE\n", "--compress string"}, nil},
		{OutputFlag, []string{"\n  -o FILE\n"}, []string{"i", "compress"}},
		{InputFlag, []string{"\n  -i FILE\n"}, []string{"o", "compress"}},
		{0, nil, []string{"i", "o", "compress"}},
	}
	for _, tc := range tests {
		s, _ := stage(tc.common)
		code, help, _ := runStage(s, "", []string{"--help"}, nil)
		if code != 0 {
			t.Fatalf("--help: exit %d", code)
		}
		for _, w := range append(tc.want, "--quiet\n", "--version\n", "--limit int\n", "--lr float\n", "--model FILE\n") {
			if !strings.Contains(help, w) {
				t.Errorf("common %b: help lacks %q:\n%s", tc.common, w, help)
			}
		}
		for _, r := range tc.refuse {
			if strings.Contains(help, "-"+r+" ") {
				t.Errorf("common %b: help lists --%s:\n%s", tc.common, r, help)
			}
			s, _ := stage(tc.common)
			if code, _, errs := runStage(s, "", []string{"-" + r, "x"}, func(context.Context) error { return nil }); code != 2 || !strings.Contains(errs, "not defined") {
				t.Errorf("common %b: -%s x: exit %d %q, want 2 (not defined)", tc.common, r, code, errs)
			}
		}
	}
}

func TestArgsAreTakenOnlyWhenNamed(t *testing.T) {
	s, _ := stage(OutputFlag)
	s.Args = "FILE..."
	var got []string
	code, _, errs := runStage(s, "", []string{"-o", "x", "a", "-"}, func(context.Context) error { got = s.Flags.Args(); return nil })
	if code != 0 || strings.Join(got, " ") != "a -" {
		t.Fatalf("exit %d %q, args %q", code, errs, got)
	}
	if _, help, _ := runStage(s, "", []string{"--help"}, nil); !strings.Contains(help, "Usage: demo [flags] FILE...\n") {
		t.Errorf("help lacks the arguments:\n%s", help)
	}
}

func TestHelpShowsTheTypeOfNumericFlags(t *testing.T) {
	s, _ := stage(0)
	s.Flags.Uint64("seed", 0, "seed")
	s.Flags.Float64("crop-scale", 0, "smallest crop `X`")
	_, help, _ := runStage(s, "", []string{"--help"}, nil)
	for _, w := range []string{"--limit int\n    \temit only the first N rows (default 3)", "--seed uint\n", "--crop-scale float\n    \tsmallest crop X\n", "--lr float\n    \tlearning rate (default 0.1)"} {
		if !strings.Contains(help, w) {
			t.Errorf("help lacks %q:\n%s", w, help)
		}
	}
}

// brokenPipe fails every write with EPIPE, as a pipe whose reader has gone.
type brokenPipe struct{ writes int }

func (b *brokenPipe) Write(p []byte) (int, error) {
	b.writes++
	return 0, &os.PathError{Op: "write", Path: "|1", Err: syscall.EPIPE}
}

func TestStderrFailuresAreNotFatal(t *testing.T) {
	for _, want := range []int{0, 1, 2} {
		s, _ := stage(Streams)
		var stderr brokenPipe
		code := s.Run(nil, strings.NewReader(""), io.Discard, &stderr, func(context.Context) error {
			s.Logf("a log line")
			p := s.Progress("work", 10, "rows")
			p.every = 0
			p.Add(5)
			p.Done()
			switch want {
			case 1:
				return errors.New("bad input")
			case 2:
				return Usagef("bad flag")
			}
			return nil
		})
		if code != want || stderr.writes == 0 {
			t.Errorf("exit %d after %d failed stderr writes, want %d", code, stderr.writes, want)
		}
	}
}

func TestStdoutReaderGoneIsQuiet141(t *testing.T) {
	s, _ := stage(Streams)
	var stderr bytes.Buffer
	code := s.Run(nil, strings.NewReader(""), &brokenPipe{}, &stderr, func(context.Context) error {
		out, err := s.Output()
		if err != nil {
			return err
		}
		out.WriteString("x")
		if err := out.Commit(); err != nil {
			// however the error is worded on its way up, the stage is quiet
			return fmt.Errorf("write features: %v", err)
		}
		return nil
	})
	if code != 141 || stderr.Len() != 0 {
		t.Fatalf("exit %d, stderr %q; want 141 and nothing", code, stderr.String())
	}
}

// TestProcessSurvivesAClosedStderrPipe runs a stage in a child process whose
// stderr is a pipe nobody reads any more (tee killed by the same Ctrl-C): it
// must finish its work and exit 0, not die of SIGPIPE. A closed stdout pipe
// still ends it quietly with 141.
func TestProcessSurvivesAClosedStderrPipe(t *testing.T) {
	if os.Getenv("CLI_TEST_HELPER") != "" {
		helperStage()
		return
	}
	for _, c := range []struct {
		closed string
		code   int
	}{{"stderr", 0}, {"stdout", 141}} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestProcessSurvivesAClosedStderrPipe$")
		cmd.Env = append(os.Environ(), "CLI_TEST_HELPER=1")
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		r.Close() // the reader is gone before the first write
		var other bytes.Buffer
		if c.closed == "stderr" {
			cmd.Stderr, cmd.Stdout = w, &other
		} else {
			cmd.Stdout, cmd.Stderr = w, &other
		}
		err = cmd.Run()
		w.Close()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode() // -1 when killed by a signal
		} else if err != nil {
			t.Fatal(err)
		}
		if code != c.code {
			t.Errorf("%s closed: exit %d (%v), want %d; other stream %q", c.closed, code, err, c.code, other.String())
		}
		if c.closed == "stderr" && !strings.Contains(other.String(), "done") {
			t.Errorf("stderr closed: the stage did not finish its work: stdout %q", other.String())
		}
		if c.closed == "stdout" && (strings.Count(other.String(), "\n") != 3 || strings.Contains(other.String(), "pipe")) {
			t.Errorf("stdout closed: stderr %q, want the three log lines only", other.String())
		}
	}
}

func helperStage() {
	s := New("demo", "a demo stage", "demo")
	code := s.Run(nil, os.Stdin, os.Stdout, os.Stderr, func(context.Context) error {
		for i := 0; i < 3; i++ {
			s.Logf("log line %d", i)
		}
		out, err := s.Output()
		if err != nil {
			return err
		}
		out.WriteString("done\n")
		return out.Commit()
	})
	os.Exit(code)
}

// TestSignals: a graceful stage's first SIGINT cancels its context (exit
// 130); a stage that is not graceful removes its temporary files and exits
// 130 at once through Exit.
func TestSignals(t *testing.T) {
	t.Run("graceful", func(t *testing.T) {
		s, _ := stage(Streams)
		s.Graceful = true
		var stderr bytes.Buffer
		code := s.Run(nil, strings.NewReader(""), io.Discard, &stderr, func(ctx context.Context) error {
			syscall.Kill(os.Getpid(), syscall.SIGINT)
			select {
			case <-ctx.Done():
				return fmt.Errorf("step 3: %w", ErrInterrupted)
			case <-time.After(10 * time.Second):
				return errors.New("the signal did not cancel the context")
			}
		})
		if code != 130 || !strings.Contains(stderr.String(), "finishing the current step") || !strings.HasSuffix(stderr.String(), "demo: step 3: interrupted\n") {
			t.Fatalf("exit %d, stderr %q", code, stderr.String())
		}
	})
	t.Run("hard stop", func(t *testing.T) {
		s, _ := stage(Streams)
		exited := make(chan int, 1)
		s.Exit = func(code int) { exited <- code }
		dir := t.TempDir()
		var stderr bytes.Buffer
		var got int
		s.Run(nil, strings.NewReader(""), io.Discard, &stderr, func(ctx context.Context) error {
			o, err := CreateAtomic(filepath.Join(dir, "out.arrows"))
			if err != nil {
				return err
			}
			o.WriteString("partial")
			o.Flush()
			syscall.Kill(os.Getpid(), syscall.SIGINT)
			select {
			case got = <-exited:
			case <-time.After(10 * time.Second):
			}
			return nil
		})
		entries, _ := os.ReadDir(dir)
		if n := outfile.Pending(); n != 0 {
			t.Errorf("%d temporary files still registered", n)
		}
		if got != 130 || len(entries) != 0 || !strings.Contains(stderr.String(), "demo: interrupt, stopped") {
			t.Fatalf("exit %d, files left %v, stderr %q; want 130, nothing left, one line", got, entries, stderr.String())
		}
	})
}

func TestNilStreamsAreEmptyAndDiscarding(t *testing.T) {
	s, _ := stage(Streams)
	code := s.Run(nil, nil, nil, nil, func(context.Context) error {
		in, err := s.Input()
		if err != nil {
			return err
		}
		if b, err := io.ReadAll(in); err != nil || len(b) != 0 {
			return fmt.Errorf("stdin gave %q, %v", b, err)
		}
		out, err := s.Output()
		if err != nil {
			return err
		}
		out.WriteString("dropped")
		s.Logf("dropped too")
		return out.Commit()
	})
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
}

func TestCheckArgsOnlyParsesAndStopsBeforeTheRunFunction(t *testing.T) {
	tests := []struct {
		env      string
		args     []string
		ran      bool
		code     int
		out, err string
	}{
		{"1", []string{"--limit", "5", "-i", "in.arrows", "-o", "out.arrows"}, false, 0, "", ""},
		{"1", []string{"--nope"}, false, 2, "", "demo: flag provided but not defined: -nope"},
		{"1", []string{"--limit", "many"}, false, 2, "", "demo: invalid value \"many\" for flag -limit"},
		{"1", []string{"extra"}, false, 2, "", "demo: unexpected argument \"extra\""},
		{"1", []string{"--compress", "lz4"}, false, 2, "", "demo: --compress"},
		{"1", []string{"--help"}, false, 0, "Usage: demo [flags]", ""},
		{"0", []string{"--limit", "5"}, true, 0, "", ""},
		{"", nil, true, 0, "", ""},
		{"yes", nil, false, 2, "", "demo: SIAMPIPE_CHECK_ARGS=\"yes\": set it to 1 to check the arguments only, or unset it\n"},
	}
	for _, tc := range tests {
		t.Run(tc.env+" "+strings.Join(tc.args, " "), func(t *testing.T) {
			t.Setenv(CheckArgsEnv, tc.env)
			s, _ := stage(Streams)
			ran := false
			code, out, errs := runStage(s, "", tc.args, func(context.Context) error { ran = true; return nil })
			if code != tc.code || ran != tc.ran || !strings.Contains(out, tc.out) || !strings.HasPrefix(errs, tc.err) || (tc.err == "" && errs != "") {
				t.Fatalf("exit %d, ran %v, stdout %q, stderr %q; want exit %d, ran %v, stdout with %q, stderr %q",
					code, ran, out, errs, tc.code, tc.ran, tc.out, tc.err)
			}
		})
	}
}

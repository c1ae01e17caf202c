package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/siampipe/siampipe/internal/outfile"
)

func TestLineIsOneLinePrefixedOnce(t *testing.T) {
	s := New("augment", "x", "y")
	tests := []struct {
		err  error
		want string
	}{
		{errors.New("bad input"), "augment: bad input"},
		{fmt.Errorf("augment: read pairs: %w", errors.New("eof")), "augment: read pairs: eof"},
		{errors.New("two\nlines"), "augment: two; lines"},
	}
	for _, tc := range tests {
		if got := s.Line(tc.err); got != tc.want {
			t.Errorf("Line(%q) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

func TestReportExitCodes(t *testing.T) {
	s := New("eval", "x", "y")
	var stderr bytes.Buffer
	s.SetIO(nil, io.Discard, &stderr)
	tests := []struct {
		err  error
		code int
	}{
		{nil, 0},
		{errors.New("boom"), 1},
		{Usagef("bad flag"), 2},
		{&ExitError{Code: 3, Err: errors.New("kNN 0.5 below 0.9")}, 3},
		{fmt.Errorf("write: %w", syscall.EPIPE), 141},
		{fmt.Errorf("train: %w", ErrInterrupted), 130},
	}
	for _, tc := range tests {
		if got := s.report(tc.err); got != tc.code {
			t.Errorf("report(%v) = %d, want %d", tc.err, got, tc.code)
		}
	}
}

func TestAtomicOutput(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.arrows")
	o, err := CreateAtomic(p)
	if err != nil {
		t.Fatal(err)
	}
	o.WriteString("hello")
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Fatal("file visible before Commit")
	}
	if err := o.Commit(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "hello" {
		t.Fatalf("content %q", b)
	}
	o.Abort() // no-op after Commit
	if _, err := os.Stat(p); err != nil {
		t.Fatal("Abort after Commit removed the file")
	}
	o2, _ := CreateAtomic(filepath.Join(dir, "other.arrows"))
	o2.WriteString("partial")
	o2.Abort()
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("abort left files: %v", entries)
	}
	if n := outfile.Pending(); n != 0 {
		t.Fatalf("%d temporary files still registered", n)
	}
}

func TestProgressPlainLines(t *testing.T) {
	var b bytes.Buffer
	s := New("train", "x", "y")
	s.SetIO(nil, io.Discard, &b)
	p := s.Progress("epoch 1/2", 100, "pairs")
	p.every = 0
	p.Add(50)
	p.Done()
	out := b.String()
	if !strings.Contains(out, "train: epoch 1/2  50% 50/100 pairs") || !strings.Contains(out, "done in") || strings.Contains(out, "\r") {
		t.Fatalf("progress output %q", out)
	}
	b.Reset()
	s.quiet = true
	p = s.Progress("x", 1, "y")
	p.Add(1)
	p.Done()
	s.Logf("hidden")
	if b.Len() != 0 {
		t.Fatalf("--quiet printed %q", b.String())
	}
}

package cli

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Input opens the stage's input: the -i file, or stdin. It refuses a
// terminal on stdin with a hint, since siampipe streams come from pipes.
func (s *Stage) Input() (io.ReadCloser, error) {
	if s.in != "" && s.in != "-" {
		f, err := os.Open(s.in)
		if err != nil {
			return nil, fmt.Errorf("open input: %w", err)
		}
		return f, nil
	}
	if IsTerminal(os.Stdin) {
		return nil, Usagef("no input: stdin is a terminal; pipe a stream in (e.g. '%s') or pass -i FILE", s.Example)
	}
	return io.NopCloser(os.Stdin), nil
}

// Output is where a stage writes its result: stdout, or a file that appears
// (by rename of a temporary file beside it) only when Commit succeeds.
type Output struct {
	*bufio.Writer
	f    *os.File
	tmp  string // temporary path; "" for stdout
	path string
	done bool
}

// Output opens the stage's output: the -o file (atomic), or stdout. It
// refuses to write Arrow to a terminal, like zstd does.
func (s *Stage) Output() (*Output, error) {
	if s.out != "" && s.out != "-" {
		return CreateAtomic(s.out)
	}
	if IsTerminal(os.Stdout) {
		return nil, Usagef("refusing to write an Arrow stream to a terminal; redirect stdout (> out.arrows), pipe it to the next stage, or use -o FILE")
	}
	return &Output{Writer: bufio.NewWriterSize(os.Stdout, 1<<20), f: os.Stdout}, nil
}

// CreateAtomic creates path's temporary sibling; the file appears at path
// only on Commit, and Abort (or a signal) removes the temporary file.
func CreateAtomic(path string) (*Output, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("create output: %w", err)
	}
	addTemp(f.Name())
	return &Output{Writer: bufio.NewWriterSize(f, 1<<20), f: f, tmp: f.Name(), path: path}, nil
}

// Path returns the final path of a file output ("" for stdout).
func (o *Output) Path() string { return o.path }

// Commit flushes the output; for a file it syncs, closes and renames the
// temporary file into place.
func (o *Output) Commit() error {
	if o.done {
		return nil
	}
	o.done = true
	if err := o.Flush(); err != nil {
		o.discard()
		return fmt.Errorf("write output: %w", err)
	}
	if o.tmp == "" {
		return nil
	}
	err := o.f.Sync()
	if cerr := o.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(o.tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(o.tmp, o.path)
	}
	if err != nil {
		os.Remove(o.tmp)
		dropTemp(o.tmp)
		return fmt.Errorf("write %s: %w", o.path, err)
	}
	dropTemp(o.tmp)
	return nil
}

// Abort discards a file output; it does nothing after Commit or for stdout
// (whatever was written there is gone already).
func (o *Output) Abort() {
	if o.done {
		return
	}
	o.done = true
	o.discard()
}

func (o *Output) discard() {
	if o.tmp != "" {
		o.f.Close()
		os.Remove(o.tmp)
		dropTemp(o.tmp)
	}
}

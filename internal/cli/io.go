package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"

	"github.com/siampipe/siampipe/internal/objstore"
	"github.com/siampipe/siampipe/internal/outfile"
)

// Input opens the stage's input: the -i file or object (s3://bucket/key,
// see Open), or stdin. It refuses a terminal on stdin with a hint, since
// siampipe streams come from pipes.
func (s *Stage) Input() (io.ReadCloser, error) {
	if objstore.IsURL(s.in) {
		r, err := Open(s.in)
		if err != nil {
			return nil, FileError("-i", s.in, err)
		}
		return r, nil
	}
	if s.in != "" && s.in != "-" {
		f, err := os.Open(s.in)
		if err != nil {
			return nil, fmt.Errorf("open input: %w", err)
		}
		return f, nil
	}
	if f, ok := s.stdin.(*os.File); ok && IsTerminal(f) {
		hint := ""
		if s.Common&InputFlag != 0 {
			hint = " or pass -i FILE"
		}
		return nil, Usagef("no input: stdin is a terminal; pipe a stream in (e.g. '%s')%s", s.Example, hint)
	}
	return io.NopCloser(s.stdin), nil
}

// Output is where a stage writes its result: stdout, or a file or object
// opened by CreateAtomic.
type Output struct {
	*bufio.Writer
	f    *outfile.File    // nil for stdout and objects
	obj  *objstore.Writer // nil but for an s3:// object
	done bool
}

// Output opens the stage's output: the -o file (see CreateAtomic), or
// stdout. It refuses to write Arrow to a terminal, like zstd does.
func (s *Stage) Output() (*Output, error) {
	if s.out != "" && s.out != "-" {
		o, err := CreateAtomic(s.out)
		if err != nil {
			if objstore.IsURL(s.out) {
				return nil, FileError("-o", s.out, err)
			}
			return nil, err
		}
		if o.f != nil && o.f.Direct() && IsTerminalFd(o.f.Fd()) {
			o.Abort()
			return nil, Usagef("-o %s is a terminal: refusing to write an Arrow stream to it; name a file, or pipe stdout to the next stage", s.out)
		}
		return o, nil
	}
	if f, ok := s.stdout.w.(*os.File); ok && IsTerminal(f) {
		return nil, Usagef("refusing to write an Arrow stream to a terminal; redirect stdout (> out.arrows), pipe it to the next stage, or use -o FILE")
	}
	return &Output{Writer: bufio.NewWriterSize(s.stdout, 1<<20)}, nil
}

// CreateAtomic opens path as an output file the way gzip does (package
// outfile): a regular file, new or existing, appears whole at path only on
// Commit, keeping an existing file's mode; a symbolic link is followed and
// stays a link; a device, FIFO or /dev/stdout-like path is written
// directly. Abort, or a signal that stops the stage, removes the temporary
// file. An s3://bucket/key URL is an object of a store (package objstore,
// configured by the AWS_* variables), uploaded in parts as it is written
// and made whole on Commit; Abort or a signal leaves no object. Every file
// a stage writes goes through it.
func CreateAtomic(path string) (*Output, error) {
	if objstore.IsURL(path) {
		c, err := objstore.Default()
		if err != nil {
			return nil, fmt.Errorf("output %s: %w", path, err)
		}
		// Not the stage's context: a stage stopped by a first signal
		// still writes its checkpoint.
		w, err := c.Create(context.Background(), path)
		if err != nil {
			return nil, storeHint(path, err)
		}
		return &Output{Writer: bufio.NewWriterSize(w, 1<<20), obj: w}, nil
	}
	f, err := outfile.Create(path)
	if err != nil {
		return nil, err
	}
	return &Output{Writer: bufio.NewWriterSize(f, 1<<20), f: f}, nil
}

// Path returns the path or URL of a file or object output as given (""
// for stdout).
func (o *Output) Path() string {
	switch {
	case o.obj != nil:
		return o.obj.Name()
	case o.f != nil:
		return o.f.Name()
	}
	return ""
}

// Commit flushes the output; a file is then finished (outfile.File.Commit:
// synced and renamed into place, or closed when written directly), an
// object's upload completed.
func (o *Output) Commit() error {
	if o.done {
		return nil
	}
	o.done = true
	if err := o.Flush(); err != nil {
		switch {
		case o.obj != nil:
			o.obj.Abort()
			return fmt.Errorf("write %w", storeHint(o.obj.Name(), err))
		case o.f != nil:
			o.f.Abort()
			return fmt.Errorf("write %s: %w", o.f.Name(), err)
		}
		return fmt.Errorf("write output: %w", err)
	}
	switch {
	case o.obj != nil:
		if err := o.obj.Commit(); err != nil {
			return fmt.Errorf("write %w", storeHint(o.obj.Name(), err))
		}
		return nil
	case o.f != nil:
		return o.f.Commit()
	}
	return nil
}

// Abort discards a file output; it does nothing after Commit or for stdout
// (whatever was written there is gone already).
func (o *Output) Abort() {
	if o.done {
		return
	}
	o.done = true
	if o.f != nil {
		o.f.Abort()
	}
	if o.obj != nil {
		o.obj.Abort()
	}
}

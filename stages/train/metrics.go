package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/siampipe/siampipe/internal/cli"
	"github.com/siampipe/siampipe/internal/trainlog"
)

// cutMetrics drops from the metrics file at path the lines of steps after
// step, the checkpoint a run resumes from, so that the resumed run's lines
// follow on without logging a step twice. The file is rewritten atomically
// (a symbolic link keeps pointing at it) and only when there is something
// to drop; a missing file, or one that is not a regular file (a pipe), is
// left alone. An s3:// object is rewritten likewise. It returns the number
// of lines dropped.
func cutMetrics(path string, step int) (int, error) {
	target := path
	if !cli.IsObject(path) {
		t, err := filepath.EvalSymlinks(path)
		if errors.Is(err, fs.ErrNotExist) {
			return 0, nil
		}
		if err != nil {
			return 0, fmt.Errorf("metrics: %w", err)
		}
		st, err := os.Stat(t)
		if err != nil {
			return 0, fmt.Errorf("metrics: %w", err)
		}
		if !st.Mode().IsRegular() {
			return 0, nil
		}
		target = t
	}
	in, err := cli.Open(target)
	if cli.IsObject(path) && cli.NotExist(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("metrics: %w", err)
	}
	defer in.Close()
	out, err := cli.CreateAtomic(target)
	if err != nil {
		return 0, fmt.Errorf("metrics: %w", err)
	}
	defer out.Abort()
	n, err := trainlog.CutAfter(in, out, step)
	if err != nil {
		return 0, fmt.Errorf("metrics %s: %w (the file is not train's metrics log: move it away or pass another --metrics)", path, err)
	}
	if n == 0 {
		return 0, nil
	}
	if err := out.Commit(); err != nil {
		return 0, fmt.Errorf("metrics: %w", err)
	}
	return n, nil
}

package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestSIGINTUnderDeadTeeCheckpointsAndExits130 is 'train ... 2>&1 | tee log'
// and Ctrl-C: the terminal's SIGINT kills tee too, so train's stderr is a
// pipe without a reader when it logs the interrupt. train must still finish
// its step, write the interrupt checkpoint and exit 130, every time (it died
// of SIGPIPE with 141 and, 1 run in 4, no checkpoint).
func TestSIGINTUnderDeadTeeCheckpointsAndExits130(t *testing.T) {
	dir := t.TempDir()
	in := pairs(t, dir, 4, 48)
	for i := range 5 {
		ck := filepath.Join(dir, "ck"+strconv.Itoa(i))
		mf := filepath.Join(dir, "m"+strconv.Itoa(i)+".jsonl")
		out := filepath.Join(dir, "out.arrows")
		cmd := exec.Command(binary, "-i", in, "--batch-size", "8", "--save-every", "0", "--log-every", "1",
			"--checkpoint-dir", ck, "--metrics", mf, "-o", out)
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = w
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		w.Close()
		tee := make(chan struct{})
		go func() { io.Copy(io.Discard, r); close(tee) }()
		for end := time.Now().Add(60 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
			if b, _ := os.ReadFile(mf); bytes.Count(b, []byte("\n")) >= 2 {
				break
			}
		}
		r.Close() // tee dies first...
		<-tee
		cmd.Process.Signal(syscall.SIGINT) // ...then train gets the same SIGINT
		err = cmd.Wait()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode() // -1: killed by a signal
		}
		m, _ := filepath.Glob(filepath.Join(ck, "step-*.arrows"))
		if code != 130 || len(m) != 1 {
			t.Fatalf("run %d: exit %d (%v), interrupt checkpoints %v; want 130 and one step-NNNNNNN.arrows", i, code, err, m)
		}
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("run %d: the interrupted run wrote -o", i)
		}
	}
}

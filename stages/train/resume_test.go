package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/siampipe/siampipe/internal/contract"
)

// TestResumePathPicksTheMostSteps: --resume DIR takes the checkpoint with
// the most steps among DIR's epoch-NNNN and step-NNNNNNN files, skipping
// with a log line one whose metadata cannot be read; a file is taken as
// given.
func TestResumePathPicksTheMostSteps(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, step int) {
		var b bytes.Buffer
		meta := contract.Meta{contract.MetaStep: strconv.Itoa(step)}
		ts := []contract.Tensor{{Name: "w", Shape: []int{1}, Values: []float32{1}}}
		if err := contract.WriteModel(&b, meta, ts, contract.Options{}); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("epoch-0001.arrows", 8)
	write("step-0000012.arrows", 12) // an interrupt after epoch 1
	write("epoch-0002.arrows", 16)
	write("model.arrows", 99) // not a checkpoint name
	os.WriteFile(filepath.Join(dir, "epoch-0003.arrows"), []byte("torn"), 0o644)
	var logs []string
	logf := func(f string, a ...any) { logs = append(logs, f) }
	got, err := resumePath(dir, logf)
	if err != nil || got != filepath.Join(dir, "epoch-0002.arrows") {
		t.Fatalf("resumePath(dir) = %q, %v; want epoch-0002.arrows", got, err)
	}
	if !strings.Contains(strings.Join(logs, "|"), "skipping") {
		t.Errorf("no log line for the unreadable checkpoint: %q", logs)
	}
	file := filepath.Join(dir, "epoch-0001.arrows")
	if got, err := resumePath(file, logf); got != file || err != nil {
		t.Errorf("resumePath(file) = %q, %v; want the file", got, err)
	}
	if _, err := resumePath(t.TempDir(), logf); err == nil || !strings.Contains(err.Error(), "no checkpoint") {
		t.Errorf("resumePath(empty dir): %v, want no checkpoint", err)
	}
}

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/siampipe/siampipe/internal/contract"
)

// TestCutStreamKeepsTheStepsDone: a pairs stream cut in the middle of a
// record (augment killed while train reads) is an error, but the steps
// done before the cut are saved in a checkpoint that --resume continues
// from.
func TestCutStreamKeepsTheStepsDone(t *testing.T) {
	dir := t.TempDir()
	in := pairs(t, dir, 2, 64)
	whole, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.arrows")
	if err := os.WriteFile(cut, whole[:len(whole)*3/4], 0o644); err != nil {
		t.Fatal(err)
	}
	ckpt := filepath.Join(dir, "ckpt")
	r := run(t, append(small, "-i", cut, "--checkpoint-dir", ckpt, "--save-every", "0", "-o", filepath.Join(dir, "model.arrows"), "--quiet")...)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1; stderr %q", r.code, r.stderr)
	}
	if lines := strings.Split(strings.TrimSpace(r.stderr), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], "train: ") {
		t.Fatalf("stderr %q: want one line starting train:", r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "model.arrows")); err == nil {
		t.Fatal("a cut stream gave a model")
	}
	saved, _ := filepath.Glob(filepath.Join(ckpt, "step-*.arrows"))
	if len(saved) != 1 {
		t.Fatalf("checkpoints after the cut: %v, want one step-*.arrows", saved)
	}
	meta, _ := readModel(t, saved[0])
	if meta[contract.MetaStep] == "0" || meta[contract.MetaStep] == "" {
		t.Fatalf("the checkpoint records step %q, want the steps done before the cut", meta[contract.MetaStep])
	}
	r = run(t, append(small, "-i", in, "--resume", saved[0], "--checkpoint-dir", ckpt, "-o", filepath.Join(dir, "model.arrows"), "--quiet")...)
	if r.code != 0 {
		t.Fatalf("resume from the cut's checkpoint: exit %d: %s", r.code, r.stderr)
	}
}

// TestResumeRefusesAnEditedCheckpoint: a checkpoint whose learning rate was
// edited to NaN is refused in one line, not resumed into a NaN model.
func TestResumeRefusesAnEditedCheckpoint(t *testing.T) {
	dir := t.TempDir()
	in := pairs(t, dir, 2, 64)
	ckpt := filepath.Join(dir, "ckpt")
	if r := run(t, append(small, "-i", in, "--checkpoint-dir", ckpt, "--save-every", "1", "-o", filepath.Join(dir, "m.arrows"), "--quiet")...); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	meta, ts := readModel(t, filepath.Join(ckpt, "epoch-0001.arrows"))
	meta[contract.MetaTrainLR] = "NaN"
	var b bytes.Buffer
	if err := contract.WriteModel(&b, meta, ts, contract.Options{}); err != nil {
		t.Fatal(err)
	}
	edited := filepath.Join(dir, "edited.arrows")
	if err := os.WriteFile(edited, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	r := run(t, append(small, "-i", in, "--resume", edited, "--checkpoint-dir", ckpt, "-o", filepath.Join(dir, "r.arrows"), "--quiet")...)
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if r.code != 1 || len(lines) != 1 || !strings.Contains(lines[0], "learning rate NaN") {
		t.Fatalf("exit %d, stderr %q: want exit 1 and one line naming the learning rate", r.code, r.stderr)
	}
}

package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/siampipe/siampipe/internal/contract"
)

// TestDepthShapesTheBackboneAndResumes: --depth 2 gives every stage a
// stride-1 convolution of its width after the stride-2 one (the projector
// sees the same size), records the depth, and resumes from its epoch-1
// checkpoint bit for bit without the flag; a --depth that disagrees with
// the checkpoint is refused, as is a checkpoint whose metadata lost its
// depth.
func TestDepthShapesTheBackboneAndResumes(t *testing.T) {
	dir := t.TempDir()
	in := pairs(t, dir, 2, 16)
	args := append([]string{"-i", in, "--save-every", "1", "--quiet", "--depth", "2"}, small...)
	full := filepath.Join(dir, "full.arrows")
	ck := filepath.Join(dir, "ck")
	if r := run(t, append(args, "-o", full, "--checkpoint-dir", ck)...); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	meta, ts := readModel(t, full)
	if meta[contract.MetaDepth] != "2" {
		t.Errorf("metadata %s = %q, want 2", contract.MetaDepth, meta[contract.MetaDepth])
	}
	if c := readCheckpoint(t, full); c.Depth != 2 {
		t.Errorf("header depth %d, want 2", c.Depth)
	}
	shapes := map[string]string{}
	for _, x := range ts {
		shapes[x.Name] = fmt.Sprint(x.Shape)
	}
	for name, want := range map[string]string{
		"backbone.conv1.weight": "[4 1 3 3]", "backbone.conv1_2.weight": "[4 4 3 3]", "backbone.bn1_2.running_var": "[4]",
		"backbone.conv2.weight": "[8 4 3 3]", "backbone.conv2_2.weight": "[8 8 3 3]", "backbone.bn2_2.weight": "[8]",
		"projector.fc1.weight": fmt.Sprint([]int{8, 8 * 7 * 7}), "optim.backbone.conv2_2.weight.momentum_buffer": "[8 8 3 3]",
	} {
		if shapes[name] != want {
			t.Errorf("%s shape %q, want %s", name, shapes[name], want)
		}
	}
	for _, name := range []string{"backbone.conv1_3.weight", "backbone.conv3.weight"} {
		if _, ok := shapes[name]; ok {
			t.Errorf("--depth 2 --channels 4,8 built %s", name)
		}
	}

	first := filepath.Join(ck, "epoch-0001.arrows")
	resumeMatchesAndRefuses(t, dir, in, full, first, []refusal{
		{[]string{"--depth", "1"}, "--depth 1 (checkpoint: 2)"},
		{[]string{"--depth", "3"}, "--depth 3 (checkpoint: 2)"},
	})
	// The same depth, given explicitly, is no conflict.
	if r := run(t, "-i", in, "-o", filepath.Join(dir, "same.arrows"), "--checkpoint-dir", filepath.Join(dir, "ck3"), "--resume", first, "--quiet", "--depth", "2"); r.code != 0 {
		t.Errorf("resume with the checkpoint's --depth 2: exit %d: %s", r.code, r.stderr)
	}
	// A depth-1 checkpoint refuses --depth 2 on resume.
	shallow := filepath.Join(dir, "shallow.arrows")
	if r := run(t, append([]string{"-i", in, "--save-every", "0", "--quiet", "-o", shallow}, small...)...); r.code != 0 {
		t.Fatalf("depth 1: exit %d: %s", r.code, r.stderr)
	}
	if r := run(t, "-i", in, "-o", filepath.Join(dir, "y.arrows"), "--resume", shallow, "--quiet", "--depth", "2"); r.code != 2 || !strings.Contains(r.stderr, "--depth 2 (checkpoint: 1)") {
		t.Errorf("resume of a depth-1 checkpoint with --depth 2: exit %d, stderr %q", r.code, r.stderr)
	}

	// Metadata that lost the depth says 1, which the tensors contradict.
	meta, ts = readModel(t, first)
	delete(meta, contract.MetaDepth)
	var buf bytes.Buffer
	if err := contract.WriteModel(&buf, meta, ts, contract.Options{}); err != nil {
		t.Fatal(err)
	}
	edited := filepath.Join(dir, "edited.arrows")
	if err := os.WriteFile(edited, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	r := run(t, "-i", in, "-o", filepath.Join(dir, "z.arrows"), "--resume", edited, "--quiet")
	if lines := strings.Split(strings.TrimSpace(r.stderr), "\n"); r.code != 1 || len(lines) != 1 || !strings.Contains(lines[0], "backbone of depth 2, its metadata says 1") {
		t.Errorf("resume of a depth-2 checkpoint without its depth: exit %d, stderr %q", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "z.arrows")); err == nil {
		t.Error("a refused resume wrote its output")
	}
}

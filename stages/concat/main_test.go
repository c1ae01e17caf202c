package main

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/png"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/siampipe/siampipe/internal/arch"
	"github.com/siampipe/siampipe/internal/contract"
	"github.com/siampipe/siampipe/internal/shard"
	"github.com/siampipe/siampipe/internal/stagetest"
)

const fmnist = "/usr/share/datasets/fashion-mnist"

// bin holds the stage binaries; fix the shared inputs: images.arrows (the
// first 300 test images), test.arrows (all 10,000) and model.arrows.
var bin, fix string

func TestMain(m *testing.M) { os.Exit(setUp(m)) }

func setUp(m *testing.M) int {
	dir, err := os.MkdirTemp("", "concat-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin, fix = filepath.Join(dir, "bin"), filepath.Join(dir, "fix")
	if err := stagetest.Build(bin, "fetch", "augment", "embed", "concat"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := os.MkdirAll(fix, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// needData skips the test when FashionMNIST is not installed and writes the
// fixtures the first time.
func needData(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(fmnist, "t10k-images-idx3-ubyte.gz")); err != nil {
		t.Skipf("FashionMNIST not installed in %s (apt-get install dataset-fashion-mnist)", fmnist)
	}
	if _, err := os.Stat(filepath.Join(fix, "model.arrows")); err == nil {
		return
	}
	mustRun(t, nil, "fetch", "--split", "test", "--limit", "300", "--dir", fmnist, "-o", filepath.Join(fix, "images.arrows"))
	mustRun(t, nil, "fetch", "--split", "test", "--dir", fmnist, "-o", filepath.Join(fix, "test.arrows"))
	writeFolder(t, filepath.Join(fix, "folder"))
	writeModel(t, filepath.Join(fix, "model.arrows"))
}

// writeFolder writes an image folder of two classes of 60 files each:
// random 8x8 grey PNGs, but for 3 files of each class that are not images.
func writeFolder(t *testing.T, dir string) {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 1))
	for _, class := range []string{"a", "b"} {
		if err := os.MkdirAll(filepath.Join(dir, class), 0o755); err != nil {
			t.Fatal(err)
		}
		for i := range 60 {
			var b bytes.Buffer
			if i%23 == 5 {
				b.WriteString("not an image")
			} else {
				im := image.NewGray(image.Rect(0, 0, 8, 8))
				for j := range im.Pix {
					im.Pix[j] = uint8(r.UintN(256))
				}
				if err := png.Encode(&b, im); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(dir, class, fmt.Sprintf("%02d.png", i)), b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// writeModel writes stagetest's small seed-arch checkpoint to path.
func writeModel(t *testing.T, path string) {
	t.Helper()
	b, _ := stagetest.SmallCheckpoint(t, contract.Meta{contract.MetaArch: arch.Seed})
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// run runs a stage binary with args and the extra environment env, and
// returns its exit code and stderr.
func run(t *testing.T, env []string, stage string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(bin, stage), args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), stderr.String()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, stderr.String()
}

func mustRun(t *testing.T, env []string, stage string, args ...string) {
	t.Helper()
	if code, stderr := run(t, env, stage, append([]string{"--quiet"}, args...)...); code != 0 {
		t.Fatalf("%s %s: exit %d: %s", stage, strings.Join(args, " "), code, stderr)
	}
}

// mapStage is a sharded stage and how it is run on the fixtures.
type mapStage struct {
	name string
	args func() []string
}

func mapStages() []mapStage {
	f := func(name string) string { return filepath.Join(fix, name) }
	return []mapStage{
		// 1000 rows: one record batch.
		{"fetch", func() []string { return []string{"--split", "test", "--limit", "1000", "--dir", fmnist} }},
		// 5000 rows, compressed: two record batches of 4096 and 904 rows.
		{"fetch", func() []string {
			return []string{"--split", "test", "--limit", "5000", "--dir", fmnist, "--compress", "zstd"}
		}},
		// 14 epochs of 300 pairs: two record batches, the first across epochs.
		{"augment", func() []string {
			return []string{"-i", f("images.arrows"), "--epochs", "14", "--seed", "3", "--crop-scale", "0.5", "--flip"}
		}},
		// 10,000 rows of 128-d features: record batches of 8192 and 1808 rows.
		{"embed", func() []string { return []string{"-i", f("test.arrows"), "--model", f("model.arrows")} }},
		{"embed", func() []string {
			return []string{"-i", f("images.arrows"), "--model", f("model.arrows"), "--layer", "predictor", "--compress", "zstd"}
		}},
		// 120 files, 6 of them bad and skipped: no siampipe.rows, shards of
		// fewer rows than their siampipe.shard.rows.
		{"fetch", func() []string { return []string{"--folder", f("folder"), "--skip-bad"} }},
	}
}

// compress returns the --compress value in args, for concat.
func compress(args []string) []string {
	for i, a := range args {
		if a == "--compress" {
			return args[i : i+2]
		}
	}
	return nil
}

// TestShardsJoinToTheWholeStreamsBytes runs each map stage whole and in N
// shards for N = 1, 2, 3 and 7, joins the shards with concat (named in
// reverse order) and demands the whole stream's bytes.
func TestShardsJoinToTheWholeStreamsBytes(t *testing.T) {
	needData(t)
	for k, st := range mapStages() {
		args := st.args()
		t.Run(fmt.Sprintf("%d-%s", k, st.name), func(t *testing.T) {
			dir := t.TempDir()
			whole := filepath.Join(dir, "whole.arrows")
			mustRun(t, nil, st.name, append(args, "-o", whole)...)
			want, err := os.ReadFile(whole)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range []int{1, 2, 3, 7} {
				var shards []string
				for i := range n {
					p := filepath.Join(dir, fmt.Sprintf("shard-%d-of-%d.arrows", i, n))
					mustRun(t, nil, st.name, append(args, "--shard", fmt.Sprintf("%d/%d", i, n), "-o", p)...)
					shards = append([]string{p}, shards...)
				}
				joined := filepath.Join(dir, fmt.Sprintf("joined-%d.arrows", n))
				mustRun(t, nil, "concat", append(append(compress(args), "-o", joined), shards...)...)
				got, err := os.ReadFile(joined)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%d shards joined: %d bytes differing from the whole stream's %d", n, len(got), len(want))
				}
			}
		})
	}
}

// TestShardsOfAnIndexedJobAreThoseOfShard runs each stage as pod i of a
// Kubernetes Indexed Job of 3 (--shards 3, $JOB_COMPLETION_INDEX=i) and
// demands the bytes of --shard i/3.
func TestShardsOfAnIndexedJobAreThoseOfShard(t *testing.T) {
	needData(t)
	for _, st := range mapStages()[:4] {
		args := st.args()
		dir := t.TempDir()
		for i := range 3 {
			a, b := filepath.Join(dir, "flag.arrows"), filepath.Join(dir, "env.arrows")
			mustRun(t, nil, st.name, append(args, "--shard", fmt.Sprintf("%d/3", i), "-o", a)...)
			mustRun(t, []string{shard.EnvIndex + "=" + fmt.Sprint(i)}, st.name, append(args, "--shards", "3", "-o", b)...)
			x, _ := os.ReadFile(a)
			y, _ := os.ReadFile(b)
			if len(x) == 0 || !bytes.Equal(x, y) {
				t.Errorf("%s: $%s=%d --shards 3 wrote %d bytes, --shard %d/3 %d other bytes", st.name, shard.EnvIndex, i, len(y), i, len(x))
			}
		}
	}
}

// TestShardFlagErrors checks the flag errors: one line, exit 2, before any
// work, for every sharded stage.
func TestShardFlagErrors(t *testing.T) {
	needData(t)
	for _, st := range mapStages()[:4] {
		for _, c := range []struct {
			args []string
			env  string
			want string
		}{
			{[]string{"--shard", "3/2"}, "", "--shard 3/2: want a shard index in 0..1"},
			{[]string{"--shard", "x"}, "", `--shard "x": want I/N`},
			{[]string{"--shard", "0/0"}, "", "--shard 0/0: want 1..2147483647 shards"},
			{[]string{"--shard", "-1/2"}, "", "want a shard index in 0..1"},
			{[]string{"--shards", "0"}, "0", "--shards 0: want 1..2147483647 shards"},
			{[]string{"--shards", "3"}, "", "--shards 3: $JOB_COMPLETION_INDEX is not set"},
			{[]string{"--shards", "3"}, "3", `$JOB_COMPLETION_INDEX="3": want a shard index in 0..2`},
			{[]string{"--shard", "0/2", "--shards", "3"}, "", "--shard 0/2 and --shards 3 disagree"},
		} {
			out := filepath.Join(t.TempDir(), "out")
			env := []string{shard.EnvIndex + "=" + c.env}
			code, stderr := run(t, env, st.name, append(append(st.args(), c.args...), "-o", out)...)
			if code != 2 || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, st.name+": ") || !strings.Contains(stderr, c.want) {
				t.Errorf("%s %v with $%s=%q: exit %d, %q; want exit 2 and one line with %q", st.name, c.args, shard.EnvIndex, c.env, code, stderr, c.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("%s %v: the output was written", st.name, c.args)
			}
		}
	}
	// More shards than rows: a runtime error naming the fix.
	code, stderr := run(t, nil, "fetch", "--split", "test", "--limit", "5", "--dir", fmnist, "--shard", "3/7", "-o", filepath.Join(t.TempDir(), "out"))
	if code != 1 || stderr != "fetch: shard 3/7 of 5 rows has no row: empty shard (use at most 5 shards)\n" {
		t.Errorf("--limit 5 --shard 3/7: exit %d, %q", code, stderr)
	}
}

// TestConcatRefusesWhatIsNotOneStreamsShards writes shards and feeds concat
// wrong sets of them: each is refused in one line naming the file.
func TestConcatRefusesWhatIsNotOneStreamsShards(t *testing.T) {
	needData(t)
	dir := t.TempDir()
	f := func(name string) string { return filepath.Join(dir, name) }
	im := filepath.Join(fix, "images.arrows")
	aug := []string{"-i", im, "--epochs", "2"}
	for i := range 3 {
		mustRun(t, nil, "augment", append(aug, "--seed", "1", "--shard", fmt.Sprintf("%d/3", i), "-o", f(fmt.Sprintf("p%d.arrows", i)))...)
	}
	mustRun(t, nil, "augment", append(aug, "--seed", "2", "--shard", "2/3", "-o", f("p2-seed2.arrows"))...)
	mustRun(t, nil, "augment", append(aug, "--seed", "1", "--shard", "2/4", "-o", f("p2-of-4.arrows"))...)
	mustRun(t, nil, "augment", append(aug, "--seed", "1", "-o", f("whole.arrows"))...)
	fetch := []string{"--dir", fmnist, "--limit", "100"}
	mustRun(t, nil, "fetch", append(fetch, "--split", "test", "--shard", "0/2", "-o", f("test0.arrows"))...)
	mustRun(t, nil, "fetch", append(fetch, "--split", "train", "--shard", "1/2", "-o", f("train1.arrows"))...)
	mustRun(t, nil, "fetch", append(fetch, "--split", "test", "--limit", "120", "--shard", "1/2", "-o", f("test1-120.arrows"))...)
	mustRun(t, nil, "embed", "-i", im, "--model", filepath.Join(fix, "model.arrows"), "--shard", "1/3", "-o", f("e1.arrows"))
	p1, err := os.ReadFile(f("p1.arrows"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f("p1-copy.arrows"), p1, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f("p1-cut.arrows"), p1[:len(p1)*2/3], 0o644); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name  string
		files []string
		want  string
	}{
		{"missing", []string{"p0", "p2"}, "shard 1/3 is missing: got " + f("p0.arrows") + " (0/3), " + f("p2.arrows") + " (2/3)"},
		{"missing last", []string{"p0", "p1"}, "shard 2/3 is missing"},
		{"duplicate", []string{"p0", "p1", "p1-copy", "p2"}, f("p1-copy.arrows") + " is shard 1/3 again (so is " + f("p1.arrows") + ")"},
		{"given twice", []string{"p0", "p1", "p2", "p1"}, f("p1.arrows") + " is given twice (shard 1/3)"},
		{"other seed", []string{"p0", "p1", "p2-seed2"}, f("p2-seed2.arrows") + ` is not a shard of the stream ` + f("p0.arrows") + ` is a shard of: its siampipe.seed is "2", ` + f("p0.arrows") + `'s "1"`},
		{"other shard count", []string{"p0", "p1", "p2-of-4"}, f("p2-of-4.arrows") + " is shard 2/4, " + f("p0.arrows") + " shard 0/3"},
		{"other split", []string{"test0", "train1"}, f("train1.arrows") + ` is not a shard of the stream ` + f("test0.arrows") + ` is a shard of: its siampipe.source is`},
		{"other limit", []string{"test0", "test1-120"}, f("test1-120.arrows") + " is a shard of 120 rows, " + f("test0.arrows") + " of 100: not shards of one stream"},
		{"mixed kinds", []string{"p0", "e1", "p2"}, f("e1.arrows") + " is a features stream, " + f("p0.arrows") + " a pairs stream"},
		{"not a shard", []string{"p0", "whole"}, f("whole.arrows") + " is not a shard: its pairs stream has no siampipe.shard metadata"},
		{"truncated", []string{"p0", "p1-cut", "p2"}, f("p1-cut.arrows") + ": "},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := []string{"-o", f("out.arrows")}
			for _, file := range c.files {
				args = append(args, f(file+".arrows"))
			}
			code, stderr := run(t, nil, "concat", args...)
			if code != 1 || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "concat: ") || !strings.Contains(stderr, c.want) {
				t.Errorf("exit %d, %q; want exit 1 and one line with %q", code, stderr, c.want)
			}
			if _, err := os.Stat(f("out.arrows")); err == nil {
				t.Errorf("the output was written")
			}
		})
	}

	// The right shards, one of them on stdin, join to the whole.
	cmd := exec.Command(filepath.Join(bin, "concat"), "--quiet", f("p2.arrows"), "-", f("p0.arrows"))
	in, err := os.Open(f("p1.arrows"))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	cmd.Stdin = in
	got, err := cmd.Output()
	want, _ := os.ReadFile(f("whole.arrows"))
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("shards on stdin and in files: %v, %d bytes, want the whole's %d", err, len(got), len(want))
	}
}

func TestConcatUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "concat: no shards to join: name the shard files"},
		{[]string{"-", "-"}, "concat: - is given twice: stdin can be read once"},
		{[]string{"a.arrows", "-o", "x"}, "concat: -o after the shard files: flags go first"},
		{[]string{"--shard", "0/2", "a.arrows"}, "concat: flag provided but not defined: -shard"},
	} {
		code, stderr := run(t, nil, "concat", c.args...)
		if code != 2 || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, c.want) {
			t.Errorf("concat %v: exit %d, %q; want exit 2 and %q", c.args, code, stderr, c.want)
		}
	}
	code, stderr := run(t, nil, "concat", "-o", filepath.Join(t.TempDir(), "x"), "missing.arrows")
	if code != 1 || stderr != "concat: open missing.arrows: no such file or directory\n" {
		t.Errorf("a missing file: exit %d, %q", code, stderr)
	}
}

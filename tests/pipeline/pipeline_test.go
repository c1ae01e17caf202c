// Package pipeline_test runs pipeline.sh end to end on a few hundred images:
// Ctrl-C and resume, the cache's verification of its entries, the removal of
// stale temporary files, and the rebuild of the stages when any input of
// go build changes. Each run takes seconds; the data set comes from Debian's
// dataset-fashion-mnist (test.sh installs it), and nothing is installed here.
package pipeline_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/siampipe/siampipe/internal/contract"
	"github.com/siampipe/siampipe/internal/objstore"
	"github.com/siampipe/siampipe/internal/objstore/s3test"
)

// repo is a copy of the repository's build inputs and pipeline.sh in a
// temporary folder, so that the tests build into its bin/, not the
// developer's. The tests of this package run one after another.
var repo string

// small is the pipeline's configuration in these tests: 512 images of each
// split, batches of 64 (8 steps an epoch).
var small = []string{"--limit", "512", "--batch-size", "64"}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "siampipe-pipeline-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	repo = filepath.Join(dir, "repo")
	if err := copyRepo(repo); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// copyRepo copies what pipeline.sh needs (itself, go.mod, go.sum, internal/
// and stages/) from the repository that holds this test into dst.
func copyRepo(dst string) error {
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	root := wd
	for {
		if _, err := os.Stat(filepath.Join(root, "pipeline.sh")); err == nil {
			break
		}
		parent := filepath.Dir(root)
		if parent == root {
			return fmt.Errorf("no pipeline.sh in %s or above", wd)
		}
		root = parent
	}
	for _, name := range []string{"pipeline.sh", "go.mod", "go.sum", "internal", "stages"} {
		err := filepath.WalkDir(filepath.Join(root, name), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, path)
			if d.IsDir() {
				return os.MkdirAll(filepath.Join(dst, rel), 0o755)
			}
			if !d.Type().IsRegular() {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, rel)), 0o755); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dst, rel), b, info.Mode().Perm())
		})
		if err != nil {
			return fmt.Errorf("copy the repository: %w", err)
		}
	}
	return nil
}

// needData fails the test when the data set is missing (rather than letting
// pipeline.sh install it).
func needData(t *testing.T) {
	t.Helper()
	if os.Getenv("SIAMPIPE_DATA") != "" {
		return
	}
	if _, err := os.Stat("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"); err != nil {
		t.Fatal("FashionMNIST is missing: apt-get install dataset-fashion-mnist (./test.sh does)")
	}
}

// result is how a pipeline run ended.
type result struct {
	code   int    // exit status; -1 when a signal killed it
	stderr string // everything it logged
}

// pipeline prepares a run of root's pipeline.sh with args, with stderr
// collected in buf. SIAMPIPE_* variables of the caller's environment are
// dropped (but SIAMPIPE_DATA), so that only args configure the run.
func pipeline(ctx context.Context, root string, buf *bytes.Buffer, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(root, "pipeline.sh"), args...)
	cmd.Dir = root
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SIAMPIPE_") || strings.HasPrefix(kv, "SIAMPIPE_DATA=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Stdout = io.Discard
	cmd.Stderr = buf
	// A stage that outlived the script would keep stderr open.
	cmd.WaitDelay = time.Minute
	return cmd
}

// runIn runs root's pipeline.sh to its end with args.
func runIn(t *testing.T, root string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var buf bytes.Buffer
	cmd := pipeline(ctx, root, &buf, args...)
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("pipeline.sh %s: %v\n%s", strings.Join(args, " "), err, buf.String())
	}
	return result{code: cmd.ProcessState.ExitCode(), stderr: buf.String()}
}

// mustRun runs the pipeline and fails the test unless it succeeds.
func mustRun(t *testing.T, root string, args ...string) result {
	t.Helper()
	r := runIn(t, root, args...)
	if r.code != 0 {
		t.Fatalf("pipeline.sh %s: exit %d\n%s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r
}

// dirs returns the --out and --cache flags of a fresh pair of folders.
func dirs(t *testing.T) (out, cache string, args []string) {
	d := t.TempDir()
	out, cache = filepath.Join(d, "out"), filepath.Join(d, "cache")
	return out, cache, []string{"--out", out, "--cache", cache}
}

func args(extra ...[]string) []string {
	var a []string
	for _, e := range extra {
		a = append(a, e...)
	}
	return a
}

// one returns the single file matching pattern.
func one(t *testing.T, pattern string) string {
	t.Helper()
	m, _ := filepath.Glob(pattern)
	if len(m) != 1 {
		t.Fatalf("want one file matching %s, found %v", pattern, m)
	}
	return m[0]
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// endsWithEOS reports whether b ends with the Arrow IPC end-of-stream marker.
func endsWithEOS(b []byte) bool {
	return bytes.HasSuffix(b, []byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0})
}

// trainLog is the step and loss of each line of a metrics log.
func trainLog(t *testing.T, path string) []string {
	t.Helper()
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(read(t, path)))
	for sc.Scan() {
		var m struct {
			Step int     `json:"step"`
			Loss float64 `json:"loss"`
		}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: %q: %v", path, sc.Text(), err)
		}
		lines = append(lines, fmt.Sprintf("step %d loss %v", m.Step, m.Loss))
	}
	return lines
}

// results is an eval report without its timings, which differ run to run.
func results(t *testing.T, path string) string {
	t.Helper()
	var r map[string]any
	if err := json.Unmarshal(read(t, path), &r); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	delete(r, "timings")
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestInterruptCheckpointsAndRerunResumesToSameModel sends SIGINT to the
// pipeline's process group while train runs, as a terminal's Ctrl-C does: the
// pipeline must say so and exit 130 (not die of SIGPIPE, 141) after train has
// written a checkpoint, and the next run must resume from the checkpoint with
// the most steps, skipping a damaged one, and end with the model bytes and
// the losses of an uninterrupted run.
func TestInterruptCheckpointsAndRerunResumesToSameModel(t *testing.T) {
	needData(t)
	epochs := []string{"--epochs", "12"} // 96 steps; the signal comes after step 10
	refOut, _, refDirs := dirs(t)
	mustRun(t, repo, args(small, epochs, refDirs)...)

	out, cache, runDirs := dirs(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var buf bytes.Buffer
	cmd := pipeline(ctx, repo, &buf, args(small, epochs, runDirs)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	// train writes its first metrics line after 10 steps, into the file the
	// pipeline gives it (a temporary one in the cache, or the one beside the
	// checkpoints).
	logged := func() bool {
		for _, pattern := range []string{"metrics-*.jsonl.tmp*", filepath.Join("checkpoints-*", "metrics*.jsonl")} {
			m, _ := filepath.Glob(filepath.Join(cache, pattern))
			for _, f := range m {
				if b, _ := os.ReadFile(f); bytes.Contains(b, []byte("\n")) {
					return true
				}
			}
		}
		return false
	}
	for !logged() {
		select {
		case <-exited:
			t.Fatalf("pipeline ended (%v) before train logged metrics:\n%s", cmd.ProcessState, buf.String())
		case <-ctx.Done():
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
			t.Fatalf("train logged no metrics in time:\n%s", buf.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	<-exited
	log := buf.String()
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Fatalf("interrupted pipeline: exit %d (%v), want 130\n%s", code, cmd.ProcessState, log)
	}
	if !strings.Contains(log, "pipeline: interrupted") {
		t.Errorf("interrupted pipeline did not say 'pipeline: interrupted':\n%s", log)
	}
	if strings.Contains(log, "failed") {
		t.Errorf("interrupted pipeline reports a failure:\n%s", log)
	}
	if m, _ := filepath.Glob(filepath.Join(cache, "model-*.arrows")); len(m) != 0 {
		t.Fatalf("train finished before the signal (%v): nothing to resume; the test needs a slower train", m)
	}
	ckpt := one(t, filepath.Join(cache, "checkpoints-*", "step-*.arrows"))
	if !endsWithEOS(read(t, ckpt)) {
		t.Fatalf("interrupt checkpoint %s is not a whole Arrow stream", ckpt)
	}
	steps, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(ckpt), "step-"), ".arrows"))
	if err != nil || steps < 10 || steps >= 96 {
		t.Fatalf("interrupt checkpoint %s: want one between step 10 and 95", ckpt)
	}

	// A checkpoint with more steps that is cut short must be skipped.
	whole := read(t, ckpt)
	bad := filepath.Join(filepath.Dir(ckpt), fmt.Sprintf("step-%07d.arrows", steps+20))
	if err := os.WriteFile(bad, whole[:len(whole)-100], 0o644); err != nil {
		t.Fatal(err)
	}

	r := mustRun(t, repo, args(small, epochs, runDirs)...)
	if !strings.Contains(r.stderr, fmt.Sprintf("checkpoint %s is damaged", bad)) {
		t.Errorf("rerun did not report the damaged checkpoint %s:\n%s", bad, r.stderr)
	}
	want := fmt.Sprintf("pipeline: train: resuming from %s (step %d)", ckpt, steps)
	if !strings.Contains(r.stderr, want) {
		t.Errorf("rerun did not log %q:\n%s", want, r.stderr)
	}
	if !strings.Contains(r.stderr, fmt.Sprintf("from step %d", steps)) {
		t.Errorf("train did not start from step %d:\n%s", steps, r.stderr)
	}
	if !bytes.Equal(read(t, filepath.Join(out, "model.arrows")), read(t, filepath.Join(refOut, "model.arrows"))) {
		t.Error("resumed model.arrows differs from an uninterrupted run's")
	}
	got, ref := trainLog(t, filepath.Join(out, "metrics.jsonl")), trainLog(t, filepath.Join(refOut, "metrics.jsonl"))
	if strings.Join(got, "\n") != strings.Join(ref, "\n") {
		t.Errorf("resumed metrics:\n%s\nuninterrupted:\n%s", strings.Join(got, "\n"), strings.Join(ref, "\n"))
	}
}

// TestDamagedCacheEntryIsRebuilt damages one cache entry at a time and
// reruns: the pipeline must name the entry and why, rebuild it to the same
// bytes as before, and succeed with the same report.
func TestDamagedCacheEntryIsRebuilt(t *testing.T) {
	needData(t)
	out, cache, runDirs := dirs(t)
	a := args(small, []string{"--epochs", "1"}, runDirs)
	mustRun(t, repo, a...)
	report := results(t, filepath.Join(out, "report.json"))

	for _, c := range []struct {
		name, entry string // test name, glob of the entry in the cache
		stage, why  string // stage that rebuilds it, the reason it logs
		damage      func(path string, b []byte) error
	}{
		{"truncated stream", "features-train-*.arrows", "embed", "no Arrow end-of-stream marker",
			func(path string, b []byte) error { return os.WriteFile(path, b[:len(b)/2], 0o644) }},
		{"changed byte", "features-test-*.arrows", "embed", "SHA-256 differs",
			func(path string, b []byte) error {
				c := bytes.Clone(b)
				c[len(c)/2] ^= 1
				return os.WriteFile(path, c, 0o644)
			}},
		{"no recorded digest", "report-????????????????.json", "eval", "no digest",
			func(path string, b []byte) error { return os.Remove(path + ".sha256") }},
		{"damaged model", "model-*.arrows", "train", "SHA-256 differs",
			func(path string, b []byte) error {
				c := bytes.Clone(b)
				c[100] ^= 0x80
				return os.WriteFile(path, c, 0o644)
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := one(t, filepath.Join(cache, c.entry))
			before := read(t, path)
			if err := os.WriteFile(path+".first", before, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := c.damage(path, before); err != nil {
				t.Fatal(err)
			}
			r := mustRun(t, repo, a...)
			want := fmt.Sprintf("pipeline: %s: cache entry %s is damaged (", c.stage, filepath.Base(path))
			i := strings.Index(r.stderr, want)
			if i < 0 {
				t.Fatalf("rerun did not log %q:\n%s", want+"...); rebuilding", r.stderr)
			}
			if line, _, _ := strings.Cut(r.stderr[i:], "\n"); !strings.Contains(line, c.why) || !strings.HasSuffix(line, "; rebuilding") {
				t.Errorf("log line %q: want the reason %q and '; rebuilding'", line, c.why)
			}
			if strings.HasSuffix(path, ".json") {
				if results(t, path) != results(t, path+".first") {
					t.Errorf("rebuilt %s differs from the entry first written", filepath.Base(path))
				}
			} else if !bytes.Equal(read(t, path), before) {
				t.Errorf("rebuilt %s differs from the entry first written", filepath.Base(path))
			}
			if results(t, filepath.Join(out, "report.json")) != report {
				t.Error("report.json after the rebuild differs from the first run's")
			}
			// Nothing is left to rebuild.
			r = mustRun(t, repo, a...)
			if strings.Contains(r.stderr, "damaged") || strings.Contains(r.stderr, c.stage+": running") {
				t.Errorf("run after the rebuild recomputed %s:\n%s", c.stage, r.stderr)
			}
		})
	}
}

// TestStaleTemporaryFilesAreRemoved plants what a SIGKILLed run leaves (a
// stage's hidden temporary output, the script's NAME.tmp.PID files, a
// checkpoint's temporary file, a plot's temporary output) beside files that
// are not the pipeline's: the next run removes exactly the former and says
// how many bytes it freed.
func TestStaleTemporaryFilesAreRemoved(t *testing.T) {
	needData(t)
	out, cache, runDirs := dirs(t)
	a := args(small, []string{"--epochs", "1"}, runDirs)
	mustRun(t, repo, a...)

	ckdir := filepath.Join(cache, "checkpoints-0123456789abcdef")
	if err := os.MkdirAll(ckdir, 0o755); err != nil {
		t.Fatal(err)
	}
	stale := map[string]int{
		filepath.Join(cache, ".features-train-0123456789abcdef.arrows.tmp-123456"): 300_000,
		filepath.Join(cache, "metrics-0123456789abcdef.jsonl.tmp.4242"):            1_000,
		filepath.Join(cache, "model-0123456789abcdef.arrows.sha256.tmp.4242"):      80,
		filepath.Join(ckdir, ".step-0000012.arrows.tmp-987"):                       50_000,
		filepath.Join(out, ".umap.png.tmp-55"):                                     7,
	}
	kept := []string{
		filepath.Join(cache, ".notes.tmp-1"), // not a name the pipeline makes
		filepath.Join(cache, "keep.txt"),
		filepath.Join(out, ".draft.png.tmp-2"),
	}
	total := 0
	for path, n := range stale {
		if err := os.WriteFile(path, make([]byte, n), 0o644); err != nil {
			t.Fatal(err)
		}
		total += n
	}
	for _, path := range kept {
		if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := mustRun(t, repo, a...)
	for path := range stale {
		if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("stale %s is still there (%v)", path, err)
		}
	}
	for _, path := range kept {
		if _, err := os.Stat(path); err != nil {
			t.Errorf("%s, not the pipeline's, was removed: %v", path, err)
		}
	}
	want := fmt.Sprintf("removed %d stale temporary file(s) that an interrupted run left, freeing %d bytes", len(stale), total)
	if !strings.Contains(r.stderr, want) {
		t.Errorf("rerun did not log %q:\n%s", want, r.stderr)
	}
	for _, s := range []string{"fetch", "train", "embed", "eval", "reduce"} {
		if !strings.Contains(r.stderr, "pipeline: "+s+": cached") {
			t.Errorf("the sweep cost the cache of %s:\n%s", s, r.stderr)
		}
	}
}

// TestSummaryNamesTheCPUKind: results are byte-stable per kind of CPU, so
// the summary says which one ran them.
func TestSummaryNamesTheCPUKind(t *testing.T) {
	needData(t)
	out, _, runDirs := dirs(t)
	mustRun(t, repo, args(small, []string{"--epochs", "1"}, runDirs)...)
	summary := string(read(t, filepath.Join(out, "summary.txt")))
	cpuinfo, _ := os.ReadFile("/proc/cpuinfo") // none: "unknown, SIMD generic"
	name := "unknown"
	if m := regexp.MustCompile(`(?m)^model name\s*:\s*(.*)$`).FindSubmatch(cpuinfo); m != nil {
		name = string(m[1])
	}
	flags := ""
	if m := regexp.MustCompile(`(?m)^flags\s*:(.*)$`).FindSubmatch(cpuinfo); m != nil {
		flags = string(m[1]) + " "
	}
	has := func(f string) bool { return strings.Contains(flags, " "+f+" ") }
	simd := "generic"
	switch {
	case has("avx512f") && has("avx512vl"):
		simd = "avx512"
	case has("avx2") && has("fma"):
		simd = "avx2"
	}
	want := fmt.Sprintf("  cpu                 %s, SIMD %s\n", name, simd)
	if !strings.Contains(summary, want) {
		t.Errorf("summary lacks %q:\n%s", want, summary)
	}
}

// TestMonitorScoresWhatEvalScores: with a bank that holds every train image
// (--limit under the bank's 5,000), the kNN monitor's score after the last
// epoch is eval's kNN-200 of the final model, which embed computes from the
// checkpoint file; --monitor 0 turns it off.
func TestMonitorScoresWhatEvalScores(t *testing.T) {
	needData(t)
	out, _, runDirs := dirs(t)
	mustRun(t, repo, args(small, []string{"--epochs", "2", "--monitor", "1"}, runDirs)...)
	var last *float64
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(string(read(t, filepath.Join(out, "metrics.jsonl")))), "\n") {
		var r struct {
			KNN *float64 `json:"knn"`
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		if r.KNN != nil {
			last, n = r.KNN, n+1
		}
	}
	if n != 2 || last == nil {
		t.Fatalf("%d lines with knn, want one per epoch (2)", n)
	}
	var rep struct {
		KNN struct {
			Top1 float64 `json:"top1"`
		} `json:"knn"`
	}
	if err := json.Unmarshal(read(t, filepath.Join(out, "report.json")), &rep); err != nil {
		t.Fatal(err)
	}
	if math.Abs(*last-rep.KNN.Top1) > 1e-9 {
		t.Errorf("monitor's last kNN %v, eval's %v", *last, rep.KNN.Top1)
	}
	out2, _, runDirs2 := dirs(t)
	mustRun(t, repo, args(small, []string{"--epochs", "1", "--monitor", "0"}, runDirs2)...)
	if m := string(read(t, filepath.Join(out2, "metrics.jsonl"))); strings.Contains(m, "knn") {
		t.Errorf("--monitor 0 still scored: %s", m)
	}
}

// TestPresetArticleTrainsTheArticlesRecipe: --preset article trains the
// seed architecture at lr 1e-4 on RandAugment-only pairs, says so in the
// summary, and an unknown preset is refused before any work.
func TestPresetArticleTrainsTheArticlesRecipe(t *testing.T) {
	needData(t)
	out, _, runDirs := dirs(t)
	mustRun(t, repo, args(small, []string{"--preset", "article", "--epochs", "1", "--monitor", "0"}, runDirs)...)
	if summary := string(read(t, filepath.Join(out, "summary.txt"))); !strings.Contains(summary, "preset article, 1 epochs") {
		t.Errorf("summary does not name the preset:\n%s", summary)
	}
	f, err := os.Open(filepath.Join(out, "model.arrows"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	meta, _, err := contract.ReadModel(f)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{contract.MetaArch: "seed", contract.MetaTrainLR: "0.0001", contract.MetaTrainPairsFlip: "false"} {
		if meta[k] != want {
			t.Errorf("checkpoint %s = %q, want %q", k, meta[k], want)
		}
	}
	r := runIn(t, repo, args(small, []string{"--preset", "best"}, runDirs)...)
	if r.code != 2 || !strings.Contains(r.stderr, "--preset best: unknown preset") {
		t.Errorf("unknown preset: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestEditingTheScriptMidRunChangesNothing rewrites pipeline.sh while a run
// of it is training (as a git pull would), with lines that would stop the
// script if bash ran them: the running script must go on as it was read.
func TestEditingTheScriptMidRunChangesNothing(t *testing.T) {
	needData(t)
	root := filepath.Join(t.TempDir(), "repo")
	if err := copyRepo(root); err != nil {
		t.Fatal(err)
	}
	out, cache, runDirs := dirs(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var buf bytes.Buffer
	cmd := pipeline(ctx, root, &buf, args(small, []string{"--epochs", "6"}, runDirs)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		if m, _ := filepath.Glob(filepath.Join(cache, "checkpoints-*", "metrics.jsonl")); len(m) > 0 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("train never started:\n%s", buf.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	script := filepath.Join(root, "pipeline.sh")
	b := read(t, script)
	trap := strings.Repeat("echo EDITED-SCRIPT-RAN >&2; exit 7\n", 400)
	edited := strings.Replace(string(b), "set -euo pipefail\n", "set -euo pipefail\n"+trap, 1)
	if err := os.WriteFile(script, []byte(edited), 0o755); err != nil { // in place, as an editor or git may write
		t.Fatal(err)
	}
	err := cmd.Wait()
	if err != nil || strings.Contains(buf.String(), "EDITED-SCRIPT-RAN") {
		t.Fatalf("run after the edit: %v\n%s", err, buf.String())
	}
	if _, err := os.Stat(filepath.Join(out, "summary.txt")); err != nil {
		t.Errorf("no summary: %v", err)
	}
}

// TestEditedBuildInputRebuildsAndRekeys edits files that go build reads but
// that are not Go source (an assembly kernel of reduce, the scatter.js that
// plot embeds) in a copy of the repository: the next run must rebuild those
// binaries, recompute what depends on reduce's, and keep the other stages'
// cache entries.
func TestEditedBuildInputRebuildsAndRekeys(t *testing.T) {
	needData(t)
	root := filepath.Join(t.TempDir(), "repo")
	if err := copyRepo(root); err != nil {
		t.Fatal(err)
	}
	_, _, runDirs := dirs(t)
	a := args(small, []string{"--epochs", "1"}, runDirs)
	mustRun(t, root, a...)
	r := mustRun(t, root, a...)
	for _, s := range []string{"fetch", "train", "embed", "eval", "eval-pixels", "reduce"} {
		if !strings.Contains(r.stderr, "pipeline: "+s+": cached") {
			t.Fatalf("second run with nothing changed recomputed %s:\n%s", s, r.stderr)
		}
	}
	digests := func() map[string][32]byte {
		d := map[string][32]byte{}
		for _, s := range []string{"fetch", "augment", "train", "embed", "eval", "reduce", "plot"} {
			d[s] = sha256.Sum256(read(t, filepath.Join(root, "bin", s)))
		}
		return d
	}
	before := digests()

	// An instruction that changes nothing but the machine code, in a
	// kernel that only reduce links (the kernels are amd64 assembly).
	asmEdited := runtime.GOARCH == "amd64"
	if asmEdited {
		asm := filepath.Join(root, "internal", "neighbors", "kernel_amd64.s")
		src := string(read(t, asm))
		text := regexp.MustCompile(`(?m)^TEXT .*\n`).FindStringIndex(src)
		if text == nil {
			t.Fatalf("%s has no TEXT line to edit", asm)
		}
		src = src[:text[1]] + "\tMOVQ AX, AX\n" + src[text[1]:]
		if err := os.WriteFile(asm, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	js := filepath.Join(root, "internal", "plot", "scatter.js")
	if err := os.WriteFile(js, append(read(t, js), "\n// edited by the test\n"...), 0o644); err != nil {
		t.Fatal(err)
	}

	r = mustRun(t, root, a...)
	after := digests()
	for s := range before {
		changed := before[s] != after[s]
		if want := s == "plot" || (s == "reduce" && asmEdited); changed != want {
			t.Errorf("bin/%s changed: %v, want %v", s, changed, want)
		}
	}
	for _, s := range []string{"fetch", "train", "embed", "eval", "eval-pixels"} {
		if !strings.Contains(r.stderr, "pipeline: "+s+": cached") {
			t.Errorf("run after the edit recomputed %s:\n%s", s, r.stderr)
		}
	}
	if asmEdited && !strings.Contains(r.stderr, "pipeline: reduce: running") {
		t.Errorf("run after editing reduce's assembly reused the old coords:\n%s", r.stderr)
	}
}

// TestSIMDLevelKeysTheCache: outputs differ in the last bits between SIMD
// levels, so a run at a lowered level (SIAMPIPE_SIMD) must not reuse the
// entries of another level, its summary names the level it ran at, and a
// run back at the default level finds its own entries again.
func TestSIMDLevelKeysTheCache(t *testing.T) {
	needData(t)
	out, _, runDirs := dirs(t)
	a := args(small, []string{"--epochs", "1"}, runDirs)
	mustRun(t, repo, a...)

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var buf bytes.Buffer
	cmd := pipeline(ctx, repo, &buf, a...)
	cmd.Env = append(cmd.Env, "SIAMPIPE_SIMD=generic")
	if err := cmd.Run(); err != nil {
		t.Fatalf("pipeline.sh with SIAMPIPE_SIMD=generic: %v\n%s", err, buf.String())
	}
	for _, s := range []string{"train", "embed", "reduce"} {
		if strings.Contains(buf.String(), "pipeline: "+s+": cached") {
			t.Errorf("at SIMD level generic, %s reused the default level's cache entry", s)
		}
	}
	if summary := string(read(t, filepath.Join(out, "summary.txt"))); !strings.Contains(summary, ", SIMD generic\n") {
		t.Errorf("summary does not name the level generic:\n%s", summary)
	}

	r := mustRun(t, repo, a...)
	for _, s := range []string{"train", "embed", "reduce"} {
		if !strings.Contains(r.stderr, "pipeline: "+s+": cached") {
			t.Errorf("back at the default level, %s was recomputed", s)
		}
	}
}

// TestOwnImagesRunThroughEveryStage runs the pipeline on an RGB image
// folder made by tests/data/shapes.py (its own test split held out by
// --test-fraction), then on a flat folder of the same images (unlabelled):
// the first ends in a report naming the folder's classes on 3-channel
// images; the second trains, embeds and draws, and scores nothing.
func TestOwnImagesRunThroughEveryStage(t *testing.T) {
	data := filepath.Join(t.TempDir(), "shapes")
	wd, _ := os.Getwd()
	if out, err := exec.Command("/usr/bin/python3", filepath.Join(wd, "../data/shapes.py"), data, "--per-class", "40").CombinedOutput(); err != nil {
		t.Fatalf("shapes.py: %v: %s", err, out)
	}
	out, cache, runDirs := dirs(t)
	mustRun(t, repo, args([]string{"--data", "folder:" + data, "--test-fraction", "0.25", "--epochs", "2", "--batch-size", "32", "--monitor", "1"}, runDirs)...)
	var rep struct {
		PerClass []struct {
			Class string `json:"class"`
			NTest int    `json:"n_test"`
		} `json:"per_class"`
		Counts struct {
			Train, Test, Classes int
		} `json:"counts"`
	}
	if err := json.Unmarshal(read(t, filepath.Join(out, "report.json")), &rep); err != nil {
		t.Fatal(err)
	}
	want := []string{"cool-disc", "cool-square", "cool-triangle", "warm-disc", "warm-square", "warm-triangle"}
	if len(rep.PerClass) != len(want) || rep.Counts.Train != 180 || rep.Counts.Test != 60 {
		t.Fatalf("report: %d classes, %d train and %d test rows; want 6, 180, 60", len(rep.PerClass), rep.Counts.Train, rep.Counts.Test)
	}
	for i, c := range rep.PerClass {
		if c.Class != want[i] || c.NTest != 10 {
			t.Errorf("class %d: %q with %d test rows, want %q with 10", i, c.Class, c.NTest, want[i])
		}
	}
	f, err := os.Open(one(t, filepath.Join(cache, "images-test-*.arrows")))
	if err != nil {
		t.Fatal(err)
	}
	im, err := contract.ReadImages(f)
	f.Close()
	if err != nil || im.Channels != 3 || im.Height != 32 || im.Width != 32 {
		t.Fatalf("test images: %v; want 3x32x32", err)
	}
	if !strings.Contains(string(read(t, filepath.Join(out, "metrics.jsonl"))), `"knn"`) {
		t.Error("the monitor did not score the labelled folder")
	}

	// The same images, flat: unlabelled.
	flat := filepath.Join(t.TempDir(), "flat")
	if err := os.Mkdir(flat, 0o755); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(data, "*", "*.png"))
	for _, p := range files {
		if err := os.Link(p, filepath.Join(flat, filepath.Base(p))); err != nil {
			t.Fatal(err)
		}
	}
	out2, _, runDirs2 := dirs(t)
	r := mustRun(t, repo, args([]string{"--data", "folder:" + flat, "--epochs", "1", "--batch-size", "32"}, runDirs2)...)
	if !strings.Contains(r.stderr, "unlabelled") {
		t.Errorf("the run does not say the images are unlabelled:\n%s", r.stderr)
	}
	for _, f := range []string{"umap.png", "umap.html", "model.arrows", "coords.arrows"} {
		if _, err := os.Stat(filepath.Join(out2, f)); err != nil {
			t.Errorf("unlabelled run: %v", err)
		}
	}
	if _, err := os.Stat(filepath.Join(out2, "report.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("unlabelled run left a report.json (%v)", err)
	}
}

// TestShardedRunIsTheSameRun runs the map stages as 3 processes each
// (--shards 3: fetch and embed shards joined by concat, augment shards
// streamed through FIFOs into concat and train): the same cache keys and
// the same bytes in every entry as the plain run.
func TestShardedRunIsTheSameRun(t *testing.T) {
	needData(t)
	_, cache1, dirs1 := dirs(t)
	mustRun(t, repo, args(small, []string{"--epochs", "2"}, dirs1)...)
	_, cache3, dirs3 := dirs(t)
	mustRun(t, repo, args(small, []string{"--epochs", "2", "--shards", "3"}, dirs3)...)
	entries, err := filepath.Glob(filepath.Join(cache1, "*-*.*"))
	if err != nil || len(entries) < 10 {
		t.Fatalf("cache entries %v, %v", entries, err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e, ".sha256") {
			continue
		}
		other := filepath.Join(cache3, filepath.Base(e))
		var same bool
		switch filepath.Ext(e) {
		case ".json": // timings differ
			same = results(t, e) == results(t, other)
		case ".jsonl": // step times differ
			same = strings.Join(trainLog(t, e), "\n") == strings.Join(trainLog(t, other), "\n")
		default:
			same = bytes.Equal(read(t, e), read(t, other))
		}
		if !same {
			t.Errorf("%s differs between the plain and the sharded run", filepath.Base(e))
		}
	}
	if left, _ := filepath.Glob(filepath.Join(cache3, ".pairs.tmp.*")); len(left) != 0 {
		t.Errorf("the sharded run left %v", left)
	}
}

// TestStoreAndShardsGiveTheLocalRun runs the pipeline with its cache in a
// real S3 server (versitygw, internal/objstore/s3test) and its map stages
// in 2 shards: every entry appears under the local run's key with the
// local run's bytes, a second run takes everything from the store, and no
// shard part is left behind.
func TestStoreAndShardsGiveTheLocalRun(t *testing.T) {
	needData(t)
	srv := s3test.Start(t)
	srv.Setenv(t)
	store := srv.Bucket(t, "runs") + "cache"
	_, local, localDirs := dirs(t)
	mustRun(t, repo, args(small, []string{"--epochs", "2"}, localDirs)...)
	_, _, storeDirs := dirs(t)
	mustRun(t, repo, args(small, []string{"--epochs", "2", "--shards", "2", "--store", store}, storeDirs)...)
	entries, _ := filepath.Glob(filepath.Join(local, "*-*.*"))
	n := 0
	for _, e := range entries {
		name := filepath.Base(e)
		if strings.HasSuffix(name, ".sha256") {
			continue
		}
		n++
		obj := srv.Get(t, "runs", "cache/"+name)
		if obj == nil {
			t.Errorf("%s is not in the store", name)
			continue
		}
		other := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(other, obj, 0o644); err != nil {
			t.Fatal(err)
		}
		var same bool
		switch filepath.Ext(name) {
		case ".json":
			same = results(t, e) == results(t, other)
		case ".jsonl":
			same = strings.Join(trainLog(t, e), "\n") == strings.Join(trainLog(t, other), "\n")
		default:
			same = bytes.Equal(read(t, e), obj)
		}
		if !same {
			t.Errorf("%s in the store differs from the local run's", name)
		}
	}
	if n < 9 {
		t.Fatalf("only %d local entries to compare", n)
	}
	r := mustRun(t, repo, args(small, []string{"--epochs", "2", "--shards", "2", "--store", store}, storeDirs)...)
	for _, s := range []string{"fetch", "train", "embed", "eval", "reduce"} {
		if !strings.Contains(r.stderr, "pipeline: "+s+": cached") {
			t.Errorf("the second run recomputed %s", s)
		}
	}
	objs, err := objstore.New(srv.Config())
	if err != nil {
		t.Fatal(err)
	}
	list, err := objs.List(context.Background(), store)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range list {
		if strings.Contains(o.Key, ".tmp.") {
			t.Errorf("a shard part is left in the store: %s", o.Key)
		}
	}
}

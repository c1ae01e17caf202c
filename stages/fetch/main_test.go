package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/siampipe/siampipe/internal/contract"
	"github.com/siampipe/siampipe/internal/stagetest"
)

var bin string

func TestMain(m *testing.M) { stagetest.Main(m, "fetch", &bin) }

// run runs fetch with args and returns stdout, stderr and the exit code.
func run(t *testing.T, env []string, args ...string) ([]byte, string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.Bytes(), errb.String(), code
}

func TestFetchTestSplitMatchesSource(t *testing.T) {
	out, stderr, code := run(t, nil, "--split", "test", "--dir", "/usr/share/datasets/fashion-mnist")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	r, err := contract.NewReader(bytes.NewReader(out), contract.KindImages)
	if err != nil {
		t.Fatal(err)
	}
	if r.Meta()[contract.MetaSplit] != "test" || r.Height() != 28 || r.Width() != 28 {
		t.Fatalf("metadata %v", r.Meta())
	}
	var perClass [10]int
	h := sha256.New()
	n := 0
	for r.Next() {
		b := r.Images()
		for i := 0; i < b.N; i++ {
			if b.Index[i] != int64(n) {
				t.Fatalf("row %d has index %d", n, b.Index[i])
			}
			perClass[b.Label[i]]++
			n++
		}
		h.Write(b.Pixels)
	}
	if r.Err() != nil || n != 10000 {
		t.Fatalf("%d rows, %v", n, r.Err())
	}
	for c, k := range perClass {
		if k != 1000 {
			t.Fatalf("class %d: %d rows", c, k)
		}
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != "c867c93ff95360594e8ec3287995350b824dd110b11595c0e13d5423f621867a" {
		t.Fatalf("pixel digest %s", got)
	}
}

func TestFetchWritesFilesAtomicallyAndDeterministically(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.arrows"), filepath.Join(dir, "b.arrows")
	for _, p := range []string{a, b} {
		if _, stderr, code := run(t, nil, "--split", "test", "--limit", "300", "--compress", "zstd", "-o", p); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
	}
	da, _ := os.ReadFile(a)
	db, _ := os.ReadFile(b)
	if !bytes.Equal(da, db) {
		t.Fatal("two runs gave different bytes")
	}
	m, err := contract.ReadMatrix(bytes.NewReader(da))
	if err != nil || m.Rows != 300 {
		t.Fatalf("%v rows, %v", m, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Fatalf("temporary files left: %v", entries)
	}
}

func TestFetchErrors(t *testing.T) {
	src := "/usr/share/datasets/fashion-mnist/"
	bad := t.TempDir()
	img, _ := os.ReadFile(src + "t10k-images-idx3-ubyte.gz")
	lbl, _ := os.ReadFile(src + "t10k-labels-idx1-ubyte.gz")
	os.WriteFile(filepath.Join(bad, "t10k-images-idx3-ubyte.gz"), img[:len(img)/2], 0o644)
	os.WriteFile(filepath.Join(bad, "t10k-labels-idx1-ubyte.gz"), lbl, 0o644)
	empty := t.TempDir()
	outDir := t.TempDir()
	out := filepath.Join(outDir, "x.arrows")
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"truncated gzip", []string{"--split", "test", "--dir", bad, "-o", out}, 1, "t10k-images-idx3-ubyte.gz: truncated"},
		{"no files", []string{"--dir", empty, "-o", out}, 1, "not found in --dir"},
		{"bad split", []string{"--split", "valid"}, 2, "use train or test"},
		{"bad flag", []string{"--nope"}, 2, "flag provided but not defined"},
		{"bad compression", []string{"--compress", "lz5"}, 2, "unknown compression"},
		{"stray argument", []string{"train"}, 2, "unexpected argument"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := run(t, nil, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) || !strings.HasPrefix(stderr, "fetch: ") {
				t.Fatalf("exit %d, stderr %q; want exit %d with %q", code, stderr, tc.code, tc.want)
			}
			if strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
				t.Fatalf("error is not one line: %q", stderr)
			}
			if len(stdout) != 0 {
				t.Fatalf("wrote %d bytes to stdout on error", len(stdout))
			}
			if entries, _ := os.ReadDir(outDir); len(entries) != 0 {
				t.Fatalf("left files behind: %v", entries)
			}
		})
	}
}

func TestFetchIsQuietWhenTheReaderLeaves(t *testing.T) {
	cmd := exec.Command(bin, "--split", "train")
	stdout, _ := cmd.StdoutPipe()
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	io.CopyN(io.Discard, stdout, 1000)
	stdout.Close()
	cmd.Wait()
	if errb.Len() != 0 {
		t.Fatalf("stderr after the reader left: %q", errb.String())
	}
}

func TestHelpAndVersion(t *testing.T) {
	out, _, code := run(t, nil, "--help")
	if code != 0 || !strings.Contains(string(out), "Example:") || !strings.Contains(string(out), "fetch --split train |") {
		t.Fatalf("--help: exit %d\n%s", code, out)
	}
	out, _, code = run(t, nil, "--version")
	if code != 0 || !strings.HasPrefix(string(out), "fetch 0.") {
		t.Fatalf("--version: exit %d %q", code, out)
	}
}

// TestFetchRefusesAnUnknownSIMDLevel checks the start-up check every stage
// makes (through cli): a bad SIAMPIPE_SIMD is a one-line usage error before
// any work, and a good one runs.
func TestFetchRefusesAnUnknownSIMDLevel(t *testing.T) {
	outDir := t.TempDir()
	out := filepath.Join(outDir, "x.arrows")
	stdout, stderr, code := run(t, []string{"SIAMPIPE_SIMD=avx-512"}, "--split", "test", "--limit", "5", "-o", out)
	if code != 2 || !strings.HasPrefix(stderr, `fetch: SIAMPIPE_SIMD="avx-512": unknown SIMD level`) ||
		!strings.Contains(stderr, "avx512, avx2 or generic") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Fatalf("exit %d, stderr %q; want exit 2 and one line naming the variable and the levels", code, stderr)
	}
	if len(stdout) != 0 {
		t.Fatalf("wrote %d bytes to stdout", len(stdout))
	}
	if entries, _ := os.ReadDir(outDir); len(entries) != 0 {
		t.Fatalf("left files behind: %v", entries)
	}
	for _, level := range []string{"generic", "avx2", "avx512"} {
		if _, stderr, code := run(t, []string{"SIAMPIPE_SIMD=" + level}, "--split", "test", "--limit", "5", "-o", out); code != 0 {
			t.Errorf("SIAMPIPE_SIMD=%s: exit %d, %s", level, code, stderr)
		}
	}
}

// TestFetchRecordsItsRowCount checks the rows metadata against the rows
// written, with a limit below and above the split's size.
func TestFetchRecordsItsRowCount(t *testing.T) {
	for _, limit := range []string{"7", "20000"} {
		out, stderr, code := run(t, nil, "--split", "test", "--limit", limit)
		if code != 0 {
			t.Fatalf("--limit %s: exit %d: %s", limit, code, stderr)
		}
		m, err := contract.ReadMatrix(bytes.NewReader(out))
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Meta[contract.MetaRows]; got != strconv.Itoa(m.Rows) {
			t.Errorf("--limit %s: %d rows, metadata %s=%q", limit, m.Rows, contract.MetaRows, got)
		}
	}
}

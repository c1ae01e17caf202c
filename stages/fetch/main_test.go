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
	"syscall"
	"testing"
	"time"

	"github.com/siampipe/siampipe/internal/contract"
	"github.com/siampipe/siampipe/internal/stagetest"
	"golang.org/x/sys/unix"
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
		{"-i is not a fetch flag", []string{"-i", "x.arrows"}, 2, "flag provided but not defined: -i"},
		{"negative limit", []string{"--limit", "-1"}, 2, "--limit -1: want an integer in 0..2147483647 (0 = all rows)"},
		{"huge limit", []string{"--limit", "9999999999999"}, 2, "--limit 9999999999999: want an integer in 0..2147483647"},
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

// TestStageRunsInProcess runs fetch's stage function on in-memory streams.
func TestStageRunsInProcess(t *testing.T) {
	var out, errb bytes.Buffer
	code := stage([]string{"--split", "test", "--limit", "7", "--quiet"}, strings.NewReader(""), &out, &errb)
	if code != 0 || errb.Len() != 0 {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	m, err := contract.ReadMatrix(&out)
	if err != nil || m.Rows != 7 || m.Dim != 784 || m.Meta[contract.MetaSplit] != "test" {
		t.Fatalf("stream: %v, %v", m, err)
	}
	out.Reset()
	if code := stage([]string{"--split", "valid"}, nil, &out, &errb); code != 2 || errb.String() != "fetch: --split \"valid\": use train or test\n" {
		t.Fatalf("bad split in-process: exit %d, stderr %q", code, errb.String())
	}
}

// TestOutputKeepsWhatThePathIs: -o a device, a FIFO, a symlink, a 0600 file
// or a descriptor of the process, end to end through the binary.
func TestOutputKeepsWhatThePathIs(t *testing.T) {
	dir := t.TempDir()
	args := []string{"--split", "test", "--limit", "5", "--quiet", "-o"}
	valid := func(b []byte) bool {
		m, err := contract.ReadMatrix(bytes.NewReader(b))
		return err == nil && m.Rows == 5
	}

	t.Run("null device", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("mknod needs root; CI runs as root")
		}
		p := filepath.Join(dir, "null-device")
		if err := syscall.Mknod(p, syscall.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
			t.Fatal(err)
		}
		if _, stderr, code := run(t, nil, append(args, p)...); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if fi, err := os.Lstat(p); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
			t.Fatalf("-o %s turned the device into %v (%v)", p, fi.Mode(), err)
		}
	})

	t.Run("fifo", func(t *testing.T) {
		p := filepath.Join(dir, "fifo")
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Fatal(err)
		}
		got := make(chan []byte, 1)
		go func() {
			f, err := os.Open(p)
			if err != nil {
				got <- nil
				return
			}
			b, _ := io.ReadAll(f)
			f.Close()
			got <- b
		}()
		if _, stderr, code := run(t, nil, append(args, p)...); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		select {
		case b := <-got:
			if !valid(b) {
				t.Fatalf("the FIFO's reader got %d bytes, not the stream", len(b))
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the FIFO's reader got nothing")
		}
		if fi, _ := os.Lstat(p); fi.Mode()&os.ModeNamedPipe == 0 {
			t.Fatalf("the FIFO became %v", fi.Mode())
		}
	})

	t.Run("symlink and mode", func(t *testing.T) {
		target := filepath.Join(dir, "images.arrows")
		os.WriteFile(target, []byte("old"), 0o600)
		link := filepath.Join(dir, "link.arrows")
		os.Symlink("images.arrows", link)
		if _, stderr, code := run(t, nil, append(args, link)...); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		lfi, _ := os.Lstat(link)
		fi, _ := os.Stat(target)
		b, _ := os.ReadFile(target)
		if lfi.Mode()&os.ModeSymlink == 0 || fi.Mode() != 0o600 || !valid(b) {
			t.Fatalf("link %v, target mode %v, valid %v; want the link kept and a 0600 target holding the stream", lfi.Mode(), fi.Mode(), valid(b))
		}
	})

	// /dev/fd/1 and /proc/self/fd/1 rather than /dev/stdout: a broken
	// build run as root would replace the machine's /dev/stdout symlink.
	for _, p := range []string{"/dev/fd/1", "/proc/self/fd/1"} {
		t.Run(p, func(t *testing.T) {
			stdout, stderr, code := run(t, nil, append(args, p)...)
			if code != 0 || !valid(stdout) {
				t.Fatalf("exit %d, %d bytes on stdout: %s", code, len(stdout), stderr)
			}
		})
	}
}

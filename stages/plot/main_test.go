package main

import (
	"bytes"
	"errors"
	"fmt"
	"image/png"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/siampipe/siampipe/internal/contract"
	"github.com/siampipe/siampipe/internal/stagetest"
)

var binary string

func TestMain(m *testing.M) { stagetest.Main(m, "plot", &binary) }

// coords writes a coords stream of n points in random blobs, one per class,
// as reduce would (until reduce exists, tests make their own).
func coords(t *testing.T, n, dim int) []byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 4))
	var b bytes.Buffer
	w, err := contract.NewCoordsWriter(&b, dim, contract.Meta{contract.MetaSplit: "test", contract.MetaModel: "sha256:0123456789abcdef0123"}, contract.Options{BatchRows: 500})
	if err != nil {
		t.Fatal(err)
	}
	v := make([]float32, dim)
	for i := 0; i < n; i++ {
		l := i % 10
		for d := range v {
			v[d] = float32(5*((l>>d)&1)) + float32(l) + float32(rng.NormFloat64())
		}
		if err := w.Append(int64(i), uint8(l), v); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func run(t *testing.T, stdin []byte, args ...string) (stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var e bytes.Buffer
	cmd.Stderr = &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatal(err)
	}
	return e.String(), code
}

func TestPlotWritesPNGAndHTMLOfCoords(t *testing.T) {
	dir := t.TempDir()
	pngPath, htmlPath := filepath.Join(dir, "umap.png"), filepath.Join(dir, "umap.html")
	errOut, code := run(t, coords(t, 2000, 3), "--png", pngPath, "--html", htmlPath, "--width", "900", "--height", "300")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	f, err := os.Open(pngPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil || cfg.Width != 900 || cfg.Height != 300 {
		t.Errorf("PNG %dx%d (%v), want 900x300", cfg.Width, cfg.Height, err)
	}
	page, err := os.ReadFile(htmlPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<!DOCTYPE html>", "2000 points, test split, model sha256:0123456789ab", `"Ankle boot"`} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("page lacks %q", want)
		}
	}
	if !strings.Contains(errOut, "drew 2000 points of 10 classes") {
		t.Errorf("stderr: %s", errOut)
	}
}

func TestPlotDrawsMetricsCurves(t *testing.T) {
	dir := t.TempDir()
	metrics := filepath.Join(dir, "metrics.jsonl")
	var lines []string
	for s := 1; s <= 50; s++ {
		lines = append(lines, fmt.Sprintf(`{"epoch":%d,"step":%d,"loss":%g,"lr":0.05,"z_std":%g}`, (s-1)/10, s, -float64(s)/50, 0.02+float64(s%3)/1000))
	}
	os.WriteFile(metrics, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	out := filepath.Join(dir, "loss.png")
	if errOut, code := run(t, nil, "--metrics", metrics, "--png", out); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(bytes.NewReader(b)); err != nil {
		t.Errorf("not a PNG: %v", err)
	}
}

func TestPlotFailsWithOneLineAndLeavesNoFile(t *testing.T) {
	var fb bytes.Buffer
	fw, _ := contract.NewFeaturesWriter(&fb, 3, contract.Meta{}, contract.Options{})
	fw.Append(0, 0, []float32{1, 2, 3})
	fw.Close()
	dir := t.TempDir()
	badMetrics := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(badMetrics, []byte("{\"loss\": 1}\nnot json\n"), 0o644)
	// What train wrote before resume cut its log: steps 11-15 twice.
	twice := filepath.Join(dir, "twice.jsonl")
	var tw []string
	for _, s := range []int{5, 10, 15, 10, 15, 20} {
		tw = append(tw, fmt.Sprintf(`{"epoch":%d,"step":%d,"loss":-0.5}`, (s-1)/10+1, s))
	}
	os.WriteFile(twice, []byte(strings.Join(tw, "\n")+"\n"), 0o644)
	for _, tc := range []struct {
		name  string
		stdin []byte
		args  []string
		code  int
		want  string
	}{
		{"nothing to draw", coords(t, 10, 3), nil, 2, "nothing to draw"},
		{"features instead of coords", fb.Bytes(), []string{"--png", "x.png"}, 1, "features"},
		{"4-d coords", coords(t, 10, 4), []string{"--png", "x.png", "--html", "x.html"}, 1, "4-d; plot draws 2-d or 3-d coords (run reduce with --n-components 3)"},
		{"bad metrics line", nil, []string{"--metrics", badMetrics, "--png", "x.png"}, 1, "line 2"},
		{"not a metrics file", nil, []string{"--metrics", badMetrics, "--png", "x.png"}, 1, "is this train's --metrics file?"},
		{"metrics steps going back", nil, []string{"--metrics", twice, "--png", "x.png"}, 1, "metrics line 4: steps go backwards: step 10 after step 15"},
		{"metrics with html", nil, []string{"--metrics", badMetrics, "--html", "x.html"}, 2, "--png only"},
		{"-o is not a plot flag", coords(t, 10, 3), []string{"-o", "x.png"}, 2, "flag provided but not defined: -o"},
		{"--compress is not a plot flag", coords(t, 10, 3), []string{"--png", "x.png", "--compress", "zstd"}, 2, "flag provided but not defined: -compress"},
		{"--png and --html one file", coords(t, 10, 3), []string{"--png", "x", "--html", "x"}, 2, "--png and --html are both x: give each picture its own file"},
		{"negative width", coords(t, 10, 3), []string{"--png", "x.png", "--width", "-1"}, 2, "--width -1: want an integer in 200..20000 (0: the default)"},
		{"tiny height", coords(t, 10, 3), []string{"--png", "x.png", "--height", "1"}, 2, "--height 1: want an integer in 200..20000"},
		{"huge width", coords(t, 10, 3), []string{"--png", "x.png", "--width", "9999999999999"}, 2, "--width 9999999999999"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			work := t.TempDir()
			cmd := exec.Command(binary, tc.args...)
			cmd.Dir = work
			cmd.Stdin = bytes.NewReader(tc.stdin)
			var e bytes.Buffer
			cmd.Stderr = &e
			err := cmd.Run()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			}
			msg := strings.TrimSpace(e.String())
			if code != tc.code || strings.Count(msg, "\n") > 0 || !strings.HasPrefix(msg, "plot: ") || !strings.Contains(msg, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and one line naming %q", code, msg, tc.code, tc.want)
			}
			if left, _ := os.ReadDir(work); len(left) != 0 {
				t.Errorf("files left behind: %v", left)
			}
		})
	}
}

// TestStageRunsInProcess runs plot's stage function on in-memory streams,
// at the smallest picture size it accepts.
func TestStageRunsInProcess(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "small.png")
	var errb bytes.Buffer
	code := stage([]string{"--png", out, "--width", "200", "--height", "200", "--quiet"}, bytes.NewReader(coords(t, 50, 3)), io.Discard, &errb)
	if code != 0 || errb.Len() != 0 {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil || cfg.Width != 200 || cfg.Height != 200 {
		t.Fatalf("PNG %dx%d, %v; want 200x200", cfg.Width, cfg.Height, err)
	}
}

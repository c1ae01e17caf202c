package main

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/siampipe/siampipe/internal/cli"
	"github.com/siampipe/siampipe/internal/contract"
)

// build compiles the stage once per test binary run.
func build(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "reduce")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func features(t *testing.T, path string, n, dim int, poison bool) {
	t.Helper()
	var buf bytes.Buffer
	w, err := contract.NewFeaturesWriter(&buf, dim, contract.Meta{contract.MetaSplit: "test"}, contract.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 1))
	row := make([]float32, dim)
	for i := 0; i < n; i++ {
		for j := range row {
			row[j] = float32(r.NormFloat64()) + float32(i%2*6)
		}
		if poison && i == 3 {
			row[1] = float32(math.NaN())
		}
		if err := w.Append(int64(i), uint8(i%2), row); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func coords(t *testing.T, path string) {
	t.Helper()
	var buf bytes.Buffer
	w, err := contract.NewCoordsWriter(&buf, 3, nil, contract.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		w.Append(int64(i), 0, []float32{1, 2, 3})
	}
	w.Close()
	os.WriteFile(path, buf.Bytes(), 0o644)
}

func TestReduceBadInputGivesOneLineErrorAndNoOutput(t *testing.T) {
	bin := build(t)
	dir := t.TempDir()
	features(t, filepath.Join(dir, "nan.arrows"), 100, 4, true)
	features(t, filepath.Join(dir, "five.arrows"), 5, 4, false)
	coords(t, filepath.Join(dir, "coords.arrows"))
	cases := []struct {
		name, in string
		args     []string
		code     int
		mention  string
	}{
		{"NaN feature", "nan.arrows", nil, 1, "row 3 column 1 is NaN"},
		{"fewer points than neighbours", "five.arrows", nil, 1, "5 points but n_neighbors 10"},
		{"wrong kind", "coords.arrows", nil, 1, "coords"},
		{"unknown metric", "five.arrows", []string{"--metric", "manhattan"}, 2, "manhattan"},
		{"unknown init", "five.arrows", []string{"--init", "tsne"}, 2, "tsne"},
		{"learning rate Inf", "five.arrows", []string{"--learning-rate", "Inf"}, 2, "--learning-rate +Inf: want a number in (0, 1000]"},
		{"learning rate NaN", "five.arrows", []string{"--learning-rate", "NaN"}, 2, "--learning-rate NaN"},
		{"min-dist NaN", "five.arrows", []string{"--min-dist", "NaN"}, 2, "--min-dist NaN: want a number in [0, 1] (at most --spread, as umap-learn requires)"},
		{"min-dist above spread", "five.arrows", []string{"--min-dist", "2"}, 2, "--min-dist 2: want a number in [0, 1]"},
		{"spread NaN", "five.arrows", []string{"--spread", "NaN"}, 2, "--spread NaN: want a number in [0.001, 100]"},
		{"spread Inf", "five.arrows", []string{"--spread", "Inf"}, 2, "--spread +Inf"},
		{"min-dist at a huge spread", "five.arrows", []string{"--min-dist", "100", "--spread", "100"}, 2, "--min-dist 100 --spread 100: the curve 1/(1+a*d^(2b)) cannot be fitted to them"},
		{"tiny spread", "five.arrows", []string{"--min-dist", "0", "--spread", "5e-324"}, 2, "--spread 5e-324: want a number in [0.001, 100]"},
		{"no negative samples", "five.arrows", []string{"--negative-sample-rate", "0"}, 2, "--negative-sample-rate 0: want an integer in 1..100"},
		{"17 components", "five.arrows", []string{"--n-components", "17"}, 2, "--n-components 17: want an integer in 1..16"},
		{"huge epochs", "five.arrows", []string{"--epochs", "9999999999999"}, 2, "--epochs 9999999999999: want an integer in 0..100000 (0 = umap-learn's rule)"},
		{"huge neighbours", "five.arrows", []string{"--n-neighbors", "9999999999999"}, 2, "--n-neighbors 9999999999999"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(dir, c.name+".out")
			cmd := exec.Command(bin, append([]string{"-i", filepath.Join(dir, c.in), "-o", out}, c.args...)...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != c.code {
				t.Fatalf("exit %v, want code %d; stderr %q", err, c.code, stderr.String())
			}
			var errLines []string
			for _, l := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
				if strings.HasPrefix(l, "reduce: ") {
					errLines = append(errLines, l)
				}
			}
			if len(errLines) != 1 || !strings.Contains(errLines[0], c.mention) {
				t.Errorf("stderr %q: want one line 'reduce: ...' mentioning %q", stderr.String(), c.mention)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("output file exists after a failure")
			}
		})
	}
}

func TestReduceWritesCoordsWithSettings(t *testing.T) {
	bin := build(t)
	dir := t.TempDir()
	in, out := filepath.Join(dir, "f.arrows"), filepath.Join(dir, "c.arrows")
	features(t, in, 300, 6, false)
	cmd := exec.Command(bin, "-i", in, "-o", out, "--epochs", "50", "--seed", "5")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd, err := contract.NewReader(f, contract.KindCoords)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Release()
	m := rd.Meta()
	for k, want := range map[string]string{
		contract.MetaUMAPPrefix + "n_neighbors": "10", contract.MetaUMAPPrefix + "metric": "cosine",
		contract.MetaUMAPPrefix + "n_components": "3", contract.MetaUMAPPrefix + "n_epochs": "50",
		contract.MetaUMAPPrefix + "min_dist": "0.1", contract.MetaUMAPPrefix + "init": "spectral",
		contract.MetaSeed: "5", contract.MetaSplit: "test",
	} {
		if m[k] != want {
			t.Errorf("metadata %s = %q, want %q", k, m[k], want)
		}
	}
	rows := 0
	for rd.Next() {
		b := rd.Coords()
		for i := 0; i < b.N; i++ {
			if b.Index[i] != int64(rows+i) || b.Label[i] != uint8((rows+i)%2) {
				t.Fatalf("row %d: index %d label %d", rows+i, b.Index[i], b.Label[i])
			}
		}
		rows += b.N
	}
	if rd.Err() != nil || rows != 300 || rd.Dim() != 3 {
		t.Fatalf("read %d rows of dim %d, err %v", rows, rd.Dim(), rd.Err())
	}
}

func TestReduceOutputIsIdenticalForAnyCoreCount(t *testing.T) {
	bin := build(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "f.arrows")
	features(t, in, 1200, 8, false)
	var ref []byte
	for _, procs := range []string{"1", "2", "3"} {
		out := filepath.Join(dir, "c"+procs+".arrows")
		cmd := exec.Command(bin, "-i", in, "-o", out, "--epochs", "40", "--seed", "9")
		cmd.Env = append(os.Environ(), "GOMAXPROCS="+procs)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("GOMAXPROCS=%s: %v: %s", procs, err, b)
		}
		got, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if ref == nil {
			ref = got
		} else if !bytes.Equal(got, ref) {
			t.Fatalf("GOMAXPROCS=%s: output differs from GOMAXPROCS=1", procs)
		}
	}
}

// TestPhasesReportIsSafeFromWorkerGoroutines calls the progress callback as
// umap's exact kNN does, from several goroutines at once, across many phase
// changes: a report that sees the new phase's name before its Progress exists
// must not crash (it did, in about 1 of 60 runs of the stage).
func TestPhasesReportIsSafeFromWorkerGoroutines(t *testing.T) {
	s := cli.New("reduce", "test", "reduce")
	s.Parse([]string{"--quiet"})
	ph := &phases{s: s}
	const workers, blocks = 8, 16
	for phase := 0; phase < 200; phase++ {
		name := "phase " + strings.Repeat("x", phase%7) + string(rune('a'+phase%26))
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for b := 1; b <= blocks/workers; b++ {
					ph.report(name, b, blocks)
				}
			}()
		}
		wg.Wait()
	}
	ph.done()
	if ph.p != nil {
		t.Error("done left a phase open")
	}
}

// TestStageRunsInProcess runs reduce's stage function on in-memory streams.
func TestStageRunsInProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.arrows")
	features(t, path, 60, 4, false)
	in, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := stage([]string{"--n-components", "2", "--epochs", "20", "--quiet"}, bytes.NewReader(in), &out, &errb)
	if code != 0 || errb.Len() != 0 {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	r, err := contract.NewReader(&out, contract.KindCoords)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for r.Next() {
		b := r.Coords()
		for _, v := range b.Values {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("coordinate %v", v)
			}
		}
		n += b.N
	}
	if r.Err() != nil || n != 60 || r.Dim() != 2 {
		t.Fatalf("%d rows of %d, %v", n, r.Dim(), r.Err())
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/siampipe/siampipe/internal/contract"
	"github.com/siampipe/siampipe/internal/report"
	"github.com/siampipe/siampipe/internal/stagetest"
)

var binary string

func TestMain(m *testing.M) { stagetest.Main(m, "eval", &binary) }

// features writes a features stream of rows clustered by class (10 classes).
func features(t *testing.T, dir, name string, rows, dim int, seed uint64, model string) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 99))
	centres := rand.New(rand.NewPCG(1, 1)) // the same centres in every file
	c := make([]float32, 10*dim)
	for i := range c {
		c[i] = float32(centres.NormFloat64())
	}
	var b bytes.Buffer
	w, err := contract.NewFeaturesWriter(&b, dim, contract.Meta{contract.MetaModel: model, contract.MetaLayer: "backbone"}, contract.Options{BatchRows: 64})
	if err != nil {
		t.Fatal(err)
	}
	v := make([]float32, dim)
	for i := 0; i < rows; i++ {
		l := i % 10
		for j := range v {
			v[j] = c[l*dim+j] + 0.6*float32(rng.NormFloat64())
		}
		if err := w.Append(int64(i), uint8(l), v); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

func TestEvalWritesReportAndTable(t *testing.T) {
	dir := t.TempDir()
	train := features(t, dir, "train.arrows", 1000, 16, 1, "sha256:m1")
	test := features(t, dir, "test.arrows", 300, 16, 2, "sha256:m1")
	out, errOut, code := run(t, "--train", train, "--test", test, "--k", "50", "--label-fraction", "0.05,1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var r report.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("stdout is not the JSON report: %v\n%s", err, out)
	}
	if r.KNN.K != 50 || r.KNN.T != 0.1 || r.KNN.Top1 < 0.9 {
		t.Errorf("knn %+v: want k 50, t 0.1 and high accuracy on clustered data", r.KNN)
	}
	if len(r.Linear) != 2 || r.Linear[0].LabelFraction != 0.05 || r.Linear[0].NTrain != 50 || r.Linear[1].NTrain != 1000 {
		t.Errorf("linear %+v: want fractions 0.05 (50 rows) and 1 (1000 rows)", r.Linear)
	}
	if len(r.PerClass) != 10 || r.PerClass[0].Class != "T-shirt/top" || len(r.Confusion) != 10 {
		t.Errorf("per-class %d entries, confusion %d rows: want 10 each", len(r.PerClass), len(r.Confusion))
	}
	if r.Inputs.Train.Model != "sha256:m1" || r.Counts.Dim != 16 || r.Counts.Test != 300 {
		t.Errorf("inputs %+v, counts %+v", r.Inputs, r.Counts)
	}
	for _, want := range []string{"kNN (k=50, t=0.1)", "linear probe, 5% of labels (50)", "Ankle boot", "kNN confusion"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	// the same inputs and seed give the same report, timings apart
	out2, _, _ := run(t, "--train", train, "--test", test, "--k", "50", "--label-fraction", "0.05,1")
	strip := func(s string) string { return s[:strings.Index(s, `"timings"`)] }
	if strip(out) != strip(out2) {
		t.Error("two runs gave different reports")
	}
}

func TestEvalMinKNNGatesWithExitStatus3(t *testing.T) {
	dir := t.TempDir()
	train := features(t, dir, "train.arrows", 500, 8, 1, "")
	test := features(t, dir, "test.arrows", 100, 8, 2, "")
	report := filepath.Join(dir, "report.json")
	_, errOut, code := run(t, "--train", train, "--test", test, "--label-fraction", "", "--min-knn", "1.01", "-o", report)
	if code != 3 {
		t.Fatalf("exit %d, want 3: %s", code, errOut)
	}
	if !strings.Contains(errOut, "eval: kNN top-1") || !strings.Contains(errOut, "below --min-knn 1.01") {
		t.Errorf("stderr does not say why: %s", errOut)
	}
	if _, err := os.Stat(report); err != nil {
		t.Errorf("report not written when the gate fails: %v", err)
	}
	if _, _, code := run(t, "--train", train, "--test", test, "--label-fraction", "", "--min-knn", "0.5", "-o", report); code != 0 {
		t.Errorf("exit %d above the gate, want 0", code)
	}
}

func TestEvalAcceptsImagesStreams(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, rows int, seed uint64) string {
		rng := rand.New(rand.NewPCG(seed, 5))
		var b bytes.Buffer
		w, err := contract.NewImagesWriter(&b, 4, 4, contract.Meta{}, contract.Options{})
		if err != nil {
			t.Fatal(err)
		}
		px := make([]uint8, 16)
		for i := 0; i < rows; i++ {
			l := i % 2
			for j := range px {
				px[j] = uint8(rng.IntN(60))
				if (j < 8) == (l == 0) {
					px[j] += 190
				}
			}
			if err := w.Append(int64(i), uint8(l), px); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		os.WriteFile(p, b.Bytes(), 0o644)
		return p
	}
	out, errOut, code := run(t, "--train", write("train.arrows", 200, 1), "--test", write("test.arrows", 50, 2), "--label-fraction", "1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var r report.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.KNN.Top1 != 1 || r.Linear[0].Top1 != 1 || r.Inputs.Train.Kind != "images" || r.Counts.Dim != 16 {
		t.Errorf("knn %+v linear %+v inputs %+v counts %+v: want perfect accuracy on 16-pixel images", r.KNN, r.Linear, r.Inputs.Train, r.Counts)
	}
}

func TestEvalRejectsBadInvocationsWithOneLine(t *testing.T) {
	dir := t.TempDir()
	train := features(t, dir, "train.arrows", 100, 8, 1, "sha256:a")
	test := features(t, dir, "test.arrows", 50, 8, 2, "sha256:a")
	other := features(t, dir, "other.arrows", 50, 8, 2, "sha256:b")
	wide := features(t, dir, "wide.arrows", 50, 9, 2, "sha256:a")
	var cb bytes.Buffer
	cw, _ := contract.NewCoordsWriter(&cb, 3, contract.Meta{}, contract.Options{})
	cw.Append(0, 0, []float32{1, 2, 3})
	cw.Close()
	coords := filepath.Join(dir, "coords.arrows")
	os.WriteFile(coords, cb.Bytes(), 0o644)
	notArrow := filepath.Join(dir, "notes.txt")
	os.WriteFile(notArrow, []byte("hello\n"), 0o644)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no test", []string{"--train", train}, 2, "--train and --test are required"},
		{"bad fraction", []string{"--train", train, "--test", test, "--label-fraction", "0.1,2"}, 2, "not a fraction"},
		{"missing file", []string{"--train", filepath.Join(dir, "nope"), "--test", test}, 1, "--train"},
		{"coords instead of features", []string{"--train", coords, "--test", test}, 1, "coords"},
		{"not Arrow", []string{"--train", train, "--test", notArrow}, 1, "--test"},
		{"other model", []string{"--train", train, "--test", other, "--label-fraction", ""}, 1, "embed both splits with one checkpoint"},
		{"other width", []string{"--train", train, "--test", wide, "--label-fraction", ""}, 1, "8-d but test features 9-d"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := run(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d (%s)", code, tc.code, errOut)
			}
			lines := strings.Split(strings.TrimSpace(errOut), "\n")
			last := lines[len(lines)-1]
			if !strings.HasPrefix(last, "eval: ") || !strings.Contains(last, tc.want) {
				t.Errorf("message %q, want one line starting \"eval: \" naming %q", last, tc.want)
			}
			if out != "" {
				t.Errorf("wrote a report on failure: %q", out)
			}
		})
	}
}

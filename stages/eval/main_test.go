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
	return featuresWith(t, dir, name, rows, dim, seed, contract.Meta{contract.MetaModel: model, contract.MetaLayer: "backbone"}, contract.Options{BatchRows: 64})
}

// featuresWith is features with the stream's metadata and writer options.
func featuresWith(t *testing.T, dir, name string, rows, dim int, seed uint64, meta contract.Meta, opt contract.Options) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 99))
	centres := rand.New(rand.NewPCG(1, 1)) // the same centres in every file
	c := make([]float32, 10*dim)
	for i := range c {
		c[i] = float32(centres.NormFloat64())
	}
	var b bytes.Buffer
	w, err := contract.NewFeaturesWriter(&b, dim, meta, opt)
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
	// Every train row votes, with nearly the same weight: a few test rows
	// go wrong, and a gate of 1 (every row right) fails.
	_, errOut, code := run(t, "--train", train, "--test", test, "--label-fraction", "", "--k", "500", "--t", "1000", "--min-knn", "1", "-o", report)
	if code != 3 {
		t.Fatalf("exit %d, want 3: %s", code, errOut)
	}
	if !strings.Contains(errOut, "eval: kNN top-1 0.9") || !strings.Contains(errOut, "below --min-knn 1.0000") {
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
	images := imagesFile(t, dir, 50)
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
		{"images and features", []string{"--train", images, "--test", test}, 1, "--train is an images stream (784 values per row) but --test a features stream (8 values per row): give two streams of one kind"},
		{"features and images", []string{"--train", train, "--test", images}, 1, "--train is a features stream (8 values per row) but --test an images stream (784 values per row)"},
		{"-i is not an eval flag", []string{"--train", train, "--test", test, "-i", train}, 2, "flag provided but not defined: -i"},
		{"--compress is not an eval flag", []string{"--train", train, "--test", test, "--compress", "zstd"}, 2, "flag provided but not defined: -compress"},
		{"both from stdin", []string{"--train", "-", "--test", "-"}, 2, "cannot both be -"},
		{"min-knn NaN", []string{"--train", train, "--test", test, "--min-knn", "NaN"}, 2, "--min-knn NaN: want a number in [0, 1]"},
		{"min-knn above 1", []string{"--train", train, "--test", test, "--min-knn", "2"}, 2, "--min-knn 2: want a number in [0, 1]"},
		{"min-knn negative", []string{"--train", train, "--test", test, "--min-knn", "-1"}, 2, "--min-knn -1"},
		{"k 0", []string{"--train", train, "--test", test, "--k", "0"}, 2, "--k 0: want an integer in 1..100000"},
		{"k huge", []string{"--train", train, "--test", test, "--k", "9999999999999"}, 2, "--k 9999999999999"},
		{"t NaN", []string{"--train", train, "--test", test, "--t", "NaN"}, 2, "--t NaN: want a number in [1e-06, 1000]"},
		{"t 0", []string{"--train", train, "--test", test, "--t", "0"}, 2, "--t 0"},
		{"probe-c Inf", []string{"--train", train, "--test", test, "--probe-c", "Inf"}, 2, "--probe-c +Inf: want a number in [1e-06, 1e+06]"},
		{"t denormal", []string{"--train", train, "--test", test, "--t", "5e-324"}, 2, "--t 5e-324: want a number in [1e-06, 1000]"},
		{"probe-c denormal", []string{"--train", train, "--test", test, "--probe-c", "5e-324"}, 2, "--probe-c 5e-324"},
		{"probe-max-iter 0", []string{"--train", train, "--test", test, "--probe-max-iter", "0"}, 2, "--probe-max-iter 0: want an integer in 1..100000"},
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

// imagesFile writes an images stream of n 28x28 images.
func imagesFile(t *testing.T, dir string, n int) string {
	t.Helper()
	var b bytes.Buffer
	w, err := contract.NewImagesWriter(&b, 28, 28, contract.Meta{contract.MetaSplit: "train"}, contract.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pix := make([]uint8, 784)
	for i := 0; i < n; i++ {
		pix[i] = uint8(i)
		if err := w.Append(int64(i), uint8(i%10), pix); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "images.arrows")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestStageRunsInProcess runs eval's stage function on in-memory streams:
// --train from stdin, the report to stdout, the table to stderr.
func TestStageRunsInProcess(t *testing.T) {
	dir := t.TempDir()
	train := features(t, dir, "train.arrows", 200, 8, 1, "sha256:a")
	test := features(t, dir, "test.arrows", 100, 8, 2, "sha256:a")
	stdin, err := os.ReadFile(train)
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := stage([]string{"--train", "-", "--test", test, "--label-fraction", "1", "--k", "20"}, bytes.NewReader(stdin), &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	var r report.Report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil || r.Counts.Train != 200 || r.KNN.K != 20 || !(r.KNN.Top1 > 0.5) {
		t.Fatalf("report %+v, %v", r.KNN, err)
	}
	if !strings.Contains(errb.String(), "kNN") {
		t.Fatalf("no table on stderr: %q", errb.String())
	}
}

func TestEvalNamesTheStreamsClasses(t *testing.T) {
	dir := t.TempDir()
	names := []string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}
	meta := contract.Meta{}.SetClasses(names)
	train := featuresWith(t, dir, "train.arrows", 500, 8, 1, meta, contract.Options{})
	test := featuresWith(t, dir, "test.arrows", 200, 8, 2, meta, contract.Options{})
	out, errOut, code := run(t, "--train", train, "--test", test, "--label-fraction", "1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var r report.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	for c, n := range names {
		if r.PerClass[c].Class != n {
			t.Fatalf("class %d is %q, want %q", c, r.PerClass[c].Class, n)
		}
	}
	if !strings.Contains(errOut, "seven") || strings.Contains(errOut, "Ankle boot") {
		t.Errorf("the table does not use the stream's names:\n%s", errOut)
	}
}

func TestEvalRefusesUnlabelledOrDisagreeingClasses(t *testing.T) {
	dir := t.TempDir()
	labelled := features(t, dir, "train.arrows", 300, 8, 1, "m")
	unlabelled := featuresWith(t, dir, "u.arrows", 100, 8, 2, contract.Meta{contract.MetaModel: "m"}, contract.Options{Unlabelled: true})
	other := featuresWith(t, dir, "o.arrows", 100, 8, 3, contract.Meta{contract.MetaModel: "m"}.SetClasses([]string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}), contract.Options{})
	few := featuresWith(t, dir, "few.arrows", 100, 8, 3, contract.Meta{}.SetClasses([]string{"a", "b"}), contract.Options{})
	for _, tc := range []struct {
		name, train, test, want string
	}{
		{"unlabelled test", labelled, unlabelled, "unlabelled; eval scores labels"},
		{"other names", labelled, other, "class names do not fit"},
		{"labels beyond the names", few, few, "label 2, but the stream names 2 classes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := run(t, "--train", tc.train, "--test", tc.test, "--quiet")
			if code != 1 || !strings.Contains(errOut, tc.want) || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
				t.Fatalf("exit %d, %q; want 1 and one line with %q", code, errOut, tc.want)
			}
		})
	}
}

// Package flagcheck feeds every numeric flag of every stage hostile values
// (NaN, Inf, -1, 0, the smallest positive float, huge) on a tiny valid input and checks that each stage
// answers sensibly: no panic, exit 0 (with a valid, finite output), 1 or 2
// (one line on stderr, prefixed with the stage's name), and 2 for a float
// flag given NaN or Inf or an integer flag given NaN. The flags are found in
// each stage's own --help, so a new flag is covered the day it is added.
package flagcheck

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/siampipe/siampipe/internal/contract"
	"github.com/siampipe/siampipe/internal/stagetest"
)

var stages = []string{"fetch", "augment", "train", "embed", "eval", "reduce", "plot"}

// bin is the folder of the stage binaries; fix the folder of the fixtures.
var bin, fix string

func TestMain(m *testing.M) { os.Exit(setUp(m)) }

func setUp(m *testing.M) int {
	dir, err := os.MkdirTemp("", "flagcheck-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin, fix = filepath.Join(dir, "bin"), filepath.Join(dir, "fix")
	if err := stagetest.Build(bin, stages...); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := fixtures(fix); err != nil {
		fmt.Fprintln(os.Stderr, "fixtures:", err)
		return 1
	}
	return m.Run()
}

// fixtures writes the tiny inputs: 40 images, 1 epoch of 16 pairs, a seed
// model trained on them, 30 features in two blobs, 40 3-d coords.
func fixtures(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var b bytes.Buffer
	iw, err := contract.NewImagesWriter(&b, 28, 28, contract.Meta{contract.MetaSplit: "train"}, contract.Options{})
	if err != nil {
		return err
	}
	pix := make([]uint8, 784)
	for i := range 40 {
		for j := range pix {
			pix[j] = uint8(rng.IntN(256))
		}
		if err := iw.Append(int64(i), uint8(i%10), pix); err != nil {
			return err
		}
	}
	if err := iw.Close(); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "images.arrows"), b.Bytes(), 0o644); err != nil {
		return err
	}

	b.Reset()
	pw, err := contract.NewPairsWriter(&b, 28, 28, contract.Meta{contract.MetaEpochs: "1", contract.MetaRowsPerEpoch: "16", contract.MetaSeed: "0"}, contract.Options{})
	if err != nil {
		return err
	}
	v1, v2 := make([]uint8, 784), make([]uint8, 784)
	for i := range 16 {
		for j := range v1 {
			v1[j], v2[j] = uint8(rng.IntN(256)), uint8(rng.IntN(256))
		}
		if err := pw.Append(int64(i), uint8(i%10), 0, v1, v2); err != nil {
			return err
		}
	}
	if err := pw.Close(); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "pairs.arrows"), b.Bytes(), 0o644); err != nil {
		return err
	}

	b.Reset()
	fw, err := contract.NewFeaturesWriter(&b, 6, contract.Meta{contract.MetaModel: "m"}, contract.Options{})
	if err != nil {
		return err
	}
	row := make([]float32, 6)
	for i := range 30 {
		for j := range row {
			row[j] = float32(rng.NormFloat64()) + float32(4*(i%2))
		}
		if err := fw.Append(int64(i), uint8(i%2), row); err != nil {
			return err
		}
	}
	if err := fw.Close(); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "features.arrows"), b.Bytes(), 0o644); err != nil {
		return err
	}

	b.Reset()
	cw, err := contract.NewCoordsWriter(&b, 3, contract.Meta{}, contract.Options{})
	if err != nil {
		return err
	}
	for i := range 40 {
		if err := cw.Append(int64(i), uint8(i%10), []float32{float32(i % 10), float32(rng.NormFloat64()), float32(i)}); err != nil {
			return err
		}
	}
	if err := cw.Close(); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "coords.arrows"), b.Bytes(), 0o644); err != nil {
		return err
	}

	cmd := exec.Command(filepath.Join(bin, "train"), "-i", filepath.Join(dir, "pairs.arrows"), "--arch", "seed", "--batch-size", "8",
		"--save-every", "0", "--quiet", "-o", filepath.Join(dir, "model.arrows"))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("train the model fixture: %v: %s", err, out)
	}
	return nil
}

// base is each stage's small valid invocation; the flag under test is
// appended (the last value of a flag wins). out is the output file.
func base(stage, out, work string) []string {
	f := func(name string) string { return filepath.Join(fix, name) }
	switch stage {
	case "fetch":
		return []string{"--split", "test", "--limit", "5", "-o", out}
	case "augment":
		return []string{"-i", f("images.arrows"), "--epochs", "1", "-o", out}
	case "train":
		return []string{"-i", f("pairs.arrows"), "--arch", "seed", "--batch-size", "8", "--save-every", "0",
			"--checkpoint-dir", filepath.Join(work, "ck"), "--metrics", filepath.Join(work, "metrics.jsonl"), "-o", out}
	case "embed":
		return []string{"-i", f("images.arrows"), "--model", f("model.arrows"), "-o", out}
	case "eval":
		return []string{"--train", f("features.arrows"), "--test", f("features.arrows"), "--label-fraction", "1", "--k", "5", "-o", out}
	case "reduce":
		return []string{"-i", f("features.arrows"), "--n-neighbors", "5", "--epochs", "20", "-o", out}
	case "plot":
		return []string{"-i", f("coords.arrows"), "--png", out}
	}
	panic(stage)
}

// valid checks the output of a run that exited 0.
func valid(stage, out string) error {
	b, err := os.ReadFile(out)
	if err != nil {
		return err
	}
	switch stage {
	case "eval":
		var r struct {
			KNN struct{ Top1 float64 } `json:"knn"`
		}
		if err := json.Unmarshal(b, &r); err != nil {
			return err
		}
		if !(r.KNN.Top1 >= 0 && r.KNN.Top1 <= 1) {
			return fmt.Errorf("kNN top-1 %v", r.KNN.Top1)
		}
		return nil
	case "plot":
		_, err := png.Decode(bytes.NewReader(b))
		return err
	case "train":
		_, ts, err := contract.ReadModel(bytes.NewReader(b))
		if err != nil {
			return err
		}
		for _, t := range ts {
			if err := finite(t.Values); err != nil {
				return fmt.Errorf("%s: %w", t.Name, err)
			}
		}
		return nil
	}
	r, err := contract.NewReader(bytes.NewReader(b))
	if err != nil {
		return err
	}
	defer r.Release()
	rows := 0
	for r.Next() {
		switch r.Kind() {
		case contract.KindFeatures:
			err = finite(r.Features().Values)
			rows += r.Features().N
		case contract.KindCoords:
			err = finite(r.Coords().Values)
			rows += r.Coords().N
		case contract.KindImages:
			rows += r.Images().N
		case contract.KindPairs:
			rows += r.Pairs().N
		}
		if err != nil {
			return err
		}
	}
	if err := r.Err(); err != nil {
		return err
	}
	if rows == 0 {
		return errors.New("no rows")
	}
	return nil
}

func finite(v []float32) error {
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("value %d is %v", i, x)
		}
	}
	return nil
}

// numericFlag matches a numeric flag's line in --help: "  --lr float".
var numericFlag = regexp.MustCompile(`(?m)^  --?([a-z0-9-]+) (int|uint|float)$`)

// numericFlags returns each numeric flag of stage and its type, from --help.
func numericFlags(t *testing.T, stage string) map[string]string {
	t.Helper()
	out, err := exec.Command(filepath.Join(bin, stage), "--help").Output()
	if err != nil {
		t.Fatalf("%s --help: %v", stage, err)
	}
	flags := map[string]string{}
	for _, m := range numericFlag.FindAllStringSubmatch(string(out), -1) {
		flags[m[1]] = m[2]
	}
	return flags
}

// listFlags are string flags that hold numbers: fed the same values.
var listFlags = map[string][]string{
	"train": {"channels", "proj-dims"},
	"eval":  {"label-fraction"},
}

func values(typ string) []string {
	if typ == "float" || typ == "list" {
		return []string{"NaN", "Inf", "-Inf", "-1", "0", "5e-324", "1e12"}
	}
	return []string{"NaN", "-1", "0", "9999999999999"}
}

func TestEveryNumericFlagOfEveryStage(t *testing.T) {
	// A few flags every stage is known to have: the --help parser works.
	want := map[string][]string{"fetch": {"limit"}, "augment": {"bins", "crop-scale", "seed"}, "train": {"lr", "pred-hidden", "seed"},
		"embed": {"batch-size"}, "eval": {"min-knn", "k"}, "reduce": {"learning-rate", "n-components"}, "plot": {"width"}}
	for _, stage := range stages {
		flags := numericFlags(t, stage)
		for _, w := range want[stage] {
			if flags[w] == "" {
				t.Errorf("%s --help lists no numeric flag --%s (found %v)", stage, w, flags)
			}
		}
		for _, l := range listFlags[stage] {
			flags[l] = "list"
		}
		for flag, typ := range flags {
			for _, v := range values(typ) {
				t.Run(stage+"/"+flag+"="+v, func(t *testing.T) {
					check(t, stage, flag, typ, v)
				})
			}
		}
	}
}

func check(t *testing.T, stage, flag, typ, v string) {
	work := t.TempDir()
	out := filepath.Join(work, "out")
	args := append(base(stage, out, work), "--quiet", "--"+flag, v)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(bin, stage), args...)
	cmd.Dir = work
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %s: still running after 60 s", stage, strings.Join(args, " "))
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	msg := stderr.String()
	t.Logf("exit %d %s", code, strings.TrimSpace(msg))
	if strings.Contains(msg, "panic:") || strings.Contains(msg, "goroutine ") {
		t.Fatalf("panicked: %s", msg)
	}
	switch code {
	case 0:
		if msg != "" {
			t.Errorf("exit 0 with --quiet wrote to stderr: %q", msg)
		}
		if err := valid(stage, out); err != nil {
			t.Errorf("exit 0 but the output is not valid: %v", err)
		}
	case 1, 2:
		if strings.Count(msg, "\n") != 1 || !strings.HasPrefix(msg, stage+": ") {
			t.Errorf("exit %d, stderr %q: want one line starting %q", code, msg, stage+": ")
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("exit %d but the output was written", code)
		}
	default:
		t.Errorf("exit %d, want 0, 1 or 2: %s", code, msg)
	}
	hostile := v == "NaN" || (typ == "float" && strings.Contains(v, "Inf"))
	if hostile && code != 2 {
		t.Errorf("exit %d for --%s %s, want 2 (a usage error): %s", code, flag, v, msg)
	}
}

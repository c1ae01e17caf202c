package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/siampipe/siampipe/internal/arch"
	"github.com/siampipe/siampipe/internal/checkpoint"
	"github.com/siampipe/siampipe/internal/contract"
)

// smallSimCLR are the flags of a small simclr model (no predictor width).
var smallSimCLR = []string{"--method", "simclr", "--channels", "4,8", "--proj-dims", "8,8", "--batch-size", "8"}

func readCheckpoint(t *testing.T, path string) checkpoint.Checkpoint {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := checkpoint.Read(f)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSimCLRRecordsItsMethodAndResumesExactly: a simclr run writes the
// method and temperature, a backbone and projector and no predictor; resumed
// from its epoch-1 checkpoint it ends bit for bit where the uninterrupted
// run did; a flag that disagrees with the checkpoint is refused.
func TestSimCLRRecordsItsMethodAndResumesExactly(t *testing.T) {
	dir := t.TempDir()
	in := pairs(t, dir, 3, 16)
	args := append([]string{"-i", in, "--save-every", "1", "--quiet", "--temperature", "0.3"}, smallSimCLR...)
	full := filepath.Join(dir, "full.arrows")
	ck := filepath.Join(dir, "ck")
	if r := run(t, append(args, "-o", full, "--checkpoint-dir", ck)...); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	c := readCheckpoint(t, full)
	if c.Arch != arch.SimSiam || c.Train.Method != arch.MethodSimCLR || c.Train.Temperature != 0.3 || c.Step != 6 {
		t.Errorf("header arch %s method %s temperature %v step %d, want simsiam simclr 0.3 6", c.Arch, c.Train.Method, c.Train.Temperature, c.Step)
	}
	names := map[string]bool{}
	for _, x := range c.Tensors {
		names[x.Name] = true
		if strings.Contains(x.Name, "predictor.") {
			t.Errorf("simclr checkpoint has %s", x.Name)
		}
	}
	for _, n := range []string{"backbone.conv2.weight", "projector.fc2.weight", "projector.bn2.running_var", "optim.projector.fc1.weight.momentum_buffer"} {
		if !names[n] {
			t.Errorf("simclr checkpoint lacks %s", n)
		}
	}
	first := filepath.Join(ck, "epoch-0001.arrows")
	// The checkpoint's method and temperature rule: no flag needed.
	resumeMatchesAndRefuses(t, dir, in, full, first, []refusal{
		{[]string{"--temperature", "0.4"}, "--temperature 0.4 (checkpoint: 0.3)"},
		{[]string{"--method", "simsiam"}, "--method simsiam (checkpoint: simclr)"},
	})
}

// A checkpoint of a simsiam run refuses a temperature on resume, and one
// written before the method was recorded resumes as simsiam.
func TestResumeOfASimSiamCheckpointHasNoTemperature(t *testing.T) {
	dir := t.TempDir()
	in := pairs(t, dir, 2, 16)
	args := append([]string{"-i", in, "--save-every", "1", "--quiet"}, small...)
	full := filepath.Join(dir, "full.arrows")
	if r := run(t, append(args, "-o", full, "--checkpoint-dir", filepath.Join(dir, "ck"))...); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	first := filepath.Join(dir, "ck", "epoch-0001.arrows")
	if c := readCheckpoint(t, first); c.Train.Method != arch.MethodSimSiam || c.Train.Temperature != 0 || c.Absent != nil {
		t.Errorf("simsiam checkpoint: method %q temperature %v absent %v", c.Train.Method, c.Train.Temperature, c.Absent)
	}
	r := run(t, "-i", in, "-o", filepath.Join(dir, "x.arrows"), "--resume", first, "--quiet", "--temperature", "0.5")
	if r.code != 2 || !strings.Contains(r.stderr, "--temperature 0.5 (checkpoint: none)") {
		t.Errorf("resume with --temperature: exit %d, stderr %q", r.code, r.stderr)
	}
	meta, ts := readModel(t, first)
	delete(meta, contract.MetaTrainMethod)
	delete(meta, contract.MetaTrainTemperature)
	var b bytes.Buffer
	if err := contract.WriteModel(&b, meta, ts, contract.Options{}); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(dir, "old.arrows")
	os.WriteFile(old, b.Bytes(), 0o644)
	resumed := filepath.Join(dir, "resumed.arrows")
	if r := run(t, "-i", in, "-o", resumed, "--resume", old, "--checkpoint-dir", filepath.Join(dir, "ck2"), "--quiet"); r.code != 0 {
		t.Fatalf("resume of a checkpoint without method: exit %d: %s", r.code, r.stderr)
	}
	_, x := readModel(t, full)
	_, y := readModel(t, resumed)
	sameTensors(t, x, y)
	// A simclr checkpoint that lost its temperature is refused, not
	// resumed at the default.
	meta[contract.MetaTrainMethod] = arch.MethodSimCLR
	b.Reset()
	contract.WriteModel(&b, meta, ts, contract.Options{})
	os.WriteFile(old, b.Bytes(), 0o644)
	r = run(t, "-i", in, "-o", resumed+"2", "--resume", old, "--quiet")
	if r.code != 1 || !strings.Contains(r.stderr, "lacks "+contract.MetaTrainTemperature) {
		t.Errorf("simclr checkpoint without temperature: exit %d, stderr %q", r.code, r.stderr)
	}
}

// Flags that do not fit the method are usage errors: exit 2, one line,
// nothing written, before any input is read.
func TestMethodFlagsThatDoNotFitAreUsageErrors(t *testing.T) {
	dir := t.TempDir()
	in := pairs(t, dir, 1, 16)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--method", "byol"}, `--method "byol": want simsiam or simclr`},
		{[]string{"--method", "simclr", "--temperature", "0"}, "--temperature 0: want a positive finite number (default 0.2)"},
		{[]string{"--method", "simclr", "--temperature", "-1"}, "--temperature -1: want a positive finite number (default 0.2)"},
		{[]string{"--method", "simclr", "--temperature", "NaN"}, "--temperature NaN: want a positive finite number (default 0.2)"},
		{[]string{"--method", "simclr", "--temperature", "Inf"}, "--temperature +Inf: want a positive finite number (default 0.2)"},
		{[]string{"--method", "simclr", "--arch", "seed"}, "--method simclr trains a projector, which --arch seed lacks: use --arch simsiam"},
		{[]string{"--method", "simclr", "--pred-hidden", "8"}, "--method simclr has no predictor: drop --pred-hidden"},
		{[]string{"--method", "simclr", "--fixed-predictor-lr=false"}, "--method simclr has no predictor: drop --fixed-predictor-lr"},
		{[]string{"--temperature", "0.2"}, "--temperature is simclr's: add --method simclr or drop it"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out := filepath.Join(dir, "out.arrows")
			r := run(t, append([]string{"-i", in, "-o", out, "--quiet", "--batch-size", "8"}, tc.args...)...)
			lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
			if r.code != 2 || len(lines) != 1 || lines[0] != "train: "+tc.want {
				t.Errorf("exit %d, stderr %q; want exit 2 and the line %q", r.code, r.stderr, "train: "+tc.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Error("a refused run wrote its output")
			}
		})
	}
}

// TestCollapseIsWarnedOnceEvenWhenQuiet feeds views that are all black:
// every output is the same, so z_std is 0 from the first step, and train
// says so in one line, once, with --quiet, and still writes its model.
func TestCollapseIsWarnedOnceEvenWhenQuiet(t *testing.T) {
	dir := t.TempDir()
	var b bytes.Buffer
	w, err := contract.NewPairsWriter(&b, 28, 28, contract.Meta{contract.MetaEpochs: "2", contract.MetaRowsPerEpoch: "16"}, contract.Options{})
	if err != nil {
		t.Fatal(err)
	}
	black := make([]uint8, 784)
	for e := range 2 {
		for i := range 16 {
			w.Append(int64(i), 0, int32(e), black, black)
		}
	}
	w.Close()
	in := filepath.Join(dir, "black.arrows")
	os.WriteFile(in, b.Bytes(), 0o644)
	for _, method := range [][]string{small, smallSimCLR} {
		out := filepath.Join(dir, "m.arrows")
		r := run(t, append([]string{"-i", in, "-o", out, "--save-every", "0", "--quiet"}, method...)...)
		if r.code != 0 {
			t.Fatalf("%v: exit %d: %s", method, r.code, r.stderr)
		}
		lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
		if len(lines) != 1 || !strings.HasPrefix(lines[0], "train: warning: step 1: z_std ") ||
			!strings.Contains(lines[0], "is under 0.0354 (0.1/sqrt(d)): the outputs are collapsing to one point; lower --lr or add --warmup-epochs") {
			t.Errorf("%v: stderr %q; want one collapse warning at step 1", method, r.stderr)
		}
		if _, err := os.Stat(out); err != nil {
			t.Errorf("%v: no model written: %v", method, err)
		}
		os.Remove(out)
	}
	// Random views do not warn.
	r := run(t, append([]string{"-i", pairs(t, dir, 2, 16), "-o", filepath.Join(dir, "r.arrows"), "--save-every", "0", "--quiet"}, smallSimCLR...)...)
	if r.code != 0 || r.stderr != "" {
		t.Errorf("random views: exit %d, stderr %q; want a silent run", r.code, r.stderr)
	}
}

// refusal is a flag set that --resume must refuse, and the text of the refusal.
type refusal struct {
	flags []string
	want  string
}

// resumeMatchesAndRefuses resumes from checkpoint first on the pairs in
// without flags, which must end with the tensors of full, the
// uninterrupted run; then with each refusal's flags, which must exit 2
// naming want.
func resumeMatchesAndRefuses(t *testing.T, dir, in, full, first string, refusals []refusal) {
	t.Helper()
	resumed := filepath.Join(dir, "resumed.arrows")
	if r := run(t, "-i", in, "-o", resumed, "--checkpoint-dir", filepath.Join(dir, "ck2"), "--resume", first, "--quiet"); r.code != 0 {
		t.Fatalf("resume: exit %d: %s", r.code, r.stderr)
	}
	_, a := readModel(t, full)
	_, b := readModel(t, resumed)
	sameTensors(t, a, b)
	for _, tc := range refusals {
		r := run(t, append([]string{"-i", in, "-o", filepath.Join(dir, "x.arrows"), "--resume", first, "--quiet"}, tc.flags...)...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("resume with %v: exit %d, stderr %q; want exit 2 naming %q", tc.flags, r.code, r.stderr, tc.want)
		}
	}
}

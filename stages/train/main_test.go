package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
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
)

var binary string

func TestMain(m *testing.M) { stagetest.Main(m, "train", &binary) }

// pairs writes a pairs stream of random 28×28 views: epochs × rows pairs.
func pairs(t *testing.T, dir string, epochs, rows int) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(5, 6))
	var b bytes.Buffer
	meta := contract.Meta{contract.MetaEpochs: itoa(epochs), contract.MetaRowsPerEpoch: itoa(rows), contract.MetaSeed: "9"}
	w, err := contract.NewPairsWriter(&b, 28, 28, meta, contract.Options{BatchRows: 13})
	if err != nil {
		t.Fatal(err)
	}
	v1, v2 := make([]uint8, 784), make([]uint8, 784)
	for e := 0; e < epochs; e++ {
		for i := 0; i < rows; i++ {
			for j := range v1 {
				v1[j], v2[j] = uint8(rng.IntN(256)), uint8(rng.IntN(256))
			}
			if err := w.Append(int64(i), uint8(i%10), int32(e), v1, v2); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "pairs.arrows")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func itoa(n int) string { return strconv.Itoa(n) }

type result struct {
	code   int
	stderr string
}

func run(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var se bytes.Buffer
	cmd.Stderr = &se
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, se.String()}
}

func readModel(t *testing.T, path string) (contract.Meta, []contract.Tensor) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	meta, ts, err := contract.ReadModel(f)
	if err != nil {
		t.Fatal(err)
	}
	return meta, ts
}

func sameTensors(t *testing.T, a, b []contract.Tensor) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%d tensors vs %d", len(a), len(b))
	}
	for i := range a {
		if a[i].Name != b[i].Name || len(a[i].Values) != len(b[i].Values) {
			t.Fatalf("tensor %d: %s vs %s", i, a[i].Name, b[i].Name)
		}
		for j := range a[i].Values {
			if a[i].Values[j] != b[i].Values[j] {
				t.Fatalf("%s[%d]: %v vs %v (not bit-exact)", a[i].Name, j, a[i].Values[j], b[i].Values[j])
			}
		}
	}
}

func TestTrainWritesCheckpointMetadataAndMetrics(t *testing.T) {
	dir := t.TempDir()
	in := pairs(t, dir, 3, 40)
	out := filepath.Join(dir, "model.arrows")
	mf := filepath.Join(dir, "metrics.jsonl")
	r := run(t, "-i", in, "-o", out, "--batch-size", "16", "--checkpoint-dir", filepath.Join(dir, "ck"), "--save-every", "1",
		"--metrics", mf, "--log-every", "2", "--seed", "3", "--quiet")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	meta, ts := readModel(t, out)
	want := map[string]string{contract.MetaKind: "model", contract.MetaArch: "simsiam", contract.MetaEpoch: "3", contract.MetaStep: "6",
		contract.MetaSeed: "3", contract.MetaTrainBatchSize: "16", contract.MetaTrainLR: "0.2", contract.MetaTrainMomentum: "0.9",
		contract.MetaTrainWeightDecay: "0.001", contract.MetaTrainEpochs: "3", contract.MetaTrainRowsPerEpoch: "40",
		contract.MetaTrainStepsPerEpoch: "2", contract.MetaTrainFixedPredLR: "true", contract.MetaTrainPeakLR: "0.0125"}
	for k, v := range want {
		if meta[k] != v {
			t.Errorf("metadata %s = %q, want %q", k, meta[k], v)
		}
	}
	names := map[string]bool{}
	for _, x := range ts {
		names[x.Name] = true
	}
	for _, n := range []string{"backbone.conv1.weight", "backbone.bn3.running_var", "projector.bn2.running_mean", "predictor.fc2.bias", "optim.backbone.conv1.weight.momentum_buffer"} {
		if !names[n] {
			t.Errorf("checkpoint lacks %s", n)
		}
	}
	for e := 1; e <= 3; e++ {
		if _, err := os.Stat(filepath.Join(dir, "ck", "epoch-000"+itoa(e)+".arrows")); err != nil {
			t.Errorf("epoch %d checkpoint: %v", e, err)
		}
	}
	b, err := os.ReadFile(mf)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d metrics lines, want 3 (steps 2, 4, 6):\n%s", len(lines), b)
	}
	for i, l := range lines {
		var m map[string]float64
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"epoch", "step", "loss", "lr", "z_std", "step_ms", "images_per_s"} {
			if _, ok := m[k]; !ok {
				t.Errorf("metrics line %d lacks %s: %s", i, k, l)
			}
		}
		if m["step"] != float64(2*(i+1)) || m["epoch"] != float64(i+1) || !(m["loss"] > -1 && m["loss"] < 1) || !(m["z_std"] > 0) {
			t.Errorf("metrics line %d implausible: %s", i, l)
		}
	}
}

func TestSameInputAndSeedGiveSameBytes(t *testing.T) {
	dir := t.TempDir()
	in := pairs(t, dir, 2, 32)
	var outs [2][]byte
	for i := range outs {
		p := filepath.Join(dir, "m"+itoa(i))
		if r := run(t, "-i", in, "-o", p, "--batch-size", "16", "--save-every", "0", "--quiet"); r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		outs[i], _ = os.ReadFile(p)
	}
	if !bytes.Equal(outs[0], outs[1]) {
		t.Fatal("two runs with the same pairs and seed wrote different checkpoints")
	}
}

// waitFor polls for a file.
func waitFor(path string, d time.Duration) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(path); err == nil {
			return true
		}
	}
	return false
}

func TestResumeAfterSIGKILLIsBitExact(t *testing.T) {
	dir := t.TempDir()
	in := pairs(t, dir, 4, 16)
	common := []string{"-i", in, "--batch-size", "8", "--save-every", "1", "--quiet"}
	full := filepath.Join(dir, "full.arrows")
	if r := run(t, append(common, "-o", full, "--checkpoint-dir", filepath.Join(dir, "ckA"))...); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	ck := filepath.Join(dir, "ckB")
	cmd := exec.Command(binary, append(common, "-o", filepath.Join(dir, "never.arrows"), "--checkpoint-dir", ck)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	first := filepath.Join(ck, "epoch-0001.arrows")
	ok := waitFor(first, 60*time.Second)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if !ok {
		t.Fatal("no checkpoint after epoch 1")
	}
	if _, err := os.Stat(filepath.Join(dir, "never.arrows")); err == nil {
		t.Fatal("the run finished before it was killed; the test needs a longer run")
	}
	if meta, _ := readModel(t, first); meta[contract.MetaStep] != "2" || meta[contract.MetaEpoch] != "1" {
		t.Fatalf("epoch-1 checkpoint at step %s epoch %s, want 3 and 1", meta[contract.MetaStep], meta[contract.MetaEpoch])
	}
	resumed := filepath.Join(dir, "resumed.arrows")
	if r := run(t, append(common, "-o", resumed, "--checkpoint-dir", ck, "--resume", first)...); r.code != 0 {
		t.Fatalf("resume: exit %d: %s", r.code, r.stderr)
	}
	_, a := readModel(t, full)
	_, b := readModel(t, resumed)
	sameTensors(t, a, b)
}

func TestSIGINTFinishesStepCheckpointsAndResumesExactly(t *testing.T) {
	dir := t.TempDir()
	in := pairs(t, dir, 3, 48)
	common := []string{"-i", in, "--batch-size", "8", "--save-every", "0"}
	full := filepath.Join(dir, "full.arrows")
	if r := run(t, append(common, "-o", full, "--quiet")...); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	ck := filepath.Join(dir, "ck")
	mf := filepath.Join(dir, "m.jsonl")
	cmd := exec.Command(binary, append(common, "-o", filepath.Join(dir, "x.arrows"), "--checkpoint-dir", ck, "--metrics", mf, "--log-every", "1")...)
	var se bytes.Buffer
	cmd.Stderr = &se
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// interrupt once a few steps are logged
	for end := time.Now().Add(60 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if b, _ := os.ReadFile(mf); bytes.Count(b, []byte("\n")) >= 2 {
			break
		}
	}
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() == 0 {
		t.Fatalf("interrupted train exited with %v, want non-zero: %s", err, se.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "x.arrows")); err == nil {
		t.Error("interrupted run wrote its final output")
	}
	m, _ := filepath.Glob(filepath.Join(ck, "step-*.arrows"))
	if len(m) != 1 {
		t.Fatalf("interrupt checkpoints: %v (stderr %s)", m, se.String())
	}
	meta, _ := readModel(t, m[0])
	if meta[contract.MetaStep] == "0" || meta[contract.MetaStep] == "18" {
		t.Fatalf("interrupt checkpoint at step %s: want mid-run", meta[contract.MetaStep])
	}
	resumed := filepath.Join(dir, "resumed.arrows")
	if r := run(t, append(common, "-o", resumed, "--resume", m[0], "--quiet")...); r.code != 0 {
		t.Fatalf("resume: exit %d: %s", r.code, r.stderr)
	}
	_, a := readModel(t, full)
	_, b := readModel(t, resumed)
	sameTensors(t, a, b)
}

func TestChannelsAndHeadSizesShapeTheModel(t *testing.T) {
	dir := t.TempDir()
	in := pairs(t, dir, 1, 32)
	out := filepath.Join(dir, "model.arrows")
	r := run(t, "-i", in, "-o", out, "--batch-size", "16", "--save-every", "0", "--quiet",
		"--channels", "8,16", "--proj-dims", "24,12", "--pred-hidden", "4")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	_, ts := readModel(t, out)
	shapes := map[string][]int{}
	for _, x := range ts {
		shapes[x.Name] = x.Shape
	}
	// Two stride-2 blocks: 28 -> 14 -> 7, so the projector sees 16*7*7.
	want := map[string][]int{
		"backbone.conv1.weight": {8, 1, 3, 3}, "backbone.conv2.weight": {16, 8, 3, 3},
		"projector.fc1.weight": {24, 16 * 7 * 7}, "projector.fc2.weight": {12, 24},
		"predictor.fc1.weight": {4, 12}, "predictor.fc2.weight": {12, 4},
	}
	for name, w := range want {
		if fmt.Sprint(shapes[name]) != fmt.Sprint(w) {
			t.Errorf("%s shape %v, want %v", name, shapes[name], w)
		}
	}
	if _, ok := shapes["backbone.conv3.weight"]; ok {
		t.Error("--channels 8,16 built a third conv block")
	}
	// --resume takes the sizes from the checkpoint: a size flag that
	// disagrees is a usage error, not silently ignored.
	r = run(t, "-i", in, "-o", filepath.Join(dir, "again.arrows"), "--resume", out, "--quiet", "--channels", "8,32")
	if r.code != 2 || !strings.Contains(r.stderr, "--channels 8,32 (checkpoint: 8 16)") {
		t.Fatalf("resume with other --channels: exit %d, stderr %q; want exit 2 naming the flag", r.code, r.stderr)
	}
}

func TestBadRunsFailWithOneLine(t *testing.T) {
	dir := t.TempDir()
	in := pairs(t, dir, 2, 64)
	var img bytes.Buffer
	w, _ := contract.NewImagesWriter(&img, 28, 28, nil, contract.Options{})
	w.Append(0, 1, make([]uint8, 784))
	w.Close()
	imgPath := filepath.Join(dir, "images.arrows")
	os.WriteFile(imgPath, img.Bytes(), 0o644)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"images instead of pairs", []string{"-i", imgPath}, "augment"},
		{"resume from a missing checkpoint", []string{"-i", in, "--resume", filepath.Join(dir, "nope.arrows")}, "resume"},
		{"channels not numbers", []string{"-i", in, "--channels", "32,x"}, "--channels"},
		{"projector width zero", []string{"-i", in, "--proj-dims", "256,0"}, "--proj-dims"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := run(t, append(c.args, "-o", filepath.Join(dir, "out.arrows"), "--quiet")...)
			if r.code == 0 {
				t.Fatal("exit 0")
			}
			lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "train: ") || !strings.Contains(lines[0], c.want) {
				t.Fatalf("stderr %q: want one line starting train: and mentioning %q", r.stderr, c.want)
			}
			if _, err := os.Stat(filepath.Join(dir, "out.arrows")); err == nil {
				t.Fatal("failed run wrote its output")
			}
		})
	}
}

// TestBadFlagsExit2WithOneLine: every numeric flag is checked (finite, in
// range) before any work, with exit 2 and one line naming the flag and what
// it accepts.
func TestBadFlagsExit2WithOneLine(t *testing.T) {
	dir := t.TempDir()
	in := pairs(t, dir, 2, 16)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--pred-hidden", "-3"}, "--pred-hidden -3: want an integer in 0..4096 (0: 64)"},
		{[]string{"--pred-hidden", "9999999999999"}, "--pred-hidden 9999999999999"},
		{[]string{"--lr", "NaN"}, "--lr NaN: want a number in (0, 10]"},
		{[]string{"--lr", "Inf"}, "--lr +Inf: want a number in (0, 10]"},
		{[]string{"--lr", "1e30"}, "--lr 1e+30: want a number in (0, 10]"},
		{[]string{"--lr", "0"}, "--lr 0"},
		{[]string{"--weight-decay", "NaN"}, "--weight-decay NaN: want a number in [0, 1)"},
		{[]string{"--weight-decay", "-1"}, "--weight-decay -1"},
		{[]string{"--momentum", "-1"}, "--momentum -1: want a number in [0, 1)"},
		{[]string{"--momentum", "1"}, "--momentum 1"},
		{[]string{"--warmup-epochs", "NaN"}, "--warmup-epochs NaN"},
		{[]string{"--warmup-epochs", "-1"}, "--warmup-epochs -1"},
		{[]string{"--warmup-epochs", "3"}, "--warmup-epochs 3: more than the 2 epochs of the pairs stream"},
		{[]string{"--batch-size", "1"}, "--batch-size 1: want an integer in 2..8192"},
		{[]string{"--batch-size", "9999999999999"}, "--batch-size 9999999999999"},
		{[]string{"--save-every", "-1"}, "--save-every -1: want an integer in 0..100000 (0: never)"},
		{[]string{"--log-every", "0"}, "--log-every 0: want an integer in 1..1000000"},
		{[]string{"--channels", "9999999999999"}, "--channels \"9999999999999\": want integers in 1..4096"},
		{[]string{"--channels", "8,8,8,8,8,8,8,8,8"}, "--channels \"8,8,8,8,8,8,8,8,8\": 9 values, want at most 8"},
		{[]string{"--proj-dims", "-3"}, "--proj-dims \"-3\""},
		{[]string{"--checkpoint-dir", in}, "--checkpoint-dir " + in + " is not a directory"},
		{[]string{"--arch", "nonsense"}, "--arch \"nonsense\": use simsiam or seed"},
		{[]string{"--arch", "seed", "--proj-dims", "64,64"}, "--proj-dims: the seed architecture has no projector"},
	}
	for _, c := range cases {
		r := run(t, append([]string{"-i", in, "--batch-size", "8", "-o", filepath.Join(dir, "out.arrows"), "--checkpoint-dir", filepath.Join(dir, "ck")}, c.args...)...)
		if r.code != 2 || !strings.HasPrefix(r.stderr, "train: "+c.want) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line %q", c.args, r.code, r.stderr, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "out.arrows")); err == nil {
		t.Error("a run with a bad flag wrote its output")
	}
}

// TestStageRunsInProcess runs train's stage function on in-memory streams.
func TestStageRunsInProcess(t *testing.T) {
	dir := t.TempDir()
	in, err := os.ReadFile(pairs(t, dir, 1, 16))
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := stage([]string{"--arch", "seed", "--batch-size", "8", "--save-every", "0", "--quiet"}, bytes.NewReader(in), &out, &errb)
	if code != 0 || errb.Len() != 0 {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	meta, ts, err := contract.ReadModel(&out)
	if err != nil || meta[contract.MetaStep] != "2" || meta[contract.MetaArch] != "seed" || len(ts) == 0 {
		t.Fatalf("model meta %v, %d tensors, %v", meta, len(ts), err)
	}
	errb.Reset()
	if code := stage([]string{"--pred-hidden", "-3"}, bytes.NewReader(in), &out, &errb); code != 2 || !strings.HasPrefix(errb.String(), "train: --pred-hidden -3") {
		t.Fatalf("--pred-hidden -3: exit %d, stderr %q", code, errb.String())
	}
}

// TestMetricsToADescriptorAppend: --metrics /proc/self/fd/2 writes to the
// stage's stderr where it stands, never truncating the file behind it.
func TestMetricsToADescriptorAppend(t *testing.T) {
	dir := t.TempDir()
	in := pairs(t, dir, 1, 16)
	logPath := filepath.Join(dir, "log")
	if err := os.WriteFile(logPath, []byte("earlier lines\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "-i", in, "--batch-size", "8", "--save-every", "0", "--quiet", "--log-every", "1",
		"--metrics", "/proc/self/fd/2", "-o", filepath.Join(dir, "m.arrows"))
	cmd.Stderr = logf
	err = cmd.Run()
	logf.Close()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(logPath)
	if !strings.HasPrefix(string(b), "earlier lines\n{") || strings.Count(string(b), "\"step\"") != 2 {
		t.Fatalf("log holds %q; want the earlier lines, then 2 metrics lines", b)
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/siampipe/siampipe/internal/checkpoint"
	"github.com/siampipe/siampipe/internal/contract"
	"github.com/siampipe/siampipe/internal/stagetest"
	"github.com/siampipe/siampipe/internal/trainlog"
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
		contract.MetaTrainStepsPerEpoch: "2", contract.MetaTrainFixedPredLR: "true", contract.MetaTrainPeakLR: "0.0125",
		contract.MetaHeight: "28", contract.MetaWidth: "28", contract.MetaChannels: "1", contract.MetaTrainInput: "pixels/255",
		contract.MetaTrainBNEps: "1e-05", contract.MetaTrainBNMomentum: "0.1", contract.MetaTrainPairsSeed: "9",
		// the test stream records no split, source or augment settings
		contract.MetaTrainPairsSplit: "", contract.MetaTrainPairsFlip: "", contract.MetaTrainPairsCropScale: ""}
	for k, v := range want {
		if got, ok := meta[k]; !ok || got != v {
			t.Errorf("metadata %s = %q (recorded: %v), want %q", k, got, ok, v)
		}
	}
	if v, ok := meta[contract.MetaDepth]; ok {
		t.Errorf("a depth-1 model records %s = %q: its checkpoint is no longer the bytes it was before depth existed", contract.MetaDepth, v)
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
		{"epoch shorter than a batch", []string{"-i", in, "--batch-size", "100"}, "an epoch has 64 pairs, fewer than the batch size 100 (lower --batch-size)"},
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

// augmentBinary builds the augment stage, to make real pairs streams.
func augmentBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "augment")
	if out, err := exec.Command("go", "build", "-o", bin, "../augment").CombinedOutput(); err != nil {
		t.Fatalf("build augment: %v\n%s", err, out)
	}
	return bin
}

// images writes an images stream as fetch does: n random 28×28 images with
// fetch's metadata for split.
func images(t *testing.T, dir, split string, n int) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 8))
	var b bytes.Buffer
	meta := contract.Meta{contract.MetaSplit: split, contract.MetaSource: "/data/fashion-mnist/" + split + "-images-idx3-ubyte.gz",
		contract.MetaStage: "fetch", contract.MetaVersion: "test"}
	w, err := contract.NewImagesWriter(&b, 28, 28, meta, contract.Options{})
	if err != nil {
		t.Fatal(err)
	}
	px := make([]uint8, 784)
	for i := range n {
		for j := range px {
			px[j] = uint8(rng.IntN(256))
		}
		if err := w.Append(int64(i), uint8(i%10), px); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, split+"-images.arrows")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// small are the flags of a model small enough for fast tests.
var small = []string{"--channels", "4,8", "--proj-dims", "8,8", "--pred-hidden", "4", "--batch-size", "8"}

func TestResumeRefusesAnotherPairsStream(t *testing.T) {
	dir := t.TempDir()
	aug := augmentBinary(t)
	trainImgs, testImgs := images(t, dir, "train", 24), images(t, dir, "test", 24)
	made := map[string]string{}
	makePairs := func(name, imgs string, args ...string) string {
		p := filepath.Join(dir, name+".arrows")
		cmd := exec.Command(aug, append([]string{"-i", imgs, "-o", p, "--epochs", "3", "--num-ops", "2", "--quiet"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("augment %v: %v\n%s", args, err, out)
		}
		made[name] = p
		return p
	}
	base := makePairs("base", trainImgs, "--seed", "1", "--crop-scale", "0.5", "--flip")
	ck := filepath.Join(dir, "ck")
	if r := run(t, append([]string{"-i", base, "-o", filepath.Join(dir, "full.arrows"), "--checkpoint-dir", ck, "--save-every", "1", "--quiet"}, small...)...); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	first := filepath.Join(ck, "epoch-0001.arrows")
	// The checkpoint records the stream's identity, field for field.
	if f, err := os.Open(first); err != nil {
		t.Fatal(err)
	} else {
		ckpt, err := checkpoint.Read(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		want := checkpoint.Pairs{Seed: "1", Split: "train", Source: "/data/fashion-mnist/train-images-idx3-ubyte.gz",
			Augment: streamMeta(t, base)[contract.MetaAugment], NumOps: "2", Magnitude: "9", Bins: "31", Ops: opsOf(t, base),
			CropScale: "0.5", Flip: "true", Epochs: 3, RowsPerEpoch: 24}
		if !strings.HasPrefix(want.Augment, "randaugment (") {
			t.Errorf("augment wrote siampipe.augment %q", want.Augment)
		}
		if ckpt.Pairs != want || ckpt.Absent != nil {
			t.Errorf("checkpoint records pairs %+v (absent %v), want %+v", ckpt.Pairs, ckpt.Absent, want)
		}
	}
	for _, tc := range []struct {
		name string
		in   string
		want string // the differences, then the fix
	}{
		{"another seed", makePairs("seed2", trainImgs, "--seed", "2", "--crop-scale", "0.5", "--flip"),
			"seed 2 (checkpoint: 1); feed the same pairs stream: augment --seed 1"},
		{"another split", makePairs("test", testImgs, "--seed", "1", "--crop-scale", "0.5", "--flip"),
			"split test (checkpoint: train), source /data/fashion-mnist/test-images-idx3-ubyte.gz (checkpoint: /data/fashion-mnist/train-images-idx3-ubyte.gz); feed the same pairs stream: fetch --split train --dir /data/fashion-mnist"},
		{"another crop", makePairs("crop", trainImgs, "--seed", "1", "--crop-scale", "0.6", "--flip"),
			"augment.crop_scale 0.6 (checkpoint: 0.5); feed the same pairs stream: augment --crop-scale 0.5"},
		{"no crop", makePairs("nocrop", trainImgs, "--seed", "1", "--flip"),
			"augment.crop_scale 0 (checkpoint: 0.5); feed the same pairs stream: augment --crop-scale 0.5"},
		{"no flip", makePairs("noflip", trainImgs, "--seed", "1", "--crop-scale", "0.5"),
			"augment.flip false (checkpoint: true); feed the same pairs stream: augment --flip=true"},
		{"other ops and seed", makePairs("ops", trainImgs, "--seed", "3", "--crop-scale", "0.5", "--flip", "--ops", "Identity,Rotate"),
			"seed 3 (checkpoint: 1), augment.ops Identity,Rotate (checkpoint: " + opsOf(t, base) + "); feed the same pairs stream: augment --seed 1 --ops " + opsOf(t, base)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, "resumed.arrows")
			r := run(t, "-i", tc.in, "-o", out, "--checkpoint-dir", filepath.Join(dir, "ck-"+tc.name), "--resume", first, "--quiet")
			lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
			if r.code != 1 || len(lines) != 1 || !strings.HasPrefix(lines[0], "train: resume "+first+": the pairs stream is not the one the checkpoint was trained on: ") ||
				!strings.HasSuffix(lines[0], tc.want) {
				t.Fatalf("exit %d, stderr %q; want exit 1 and one line ending %q", r.code, r.stderr, tc.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Error("a refused resume wrote its output")
			}
		})
	}
	t.Run("the same stream", func(t *testing.T) {
		out := filepath.Join(dir, "resumed.arrows")
		if r := run(t, "-i", base, "-o", out, "--checkpoint-dir", filepath.Join(dir, "ck-same"), "--resume", first, "--quiet"); r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		_, a := readModel(t, filepath.Join(dir, "full.arrows"))
		_, b := readModel(t, out)
		sameTensors(t, a, b)
	})
}

// opsOf returns the augment ops a pairs stream records.
func opsOf(t *testing.T, path string) string { return streamMeta(t, path)[contract.MetaAugOps] }

// streamMeta returns a pairs stream's metadata.
func streamMeta(t *testing.T, path string) contract.Meta {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := contract.NewReader(f, contract.KindPairs)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	return r.Meta()
}

func TestResumeOfAnOldCheckpointSaysWhatItCannotCheck(t *testing.T) {
	dir := t.TempDir()
	in := pairs(t, dir, 3, 16)
	args := append([]string{"-i", in, "--save-every", "1"}, small...)
	full := filepath.Join(dir, "full.arrows")
	if r := run(t, append(args, "-o", full, "--checkpoint-dir", filepath.Join(dir, "ck"), "--quiet")...); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	// The epoch-1 checkpoint as train wrote it before the checkpoint recorded
	// the pairs stream's identity and the input channels.
	meta, ts := readModel(t, filepath.Join(dir, "ck", "epoch-0001.arrows"))
	for _, k := range []string{contract.MetaChannels, contract.MetaTrainPairsSplit, contract.MetaTrainPairsSource, contract.MetaTrainPairsAugment,
		contract.MetaTrainPairsNumOps, contract.MetaTrainPairsMagnitude, contract.MetaTrainPairsBins, contract.MetaTrainPairsOps,
		contract.MetaTrainPairsCropScale, contract.MetaTrainPairsFlip} {
		if _, ok := meta[k]; !ok {
			t.Fatalf("train wrote no %s", k)
		}
		delete(meta, k)
	}
	old := filepath.Join(dir, "old.arrows")
	var b bytes.Buffer
	if err := contract.WriteModel(&b, meta, ts, contract.Options{}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(old, b.Bytes(), 0o644)
	resumed := filepath.Join(dir, "resumed.arrows")
	r := run(t, "-i", in, "-o", resumed, "--checkpoint-dir", filepath.Join(dir, "ck2"), "--resume", old)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "predates recording its pairs stream's split, source, augment, augment.num_ops, augment.magnitude, augment.bins, augment.ops, augment.crop_scale, augment.flip; not checked") {
		t.Errorf("stderr does not say what went unchecked:\n%s", r.stderr)
	}
	_, a := readModel(t, full)
	_, c := readModel(t, resumed)
	sameTensors(t, a, c)
	// What it did record is still checked.
	other := filepath.Join(t.TempDir(), "pairs.arrows")
	var p bytes.Buffer
	w, _ := contract.NewPairsWriter(&p, 28, 28, contract.Meta{contract.MetaEpochs: "3", contract.MetaRowsPerEpoch: "16", contract.MetaSeed: "10"}, contract.Options{})
	v := make([]uint8, 784)
	for e := range 3 {
		for i := range 16 {
			w.Append(int64(i), 0, int32(e), v, v)
		}
	}
	w.Close()
	os.WriteFile(other, p.Bytes(), 0o644)
	r = run(t, "-i", other, "-o", resumed+"2", "--resume", old, "--quiet")
	if r.code != 1 || !strings.Contains(r.stderr, "seed 10 (checkpoint: 9); feed the same pairs stream: augment --seed 9") {
		t.Errorf("another seed: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestResumeContinuesTheMetricsFromTheCheckpointsStep(t *testing.T) {
	dir := t.TempDir()
	in := pairs(t, dir, 4, 80) // 10 steps an epoch
	args := append([]string{"-i", in, "--save-every", "1", "--log-every", "1", "--quiet"}, small...)
	refMetrics := filepath.Join(dir, "ref.jsonl")
	if r := run(t, append(args, "-o", filepath.Join(dir, "ref.arrows"), "--checkpoint-dir", filepath.Join(dir, "ckA"), "--metrics", refMetrics)...); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	// The metrics go through a symbolic link, which must stay one.
	target := filepath.Join(dir, "logs", "metrics.jsonl")
	os.MkdirAll(filepath.Dir(target), 0o755)
	mf := filepath.Join(dir, "metrics.jsonl")
	if err := os.Symlink(target, mf); err != nil {
		t.Fatal(err)
	}
	ck := filepath.Join(dir, "ckB")
	cmd := exec.Command(binary, append(args, "-o", filepath.Join(dir, "never.arrows"), "--checkpoint-dir", ck, "--metrics", mf)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(60 * time.Second); time.Now().Before(end); time.Sleep(2 * time.Millisecond) {
		if b, _ := os.ReadFile(mf); bytes.Count(b, []byte("\n")) >= 13 {
			break
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	killed, _ := os.ReadFile(mf)
	killedLines := strings.SplitAfter(string(killed), "\n")
	if len(killedLines) < 13 {
		t.Fatalf("the killed run logged %d lines, want at least 13", len(killedLines))
	}
	first := filepath.Join(ck, "epoch-0001.arrows")
	if meta, _ := readModel(t, first); meta[contract.MetaStep] != "10" {
		t.Fatalf("epoch-1 checkpoint at step %s, want 10", meta[contract.MetaStep])
	}
	// A metrics file that is not train's is refused and left as it was.
	junk := filepath.Join(dir, "junk.jsonl")
	os.WriteFile(junk, []byte("{\"step\":1,\"loss\":1}\nhello\n"), 0o644)
	if r := run(t, append(args, "-o", filepath.Join(dir, "x.arrows"), "--checkpoint-dir", ck, "--resume", first, "--metrics", junk)...); r.code != 1 || !strings.Contains(r.stderr, "metrics line 2") {
		t.Errorf("resume onto a junk metrics file: exit %d, stderr %q", r.code, r.stderr)
	}
	if b, _ := os.ReadFile(junk); string(b) != "{\"step\":1,\"loss\":1}\nhello\n" {
		t.Errorf("the junk metrics file changed: %q", b)
	}

	if r := run(t, append(args, "-o", filepath.Join(dir, "resumed.arrows"), "--checkpoint-dir", ck, "--resume", first, "--metrics", mf)...); r.code != 0 {
		t.Fatalf("resume: exit %d: %s", r.code, r.stderr)
	}
	if fi, err := os.Lstat(mf); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the metrics link was replaced: %v %v", fi, err)
	}
	got, _ := os.ReadFile(mf)
	lines := strings.SplitAfter(string(got), "\n")
	lines = lines[:len(lines)-1] // after the last newline
	if len(lines) != 40 {
		t.Fatalf("%d metrics lines after the resume, want 40 (steps 1..40 once each):\n%s", len(lines), got)
	}
	// Up to the checkpoint, the killed run's lines, byte for byte.
	for i := range 10 {
		if lines[i] != killedLines[i] {
			t.Errorf("line %d rewritten: %q, was %q", i+1, lines[i], killedLines[i])
		}
	}
	// Every step once, in order, with the values of an uninterrupted run
	// (all but the timings, which differ from run to run).
	recs, err := trainlog.Read(bytes.NewReader(got))
	if err != nil {
		t.Fatalf("the resumed metrics do not read: %v", err)
	}
	ref, err := os.Open(refMetrics)
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	want, err := trainlog.Read(ref)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(want) {
		t.Fatalf("%d records, the uninterrupted run has %d", len(recs), len(want))
	}
	for i := range recs {
		a, w := recs[i], want[i]
		if a.Step != i+1 || a.Step != w.Step || a.Epoch != w.Epoch || a.Loss != w.Loss || a.LR != w.LR || a.ZStd != w.ZStd {
			t.Errorf("record %d: %+v, uninterrupted %+v", i, a, w)
		}
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
		{[]string{"--depth", "0"}, "--depth 0: want an integer in 1..4"},
		{[]string{"--depth", "5"}, "--depth 5: want an integer in 1..4"},
		{[]string{"--depth", "-1"}, "--depth -1"},
		{[]string{"--checkpoint-dir", in}, "--checkpoint-dir " + in + " is not a directory"},
		{[]string{"--arch", "nonsense"}, "--arch \"nonsense\": use simsiam or seed"},
		{[]string{"--arch", "seed", "--proj-dims", "64,64"}, "--proj-dims: the seed architecture has no projector"},
		{[]string{"--monitor", in}, "--monitor needs --monitor-bank"},
		{[]string{"--monitor-bank", in}, "--monitor-bank without --monitor"},
		{[]string{"--monitor", in, "--monitor-bank", in, "--monitor-every", "0"}, "--monitor-every 0: want an integer in 1..100000"},
		{[]string{"--monitor", in, "--monitor-bank", in, "--monitor-bank-size", "-1"}, "--monitor-bank-size -1"},
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

// TestMonitorWritesKNNAtEpochEnds runs the kNN monitor every other epoch of
// a 3-epoch run: lines at the ends of epochs 2 and 3 (the last) carry knn,
// others do not, and a pairs stream given as the monitor's images is
// refused in one line.
func TestMonitorWritesKNNAtEpochEnds(t *testing.T) {
	dir := t.TempDir()
	in := pairs(t, dir, 3, 32) // 4 steps of 8 per epoch
	test, train := images(t, dir, "test", 40), images(t, dir, "train", 100)
	metrics := filepath.Join(dir, "m.jsonl")
	args := append([]string{"-i", in, "--monitor", test, "--monitor-bank", train, "--monitor-bank-size", "50",
		"--monitor-every", "2", "--log-every", "3", "--metrics", metrics, "--checkpoint-dir", filepath.Join(dir, "ck"),
		"-o", filepath.Join(dir, "model.arrows")}, small...)
	r := run(t, args...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	f, err := os.Open(metrics)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := trainlog.Read(f)
	if err != nil {
		t.Fatal(err)
	}
	var knnSteps []int
	for _, m := range recs {
		if m.KNN != nil {
			knnSteps = append(knnSteps, m.Step)
			if !(*m.KNN >= 0 && *m.KNN <= 1) {
				t.Errorf("step %d: knn %v is not an accuracy", m.Step, *m.KNN)
			}
		}
	}
	if !slices.Equal(knnSteps, []int{8, 12}) {
		t.Errorf("knn at steps %v, want [8 12] (ends of epochs 2 and 3)", knnSteps)
	}
	if strings.Count(r.stderr, "kNN-200 monitor") != 2 {
		t.Errorf("stderr does not log the two scores: %s", r.stderr)
	}
	bad := run(t, append([]string{"-i", in, "--monitor", in, "--monitor-bank", train, "-o", filepath.Join(dir, "bad.arrows"), "--quiet"}, small...)...)
	if bad.code == 0 || strings.Count(strings.TrimSpace(bad.stderr), "\n") != 0 || !strings.Contains(bad.stderr, "--monitor "+in) {
		t.Errorf("pairs as monitor images: exit %d, stderr %q", bad.code, bad.stderr)
	}
}

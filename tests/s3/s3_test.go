// Package s3_test runs the stage binaries with every file flag an s3://
// URL of a real S3-compatible server (versitygw on 127.0.0.1, package
// s3test) and checks that they write the bytes they write to local files,
// resume from a checkpoint prefix, leave no object when they fail or are
// stopped, and report a missing object, a refused credential and an
// unreachable store in one line naming the URL. The data set is Debian's
// dataset-fashion-mnist (test.sh installs it).
package s3_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/siampipe/siampipe/internal/contract"
	"github.com/siampipe/siampipe/internal/objstore/s3test"
	"github.com/siampipe/siampipe/internal/stagetest"
)

// bin is the folder of the stage binaries.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "siampipe-s3-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = dir
	if err := stagetest.Build(bin, "fetch", "augment", "train", "embed", "eval", "reduce", "plot"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const dataset = "/usr/share/datasets/fashion-mnist"

func needData(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dataset, "t10k-images-idx3-ubyte.gz")); err != nil {
		t.Fatal("FashionMNIST is missing: apt-get install dataset-fashion-mnist (./test.sh does)")
	}
}

// run runs a stage with env added to the environment and returns its exit
// status and stderr.
func run(t *testing.T, env []string, stage string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(bin, stage), args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), stderr.String()
	}
	if err != nil {
		t.Fatalf("%s: %v", stage, err)
	}
	return 0, stderr.String()
}

// where replaces "@name" in args by the place of name.
func where(args []string, place func(name string) string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if name, ok := strings.CutPrefix(a, "@"); ok {
			a = place(name)
		}
		out[i] = a
	}
	return out
}

// TestPipelineThroughS3WritesTheLocalBytes runs the pipeline on 100 images
// twice, once on local files and once on objects, and compares what each
// stage wrote.
func TestPipelineThroughS3WritesTheLocalBytes(t *testing.T) {
	needData(t)
	srv := s3test.Start(t)
	srv.Bucket(t, "runs")
	env := append(srv.Env(), "SIAMPIPE_DATA="+dataset)
	local := t.TempDir()
	onDisk := func(name string) string { return filepath.Join(local, name) }
	inStore := func(name string) string { return "s3://runs/" + name }
	stages := [][]string{
		{"fetch", "--split", "test", "--limit", "100", "-o", "@images.arrows"},
		{"augment", "-i", "@images.arrows", "--epochs", "2", "--seed", "1", "-o", "@pairs.arrows"},
		{"train", "-i", "@pairs.arrows", "--arch", "seed", "--batch-size", "25", "--save-every", "1", "--log-every", "1",
			"--checkpoint-dir", "@ck/", "--metrics", "@metrics.jsonl",
			"--monitor", "@images.arrows", "--monitor-bank", "@images.arrows", "--monitor-bank-size", "50", "-o", "@model.arrows"},
		{"embed", "--model", "@model.arrows", "-i", "@images.arrows", "-o", "@features.arrows"},
		{"eval", "--train", "@features.arrows", "--test", "@features.arrows", "--label-fraction", "1", "--k", "5", "-o", "@report.json"},
		{"reduce", "-i", "@features.arrows", "--n-neighbors", "5", "--epochs", "20", "-o", "@coords.arrows"},
		{"plot", "-i", "@coords.arrows", "--png", "@umap.png", "--html", "@umap.html"},
		{"plot", "--metrics", "@metrics.jsonl", "--png", "@curves.png"},
	}
	for _, st := range stages {
		for _, place := range []func(string) string{onDisk, inStore} {
			args := where(st[1:], place)
			if code, stderr := run(t, env, st[0], append(args, "--quiet")...); code != 0 {
				t.Fatalf("%s %s: exit %d: %s", st[0], strings.Join(args, " "), code, stderr)
			}
		}
	}
	for _, name := range []string{"images.arrows", "pairs.arrows", "ck/epoch-0001.arrows", "ck/epoch-0002.arrows",
		"model.arrows", "features.arrows", "coords.arrows", "umap.png", "umap.html", "curves.png"} {
		want, err := os.ReadFile(onDisk(name))
		if err != nil {
			t.Fatal(err)
		}
		if got := srv.Get(t, "runs", name); !bytes.Equal(got, want) {
			t.Errorf("s3://runs/%s: %d bytes that differ from the local file's %d", name, len(got), len(want))
		}
	}
	localSteps := steps(t, must(os.ReadFile(onDisk("metrics.jsonl"))))
	if got := steps(t, srv.Get(t, "runs", "metrics.jsonl")); !slices.Equal(got, localSteps) || len(got) == 0 {
		t.Errorf("metrics object has the steps %v, the local file %v", got, localSteps)
	}
	var a, b struct {
		KNN struct{ Top1 float64 } `json:"knn"`
	}
	json.Unmarshal(must(os.ReadFile(onDisk("report.json"))), &a)
	json.Unmarshal(srv.Get(t, "runs", "report.json"), &b)
	if a.KNN.Top1 != b.KNN.Top1 || a.KNN.Top1 == 0 {
		t.Errorf("kNN top-1 %v from objects, %v from files", b.KNN.Top1, a.KNN.Top1)
	}

	// Resume from the checkpoint prefix: without epoch 2's checkpoint,
	// train picks epoch 1's and ends with the same model.
	srv.Remove(t, "runs", "ck/epoch-0002.arrows")
	code, stderr := run(t, env, "train", "-i", "s3://runs/pairs.arrows", "--resume", "s3://runs/ck/", "--log-every", "1",
		"--checkpoint-dir", "s3://runs/ck/", "--metrics", "s3://runs/metrics.jsonl", "-o", "s3://runs/resumed.arrows")
	if code != 0 || !strings.Contains(stderr, "resuming from s3://runs/ck/epoch-0001.arrows") {
		t.Fatalf("train --resume s3://runs/ck/: exit %d: %s", code, stderr)
	}
	if !bytes.Equal(srv.Get(t, "runs", "resumed.arrows"), must(os.ReadFile(onDisk("model.arrows")))) {
		t.Errorf("the resumed model differs from the uninterrupted one")
	}
	if got := steps(t, srv.Get(t, "runs", "metrics.jsonl")); !slices.Equal(got, localSteps) {
		t.Errorf("after the resume the metrics object has the steps %v, want %v", got, localSteps)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// steps returns the step of each metrics line.
func steps(t *testing.T, log []byte) []int {
	t.Helper()
	var out []int
	for _, line := range strings.Split(strings.TrimSpace(string(log)), "\n") {
		var m struct {
			Step int `json:"step"`
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out = append(out, m.Step)
	}
	return out
}

// TestFetchReadsTablesAndIDXFromS3: fetch's table and IDX inputs as
// objects give the images the local files give.
func TestFetchReadsTablesAndIDXFromS3(t *testing.T) {
	needData(t)
	srv := s3test.Start(t)
	srv.Bucket(t, "data")
	local := t.TempDir()
	tables := filepath.Join("..", "..", "internal", "table", "testdata")
	for _, tc := range []struct{ flag, file string }{
		{"--parquet", filepath.Join(tables, "hf.parquet")},
		{"--arrow", filepath.Join(tables, "strings.arrow")},
		{"--arrow", filepath.Join(tables, "hf.arrows")},
		{"--idx-images", filepath.Join(dataset, "t10k-images-idx3-ubyte.gz")},
	} {
		name := filepath.Base(tc.file)
		srv.Put(t, "data", "in/"+name, must(os.ReadFile(tc.file)))
		extra := []string{"--limit", "50", "--size", "28x28", "--channels", "1", "--quiet"}
		if tc.flag == "--idx-images" {
			extra = append(extra, "--idx-labels")
		}
		args := func(src, labels, out string) []string {
			a := []string{tc.flag, src}
			a = append(a, extra...)
			if labels != "" {
				a = append(a, labels)
			}
			return append(a, "-o", out)
		}
		var lblLocal, lblObj string
		if tc.flag == "--idx-images" {
			lblLocal = filepath.Join(dataset, "t10k-labels-idx1-ubyte.gz")
			srv.Put(t, "data", "in/labels.gz", must(os.ReadFile(lblLocal)))
			lblObj = "s3://data/in/labels.gz"
		}
		out := filepath.Join(local, name+".arrows")
		if code, stderr := run(t, srv.Env(), "fetch", args(tc.file, lblLocal, out)...); code != 0 {
			t.Fatalf("fetch %s %s: exit %d: %s", tc.flag, tc.file, code, stderr)
		}
		if code, stderr := run(t, srv.Env(), "fetch", args("s3://data/in/"+name, lblObj, "s3://data/out/"+name+".arrows")...); code != 0 {
			t.Fatalf("fetch %s s3://data/in/%s: exit %d: %s", tc.flag, name, code, stderr)
		}
		want, err := contract.ReadImages(bytes.NewReader(must(os.ReadFile(out))))
		if err != nil {
			t.Fatal(err)
		}
		got, err := contract.ReadImages(bytes.NewReader(srv.Get(t, "data", "out/"+name+".arrows")))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got.N != want.N || !bytes.Equal(got.Pixels, want.Pixels) || !slices.Equal(got.Label, want.Label) || got.N == 0 {
			t.Errorf("%s %s from s3: %d images that differ from the local file's %d", tc.flag, name, got.N, want.N)
		}
	}
}

// TestStoreErrorsAreOneLine: a missing object, refused credentials and an
// unreachable store end a stage with exit 1 and one line naming the flag,
// the URL and what to check; train finds a wrong -o or checkpoint prefix
// before training.
func TestStoreErrorsAreOneLine(t *testing.T) {
	srv := s3test.Start(t)
	srv.Bucket(t, "runs")
	var img bytes.Buffer
	w, err := contract.NewImagesWriter(&img, 28, 28, contract.Meta{contract.MetaSplit: "test"}, contract.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		w.Append(int64(i), uint8(i), make([]byte, 784))
	}
	w.Close()
	srv.Put(t, "runs", "images.arrows", img.Bytes())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	wrongSecret := append(srv.Env(), "AWS_SECRET_ACCESS_KEY=wrong")
	unreachable := append(srv.Env(), "AWS_ENDPOINT_URL="+closed, "AWS_MAX_ATTEMPTS=1")
	for _, tc := range []struct {
		name  string
		env   []string
		stage string
		args  []string
		want  string
	}{
		{"missing model", srv.Env(), "embed", []string{"--model", "s3://runs/m.arrows", "-i", "s3://runs/images.arrows"},
			"embed: --model s3://runs/m.arrows: no such object (check the bucket and key; 'aws s3 ls s3://runs/' lists what is there)\n"},
		{"missing input", srv.Env(), "augment", []string{"-i", "s3://runs/dir/none.arrows", "-o", "s3://runs/pairs.arrows"},
			"augment: -i s3://runs/dir/none.arrows: no such object (check the bucket and key; 'aws s3 ls s3://runs/dir/' lists what is there)\n"},
		{"wrong secret", wrongSecret, "eval", []string{"--train", "s3://runs/images.arrows", "--test", "s3://runs/images.arrows"},
			"eval: --train s3://runs/images.arrows: access denied: SignatureDoesNotMatch: The request signature we calculated does not match the signature you provided. Check your key and signing method (check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, and that they may use the bucket)\n"},
		{"unreachable", unreachable, "augment", []string{"-i", "s3://runs/images.arrows"},
			"augment: -i s3://runs/images.arrows: endpoint unreachable: dial tcp " + strings.TrimPrefix(closed, "http://") + ": connect: connection refused (is the S3 server at AWS_ENDPOINT_URL=" + closed + " running? check its scheme, host and port)\n"},
		{"train's -o bucket", srv.Env(), "train", []string{"-i", "/dev/null", "--checkpoint-dir", t.TempDir(), "-o", "s3://nobucket/model.arrows"},
			"train: -o s3://nobucket/model.arrows: no such object: there is no bucket nobucket (check the bucket and key; 'aws s3 ls s3://nobucket/' lists what is there)\n"},
		{"train's checkpoint prefix", wrongSecret, "train", []string{"-i", "/dev/null", "--checkpoint-dir", "s3://runs/ck/"},
			"train: --checkpoint-dir s3://runs/ck/.siampipe-probe: access denied: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stderr := run(t, tc.env, tc.stage, tc.args...)
			if code != 1 || !strings.HasPrefix(stderr, tc.want) || strings.Count(stderr, "\n") != 1 {
				t.Errorf("exit %d, stderr %q\nwant exit 1 and one line starting %q", code, stderr, tc.want)
			}
		})
	}
}

// TestStoppedStageLeavesNoObject: a stage stopped by SIGINT or SIGTERM, or
// killed, while it writes an object leaves none.
func TestStoppedStageLeavesNoObject(t *testing.T) {
	needData(t)
	srv := s3test.Start(t)
	srv.Bucket(t, "runs")
	env := append(srv.Env(), "SIAMPIPE_DATA="+dataset)
	if code, stderr := run(t, env, "fetch", "--split", "test", "-o", "s3://runs/images.arrows", "--quiet"); code != 0 {
		t.Fatalf("fetch: exit %d: %s", code, stderr)
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGKILL} {
		key := "pairs-" + strings.ToLower(sig.String()) + ".arrows"
		cmd := exec.Command(filepath.Join(bin, "augment"), "-i", "s3://runs/images.arrows", "--epochs", "100", "-o", "s3://runs/"+key, "--quiet")
		cmd.Env = append(os.Environ(), env...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Once the upload has begun, let it run past a part or two.
		for deadline := time.Now().Add(20 * time.Second); len(srv.Uploads(t, "runs")) == 0 && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(3 * time.Second)
		cmd.Process.Signal(sig)
		cmd.Wait()
		if got := srv.Get(t, "runs", key); got != nil {
			t.Errorf("%v: augment left %d bytes at s3://runs/%s", sig, len(got), key)
		}
		if sig == syscall.SIGKILL {
			// The upload a killed process began stays, invisible, until
			// a lifecycle rule or an abort removes it.
			continue
		}
		if u := srv.Uploads(t, "runs"); len(u) != 0 {
			t.Errorf("%v: incomplete uploads remain: %v (stderr %q)", sig, u, stderr.String())
		}
		if code := cmd.ProcessState.ExitCode(); code != 130 {
			t.Errorf("%v: exit %d, want 130 (stderr %q)", sig, code, stderr.String())
		}
	}
}

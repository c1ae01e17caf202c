package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/siampipe/siampipe/internal/augment"
	"github.com/siampipe/siampipe/internal/cli"
	"github.com/siampipe/siampipe/internal/contract"
	"github.com/siampipe/siampipe/internal/randaug"
)

// imagesStream returns an images stream of n random h x w images.
func imagesStream(t *testing.T, n, h, w int) []byte {
	t.Helper()
	var buf bytes.Buffer
	iw, err := contract.NewImagesWriter(&buf, h, w, contract.Meta{contract.MetaSplit: "train", contract.MetaSource: "unit-test"}, contract.Options{BatchRows: 64})
	if err != nil {
		t.Fatal(err)
	}
	r := randaug.NewRand(7)
	pix := make([]uint8, h*w)
	for i := 0; i < n; i++ {
		for j := range pix {
			pix[j] = uint8(r.Uint64())
		}
		if err := iw.Append(int64(i), uint8(i%10), pix); err != nil {
			t.Fatal(err)
		}
	}
	if err := iw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRunWritesPairsWithMetadata(t *testing.T) {
	in := imagesStream(t, 150, 28, 28)
	for _, c := range []struct {
		scale     float64
		flip      bool
		scaleMeta string
		flipMeta  string
	}{{0, false, "0", "false"}, {0.2, true, "0.2", "true"}, {1, false, "1", "false"}} {
		t.Run(fmt.Sprintf("crop-scale=%v,flip=%v", c.scale, c.flip), func(t *testing.T) {
			testRunWritesPairsWithMetadata(t, in, c.scale, c.flip, c.scaleMeta, c.flipMeta)
		})
	}
}

func testRunWritesPairsWithMetadata(t *testing.T, in []byte, scale float64, flip bool, scaleMeta, flipMeta string) {
	var out bytes.Buffer
	cfg := augment.Config{Epochs: 3, Seed: 11, CropScale: scale, Flip: flip,
		RandAug: randaug.Config{NumOps: 5, Magnitude: 9, Bins: 31, Ops: randaug.AllOps()}}
	if err := run(context.Background(), bytes.NewReader(in), &out, cfg, contract.Options{}, nil); err != nil {
		t.Fatal(err)
	}
	r, err := contract.NewReader(&out, contract.KindPairs)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	m := r.Meta()
	for k, want := range map[string]string{
		contract.MetaEpochs: "3", contract.MetaRowsPerEpoch: "150", contract.MetaSeed: "11",
		contract.MetaAugNumOps: "5", contract.MetaAugMagnitude: "9", contract.MetaAugBins: "31",
		contract.MetaAugOps: randaug.FormatOps(randaug.AllOps()), contract.MetaSplit: "train",
		contract.MetaHeight: "28", contract.MetaWidth: "28",
		contract.MetaAugCropScale: scaleMeta, contract.MetaAugFlip: flipMeta,
	} {
		if m[k] != want {
			t.Errorf("crop scale %v, flip %v: metadata %s = %q, want %q", scale, flip, k, m[k], want)
		}
	}
	perEpoch := map[int32]map[int64]bool{}
	for r.Next() {
		b := r.Pairs()
		for i := 0; i < b.N; i++ {
			if perEpoch[b.Epoch[i]] == nil {
				perEpoch[b.Epoch[i]] = map[int64]bool{}
			}
			perEpoch[b.Epoch[i]][b.Index[i]] = true
		}
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	if len(perEpoch) != 3 || len(perEpoch[0]) != 150 || len(perEpoch[1]) != 150 || len(perEpoch[2]) != 150 {
		t.Errorf("epochs and images seen: %d epochs, %d/%d/%d distinct images", len(perEpoch), len(perEpoch[0]), len(perEpoch[1]), len(perEpoch[2]))
	}
}

// wrongSizeStream claims 28x28 images in its metadata while its image
// column holds 100 pixels per row.
func wrongSizeStream(t *testing.T) []byte {
	s := contract.ImagesSchema(10, 10, nil)
	md := s.Metadata()
	keys, vals := md.Keys(), append([]string(nil), md.Values()...)
	for i, k := range keys {
		if k == contract.MetaHeight || k == contract.MetaWidth {
			vals[i] = "28"
		}
	}
	s = arrow.NewSchema(s.Fields(), func() *arrow.Metadata { m := arrow.NewMetadata(keys, vals); return &m }())
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(s))
	b := array.NewRecordBuilder(memory.NewGoAllocator(), s)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).Append(0)
	b.Field(1).(*array.Uint8Builder).Append(0)
	lb := b.Field(2).(*array.FixedSizeListBuilder)
	lb.Append(true)
	for i := 0; i < 100; i++ {
		lb.ValueBuilder().(*array.Uint8Builder).Append(1)
	}
	rec := b.NewRecord()
	defer rec.Release()
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return buf.Bytes()
}

func TestRunRejectsBadInput(t *testing.T) {
	var features bytes.Buffer
	fw, _ := contract.NewFeaturesWriter(&features, 4, nil, contract.Options{})
	fw.Append(0, 0, []float32{1, 2, 3, 4})
	fw.Close()
	for _, c := range []struct {
		name string
		in   []byte
		want string
	}{
		{"wrong kind", features.Bytes(), "features stream, expected images"},
		{"empty input", nil, "input is empty"},
		{"no images", imagesStream(t, 0, 28, 28), "no images"},
		{"mixed sizes", wrongSizeStream(t), "expected image"},
		{"not arrow", []byte("P5 28 28 255\n"), "not an Arrow"},
	} {
		var out bytes.Buffer
		err := run(context.Background(), bytes.NewReader(c.in), &out, augment.Config{}, contract.Options{}, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want one line mentioning %q", c.name, err, c.want)
		}
		if out.Len() != 0 {
			t.Errorf("%s: %d bytes written before the error", c.name, out.Len())
		}
	}
}

// buildStage compiles the augment binary once for the process tests.
func buildStage(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "augment")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func TestStageProcess(t *testing.T) {
	bin := buildStage(t)
	in := imagesStream(t, 400, 28, 28)
	dir := t.TempDir()
	inPath := filepath.Join(dir, "images.arrows")
	if err := os.WriteFile(inPath, in, 0o644); err != nil {
		t.Fatal(err)
	}

	t.Run("same bytes whatever GOMAXPROCS", func(t *testing.T) {
		var ref [32]byte
		for i, procs := range []string{"1", "2", "5"} {
			cmd := exec.Command(bin, "-i", inPath, "--epochs", "2", "--seed", "3", "--quiet")
			cmd.Env = append(os.Environ(), "GOMAXPROCS="+procs)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("GOMAXPROCS=%s: %v", procs, err)
			}
			sum := sha256.Sum256(out)
			if i == 0 {
				ref = sum
			} else if sum != ref {
				t.Errorf("GOMAXPROCS=%s: output differs from GOMAXPROCS=1", procs)
			}
		}
	})

	t.Run("bad input: one line, exit 1, no output file", func(t *testing.T) {
		var features bytes.Buffer
		fw, _ := contract.NewFeaturesWriter(&features, 4, nil, contract.Options{})
		fw.Append(0, 0, []float32{1, 2, 3, 4})
		fw.Close()
		outPath := filepath.Join(dir, "pairs.arrows")
		cmd := exec.Command(bin, "-o", outPath)
		cmd.Stdin = &features
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 1 {
			t.Fatalf("exit %v, want status 1", err)
		}
		msg := stderr.String()
		if strings.Count(msg, "\n") != 1 || !strings.HasPrefix(msg, "augment: ") || !strings.Contains(msg, "expected images") {
			t.Errorf("stderr %q, want one line 'augment: ... expected images ...'", msg)
		}
		if _, err := os.Stat(outPath); !os.IsNotExist(err) {
			t.Errorf("output file exists after a failed run")
		}
	})

	t.Run("crop and flip: same bytes whatever GOMAXPROCS, differ from without", func(t *testing.T) {
		var ref, plain [32]byte
		for i, procs := range []string{"1", "2", "5"} {
			cmd := exec.Command(bin, "-i", inPath, "--epochs", "2", "--seed", "3", "--crop-scale", "0.2", "--flip", "--quiet")
			cmd.Env = append(os.Environ(), "GOMAXPROCS="+procs)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("GOMAXPROCS=%s: %v", procs, err)
			}
			sum := sha256.Sum256(out)
			if i == 0 {
				ref = sum
			} else if sum != ref {
				t.Errorf("GOMAXPROCS=%s: output differs from GOMAXPROCS=1", procs)
			}
		}
		out, err := exec.Command(bin, "-i", inPath, "--epochs", "2", "--seed", "3", "--quiet").Output()
		if err != nil {
			t.Fatal(err)
		}
		if plain = sha256.Sum256(out); plain == ref {
			t.Error("--crop-scale 0.2 --flip gives the same stream as neither")
		}
	})

	t.Run("bad flags exit 2", func(t *testing.T) {
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"--ops", "Invert"}, "Invert"},
			{[]string{"--magnitude", "31"}, "magnitude"},
			{[]string{"--epochs", "0"}, "epochs"},
			{[]string{"--crop-scale", "0"}, "--crop-scale 0: want a number in (0, 1]"},
			{[]string{"--crop-scale", "1.5"}, "--crop-scale 1.5: want a number in (0, 1]"},
			{[]string{"--crop-scale", "-0.2"}, "--crop-scale -0.2: want a number in (0, 1]"},
			{[]string{"--crop-scale", "NaN"}, "--crop-scale NaN"},
			{[]string{"--crop-scale", "Inf"}, "--crop-scale +Inf"},
			{[]string{"--bins", "0"}, "--bins 0: want an integer in 2..1000 (torchvision's Posterize table divides by bins-1)"},
			{[]string{"--bins", "1"}, "--bins 1: want an integer in 2..1000"},
			{[]string{"--bins", "9999999999999"}, "--bins 9999999999999: want an integer in 2..1000"},
			{[]string{"--bins", "5"}, "--magnitude 9: want an integer in 0..4 (a bin of --bins 5)"},
			{[]string{"--num-ops", "0"}, "--num-ops 0: want an integer in 1..100"},
			{[]string{"--num-ops", "-1"}, "--num-ops -1"},
			{[]string{"--num-ops", "9999999999999"}, "--num-ops 9999999999999"},
			{[]string{"--epochs", "9999999999999"}, "--epochs 9999999999999: want an integer in 1..100000"},
			{[]string{"--magnitude", "-1"}, "--magnitude -1"},
			{[]string{"--crop-scale", "big"}, "crop-scale"},
			{[]string{"--crop-scale"}, "crop-scale"},
			{[]string{"--flip=maybe"}, "flip"},
		} {
			cmd := exec.Command(bin, append([]string{"-i", inPath}, c.args...)...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			msg := stderr.String()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || strings.Count(msg, "\n") != 1 || !strings.Contains(msg, c.want) {
				t.Errorf("%v: %v, stderr %q; want exit 2 and one line mentioning %q", c.args, err, msg, c.want)
			}
		}
	})

	t.Run("reader closing early ends it promptly and quietly", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		// augment --epochs 100000 | head -c 1000000
		cmd := exec.CommandContext(ctx, bin, "-i", inPath, "--epochs", "100000")
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 1000000)
		if _, err := io.ReadFull(stdout, buf); err != nil {
			t.Fatal(err)
		}
		stdout.Close()
		start := time.Now()
		err = cmd.Wait()
		if ctx.Err() != nil {
			t.Fatalf("augment still running %v after its reader went away", time.Since(start))
		}
		if strings.Contains(stderr.String(), "broken pipe") || strings.Contains(stderr.String(), "error") {
			t.Errorf("stderr after the reader went away: %q", stderr.String())
		}
		_ = err // killed by SIGPIPE or exit 141: both quiet
	})
}

func TestCheckCropScale(t *testing.T) {
	for _, c := range []struct {
		args []string
		ok   bool
	}{
		{nil, true}, // not given: no crop
		{[]string{"--crop-scale", "0.2"}, true},
		{[]string{"--crop-scale", "1"}, true},
		{[]string{"--crop-scale", "0.0001"}, true},
		{[]string{"--crop-scale", "0"}, false},
		{[]string{"--crop-scale", "-0.2"}, false},
		{[]string{"--crop-scale", "1.0001"}, false},
		{[]string{"--crop-scale", "NaN"}, false},
		{[]string{"--crop-scale", "Inf"}, false},
	} {
		fs := flag.NewFlagSet("augment", flag.ContinueOnError)
		x := fs.Float64("crop-scale", 0, "")
		if err := fs.Parse(c.args); err != nil {
			t.Fatal(err)
		}
		err := checkCropScale(fs, *x)
		var ue *cli.UsageError
		switch {
		case c.ok && err != nil:
			t.Errorf("%v: %v, want accepted", c.args, err)
		case !c.ok && !errors.As(err, &ue):
			t.Errorf("%v: %v, want a usage error", c.args, err)
		case !c.ok && strings.Contains(err.Error(), "\n"):
			t.Errorf("%v: error %q is not one line", c.args, err)
		}
	}
}

// TestStageRunsInProcess runs augment's stage function on in-memory streams.
func TestStageRunsInProcess(t *testing.T) {
	var out, errb bytes.Buffer
	code := stage([]string{"--epochs", "2", "--seed", "4", "--quiet"}, bytes.NewReader(imagesStream(t, 30, 28, 28)), &out, &errb)
	if code != 0 || errb.Len() != 0 {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	r, err := contract.NewReader(&out, contract.KindPairs)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for r.Next() {
		n += r.Pairs().N
	}
	if r.Err() != nil || n != 60 || r.Meta()[contract.MetaEpochs] != "2" {
		t.Fatalf("%d pairs, meta %v, %v; want 60 over 2 epochs", n, r.Meta(), r.Err())
	}
	errb.Reset()
	if code := stage([]string{"--bins", "0"}, bytes.NewReader(nil), &out, &errb); code != 2 || !strings.HasPrefix(errb.String(), "augment: --bins 0: want an integer in 2..") {
		t.Fatalf("--bins 0: exit %d, stderr %q", code, errb.String())
	}
}

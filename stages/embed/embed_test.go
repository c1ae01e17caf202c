package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/siampipe/siampipe/internal/arch"
	"github.com/siampipe/siampipe/internal/checkpoint"
	"github.com/siampipe/siampipe/internal/contract"
	"github.com/siampipe/siampipe/internal/infer"
	"github.com/siampipe/siampipe/internal/shard"
	"github.com/siampipe/siampipe/internal/stagetest"
)

type image struct {
	index  int64
	label  uint8
	pixels []uint8
}

func randomImages(n, h, w int) []image {
	r := rand.New(rand.NewPCG(3, 3))
	ims := make([]image, n)
	for i := range ims {
		ims[i] = image{index: int64(1000 + 3*i), label: uint8(r.UintN(10)), pixels: make([]uint8, h*w)}
		for j := range ims[i].pixels {
			ims[i].pixels[j] = uint8(r.UintN(256))
		}
	}
	return ims
}

// imagesStream writes ims as an images stream cut into record batches of rows.
func imagesStream(t *testing.T, ims []image, h, w, rows int) []byte {
	t.Helper()
	var buf bytes.Buffer
	iw, err := contract.NewImagesWriter(&buf, h, w, contract.Meta{contract.MetaSplit: "test", contract.MetaSource: "unit-test"}, contract.Options{BatchRows: rows})
	if err != nil {
		t.Fatal(err)
	}
	for _, im := range ims {
		if err := iw.Append(im.index, im.label, im.pixels); err != nil {
			t.Fatal(err)
		}
	}
	if err := iw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rgbImages is a stream of two 3x28x28 images.
func rgbImages(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	iw, err := contract.NewImagesWriter(&buf, 28, 28, contract.Meta{}.SetChannels(3), contract.Options{})
	if err != nil {
		t.Fatal(err)
	}
	px := make([]uint8, 3*28*28)
	for i := range 2 {
		for j := range px {
			px[j] = uint8(j*7 + i*91)
		}
		if err := iw.Append(int64(i), 0, px); err != nil {
			t.Fatal(err)
		}
	}
	if err := iw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func run(t *testing.T, in, ckpt []byte, cfg config) ([]byte, error) {
	t.Helper()
	var out bytes.Buffer
	err := embed(context.Background(), bytes.NewReader(in), &out, "model.arrows", ckpt, cfg, contract.Options{})
	return out.Bytes(), err
}

// TestEmbedSameBytesWhateverTheCoresAndBatches runs the stage with one and
// two cores, several batch sizes and reader batch sizes, and demands the same
// bytes, whose rows are each image's forward pass in input order.
func TestEmbedSameBytesWhateverTheCoresAndBatches(t *testing.T) {
	ckpt, ts := stagetest.SmallCheckpoint(t, contract.Meta{contract.MetaArch: arch.Seed})
	ims := randomImages(203, 28, 28)
	var first []byte
	for _, c := range []struct {
		procs, workers, batch, readRows int
	}{
		{1, 1, 256, 64}, {2, 2, 256, 64}, {2, 2, 7, 5}, {1, 3, 1, 1000}, {2, 2, 64, 203},
	} {
		for _, layer := range []string{"", infer.Predictor} {
			t.Run(fmt.Sprintf("procs%d/workers%d/batch%d/read%d/%s", c.procs, c.workers, c.batch, c.readRows, layer), func(t *testing.T) {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(c.procs))
				out, err := run(t, imagesStream(t, ims, 28, 28, c.readRows), ckpt, config{layer: layer, batch: c.batch, workers: c.workers})
				if err != nil {
					t.Fatal(err)
				}
				if layer == "" {
					if first == nil {
						first = out
					} else if !bytes.Equal(out, first) {
						t.Fatalf("output differs from the first run's (%d vs %d bytes)", len(out), len(first))
					}
				}
				checkFeatures(t, out, ckpt, ts, ims, layer)
			})
		}
	}
}

// checkFeatures decodes a features stream and checks its metadata and that
// row i is image i's forward pass.
func checkFeatures(t *testing.T, out, ckpt []byte, ts []contract.Tensor, ims []image, layer string) {
	t.Helper()
	m, err := infer.New(arch.Seed, ts, 28, 28, layer)
	if err != nil {
		t.Fatal(err)
	}
	rd, err := contract.NewReader(bytes.NewReader(out), contract.KindFeatures)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Release()
	sum := sha256.Sum256(ckpt)
	wantLayer := layer
	if wantLayer == "" {
		wantLayer = infer.Backbone
	}
	for k, v := range map[string]string{
		contract.MetaDim: fmt.Sprint(m.Dim()), contract.MetaLayer: wantLayer, contract.MetaModel: hex.EncodeToString(sum[:]),
		contract.MetaArch: arch.Seed, contract.MetaSplit: "test", contract.MetaSource: "unit-test",
	} {
		if got := rd.Meta()[k]; got != v {
			t.Errorf("metadata %s = %q, want %q", k, got, v)
		}
	}
	w := m.NewWorker()
	want := make([]float32, m.Dim())
	i := 0
	for rd.Next() {
		b := rd.Features()
		for r := range b.N {
			if i >= len(ims) {
				t.Fatalf("more than %d rows", len(ims))
			}
			if b.Index[r] != ims[i].index || b.Label[r] != ims[i].label {
				t.Fatalf("row %d: index %d label %d, want %d %d", i, b.Index[r], b.Label[r], ims[i].index, ims[i].label)
			}
			w.Forward(ims[i].pixels, 1, want)
			got := b.Values[r*m.Dim() : (r+1)*m.Dim()]
			for j := range want {
				if got[j] != want[j] {
					t.Fatalf("row %d feature %d = %v, a forward pass of that image alone gives %v", i, j, got[j], want[j])
				}
			}
			i++
		}
	}
	if err := rd.Err(); err != nil {
		t.Fatal(err)
	}
	if i != len(ims) {
		t.Fatalf("%d rows, want %d", i, len(ims))
	}
}

// TestEmbedRefusesBadInput checks that each problem gives an error naming
// it, and no output stream.
func TestEmbedRefusesBadInput(t *testing.T) {
	ckpt, ts := stagetest.SmallCheckpoint(t, contract.Meta{contract.MetaArch: arch.Seed})
	images28 := imagesStream(t, randomImages(5, 28, 28), 28, 28, 0)
	var missing bytes.Buffer
	if err := contract.WriteModel(&missing, contract.Meta{contract.MetaArch: arch.Seed}, ts[1:], contract.Options{}); err != nil {
		t.Fatal(err)
	}
	sized, _ := stagetest.SmallCheckpoint(t, contract.Meta{contract.MetaArch: arch.Seed, contract.MetaHeight: "28", contract.MetaWidth: "28",
		contract.MetaTrainInput: "pixels/255", contract.MetaTrainBNEps: "1e-05"})
	otherInput, _ := stagetest.SmallCheckpoint(t, contract.Meta{contract.MetaArch: arch.Seed, contract.MetaTrainInput: "(pixels-mean)/std"})
	otherEps, _ := stagetest.SmallCheckpoint(t, contract.Meta{contract.MetaArch: arch.Seed, contract.MetaTrainBNEps: "0.001"})
	badEps, _ := stagetest.SmallCheckpoint(t, contract.Meta{contract.MetaArch: arch.Seed, contract.MetaTrainBNEps: "tiny"})
	rgb, _ := stagetest.SmallCheckpoint(t, contract.Meta{contract.MetaArch: arch.Seed, contract.MetaChannels: "3"})
	deeper, _ := stagetest.SmallCheckpoint(t, contract.Meta{contract.MetaArch: arch.Seed, contract.MetaDepth: "2"})
	if _, err := run(t, images28, sized, config{}); err != nil {
		t.Fatalf("a checkpoint whose training metadata fits the images is refused: %v", err)
	}
	for _, c := range []struct {
		name   string
		images []byte
		ckpt   []byte
		layer  string
		want   []string
		is     error
	}{
		{"checkpoint is an images stream", images28, images28, "", []string{"model.arrows is an images stream, not a model", "--model"}, contract.ErrWrongKind},
		{"truncated checkpoint", images28, ckpt[:len(ckpt)/2], "", []string{"truncated"}, nil},
		{"empty checkpoint", images28, nil, "", []string{"model.arrows is empty", "--model"}, nil},
		{"images of another size", imagesStream(t, randomImages(2, 20, 20), 20, 20, 0), ckpt, "", []string{"20x20", "predictor.fc1", "size the model was trained on"}, infer.ErrImageSize},
		{"images of another size than the checkpoint metadata", imagesStream(t, randomImages(2, 32, 32), 32, 32, 0), sized, "", []string{"1x32x32", "trained on 1x28x28"}, infer.ErrImageSize},
		{"trained on other inputs", images28, otherInput, "", []string{`"(pixels-mean)/std"`, "pixels/255"}, nil},
		{"trained with another BatchNorm epsilon", images28, otherEps, "", []string{"epsilon 0.001", "1e-05"}, nil},
		{"an epsilon that is not a number", images28, badEps, "", []string{`siampipe.train.bn_eps="tiny"`, "--model"}, checkpoint.ErrHeader},
		{"trained on colour images", images28, rgb, "", []string{"3-channel"}, nil},
		{"colour images for a grey model", rgbImages(t), sized, "", []string{"input has 3x28x28", "trained on 1x28x28", "--channels"}, infer.ErrImageSize},
		{"metadata of a deeper backbone than the tensors", images28, deeper, "", []string{"depth 2", "1 convolutions per stage", "--model"}, nil},
		{"missing tensor", images28, missing.Bytes(), "", []string{"backbone.conv1.weight"}, infer.ErrMissingTensor},
		{"projector of a seed model", images28, ckpt, "projector", []string{"seed model has no projector (use --layer backbone or predictor)"}, infer.ErrLayer},
		{"a layer that does not exist", images28, ckpt, "head", []string{`no such layer: "head" (use --layer backbone or predictor)`}, infer.ErrLayer},
		{"features instead of images", mustRun(t, images28, ckpt), ckpt, "", []string{"features", "expected images"}, contract.ErrWrongKind},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := run(t, c.images, c.ckpt, config{layer: c.layer})
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error %q has more than one line", msg)
			}
			t.Log(msg)
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("error %q is not %v", msg, c.is)
			}
			if len(out) != 0 {
				t.Errorf("wrote %d bytes before failing", len(out))
			}
		})
	}
}

func mustRun(t *testing.T, in, ckpt []byte) []byte {
	out, err := run(t, in, ckpt, config{})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestStageRunsInProcess runs embed's stage function on in-memory streams,
// and checks its flags: a bad one exits 2 with one line.
func TestStageRunsInProcess(t *testing.T) {
	ckpt, _ := stagetest.SmallCheckpoint(t, contract.Meta{contract.MetaArch: arch.Seed})
	model := filepath.Join(t.TempDir(), "model.arrows")
	if err := os.WriteFile(model, ckpt, 0o644); err != nil {
		t.Fatal(err)
	}
	images := imagesStream(t, randomImages(9, 28, 28), 28, 28, 4)
	var out, errb bytes.Buffer
	code := stage([]string{"--model", model, "--batch-size", "4", "--quiet"}, bytes.NewReader(images), &out, &errb)
	if code != 0 || errb.Len() != 0 {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	if want := mustRun(t, images, ckpt); !bytes.Equal(out.Bytes(), want) {
		t.Fatal("the stage wrote other bytes than embed does")
	}
	m, err := contract.ReadMatrix(&out)
	if err != nil || m.Rows != 9 || m.Dim != 128 || m.Kind != contract.KindFeatures {
		t.Fatalf("stream %v, %v; want 9 features of 128 values", m, err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--batch-size", "0"}, "embed: --batch-size 0: want an integer in 1..4096\n"},
		{[]string{"--batch-size", "-1"}, "embed: --batch-size -1: want an integer in 1..4096\n"},
		{[]string{"--batch-size", "9999999999999"}, "embed: --batch-size 9999999999999: want an integer in 1..4096\n"},
		{[]string{"--layer", "fc1"}, "embed: --layer \"fc1\": use backbone, projector or predictor\n"},
		{[]string{"--compress", "gzip"}, "embed: --compress"},
	} {
		errb.Reset()
		code := stage(append([]string{"--model", model}, c.args...), bytes.NewReader(images), io.Discard, &errb)
		if code != 2 || !strings.HasPrefix(errb.String(), c.want) || strings.Count(errb.String(), "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, errb.String(), c.want)
		}
	}
}

// TestEmbedShardsAreTheWholesRows embeds shards of 203 images, read as they
// come (the stream records siampipe.rows) or read ahead (it does not), and
// demands that shard I of N has the features of rows [I*n/N, (I+1)*n/N)
// of the whole, and its shard metadata.
func TestEmbedShardsAreTheWholesRows(t *testing.T) {
	ckpt, _ := stagetest.SmallCheckpoint(t, contract.Meta{contract.MetaArch: arch.Seed})
	ims := randomImages(203, 28, 28)
	plain := imagesStream(t, ims, 28, 28, 50)
	counted := withRows(t, ims, len(ims))
	whole, err := run(t, plain, ckpt, config{workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	want := featureRows(t, whole)
	for name, in := range map[string][]byte{"read ahead": plain, "streamed": counted} {
		for _, n := range []int{1, 2, 3, 7} {
			var got []string
			for i := range n {
				out, err := run(t, in, ckpt, config{workers: 2, batch: 16, shard: shard.Shard{I: i, N: n}})
				if err != nil {
					t.Fatalf("%s, shard %d/%d: %v", name, i, n, err)
				}
				rd, err := contract.NewReader(bytes.NewReader(out), contract.KindFeatures)
				if err != nil {
					t.Fatal(err)
				}
				si, ok, err := rd.Meta().Shard()
				rd.Release()
				lo, hi := shard.Shard{I: i, N: n}.Range(int64(len(ims)))
				if wantSI := (contract.ShardInfo{I: i, N: n, First: lo, Rows: hi - lo, Total: int64(len(ims))}); !ok || err != nil || si != wantSI {
					t.Fatalf("%s, shard %d/%d: metadata %+v, %v, %v; want %+v", name, i, n, si, ok, err, wantSI)
				}
				rows := featureRows(t, out)
				if len(rows) != int(hi-lo) {
					t.Fatalf("%s, shard %d/%d: %d rows, want %d", name, i, n, len(rows), hi-lo)
				}
				got = append(got, rows...)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("%s: the %d shards' rows are not the whole's", name, n)
			}
		}
	}
}

func TestEmbedShardChecksTheRowCount(t *testing.T) {
	ckpt, _ := stagetest.SmallCheckpoint(t, contract.Meta{contract.MetaArch: arch.Seed})
	ims := randomImages(20, 28, 28)
	for _, c := range []struct {
		rows int
		part shard.Shard
		want string
	}{
		{21, shard.Shard{I: 0, N: 2}, "read images: the stream has 20 rows, its metadata siampipe.rows says 21 (truncated?)"},
		{19, shard.Shard{I: 1, N: 2}, "read images: the stream has 20 rows, its metadata siampipe.rows says 19 (truncated?)"},
		{20, shard.Shard{I: 0, N: 21}, "read images: shard 0/21 of 20 rows has no row: empty shard (use at most 20 shards)"},
	} {
		_, err := run(t, withRows(t, ims, c.rows), ckpt, config{shard: c.part})
		if err == nil || err.Error() != c.want {
			t.Errorf("siampipe.rows %d, shard %v: %v, want %q", c.rows, c.part, err, c.want)
		}
	}
}

// withRows writes ims as an images stream whose siampipe.rows says rows.
func withRows(t *testing.T, ims []image, rows int) []byte {
	t.Helper()
	var buf bytes.Buffer
	iw, err := contract.NewImagesWriter(&buf, 28, 28, contract.Meta{contract.MetaSplit: "test", contract.MetaSource: "unit-test", contract.MetaRows: fmt.Sprint(rows)}, contract.Options{BatchRows: 32})
	if err != nil {
		t.Fatal(err)
	}
	for _, im := range ims {
		if err := iw.Append(im.index, im.label, im.pixels); err != nil {
			t.Fatal(err)
		}
	}
	if err := iw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// featureRows returns each row of a features stream as text.
func featureRows(t *testing.T, out []byte) []string {
	t.Helper()
	rd, err := contract.NewReader(bytes.NewReader(out), contract.KindFeatures)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Release()
	var rows []string
	for rd.Next() {
		b := rd.Features()
		d := len(b.Values) / b.N
		for r := range b.N {
			rows = append(rows, fmt.Sprint(b.Index[r], b.Label[r], b.Values[r*d:(r+1)*d]))
		}
	}
	if err := rd.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

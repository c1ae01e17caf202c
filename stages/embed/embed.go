package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/siampipe/siampipe/internal/arch"
	"github.com/siampipe/siampipe/internal/checkpoint"
	"github.com/siampipe/siampipe/internal/cli"
	"github.com/siampipe/siampipe/internal/contract"
	"github.com/siampipe/siampipe/internal/infer"
	"github.com/siampipe/siampipe/internal/raster"
	"github.com/siampipe/siampipe/internal/shard"
)

// config is what the flags set; the zero value means the defaults.
type config struct {
	layer   string // "" = backbone
	batch   int    // images per batch; 0 = 256
	workers int    // goroutines; 0 = 1
	// progress, if not nil, is told how many images each written batch had.
	progress func(n int64)
	// shard, if not the zero Shard (the whole), embeds only its rows of the
	// input: [I*n/N, (I+1)*n/N) of the n rows.
	shard shard.Shard
}

// embed writes to out the features stream of the images stream in under
// the checkpoint whose file bytes are ckpt (named name in messages).
func embed(ctx context.Context, in io.Reader, out io.Writer, name string, ckpt []byte, cfg config, opt contract.Options) error {
	ck, err := readCheckpoint(name, ckpt)
	if err != nil {
		return err
	}
	rd, err := contract.NewReader(in, contract.KindImages)
	if err != nil {
		return fmt.Errorf("read images: %w", err)
	}
	defer rd.Release()
	if err := checkTrained(ck.Header, rd.Channels(), rd.Height(), rd.Width()); err != nil {
		return fmt.Errorf("checkpoint %s: %w", name, err)
	}
	model, err := infer.New(ck.Arch, ck.Tensors, rd.Height(), rd.Width(), cfg.layer)
	if le, ok := errors.AsType[*infer.LayerError](err); ok {
		return fmt.Errorf("checkpoint %s: %w (use --layer %s)", name, err, orList(le.Layers()))
	}
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", name, err)
	}
	if ck.Depth != model.Depth() {
		return fmt.Errorf("checkpoint %s: its metadata says a backbone of depth %d, its tensors have %d convolutions per stage (corrupt or hand-edited? pass --model the file train -o wrote)", name, ck.Depth, model.Depth())
	}
	if model.Channels() != ck.Header.Input.Channels {
		return fmt.Errorf("checkpoint %s: its metadata says %d-channel images, its first convolution takes %d (corrupt or hand-edited? pass --model the file train -o wrote)", name, ck.Header.Input.Channels, model.Channels())
	}
	var src images = rd
	var part contract.ShardInfo
	if !cfg.shard.Whole() {
		sr, si, err := shardRows(rd, cfg.shard)
		if err != nil {
			return fmt.Errorf("read images: %w", err)
		}
		src, part = sr, si
	}
	// The first batch tells whether the stream is labelled, which the
	// features stream's schema says.
	var cur contract.ImagesBatch // the reader's batch being cut into ours
	if src.Next() {
		cur = src.Images()
	} else if err := src.Err(); err != nil {
		return fmt.Errorf("read images: %w", err)
	}
	opt.Unlabelled = !rd.Labelled()
	digest := sha256.Sum256(ckpt)
	fm := contract.Meta{
		contract.MetaLayer:   model.Layer(),
		contract.MetaModel:   hex.EncodeToString(digest[:]),
		contract.MetaArch:    model.Arch(),
		contract.MetaStage:   "embed",
		contract.MetaVersion: cli.Version,
	}.Inherit(contract.KindFeatures, rd.Meta())
	if !cfg.shard.Whole() {
		fm.SetShard(part)
	}
	if opt.BatchRows == 0 {
		opt.BatchRows = contract.FeaturesBatchRows(model.Dim())
	}
	fw, err := contract.NewFeaturesWriter(out, model.Dim(), fm, opt)
	if err != nil {
		return fmt.Errorf("write features: %w", err)
	}

	batch := cfg.batch
	if batch <= 0 {
		batch = 256
	}
	hw := rd.Dim()
	pos := 0
	fill := func(b *infer.Batch) (bool, error) {
		for b.N < batch {
			if pos == cur.N {
				if !src.Next() {
					if err := src.Err(); err != nil {
						return false, fmt.Errorf("read images: %w", err)
					}
					return b.N > 0, nil
				}
				cur, pos = src.Images(), 0
				continue
			}
			n := min(batch-b.N, cur.N-pos)
			b.Index = append(b.Index, cur.Index[pos:pos+n]...)
			b.Label = append(b.Label, cur.Label[pos:pos+n]...)
			b.Pixels = append(b.Pixels, cur.Pixels[pos*hw:(pos+n)*hw]...)
			b.N += n
			pos += n
		}
		return true, nil
	}
	d := model.Dim()
	emit := func(b *infer.Batch) error {
		for i := range b.N {
			if err := fw.Append(b.Index[i], b.Label[i], b.Out[i*d:(i+1)*d]); err != nil {
				return fmt.Errorf("write features: %w", err)
			}
		}
		if cfg.progress != nil {
			cfg.progress(int64(b.N))
		}
		return nil
	}
	if err := model.Run(ctx, cfg.workers, fill, emit); err != nil {
		return err
	}
	if err := fw.Close(); err != nil {
		return fmt.Errorf("write features: %w", err)
	}
	return nil
}

// checkTrained refuses a checkpoint whose header says it was trained on
// images of another size or channel count, on inputs other than the ones
// embed feeds or with another BatchNorm epsilon than the one embed computes
// with. What the header does not record is not checked.
func checkTrained(h checkpoint.Header, channels, height, width int) error {
	sized := h.Has(contract.MetaHeight) || h.Has(contract.MetaWidth)
	if h.Input.Channels != channels || sized && (h.Input.Height != height || h.Input.Width != width) {
		trained := fmt.Sprintf("%d-channel", h.Input.Channels)
		if sized {
			trained = raster.Shape(h.Input.Channels, h.Input.Height, h.Input.Width)
		}
		return fmt.Errorf("%w: model trained on %s images, the input has %s (embed images of the shape the model was trained on: fetch --size HxW --channels C)", infer.ErrImageSize, trained, raster.Shape(channels, height, width))
	}
	if h.Has(contract.MetaTrainInput) && h.Input.Scaling != arch.Input {
		return fmt.Errorf("model trained on inputs %q, embed feeds %s (checkpoint from a newer train? rebuild embed)", h.Input.Scaling, arch.Input)
	}
	if h.Has(contract.MetaTrainBNEps) && h.BN.Eps != arch.BNEps {
		return fmt.Errorf("model trained with BatchNorm epsilon %g, embed computes with %g (checkpoint from a newer train? rebuild embed)", h.BN.Eps, arch.BNEps)
	}
	return nil
}

// readCheckpoint decodes the checkpoint file bytes ckpt, with messages that
// say what is wrong with the file and what to pass instead.
func readCheckpoint(name string, ckpt []byte) (checkpoint.Checkpoint, error) {
	const fix = "pass --model the file train -o wrote"
	if len(ckpt) == 0 {
		return checkpoint.Checkpoint{}, fmt.Errorf("checkpoint %s is empty (%s)", name, fix)
	}
	ck, err := checkpoint.Read(bytes.NewReader(ckpt))
	switch {
	case errors.Is(err, contract.ErrWrongKind):
		kind := "another"
		if rd, err := contract.NewReader(bytes.NewReader(ckpt)); err == nil {
			kind = rd.Kind()
			rd.Release()
		}
		return checkpoint.Checkpoint{}, fmt.Errorf("checkpoint %s is %s stream, not a model: %w (%s)", name, withArticle(kind), contract.ErrWrongKind, fix)
	case errors.Is(err, checkpoint.ErrHeader):
		return checkpoint.Checkpoint{}, fmt.Errorf("checkpoint %s: %w (corrupt or hand-edited? %s)", name, err, fix)
	case err != nil:
		return checkpoint.Checkpoint{}, fmt.Errorf("checkpoint %s: %w (truncated or not a checkpoint? %s)", name, err, fix)
	}
	return ck, nil
}

// orList joins words as "a, b or c".
func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

func withArticle(kind string) string {
	if kind != "" && strings.ContainsRune("aeiou", rune(kind[0])) {
		return "an " + kind
	}
	return "a " + kind
}

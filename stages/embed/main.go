// Command embed writes the features of an images stream under a model
// checkpoint: the backbone output z, the projector output or the predictor
// output p, with BatchNorm in inference mode. It uses every core
// (GOMAXPROCS) and writes the same bytes whatever their number.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/siampipe/siampipe/internal/cli"
	"github.com/siampipe/siampipe/internal/infer"
	"github.com/siampipe/siampipe/internal/shard"
)

func main() { os.Exit(stage(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

// maxBatch bounds --batch-size: 2 x cores + 2 batches are in flight, each
// image's activations tens of KB.
const maxBatch = 4096

// stage runs embed with args on the given streams and returns its exit status.
func stage(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	s := cli.New("embed", "features of an images stream under a model checkpoint",
		"fetch --split test | embed --model model.arrows > test-features.arrows")
	model := s.Flags.String("model", "", "model checkpoint `FILE` (or s3://bucket/key) written by train (required)")
	layer := s.Flags.String("layer", infer.Backbone, "layer to output: backbone, projector (simsiam arch) or predictor")
	batch := s.Flags.Int("batch-size", 256, fmt.Sprintf("images per batch, 1..%d", maxBatch))
	shards := shard.AddFlags(s.Flags, "the input stream")
	return s.Run(args, stdin, stdout, stderr, func(ctx context.Context) error {
		if *model == "" {
			return cli.Usagef("--model is required (the checkpoint train -o wrote)")
		}
		switch *layer {
		case infer.Backbone, infer.Projector, infer.Predictor:
		default:
			return cli.Usagef("--layer %q: use backbone, projector or predictor", *layer)
		}
		if err := cli.Int("batch-size", *batch, 1, maxBatch); err != nil {
			return err
		}
		part, err := shards.Resolve(os.Getenv)
		if err != nil {
			return cli.Usagef("%v", err)
		}
		ckpt, err := cli.ReadAll(*model)
		if err != nil && cli.IsObject(*model) {
			return cli.FileError("--model", *model, err)
		}
		if err != nil {
			return fmt.Errorf("read checkpoint: %w (pass --model the file train -o wrote)", err)
		}
		in, err := s.Input()
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := s.Output()
		if err != nil {
			return err
		}
		defer out.Abort()
		p := s.Progress("embed", 0, "images")
		cfg := config{layer: *layer, batch: *batch, workers: runtime.GOMAXPROCS(0), progress: p.Add, shard: part}
		if err := embed(ctx, in, out, *model, ckpt, cfg, s.WriterOptions()); err != nil {
			return err
		}
		p.Done()
		return out.Commit()
	})
}

// Command augment reads an images stream and writes a pairs stream: two
// independent RandAugment views (torchvision 0.14.1's ops, bit-exact) of
// every image, optionally each first RandomResizedCrop-ed and flipped, epoch
// after epoch, each epoch in a fresh seeded shuffle. It uses every core and
// writes the same bytes whatever their number.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/siampipe/siampipe/internal/augment"
	"github.com/siampipe/siampipe/internal/cli"
	"github.com/siampipe/siampipe/internal/contract"
	"github.com/siampipe/siampipe/internal/randaug"
	"github.com/siampipe/siampipe/internal/shard"
)

func main() { os.Exit(stage(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

// Upper bounds of the flags: far beyond any useful setting, low enough that
// a typo cannot run for days or allocate without end.
const (
	maxNumOps = 100
	maxBins   = 1000
	maxEpochs = 100000
)

// stage runs augment with args on the given streams and returns its exit status.
func stage(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	s := cli.New("augment", "paired RandAugment views of an images stream, per epoch",
		"fetch --split train | augment --epochs 10 | train -o model.arrows")
	numOps := s.Flags.Int("num-ops", 5, fmt.Sprintf("RandAugment ops applied to each view, 1..%d", maxNumOps))
	magnitude := s.Flags.Int("magnitude", 9, "magnitude bin, 0..bins-1")
	bins := s.Flags.Int("bins", 31, fmt.Sprintf("number of magnitude bins (torchvision's num_magnitude_bins), 2..%d", maxBins))
	opList := s.Flags.String("ops", randaug.FormatOps(randaug.AllOps()), "comma-separated ops to draw from")
	epochs := s.Flags.Int("epochs", 1, fmt.Sprintf("epochs to write, each a fresh shuffle, 1..%d", maxEpochs))
	seed := s.Flags.Uint64("seed", 0, "random seed of the shuffles and views")
	cropScale := s.Flags.Float64("crop-scale", 0, "RandomResizedCrop each view first, the smallest crop X of the image area, 0 < X <= 1 (default: the flag left out, no crop)")
	flip := s.Flags.Bool("flip", false, "mirror each view left to right with probability 1/2, after the crop")
	shards := shard.AddFlags(s.Flags, "each epoch's shuffled order")
	return s.Run(args, stdin, stdout, stderr, func(ctx context.Context) error {
		ops, err := randaug.ParseOps(*opList)
		if err != nil {
			return cli.Usagef("--ops: %v", err)
		}
		if err := cli.FirstError(
			cli.Int("num-ops", *numOps, 1, maxNumOps),
			cli.Int("bins", *bins, 2, maxBins, "torchvision's Posterize table divides by bins-1"),
			cli.Int("magnitude", *magnitude, 0, *bins-1, fmt.Sprintf("a bin of --bins %d", *bins)),
			cli.Int("epochs", *epochs, 1, maxEpochs),
			checkCropScale(s.Flags, *cropScale),
		); err != nil {
			return err
		}
		part, err := shards.Resolve(os.Getenv)
		if err != nil {
			return cli.Usagef("%v", err)
		}
		cfg := augment.Config{Epochs: *epochs, Seed: *seed, CropScale: *cropScale, Flip: *flip, Shard: part,
			RandAug: randaug.Config{NumOps: *numOps, Magnitude: *magnitude, Bins: *bins, Ops: ops}}
		if err := cfg.RandAug.Check(); err != nil {
			return cli.Usagef("%v", err)
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
		var p *cli.Progress
		start := func(rows int) func(int) {
			p = s.Progress("augment", int64(*epochs)*int64(rows), "pairs")
			return func(n int) { p.Add(int64(n)) }
		}
		if err := run(ctx, in, out, cfg, s.WriterOptions(), start); err != nil {
			return err
		}
		p.Done()
		return out.Commit()
	})
}

// checkCropScale rejects a --crop-scale outside (0, 1] when it is given (the
// default, the flag left out, means no crop).
func checkCropScale(fs *flag.FlagSet, x float64) error {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == "crop-scale" })
	if !set {
		return nil
	}
	return cli.Float("crop-scale", x, cli.Positive(1), "the smallest crop's fraction of the image area, e.g. 0.2; leave the flag out for no crop")
}

// run reads the whole images stream in (the shuffle needs all of it) and
// writes the pairs stream to out: with cfg.Shard, shard I of N of each
// epoch's n pairs, the rows [I*n/N, (I+1)*n/N) of the epoch's order.
// progress is called once the row count per epoch is known and returns the
// per-chunk progress callback.
func run(ctx context.Context, in io.Reader, out io.Writer, cfg augment.Config, opt contract.Options, progress func(rows int) func(int)) error {
	im, inMeta, labelled, err := readImages(in)
	if err != nil {
		return err
	}
	opt.Unlabelled = !labelled
	n := int64(im.Len())
	lo, hi := int64(0), n
	if !cfg.Shard.Whole() {
		if lo, hi, err = cfg.Shard.Rows(n); err != nil {
			return err
		}
	}
	rc := cfg.RandAug.Defaults()
	meta := contract.Meta{
		contract.MetaEpochs:       strconv.Itoa(max(cfg.Epochs, 1)),
		contract.MetaRowsPerEpoch: strconv.FormatInt(hi-lo, 10),
		contract.MetaSeed:         strconv.FormatUint(cfg.Seed, 10),
		contract.MetaAugment:      "randaugment (" + randaug.Reference + ")",
		contract.MetaAugNumOps:    strconv.Itoa(rc.NumOps),
		contract.MetaAugMagnitude: strconv.Itoa(rc.Magnitude),
		contract.MetaAugBins:      strconv.Itoa(rc.Bins),
		contract.MetaAugOps:       randaug.FormatOps(rc.Ops),
		contract.MetaAugCropScale: strconv.FormatFloat(cfg.CropScale, 'g', -1, 64),
		contract.MetaAugFlip:      strconv.FormatBool(cfg.Flip),
		contract.MetaStage:        "augment",
		contract.MetaVersion:      cli.Version,
	}.Inherit(contract.KindPairs, inMeta)
	if !cfg.Shard.Whole() {
		meta.SetShard(contract.ShardInfo{I: cfg.Shard.I, N: cfg.Shard.N, First: lo, Rows: hi - lo, Total: n})
	}
	w, err := contract.NewPairsWriter(out, im.Height, im.Width, meta, opt)
	if err != nil {
		return fmt.Errorf("write pairs: %w", err)
	}
	if progress != nil {
		cfg.Progress = progress(int(hi - lo))
	}
	if err := augment.Run(ctx, im, cfg, w); err != nil {
		return fmt.Errorf("write pairs: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("write pairs: %w", err)
	}
	return nil
}

// readImages loads a whole images stream and says whether it is labelled.
func readImages(in io.Reader) (*augment.Images, contract.Meta, bool, error) {
	all, err := contract.ReadImages(in)
	if err != nil {
		return nil, nil, false, fmt.Errorf("read images: %w", err)
	}
	if all.N == 0 {
		return nil, nil, false, fmt.Errorf("input images stream has no images (check fetch's --split and --limit)")
	}
	im := &augment.Images{Channels: all.Channels, Height: all.Height, Width: all.Width, Index: all.Index, Label: all.Label, Pixels: all.Pixels}
	if err := im.Check(); err != nil {
		return nil, nil, false, fmt.Errorf("read images: %w", err)
	}
	return im, all.Meta, all.Labelled, nil
}

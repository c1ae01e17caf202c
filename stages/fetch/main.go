// Command fetch decodes an image collection into an images stream:
// FashionMNIST (the default), an image folder, an IDX pair, or an Arrow or
// Parquet table, converted and resized to one shape.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/siampipe/siampipe/internal/cli"
	"github.com/siampipe/siampipe/internal/conform"
	"github.com/siampipe/siampipe/internal/contract"
	"github.com/siampipe/siampipe/internal/decode"
	"github.com/siampipe/siampipe/internal/fmnist"
	"github.com/siampipe/siampipe/internal/holdout"
	"github.com/siampipe/siampipe/internal/idx"
	"github.com/siampipe/siampipe/internal/raster"
	"github.com/siampipe/siampipe/internal/shard"
	"github.com/siampipe/siampipe/internal/table"
)

func main() { os.Exit(stage(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

// maxLimit bounds --limit: a row count an Arrow record batch can index.
const maxLimit = math.MaxInt32

// maxSide bounds each side of --size.
const maxSide = 1 << 14

// flags are fetch's settings.
type flags struct {
	split, dir, mirror       string
	download                 bool
	limit                    int
	folder                   string
	idxImages, idxLabels     string
	arrow, parquet           string
	imageColumn, labelColumn string
	size                     string
	channels                 int
	skipBad                  bool
	testFraction             float64
	maxPixels                int64
	shards                   *shard.Flags
}

// stage runs fetch with args on the given streams and returns its exit status.
func stage(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	s := cli.New("fetch", "decode images (FashionMNIST, an image folder, IDX, Arrow or Parquet) into an images stream",
		"fetch --split train | augment --epochs 10 | train -o model.arrows\n  fetch --folder photos/ --size 32x32 --channels 3 --test-fraction 0.2 --split test -o test.arrows")
	s.Common = cli.OutputFlag | cli.CompressFlag // it reads image files, not a stream
	var f flags
	fs := s.Flags
	fs.StringVar(&f.split, "split", "train", "which split: train or test (FashionMNIST's files; with --test-fraction, that part of the source; else the name recorded)")
	fs.IntVar(&f.limit, "limit", 0, "emit only the first N rows (0: all)")
	fs.StringVar(&f.dir, "dir", "", "FashionMNIST: read the IDX files from `DIR` (default: $SIAMPIPE_DATA, the user cache, "+fmnist.DebianDir+")")
	fs.BoolVar(&f.download, "download", false, "FashionMNIST: download the upstream files into the user cache (or --dir) first, checking their MD5 sums")
	fs.StringVar(&f.mirror, "mirror", envOr("SIAMPIPE_MIRROR", fmnist.UpstreamURL), "FashionMNIST: base `URL` for --download")
	fs.StringVar(&f.folder, "folder", "", "read an image folder: class subfolders (ImageFolder layout, labels by sorted name) or a flat folder (unlabelled); PNG, JPEG, GIF, BMP, TIFF, WebP")
	fs.StringVar(&f.idxImages, "idx-images", "", "read an IDX images `FILE` (gzip or plain: MNIST, KMNIST, EMNIST, ...)")
	fs.StringVar(&f.idxLabels, "idx-labels", "", "the IDX labels `FILE` of --idx-images (without it the images are unlabelled)")
	fs.StringVar(&f.arrow, "arrow", "", "read an Arrow IPC file or stream `FILE` with a column of encoded images (pyarrow, Hugging Face datasets)")
	fs.StringVar(&f.parquet, "parquet", "", "read a Parquet `FILE` with a column of encoded images (pyarrow, Hugging Face datasets)")
	fs.StringVar(&f.imageColumn, "image-column", "", "--arrow/--parquet: the column of encoded images, binary or a struct with a bytes field (default image)")
	fs.StringVar(&f.labelColumn, "label-column", "", "--arrow/--parquet: the column of labels, integers 0..255 or strings (default label, if the table has it)")
	fs.StringVar(&f.size, "size", "", "resize every image to `HxW` (bilinear with antialias, as torchvision's Resize); without it every image must have the first one's size")
	fs.IntVar(&f.channels, "channels", 0, "convert every image to 1 (grey, as PIL's convert('L')) or 3 (RGB) channels; without it every image must have the first one's")
	fs.BoolVar(&f.skipBad, "skip-bad", false, "--folder/--arrow/--parquet: skip files that are not readable images, and count them, instead of stopping")
	fs.Float64Var(&f.testFraction, "test-fraction", 0, "hold out this fraction of each class as the test split, deterministically; --split picks the part written (0: no holdout)")
	fs.Int64Var(&f.maxPixels, "max-pixels", decode.DefaultMaxPixels, "refuse images whose header claims more pixels than this")
	f.shards = shard.AddFlags(fs, "the rows it would write (after --test-fraction and --limit)")
	return s.Run(args, stdin, stdout, stderr, func(ctx context.Context) error { return fetch(ctx, s, f) })
}

// source returns which source flag is set ("" for FashionMNIST), refusing
// two.
func (f *flags) source() (string, error) {
	var set []string
	for name, v := range map[string]string{"folder": f.folder, "idx-images": f.idxImages, "arrow": f.arrow, "parquet": f.parquet} {
		if v != "" {
			set = append(set, name)
		}
	}
	switch len(set) {
	case 0:
		return "", nil
	case 1:
		return set[0], nil
	}
	return "", cli.Usagef("--%s and --%s: give one source", set[0], set[1])
}

// check validates the flags before any work.
func (f *flags) check(src string) (conform.Spec, error) {
	var spec conform.Spec
	if f.split != "train" && f.split != "test" {
		return spec, cli.Usagef("--split %q: use train or test", f.split)
	}
	if err := cli.Int("limit", f.limit, 0, maxLimit, "0 = all rows"); err != nil {
		return spec, err
	}
	if f.testFraction != 0 {
		if err := cli.Float("test-fraction", f.testFraction, cli.Interval{Lo: 0, Hi: 1, OpenLo: true, OpenHi: true}, "0 = no holdout"); err != nil {
			return spec, err
		}
	}
	if f.maxPixels < 1 {
		return spec, cli.Usagef("--max-pixels %d: want a positive pixel count", f.maxPixels)
	}
	switch {
	case f.idxLabels != "" && f.idxImages == "":
		return spec, cli.Usagef("--idx-labels without --idx-images: give the images file too")
	case (f.imageColumn != "" || f.labelColumn != "") && f.arrow == "" && f.parquet == "":
		return spec, cli.Usagef("--image-column and --label-column are for --arrow and --parquet tables")
	case f.skipBad && src != "folder" && src != "arrow" && src != "parquet":
		return spec, cli.Usagef("--skip-bad is for --folder, --arrow and --parquet, whose images are files")
	case src != "" && (f.dir != "" || f.download):
		return spec, cli.Usagef("--dir and --download are for FashionMNIST; --%s reads its own files", src)
	}
	if f.channels != 0 && f.channels != 1 && f.channels != 3 {
		return spec, cli.Usagef("--channels %d: use 1 (grey) or 3 (RGB)", f.channels)
	}
	spec.Channels = f.channels
	if f.size != "" {
		h, w, ok := parseSize(f.size)
		if !ok {
			return spec, cli.Usagef("--size %q: use HxW with sides 1..%d, e.g. 32x32", f.size, maxSide)
		}
		spec.Height, spec.Width = h, w
	}
	return spec, nil
}

// parseSize parses "HxW".
func parseSize(s string) (h, w int, ok bool) {
	a, b, found := strings.Cut(strings.ToLower(strings.TrimSpace(s)), "x")
	if !found {
		return 0, 0, false
	}
	h, err1 := strconv.Atoi(a)
	w, err2 := strconv.Atoi(b)
	return h, w, err1 == nil && err2 == nil && h >= 1 && w >= 1 && h <= maxSide && w <= maxSide
}

// open opens the source's dataset.
func open(ctx context.Context, s *cli.Stage, f flags, src string) (*dataset, error) {
	switch src {
	case "folder":
		d, err := folderDataset(f.folder, f.maxPixels, f.skipBad)
		if err != nil {
			return nil, fmt.Errorf("--folder %s: %w", f.folder, err)
		}
		return d, nil
	case "idx-images":
		d, err := idxDataset(f.idxImages, f.idxLabels)
		if err != nil {
			return nil, fmt.Errorf("%w (--idx-images takes a 3-d IDX file, --idx-labels a 1-d one of as many rows)", err)
		}
		return d, nil
	case "arrow", "parquet":
		path := f.arrow + f.parquet
		d, err := tableDataset(path, table.Options{ImageColumn: f.imageColumn, LabelColumn: f.labelColumn}, f.maxPixels, f.skipBad)
		switch {
		case errors.Is(err, table.ErrNoColumn):
			return nil, fmt.Errorf("--%s %s: %w (name the columns with --image-column and --label-column)", src, path, err)
		case err != nil:
			return nil, fmt.Errorf("--%s %s: %w", src, path, err)
		}
		return d, nil
	}
	return fashionMNIST(ctx, s, f)
}

// fashionMNIST opens the FashionMNIST split, downloading it first if asked.
func fashionMNIST(ctx context.Context, s *cli.Stage, f flags) (*dataset, error) {
	if f.download {
		target := f.dir
		if target == "" {
			d, err := fmnist.CacheDir()
			if err != nil {
				return nil, err
			}
			target = d
		}
		var files []fmnist.File
		for _, sp := range []string{"train", "test"} {
			files = append(files, fmnist.Files[sp][0], fmnist.Files[sp][1])
		}
		if err := fmnist.Download(ctx, nil, f.mirror, target, files, s.Logf); err != nil {
			return nil, fmt.Errorf("%w (is the network reachable? otherwise: apt-get install dataset-fashion-mnist)", err)
		}
		f.dir = target
	}
	imgPath, lblPath, err := fmnist.Locate(f.dir, f.split)
	if err != nil {
		return nil, err
	}
	data, err := fmnist.Load(imgPath, lblPath)
	if err != nil {
		return nil, fmt.Errorf("%w (re-download with 'fetch --download', or reinstall dataset-fashion-mnist)", err)
	}
	// No class names recorded: FashionMNIST's are the default.
	return greyDataset(imgPath, &idx.Set{Count: data.Count, Rows: data.Rows, Cols: data.Cols, Pixels: data.Pixels, Labels: data.Labels}), nil
}

func fetch(ctx context.Context, s *cli.Stage, f flags) error {
	src, err := f.source()
	if err != nil {
		return err
	}
	spec, err := f.check(src)
	if err != nil {
		return err
	}
	asked, err := conform.Asked(spec)
	if err != nil {
		return cli.Usagef("%v", err)
	}
	part, err := f.shards.Resolve(os.Getenv)
	if err != nil {
		return cli.Usagef("%v", err)
	}
	d, err := open(ctx, s, f, src)
	if err != nil {
		return err
	}
	rows, err := selectRows(d, f)
	if err != nil {
		return err
	}
	total := int64(len(rows))
	if !part.Whole() {
		lo, hi, err := part.Rows(total)
		if err != nil {
			return err
		}
		rows = rows[lo:hi]
	}
	// Open the output first so that a terminal is refused before work,
	// but write nothing until the first image has been decoded.
	out, err := s.Output()
	if err != nil {
		return err
	}
	defer out.Abort()
	meta := contract.Meta{
		contract.MetaSplit:   f.split,
		contract.MetaSource:  d.source,
		contract.MetaStage:   "fetch",
		contract.MetaVersion: cli.Version,
	}.SetClasses(d.classes)
	if !f.skipBad {
		meta[contract.MetaRows] = strconv.Itoa(len(rows)) // known before decoding
	}
	if !part.Whole() {
		lo, _ := part.Range(total)
		meta.SetShard(contract.ShardInfo{I: part.I, N: part.N, First: lo, Rows: int64(len(rows)), Total: total})
	}
	opt := s.WriterOptions()
	opt.Unlabelled = d.labels == nil
	var w *contract.ImagesWriter
	var check *conform.Conformer
	var firstName string
	p := s.Progress("fetch", int64(len(rows)), "images")
	skipped, err := d.load(ctx, rows, asked.Apply, func(row int, im raster.Image) error {
		if check == nil {
			if check, err = conform.New(conform.Spec{}, im); err != nil {
				return err
			}
			firstName = d.name(row)
			c, h, wd := check.Shape()
			if w, err = contract.NewImagesWriter(out, h, wd, meta.Clone().SetChannels(c), opt); err != nil {
				return err
			}
		}
		im, err := check.Apply(im)
		if se, ok := errors.AsType[*conform.ShapeError](err); ok {
			fix := "--size HxW"
			if se.What == "channels" {
				fix = "--channels 1 or 3"
			}
			return fmt.Errorf("%s: image is %s, the first image (%s) is %s; pass %s to make them one shape", d.name(row), se.Got, firstName, se.Want, fix)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", d.name(row), err)
		}
		label := 0
		if d.labels != nil {
			label = d.labels[row]
		}
		p.Add(1)
		return w.Append(int64(row), uint8(label), im.Pix)
	})
	if err != nil {
		return withHint(err, f.skipBad)
	}
	p.Done()
	if len(skipped) > 0 {
		s.Logf("skipped %d bad images (--skip-bad); the first: %s", len(skipped), skipped[0])
	}
	if w == nil {
		return fmt.Errorf("no image of %d could be read (every one was skipped: %s)", len(rows), skipped[0])
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := out.Commit(); err != nil {
		return err
	}
	c, h, wd := check.Shape()
	s.Logf("%d %s images of %s from %s%s", len(rows)-len(skipped), f.split, raster.Shape(c, h, wd), d.source, of(part))
	return nil
}

// withHint adds the fix to an image that could not be decoded.
func withHint(err error, skipBad bool) error {
	switch {
	case errors.Is(err, decode.ErrTooLarge):
		return fmt.Errorf("%w (raise --max-pixels if it is meant, or pass --skip-bad to skip such images)", err)
	case skipBad:
		return err
	case errors.Is(err, decode.ErrFormat), errors.Is(err, decode.ErrTruncated), errors.Is(err, decode.ErrCorrupt),
		errors.Is(err, decode.ErrUnsupported), errors.Is(err, os.ErrNotExist), errors.Is(err, os.ErrPermission):
		return fmt.Errorf("%w (fix or remove it, or pass --skip-bad to skip bad images)", err)
	}
	return err
}

// selectRows returns the rows of d that fetch writes: the --split part at
// --test-fraction, then the first --limit. --shard I/N then takes the rows
// [I*n/N, (I+1)*n/N) of these n.
func selectRows(d *dataset, f flags) ([]int, error) {
	rows := make([]int, 0, d.n)
	if f.testFraction == 0 {
		for i := range d.n {
			rows = append(rows, i)
		}
	} else {
		test, err := holdout.Test(d.labels, d.n, f.testFraction)
		if err != nil {
			return nil, cli.Usagef("--test-fraction: %v", err)
		}
		for i, t := range test {
			if t == (f.split == "test") {
				rows = append(rows, i)
			}
		}
	}
	if f.limit > 0 && f.limit < len(rows) {
		rows = rows[:f.limit]
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s has no images for the %s split", d.source, f.split)
	}
	return rows, nil
}

// of says which shard of the whole a log line is about: "" for the whole.
func of(part shard.Shard) string {
	if part.Whole() {
		return ""
	}
	return ", shard " + part.String()
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

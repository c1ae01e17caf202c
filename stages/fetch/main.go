// Command fetch decodes the FashionMNIST IDX files of one split and writes
// them as an images stream.
package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"

	"github.com/siampipe/siampipe/internal/cli"
	"github.com/siampipe/siampipe/internal/contract"
	"github.com/siampipe/siampipe/internal/fmnist"
)

func main() { os.Exit(stage(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

// maxLimit bounds --limit: a row count an Arrow record batch can index.
const maxLimit = math.MaxInt32

// stage runs fetch with args on the given streams and returns its exit status.
func stage(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	s := cli.New("fetch", "decode FashionMNIST (IDX, gzip or plain) into an images stream",
		"fetch --split train | augment --epochs 10 | train -o model.arrows")
	s.Common = cli.OutputFlag | cli.CompressFlag // it reads IDX files, not a stream
	split := s.Flags.String("split", "train", "which split: train or test")
	limit := s.Flags.Int("limit", 0, "emit only the first N rows (0: all)")
	dir := s.Flags.String("dir", "", "read the IDX files from `DIR` (default: $SIAMPIPE_DATA, the user cache, "+fmnist.DebianDir+")")
	download := s.Flags.Bool("download", false, "download the upstream files into the user cache (or --dir) first, checking their MD5 sums")
	mirror := s.Flags.String("mirror", envOr("SIAMPIPE_MIRROR", fmnist.UpstreamURL), "base `URL` for --download")
	return s.Run(args, stdin, stdout, stderr, func(ctx context.Context) error {
		if _, ok := fmnist.Files[*split]; !ok {
			return cli.Usagef("--split %q: use train or test", *split)
		}
		if err := cli.Int("limit", *limit, 0, maxLimit, "0 = all rows"); err != nil {
			return err
		}
		if *download {
			target := *dir
			if target == "" {
				d, err := fmnist.CacheDir()
				if err != nil {
					return err
				}
				target = d
			}
			var files []fmnist.File
			for _, sp := range []string{"train", "test"} {
				files = append(files, fmnist.Files[sp][0], fmnist.Files[sp][1])
			}
			if err := fmnist.Download(ctx, nil, *mirror, target, files, s.Logf); err != nil {
				return fmt.Errorf("%w (is the network reachable? otherwise: apt-get install dataset-fashion-mnist)", err)
			}
			*dir = target
		}
		imgPath, lblPath, err := fmnist.Locate(*dir, *split)
		if err != nil {
			return err
		}
		// Open the output first so that a terminal is refused before work,
		// but write nothing until the input has been validated whole.
		out, err := s.Output()
		if err != nil {
			return err
		}
		defer out.Abort()
		data, err := fmnist.Load(imgPath, lblPath)
		if err != nil {
			return fmt.Errorf("%w (re-download with 'fetch --download', or reinstall dataset-fashion-mnist)", err)
		}
		n := data.Count
		if *limit > 0 && *limit < n {
			n = *limit
		}
		meta := contract.Meta{
			contract.MetaSplit:   *split,
			contract.MetaSource:  imgPath,
			contract.MetaStage:   "fetch",
			contract.MetaVersion: cli.Version,
			contract.MetaRows:    strconv.Itoa(n),
		}
		w, err := contract.NewImagesWriter(out, data.Rows, data.Cols, meta, s.WriterOptions())
		if err != nil {
			return err
		}
		size := data.Rows * data.Cols
		for i := 0; i < n; i++ {
			if err := w.Append(int64(i), data.Labels[i], data.Pixels[i*size:(i+1)*size]); err != nil {
				return err
			}
		}
		if err := w.Close(); err != nil {
			return err
		}
		if err := out.Commit(); err != nil {
			return err
		}
		s.Logf("%d %s images of %dx%d from %s", n, *split, data.Rows, data.Cols, imgPath)
		return nil
	})
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

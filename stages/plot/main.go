// Command plot draws pictures of a coords stream (reduce's output): the three
// 2-D projections of the 3-D points coloured by class (--png) and an
// interactive, self-contained 3-D scatter (--html). With --metrics it draws
// train's loss and z_std curves instead (--png). Files appear atomically.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/siampipe/siampipe/internal/cli"
	"github.com/siampipe/siampipe/internal/contract"
	"github.com/siampipe/siampipe/internal/plot"
	"github.com/siampipe/siampipe/internal/trainlog"
)

func main() { os.Exit(stage(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

// Picture sizes --width and --height accept, in pixels (0: the default).
const (
	minSide = 200
	maxSide = 20000
)

// stage runs plot with args on the given streams and returns its exit status.
func stage(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	s := cli.New("plot", "pictures of 3-D coords (PNG projections, interactive HTML) or of train's metrics",
		"reduce < test-features.arrows | plot --png umap.png --html umap.html")
	s.Common = cli.InputFlag // it writes --png and --html, not a stream
	png := s.Flags.String("png", "", "write a PNG to `FILE`: the 2-D projections of the coords, or the curves of --metrics")
	page := s.Flags.String("html", "", "write the interactive 3-D scatter of the coords to `FILE`")
	metrics := s.Flags.String("metrics", "", "draw the loss and z_std curves of train's metrics `FILE` (JSON lines) to --png")
	title := s.Flags.String("title", "", "title of the picture (default: from the stream's metadata)")
	width := s.Flags.Int("width", 0, fmt.Sprintf("PNG width in pixels, %d..%d (0: 1800 for coords, 1400 for metrics, 2000 with a kNN curve)", minSide, maxSide))
	height := s.Flags.Int("height", 0, fmt.Sprintf("PNG height in pixels, %d..%d (0: 640 for coords, 520 for metrics)", minSide, maxSide))
	return s.Run(args, stdin, stdout, stderr, func(ctx context.Context) error {
		if err := cli.FirstError(checkSide("width", *width), checkSide("height", *height)); err != nil {
			return err
		}
		opt := plot.PNGOptions{Width: *width, Height: *height, Title: *title}
		if *metrics != "" {
			if *png == "" || *page != "" {
				return cli.Usagef("--metrics draws to --png only (run plot once more for --html of coords)")
			}
			f, err := cli.Open(*metrics)
			if err != nil {
				return cli.FileError("--metrics", *metrics, err)
			}
			defer f.Close()
			ms, err := trainlog.Read(f)
			if errors.Is(err, trainlog.ErrNotMetrics) || errors.Is(err, trainlog.ErrNoMetrics) {
				err = fmt.Errorf("%w (is this train's --metrics file?)", err)
			}
			if err != nil {
				return fmt.Errorf("--metrics %s: %w", *metrics, err)
			}
			return writeFiles(map[string]func(*cli.Output) error{*png: func(o *cli.Output) error { return plot.Curves(o, ms, opt) }})
		}
		if *png == "" && *page == "" {
			return cli.Usagef("nothing to draw: give --png FILE and/or --html FILE (or --metrics FILE --png FILE)")
		}
		if *png == *page {
			return cli.Usagef("--png and --html are both %s: give each picture its own file", *png)
		}
		in, err := s.Input()
		if err != nil {
			return err
		}
		defer in.Close()
		p, meta, err := readCoords(in)
		if err != nil {
			return err
		}
		if p.Dim != 2 && p.Dim != 3 {
			return fmt.Errorf("the coords are %d-d; plot draws 2-d or 3-d coords (run reduce with --n-components 3)", p.Dim)
		}
		if opt.Title == "" {
			opt.Title = defaultTitle(meta, p.N)
		}
		files := map[string]func(*cli.Output) error{}
		if *png != "" {
			files[*png] = func(o *cli.Output) error { return plot.Projections(o, p, opt) }
		}
		if *page != "" {
			files[*page] = func(o *cli.Output) error { return plot.HTML(o, p, plot.HTMLOptions{Title: opt.Title}) }
		}
		if err := writeFiles(files); err != nil {
			if _, ok := errors.AsType[*plot.DimError](err); ok {
				err = fmt.Errorf("%w (run reduce with --n-components 3)", err)
			}
			return err
		}
		s.Logf("drew %d points of %d classes", p.N, classes(p.Label))
		return nil
	})
}

// checkSide accepts 0 (the default size) or minSide..maxSide pixels.
func checkSide(name string, v int) error {
	if v == 0 {
		return nil
	}
	return cli.Int(name, v, minSide, maxSide, "0: the default")
}

// readCoords loads a whole coords stream.
func readCoords(in io.Reader) (plot.Points, contract.Meta, error) {
	r, err := contract.NewReader(in, contract.KindCoords)
	if err != nil {
		return plot.Points{}, nil, fmt.Errorf("read coords: %w", err)
	}
	defer r.Release()
	p := plot.Points{Dim: r.Dim()}
	for r.Next() {
		b := r.Coords()
		p.Index = append(p.Index, b.Index...)
		p.Label = append(p.Label, b.Label...)
		p.Coords = append(p.Coords, b.Values...)
		p.N += b.N
	}
	if err := r.Err(); err != nil {
		return plot.Points{}, nil, fmt.Errorf("read coords: %w", err)
	}
	p.Classes = r.Classes()
	if !r.Labelled() {
		clear(p.Label) // one colour
		p.Classes = []string{"unlabelled"}
	}
	return p, r.Meta(), nil
}

// writeFiles writes every file to a temporary sibling first and renames them
// into place only when all were written.
func writeFiles(files map[string]func(*cli.Output) error) error {
	var outs []*cli.Output
	defer func() {
		for _, o := range outs {
			o.Abort()
		}
	}()
	for path, draw := range files {
		o, err := cli.CreateAtomic(path)
		if err != nil {
			return err
		}
		outs = append(outs, o)
		if err := draw(o); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	for _, o := range outs {
		if err := o.Commit(); err != nil {
			return err
		}
	}
	return nil
}

func defaultTitle(meta contract.Meta, n int) string {
	parts := []string{fmt.Sprintf("%d points", n)}
	if v := meta[contract.MetaSplit]; v != "" {
		parts = append(parts, v+" split")
	}
	if v := meta[contract.MetaLayer]; v != "" {
		parts = append(parts, v+" features")
	}
	if v := meta[contract.MetaModel]; v != "" {
		if len(v) > 19 {
			v = v[:19] + "…"
		}
		parts = append(parts, "model "+v)
	}
	return "siampipe embedding: " + strings.Join(parts, ", ")
}

func classes(labels []uint8) int {
	seen := map[uint8]bool{}
	for _, l := range labels {
		seen[l] = true
	}
	return len(seen)
}

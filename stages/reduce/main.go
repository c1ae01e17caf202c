// Command reduce embeds a features stream (or an images stream, pixels as
// features) with UMAP and writes a coords stream.
package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"sync"

	"github.com/siampipe/siampipe/internal/cli"
	"github.com/siampipe/siampipe/internal/contract"
	"github.com/siampipe/siampipe/internal/neighbors"
	"github.com/siampipe/siampipe/internal/umap"
)

func main() { os.Exit(stage(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

// Upper bounds of the flags: umap-learn's limits where it has them, else far
// beyond any useful setting and low enough that a typo cannot run for days.
const (
	maxComponents = 16 // umap.Fit's limit
	maxNeighbors  = 1000
	maxEpochs     = 100000
	maxNegRate    = 100
	minSpread     = 1e-3 // below it the curve fit degenerates
	maxSpread     = 100
	maxLR         = 1000
)

// stage runs reduce with args on the given streams and returns its exit status.
func stage(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	s := cli.New("reduce", "UMAP of a features (or images) stream to a coords stream",
		"fetch --split test | embed --model model.arrows | reduce -o coords.arrows")
	nc := s.Flags.Int("n-components", 3, fmt.Sprintf("output dimensions, 1..%d", maxComponents))
	nn := s.Flags.Int("n-neighbors", 10, fmt.Sprintf("neighbours per point, the point itself included (umap-learn's n_neighbors), 2..%d", maxNeighbors))
	metric := s.Flags.String("metric", "cosine", "input distance: cosine or euclidean")
	minDist := s.Flags.Float64("min-dist", 0.1, "minimum distance between embedded points, in [0, spread]")
	spread := s.Flags.Float64("spread", 1.0, fmt.Sprintf("scale of embedded points, in [%g, %d]", minSpread, maxSpread))
	epochs := s.Flags.Int("epochs", 0, fmt.Sprintf("SGD epochs, 0..%d; 0 = umap-learn's rule (500 up to 10,000 points, else 200)", maxEpochs))
	neg := s.Flags.Int("negative-sample-rate", 5, fmt.Sprintf("negative samples per positive sample, 1..%d", maxNegRate))
	lr := s.Flags.Float64("learning-rate", 1.0, fmt.Sprintf("initial SGD learning rate, in (0, %d]", maxLR))
	init := s.Flags.String("init", "spectral", "initialisation: spectral, pca or random")
	seed := s.Flags.Uint64("seed", 0, "random seed (same seed and input: same bytes out, on any number of cores)")
	return s.Run(args, stdin, stdout, stderr, func(ctx context.Context) error {
		m, err := neighbors.ParseMetric(*metric)
		if err != nil {
			return cli.Usagef("--metric: %v", err)
		}
		switch umap.Init(*init) {
		case umap.InitSpectral, umap.InitPCA, umap.InitRandom:
		default:
			return cli.Usagef("--init %q: want spectral, pca or random", *init)
		}
		if err := cli.FirstError(
			cli.Int("n-components", *nc, 1, maxComponents),
			cli.Int("n-neighbors", *nn, 2, maxNeighbors),
			cli.Float("spread", *spread, cli.Closed(minSpread, maxSpread)),
			cli.Float("min-dist", *minDist, cli.Closed(0, *spread), "at most --spread, as umap-learn requires"),
			cli.Int("epochs", *epochs, 0, maxEpochs, "0 = umap-learn's rule"),
			cli.Int("negative-sample-rate", *neg, 1, maxNegRate),
			cli.Float("learning-rate", *lr, cli.Positive(maxLR)),
		); err != nil {
			return err
		}
		if _, _, err := umap.FindAB(*spread, *minDist); err != nil {
			return cli.Usagef("--min-dist %v --spread %v: the curve 1/(1+a*d^(2b)) cannot be fitted to them; try a --spread near 1 and a --min-dist well below it (umap-learn's defaults: 1 and 0.1)", *minDist, *spread)
		}
		in, err := s.Input()
		if err != nil {
			return err
		}
		defer in.Close()
		x, err := contract.ReadMatrix(bufio.NewReaderSize(in, 1<<20))
		if err != nil {
			return fmt.Errorf("read input: %w", err)
		}
		s.Logf("%d points x %d (%s stream)", x.Rows, x.Dim, x.Kind)
		md := *minDist
		if md == 0 {
			md = -1 // umap.Config: negative means exactly 0
		}
		ph := &phases{s: s}
		res, err := umap.Fit(x.Data, x.Rows, x.Dim, umap.Config{
			Components: *nc, Neighbors: *nn, Metric: m, MinDist: md, Spread: *spread,
			Epochs: *epochs, NegativeSampleRate: *neg, LearningRate: *lr,
			Init: umap.Init(*init), Seed: *seed, Progress: ph.report, Warnf: s.Logf,
		})
		ph.done()
		if err != nil {
			return err
		}
		if i := firstNonFinite(res.Embedding); i >= 0 {
			return fmt.Errorf("the layout diverged: point %d has a non-finite coordinate (lower --learning-rate)", i / *nc)
		}
		s.Logf("graph: %d edges, %d connected components; init %s (eigensolver: %d products, residual %.1g); a=%.4f b=%.4f",
			res.Edges, res.Components, res.InitUsed, res.Spectral.Matvecs, res.Spectral.Residual, res.A, res.B)

		out, err := s.Output()
		if err != nil {
			return err
		}
		defer out.Abort()
		meta := contract.Meta{contract.MetaStage: "reduce", contract.MetaVersion: cli.VersionString(),
			contract.MetaSeed: strconv.FormatUint(*seed, 10)}.Inherit(contract.KindCoords, x.Meta)
		for _, st := range res.Settings {
			meta[contract.MetaUMAPPrefix+st.Name] = st.Value
		}
		w, err := contract.NewCoordsWriter(out, *nc, meta, s.WriterOptions())
		if err != nil {
			return err
		}
		for i := 0; i < x.Rows; i++ {
			if err := w.Append(x.Index[i], x.Label[i], res.Embedding[i**nc:(i+1)**nc]); err != nil {
				return fmt.Errorf("write coords: %w", err)
			}
		}
		if err := w.Close(); err != nil {
			return fmt.Errorf("write coords: %w", err)
		}
		return out.Commit()
	})
}

// firstNonFinite returns the index of the first NaN or infinite value, or -1.
func firstNonFinite(v []float32) int {
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return i
		}
	}
	return -1
}

// phases turns umap's (phase, done, total) callbacks into one cli.Progress
// per phase. umap calls it from its worker goroutines (the exact kNN reports
// each finished block), so it holds a lock.
type phases struct {
	s    *cli.Stage
	mu   sync.Mutex
	name string
	last int
	p    *cli.Progress
}

func (ph *phases) report(name string, done, total int) {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	if name != ph.name {
		ph.finish()
		ph.name, ph.last = name, 0
		ph.p = ph.s.Progress(name, int64(total), "steps")
	}
	ph.p.Add(int64(done - ph.last))
	ph.last = done
}

func (ph *phases) done() {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	ph.finish()
}

// finish ends the current phase's progress; ph.mu is held.
func (ph *phases) finish() {
	if ph.p != nil {
		ph.p.Done()
		ph.p = nil
	}
}

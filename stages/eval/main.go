// Command eval measures how good features are for classification: the
// weighted kNN monitor (cosine, top k, weights exp(sim/t)) and linear probes
// trained on fractions of the train labels, on the test set. It writes a
// JSON report to stdout (or -o) and a table to stderr, and exits with status
// 3 when the kNN accuracy is below --min-knn.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/siampipe/siampipe/internal/cli"
	"github.com/siampipe/siampipe/internal/contract"
	"github.com/siampipe/siampipe/internal/knn"
	"github.com/siampipe/siampipe/internal/probe"
	"github.com/siampipe/siampipe/internal/report"
)

// exitBelowMin is the exit status when kNN top-1 is below --min-knn.
const exitBelowMin = 3

func main() { os.Exit(stage(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

// Upper bounds of the flags: far beyond any useful setting.
const (
	maxK       = 100000
	minT       = 1e-6 // a tinier t is the 1-NN rule already, and 1/t overflows
	maxT       = 1000
	minProbeC  = 1e-6 // below it the penalty swamps the loss and L-BFGS fails
	maxProbeC  = 1e6
	maxProbeIt = 100000
)

// stage runs eval with args on the given streams and returns its exit status.
func stage(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	s := cli.New("eval", "kNN and linear-probe accuracy of features on the test set (exit status 3: kNN below --min-knn)",
		"eval --train train-features.arrows --test test-features.arrows -o report.json")
	s.Common = cli.OutputFlag // it reads --train and --test; the report is JSON
	trainPath := s.Flags.String("train", "", "train `FILE`: a features stream (or an images stream: pixels as features), labelled; - for stdin")
	testPath := s.Flags.String("test", "", "test `FILE`: a stream of the same kind and width as --train")
	k := s.Flags.Int("k", knn.DefaultK, fmt.Sprintf("neighbours that vote in the kNN, 1..%d (more than the train rows: all of them)", maxK))
	t := s.Flags.Float64("t", knn.DefaultT, fmt.Sprintf("temperature of the kNN vote weights exp(sim/t), in [%g, %d]", minT, maxT))
	fractions := s.Flags.String("label-fraction", "0.01,0.1,1.0", "comma-separated `fractions` of the train labels for the linear probes, each in (0, 1] (\"\" for none)")
	seed := s.Flags.Uint64("seed", 0, "seed of the stratified label subsets")
	minKNN := s.Flags.Float64("min-knn", 0, "a kNN top-1 accuracy in [0, 1]: exit with status 3 when the kNN is below it (the report is still written; 0: no gate)")
	probeC := s.Flags.Float64("probe-c", probe.DefaultC, fmt.Sprintf("inverse L2 strength of the probe, as scikit-learn's C, in [%g, %g]", minProbeC, maxProbeC))
	probeIter := s.Flags.Int("probe-max-iter", probe.DefaultMaxIter, fmt.Sprintf("L-BFGS iterations of the probe at most, 1..%d", maxProbeIt))
	return s.Run(args, stdin, stdout, stderr, func(ctx context.Context) error {
		if *trainPath == "" || *testPath == "" {
			return cli.Usagef("--train and --test are required (feature streams written by embed, or images streams from fetch)")
		}
		if *trainPath == "-" && *testPath == "-" {
			return cli.Usagef("--train and --test cannot both be - (stdin)")
		}
		if err := cli.FirstError(
			cli.Int("k", *k, 1, maxK),
			cli.Float("t", *t, cli.Closed(minT, maxT)),
			cli.Float("min-knn", *minKNN, cli.Closed(0, 1), "a kNN top-1 accuracy; 0: no gate"),
			cli.Float("probe-c", *probeC, cli.Closed(minProbeC, maxProbeC)),
			cli.Int("probe-max-iter", *probeIter, 1, maxProbeIt),
		); err != nil {
			return err
		}
		fr, err := parseFractions(*fractions)
		if err != nil {
			return err
		}
		var stdin io.Reader
		if *trainPath == "-" || *testPath == "-" {
			in, err := s.Input() // refuses a terminal
			if err != nil {
				return err
			}
			defer in.Close()
			stdin = in
		}
		start := time.Now()
		train, err := load("train", *trainPath, stdin)
		if err != nil {
			return err
		}
		test, err := load("test", *testPath, stdin)
		if err != nil {
			return err
		}
		if err := sameKind(train, test); err != nil {
			return err
		}
		if train.Meta[contract.MetaSplit] == "test" || test.Meta[contract.MetaSplit] == "train" {
			s.Logf("warning: --train is the %q split and --test the %q split; swapped?", train.Meta[contract.MetaSplit], test.Meta[contract.MetaSplit])
		}
		readS := time.Since(start).Seconds()
		s.Logf("read %d train and %d test rows of %d values (%.1fs)", train.Rows, test.Rows, train.Dim, readS)
		p := s.Progress("kNN", int64(test.Rows), "rows")
		done := 0
		cfg := report.Config{
			KNN:       knn.Config{K: *k, T: *t, Progress: func(n int) { p.Add(int64(n - done)); done = n }},
			Probe:     probe.Config{C: *probeC, MaxIter: *probeIter},
			Fractions: fr,
			Seed:      *seed,
			Logf:      s.Logf,
		}
		if s.Quiet() {
			cfg.Logf = nil
		}
		r, err := report.Evaluate(ctx, train, test, cfg)
		if err != nil {
			return err
		}
		r.Timings.ReadS = readS
		r.Timings.TotalS = time.Since(start).Seconds()
		if !s.Quiet() {
			r.WriteTable(s.Stderr())
		}
		if err := write(s, r); err != nil {
			return err
		}
		if r.KNN.Top1 < *minKNN {
			return &cli.ExitError{Code: exitBelowMin, Err: fmt.Errorf("kNN top-1 %.4f is below --min-knn %.4f", r.KNN.Top1, *minKNN)}
		}
		return nil
	})
}

// sameKind refuses a train and a test stream of different kinds (images
// and features) or from different checkpoints, naming what each is.
func sameKind(train, test report.Data) error {
	if train.Kind != test.Kind {
		return fmt.Errorf("--train is %s stream (%d values per row) but --test %s stream (%d values per row): give two streams of one kind, features of both splits from embed with one checkpoint or images of both from fetch",
			withArticle(train.Kind), train.Dim, withArticle(test.Kind), test.Dim)
	}
	if train.Model != test.Model {
		return fmt.Errorf("--train features come from model %q but --test from %q; embed both splits with one checkpoint", train.Model, test.Model)
	}
	return nil
}

func withArticle(kind string) string {
	if kind != "" && strings.ContainsRune("aeiou", rune(kind[0])) {
		return "an " + kind
	}
	return "a " + kind
}

// parseFractions parses the --label-fraction list.
func parseFractions(s string) ([]float64, error) {
	out := []float64{}
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		v, err := strconv.ParseFloat(f, 64)
		if err != nil || !(v > 0 && v <= 1) {
			return nil, cli.Usagef("--label-fraction: %q is not a fraction in (0, 1]", f)
		}
		out = append(out, v)
	}
	return out, nil
}

// load reads a whole features or images stream from path ("-": stdin).
func load(which, path string, stdin io.Reader) (report.Data, error) {
	var r io.Reader
	if path == "-" {
		r = stdin
	} else {
		f, err := cli.Open(path)
		if err != nil {
			return report.Data{}, cli.FileError("--"+which, path, err)
		}
		defer f.Close()
		r = f
	}
	m, err := contract.ReadMatrix(r)
	if err != nil {
		return report.Data{}, fmt.Errorf("--%s %s: %w", which, path, err)
	}
	if m.Rows == 0 {
		return report.Data{}, fmt.Errorf("--%s %s: the stream has no rows", which, path)
	}
	if !m.Labelled {
		return report.Data{}, fmt.Errorf("--%s %s: the %s are unlabelled; eval scores labels (fetch labelled data: an ImageFolder tree of class folders, --idx-labels, or --label-column)", which, path, m.Kind)
	}
	classes, err := m.Meta.Classes()
	if err != nil {
		return report.Data{}, fmt.Errorf("--%s %s: %w", which, path, err)
	}
	return report.Data{Rows: m.Rows, Dim: m.Dim, X: m.Data, Labels: m.Label, Classes: classes, Kind: m.Kind, Model: m.Meta[contract.MetaModel], Meta: m.Meta}, nil
}

// write writes the JSON report to -o (cli.CreateAtomic) or stdout.
func write(s *cli.Stage, r *report.Report) error {
	if s.OutputPath() == "" || s.OutputPath() == "-" {
		return r.WriteJSON(s.Stdout())
	}
	out, err := cli.CreateAtomic(s.OutputPath())
	if err != nil {
		return err
	}
	defer out.Abort()
	if err := r.WriteJSON(out); err != nil {
		return err
	}
	return out.Commit()
}

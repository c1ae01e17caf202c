package report

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/siampipe/siampipe/internal/knn"
	"github.com/siampipe/siampipe/internal/probe"
)

// DefaultFractions are the label fractions of the linear probe when
// Config.Fractions is nil.
var DefaultFractions = []float64{0.01, 0.1, 1.0}

// Data is one labelled feature matrix: Rows x Dim values, row-major.
type Data struct {
	Rows, Dim int
	X         []float32
	Labels    []uint8
	// Classes names the labels (the stream's siampipe.classes); nil means
	// FashionMNIST's names.
	Classes []string
	// Kind, Model and Meta describe where the matrix came from; they go into
	// the report as they are.
	Kind  string
	Model string
	Meta  map[string]string
}

// ErrClasses is returned (wrapped) by Evaluate when the streams' class
// names disagree with each other or with the labels.
var ErrClasses = errors.New("class names do not fit")

// sameNames reports whether a and b name the same classes.
func sameNames(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Config sets Evaluate. Its zero value means the documented defaults.
type Config struct {
	KNN   knn.Config   // k 200, t 0.1
	Probe probe.Config // C 1, 500 iterations
	// Fractions of the train labels the probe is trained on, in the order
	// reported; nil means DefaultFractions. An empty, non-nil slice skips
	// the probe.
	Fractions []float64
	// Seed chooses the stratified subsets of the train labels.
	Seed uint64
	// Logf, if set, receives progress lines.
	Logf func(format string, args ...any)
}

// Evaluate runs the weighted kNN classifier and the linear probes of train on
// test and returns the report. Timings.ReadS is left for the caller.
func Evaluate(ctx context.Context, train, test Data, cfg Config) (*Report, error) {
	start := time.Now()
	logf := cfg.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	fractions := cfg.Fractions
	if fractions == nil {
		fractions = DefaultFractions
	}
	for _, f := range fractions {
		if !(f > 0 && f <= 1) {
			return nil, fmt.Errorf("label fraction %v is not in (0, 1]", f)
		}
	}
	if train.Dim != test.Dim {
		return nil, fmt.Errorf("train features are %d-d but test features %d-d (were both embedded with one model and layer?)", train.Dim, test.Dim)
	}
	if !sameNames(train.Classes, test.Classes) {
		return nil, fmt.Errorf("%w: train names classes %q, test %q (were both fetched from one data set?)", ErrClasses, train.Classes, test.Classes)
	}
	names := train.Classes
	classes := len(names)
	for _, d := range []Data{train, test} {
		for _, l := range d.Labels {
			if names != nil && int(l) >= len(names) {
				return nil, fmt.Errorf("%w: label %d, but the stream names %d classes", ErrClasses, l, len(names))
			}
			classes = max(classes, int(l)+1)
		}
	}
	kcfg := cfg.KNN
	kcfg.Classes = classes
	model, err := knn.Fit(train.X, train.Rows, train.Dim, train.Labels, kcfg)
	if err != nil {
		return nil, fmt.Errorf("kNN: %w", err)
	}
	pred, err := model.Predict(ctx, test.X, test.Rows)
	if err != nil {
		return nil, fmt.Errorf("kNN: %w", err)
	}
	model = nil
	k, t := kcfg.K, kcfg.T
	if k == 0 {
		k = knn.DefaultK
	}
	if t == 0 {
		t = knn.DefaultT
	}
	r := &Report{
		KNN:       KNN{K: k, T: t, Top1: Accuracy(test.Labels, pred.Class)},
		Linear:    []Linear{},
		Confusion: Confusion(test.Labels, pred.Class, classes),
		Counts:    Counts{Train: train.Rows, Test: test.Rows, Dim: train.Dim, Classes: classes},
		Inputs: Inputs{
			Train: Input{Kind: train.Kind, Model: train.Model, Meta: train.Meta},
			Test:  Input{Kind: test.Kind, Model: test.Model, Meta: test.Meta},
		},
		Timings: Timings{KNNS: time.Since(start).Seconds(), LinearS: []float64{}},
	}
	logf("kNN (k=%d, t=%g): top-1 %.4f (%.1fs)", k, t, r.KNN.Top1, r.Timings.KNNS)

	pcfg := cfg.Probe
	pcfg.Classes = classes
	var lastProbe []uint8
	for _, f := range fractions {
		t0 := time.Now()
		rows, err := probe.Subset(train.Labels, f, cfg.Seed)
		if err != nil {
			return nil, err
		}
		m, err := probe.Train(ctx, train.X, train.Dim, train.Labels, rows, pcfg)
		if err != nil {
			return nil, fmt.Errorf("linear probe on %g of the labels: %w", f, err)
		}
		lastProbe = m.Predict(test.X)
		n := len(rows)
		l := Linear{LabelFraction: f, Top1: Accuracy(test.Labels, lastProbe), NTrain: n, Iterations: m.Iterations, Converged: m.Converged}
		r.Linear = append(r.Linear, l)
		r.Timings.LinearS = append(r.Timings.LinearS, time.Since(t0).Seconds())
		logf("linear probe on %g%% of the labels (%d rows): top-1 %.4f, %d iterations (%.1fs)", 100*f, n, l.Top1, l.Iterations, time.Since(t0).Seconds())
	}

	knnAcc, count := PerClass(r.Confusion)
	var linAcc []float64
	if lastProbe != nil {
		linAcc, _ = PerClass(Confusion(test.Labels, lastProbe, classes))
	}
	for c := range knnAcc {
		pc := Class{Class: ClassName(names, c), Label: c, NTest: count[c], KNN: knnAcc[c]}
		if linAcc != nil {
			pc.Linear = &linAcc[c]
		}
		r.PerClass = append(r.PerClass, pc)
	}
	pc := cfg.Probe
	if pc.C == 0 {
		pc.C = probe.DefaultC
	}
	if pc.MaxIter == 0 {
		pc.MaxIter = probe.DefaultMaxIter
	}
	if pc.Tol == 0 {
		pc.Tol = probe.DefaultTol
	}
	r.Settings = Settings{K: k, T: t, LabelFractions: fractions, Seed: cfg.Seed, ProbeC: pc.C, ProbeMaxIter: pc.MaxIter, ProbeTol: pc.Tol}
	r.Timings.TotalS = time.Since(start).Seconds()
	return r, nil
}

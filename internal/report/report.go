// Package report holds eval's report: accuracy, per-class accuracy and the
// confusion matrix of predicted labels, the FashionMNIST class names, the
// JSON document eval writes and its table form for people.
package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/siampipe/siampipe/internal/fmnist"
)

// ClassName returns the name of label c: names[c] (the stream's
// siampipe.classes), FashionMNIST's name when names is nil, or "class c"
// beyond them.
func ClassName(names []string, c int) string {
	if names == nil {
		names = fmnist.Classes[:]
	}
	if c >= 0 && c < len(names) {
		return names[c]
	}
	return fmt.Sprintf("class %d", c)
}

// Accuracy is the fraction of pred equal to truth (0 for no rows). It panics
// if the lengths differ.
func Accuracy(truth, pred []uint8) float64 {
	if len(truth) != len(pred) {
		panic(fmt.Sprintf("report: Accuracy: %d labels, %d predictions", len(truth), len(pred)))
	}
	if len(truth) == 0 {
		return 0
	}
	right := 0
	for i := range truth {
		if truth[i] == pred[i] {
			right++
		}
	}
	return float64(right) / float64(len(truth))
}

// Confusion returns the classes x classes matrix whose entry [t][p] counts
// rows of true class t predicted as p. It panics if the lengths differ or a
// label is not below classes.
func Confusion(truth, pred []uint8, classes int) [][]int {
	if len(truth) != len(pred) {
		panic(fmt.Sprintf("report: Confusion: %d labels, %d predictions", len(truth), len(pred)))
	}
	m := make([][]int, classes)
	for i := range m {
		m[i] = make([]int, classes)
	}
	for i := range truth {
		m[truth[i]][pred[i]]++
	}
	return m
}

// PerClass returns, for each class, the fraction of its rows predicted right
// (the diagonal of the confusion matrix over its row sums; 0 for an empty
// class) and its row count.
func PerClass(confusion [][]int) (acc []float64, count []int) {
	acc = make([]float64, len(confusion))
	count = make([]int, len(confusion))
	for t, row := range confusion {
		for _, v := range row {
			count[t] += v
		}
		if count[t] > 0 {
			acc[t] = float64(row[t]) / float64(count[t])
		}
	}
	return acc, count
}

// Report is eval's JSON document.
type Report struct {
	KNN    KNN      `json:"knn"`
	Linear []Linear `json:"linear"`
	// PerClass is the accuracy of each class; Confusion counts test rows by
	// [true class][kNN prediction].
	PerClass  []Class  `json:"per_class"`
	Confusion [][]int  `json:"confusion"`
	Counts    Counts   `json:"counts"`
	Settings  Settings `json:"settings"`
	Inputs    Inputs   `json:"inputs"`
	// Timings is the only part that changes from run to run.
	Timings Timings `json:"timings"`
}

// KNN is the weighted kNN result.
type KNN struct {
	K    int     `json:"k"`
	T    float64 `json:"t"`
	Top1 float64 `json:"top1"`
}

// Linear is the linear probe trained on one fraction of the train labels.
type Linear struct {
	LabelFraction float64 `json:"label_fraction"`
	Top1          float64 `json:"top1"`
	NTrain        int     `json:"n_train"`
	Iterations    int     `json:"iterations"`
	Converged     bool    `json:"converged"`
}

// Class is one class's accuracy on the test set.
type Class struct {
	Class string  `json:"class"`
	Label int     `json:"label"`
	NTest int     `json:"n_test"`
	KNN   float64 `json:"knn_top1"`
	// Linear is the accuracy of the probe with the largest label fraction.
	Linear *float64 `json:"linear_top1,omitempty"`
}

// Counts are the sizes of the inputs.
type Counts struct {
	Train   int `json:"train"`
	Test    int `json:"test"`
	Dim     int `json:"dim"`
	Classes int `json:"classes"`
}

// Settings are the parameters eval ran with.
type Settings struct {
	K              int       `json:"k"`
	T              float64   `json:"t"`
	LabelFractions []float64 `json:"label_fractions"`
	Seed           uint64    `json:"seed"`
	ProbeC         float64   `json:"probe_c"`
	ProbeMaxIter   int       `json:"probe_max_iter"`
	ProbeTol       float64   `json:"probe_tol"`
}

// Inputs describe the two streams.
type Inputs struct {
	Train Input `json:"train"`
	Test  Input `json:"test"`
}

// Input describes one stream: its kind, the digest of the model its features
// come from (empty for images) and all of its siampipe metadata.
type Input struct {
	Kind  string            `json:"kind"`
	Model string            `json:"model,omitempty"`
	Meta  map[string]string `json:"meta"`
}

// Timings are wall times in seconds.
type Timings struct {
	ReadS   float64   `json:"read_s"`
	KNNS    float64   `json:"knn_s"`
	LinearS []float64 `json:"linear_s"`
	TotalS  float64   `json:"total_s"`
}

// WriteTable writes r for people: the headline numbers, the per-class
// accuracies and the confusion matrix.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "kNN (k=%d, t=%g)\ttop-1\t%.4f\t\n", r.KNN.K, r.KNN.T, r.KNN.Top1)
	for _, l := range r.Linear {
		conv := ""
		if !l.Converged {
			conv = " (iteration limit)"
		}
		fmt.Fprintf(tw, "linear probe, %g%% of labels (%d)\ttop-1\t%.4f\t  %d iterations%s\n",
			100*l.LabelFraction, l.NTrain, l.Top1, l.Iterations, conv)
	}
	fmt.Fprintln(tw)
	head := "class\ttest rows\tkNN\t"
	if len(r.Linear) > 0 {
		head += fmt.Sprintf("linear %g%%\t", 100*r.Linear[len(r.Linear)-1].LabelFraction)
	}
	fmt.Fprintln(tw, head)
	for _, c := range r.PerClass {
		line := fmt.Sprintf("%s\t%d\t%.4f\t", c.Class, c.NTest, c.KNN)
		if c.Linear != nil {
			line += fmt.Sprintf("%.4f\t", *c.Linear)
		}
		fmt.Fprintln(tw, line)
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "kNN confusion (rows: true class, columns: predicted)")
	var b strings.Builder
	b.WriteString("\t")
	for p := range r.Confusion {
		b.WriteString(short(r.PerClass[p].Class) + "\t")
	}
	fmt.Fprintln(tw, b.String())
	for t, row := range r.Confusion {
		b.Reset()
		b.WriteString(r.PerClass[t].Class + "\t")
		for _, v := range row {
			fmt.Fprintf(&b, "%d\t", v)
		}
		fmt.Fprintln(tw, b.String())
	}
	return tw.Flush()
}

// short abbreviates a class name for a column header.
func short(name string) string {
	if i := strings.IndexAny(name, "/ "); i > 0 {
		name = name[:i]
	}
	if len(name) > 7 {
		name = name[:7]
	}
	return name
}

// WriteJSON writes r as JSON with one top-level key per line, each value on
// its line in compact form: readable, and easy to grep or diff.
func (r *Report) WriteJSON(w io.Writer) error {
	fields := []struct {
		key string
		val any
	}{
		{"knn", r.KNN}, {"linear", r.Linear}, {"per_class", r.PerClass}, {"confusion", r.Confusion},
		{"counts", r.Counts}, {"settings", r.Settings}, {"inputs", r.Inputs}, {"timings", r.Timings},
	}
	var b bytes.Buffer
	b.WriteString("{\n")
	for i, f := range fields {
		v, err := json.Marshal(f.val)
		if err != nil {
			return fmt.Errorf("report: %s: %w", f.key, err)
		}
		fmt.Fprintf(&b, " %q: %s", f.key, v)
		if i < len(fields)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("}\n")
	_, err := w.Write(b.Bytes())
	return err
}

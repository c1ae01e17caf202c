package report

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/siampipe/siampipe/internal/knn"
	"github.com/siampipe/siampipe/internal/probe"
)

// golden is testdata/golden.json, written by testdata/golden.py.
type golden struct {
	NTrain int `json:"n_train"`
	NTest  int `json:"n_test"`
	Dim    int `json:"dim"`
	KNN    []struct {
		K    int     `json:"k"`
		T    float64 `json:"t"`
		Top1 float64 `json:"top1"`
	} `json:"knn"`
	Probe []struct {
		C    float64 `json:"c"`
		Top1 float64 `json:"top1"`
	} `json:"probe"`
}

// loadSmall reads testdata/small.bin: rows of a label byte and dim pixel
// bytes, the train rows first; features are pixels / 255 as in
// contract.ReadMatrix.
func loadSmall(t *testing.T) (golden, Data, Data) {
	t.Helper()
	var g golden
	b, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("testdata/small.bin")
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) != (g.NTrain+g.NTest)*(g.Dim+1) {
		t.Fatalf("small.bin has %d bytes, want %d", len(raw), (g.NTrain+g.NTest)*(g.Dim+1))
	}
	split := func(from, rows int) Data {
		d := Data{Rows: rows, Dim: g.Dim, X: make([]float32, rows*g.Dim), Labels: make([]uint8, rows)}
		for i := 0; i < rows; i++ {
			row := raw[(from+i)*(g.Dim+1) : (from+i+1)*(g.Dim+1)]
			d.Labels[i] = row[0]
			for j, v := range row[1:] {
				d.X[i*g.Dim+j] = float32(v) / 255
			}
		}
		return d
	}
	return g, split(0, g.NTrain), split(g.NTrain, g.NTest)
}

const sklearnTolerance = 0.005

func TestEvaluateMatchesScikitLearn(t *testing.T) {
	g, train, test := loadSmall(t)
	// golden.json holds scikit-learn's converged solution: let the probe converge too.
	r, err := Evaluate(context.Background(), train, test, Config{Fractions: []float64{1}, Probe: probe.Config{MaxIter: 5000}})
	if err != nil {
		t.Fatal(err)
	}
	if d := math.Abs(r.KNN.Top1 - g.KNN[0].Top1); g.KNN[0].K != 200 || d > sklearnTolerance {
		t.Errorf("kNN-200 top-1 %.4f, numpy reference %.4f", r.KNN.Top1, g.KNN[0].Top1)
	}
	if d := math.Abs(r.Linear[0].Top1 - g.Probe[0].Top1); g.Probe[0].C != 1 || d > sklearnTolerance {
		t.Errorf("probe (C=1) top-1 %.4f, scikit-learn %.4f", r.Linear[0].Top1, g.Probe[0].Top1)
	}
	if !r.Linear[0].Converged {
		t.Errorf("probe did not converge in %d iterations", r.Linear[0].Iterations)
	}
	total := 0
	for _, row := range r.Confusion {
		for _, v := range row {
			total += v
		}
	}
	if total != g.NTest || r.Counts.Test != g.NTest || r.Counts.Train != g.NTrain {
		t.Errorf("confusion counts %d rows, counts %+v; want %d test rows", total, r.Counts, g.NTest)
	}
}

func TestKNNSettingsMatchNumpyReference(t *testing.T) {
	g, train, test := loadSmall(t)
	for _, ref := range g.KNN {
		m, err := knn.Fit(train.X, train.Rows, train.Dim, train.Labels, knn.Config{K: ref.K, T: ref.T})
		if err != nil {
			t.Fatal(err)
		}
		p, err := m.Predict(context.Background(), test.X, test.Rows)
		if err != nil {
			t.Fatal(err)
		}
		got := Accuracy(test.Labels, p.Class)
		t.Logf("k=%d t=%g: top-1 %.4f, numpy reference %.4f", ref.K, ref.T, got, ref.Top1)
		if math.Abs(got-ref.Top1) > sklearnTolerance {
			t.Errorf("k=%d t=%g: top-1 %.4f, numpy reference %.4f", ref.K, ref.T, got, ref.Top1)
		}
	}
}

func TestProbeMatchesScikitLearnLogisticRegression(t *testing.T) {
	g, train, test := loadSmall(t)
	for _, ref := range g.Probe {
		m, err := probe.Train(context.Background(), train.X, train.Dim, train.Labels, nil, probe.Config{C: ref.C, Tol: 1e-7, MaxIter: 5000})
		if err != nil {
			t.Fatal(err)
		}
		got := Accuracy(test.Labels, m.Predict(test.X))
		t.Logf("C=%g: top-1 %.4f after %d iterations, scikit-learn %.4f", ref.C, got, m.Iterations, ref.Top1)
		if math.Abs(got-ref.Top1) > sklearnTolerance {
			t.Errorf("C=%g: top-1 %.4f, scikit-learn %.4f", ref.C, got, ref.Top1)
		}
	}
}

func TestEvaluateReportsEveryFractionAndRejectsBadOnes(t *testing.T) {
	_, train, test := loadSmall(t)
	r, err := Evaluate(context.Background(), train, test, Config{Fractions: []float64{0.05, 0.5}, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Linear) != 2 || r.Linear[0].NTrain >= r.Linear[1].NTrain || r.Linear[0].NTrain < 40 || r.Linear[0].NTrain > 60 {
		t.Errorf("linear entries %+v: want 2, about 50 and 500 rows", r.Linear)
	}
	if len(r.PerClass) != 10 || r.PerClass[9].Class != "Ankle boot" || r.PerClass[9].Linear == nil {
		t.Errorf("per-class entries %+v", r.PerClass)
	}
	if _, err := Evaluate(context.Background(), train, test, Config{Fractions: []float64{0}}); err == nil {
		t.Error("fraction 0 accepted")
	}
	short := test
	short.Dim, short.X = 7, test.X[:7*test.Rows]
	if _, err := Evaluate(context.Background(), train, short, Config{}); err == nil {
		t.Error("test of another dimension accepted")
	}
}

package report

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/siampipe/siampipe/internal/contract"
)

func TestAccuracyConfusionAndPerClassAgree(t *testing.T) {
	truth := []uint8{0, 0, 0, 1, 1, 2, 2, 2, 2}
	pred := []uint8{0, 1, 0, 1, 1, 2, 0, 2, 1}
	if a := Accuracy(truth, pred); a != 6.0/9 {
		t.Errorf("accuracy %v, want 6/9", a)
	}
	c := Confusion(truth, pred, 4)
	want := [][]int{{2, 1, 0, 0}, {0, 2, 0, 0}, {1, 1, 2, 0}, {0, 0, 0, 0}}
	for i := range want {
		for j := range want[i] {
			if c[i][j] != want[i][j] {
				t.Fatalf("confusion %v, want %v", c, want)
			}
		}
	}
	acc, n := PerClass(c)
	wantAcc := []float64{2.0 / 3, 1, 0.5, 0}
	wantN := []int{3, 2, 4, 0}
	for i := range wantAcc {
		if acc[i] != wantAcc[i] || n[i] != wantN[i] {
			t.Errorf("class %d: accuracy %v of %d, want %v of %d", i, acc[i], n[i], wantAcc[i], wantN[i])
		}
	}
}

func TestClassNames(t *testing.T) {
	own := []string{"cat", "dog"}
	for _, tc := range []struct {
		names []string
		label int
		want  string
	}{{nil, 0, "T-shirt/top"}, {nil, 6, "Shirt"}, {nil, 9, "Ankle boot"}, {nil, 10, "class 10"},
		{own, 0, "cat"}, {own, 1, "dog"}, {own, 2, "class 2"}} {
		if got := ClassName(tc.names, tc.label); got != tc.want {
			t.Errorf("ClassName(%q, %d) = %q, want %q", tc.names, tc.label, got, tc.want)
		}
	}
}

func TestTableShowsHeadlineClassesAndConfusion(t *testing.T) {
	lin := 0.5
	r := &Report{
		KNN:       KNN{K: 200, T: 0.1, Top1: 0.7885},
		Linear:    []Linear{{LabelFraction: 0.01, Top1: 0.7, NTrain: 600, Iterations: 80, Converged: true}, {LabelFraction: 1, Top1: 0.84, NTrain: 60000, Iterations: 500}},
		PerClass:  []Class{{Class: "T-shirt/top", NTest: 2, KNN: 1, Linear: &lin}, {Class: "Trouser", Label: 1, NTest: 1, KNN: 0, Linear: &lin}},
		Confusion: [][]int{{2, 0}, {1, 0}},
	}
	var b strings.Builder
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"kNN (k=200, t=0.1)", "0.7885", "1% of labels (600)", "0.7000  80 iterations", "100% of labels (60000)", "(iteration limit)", "T-shirt/top", "linear 100%", "T-shirt  Trouser"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestWriteJSONRoundTripsWithOneKeyPerLine(t *testing.T) {
	lin := 0.25
	r := &Report{
		KNN:       KNN{K: 200, T: 0.1, Top1: 0.5},
		Linear:    []Linear{{LabelFraction: 1, Top1: 0.25, NTrain: 4, Iterations: 3, Converged: true}},
		PerClass:  []Class{{Class: "T-shirt/top", NTest: 2, KNN: 0.5, Linear: &lin}},
		Confusion: [][]int{{1, 1}, {0, 0}},
		Inputs:    Inputs{Train: Input{Kind: contract.KindFeatures, Model: "sha256:ab", Meta: map[string]string{contract.MetaKind: contract.KindFeatures}}},
		Timings:   Timings{LinearS: []float64{0.5}},
	}
	var b strings.Builder
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(b.String(), "\n"); n != 10 {
		t.Errorf("%d lines, want 10 (braces and 8 keys):\n%s", n, b.String())
	}
	var back Report
	if err := json.Unmarshal([]byte(b.String()), &back); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b.String())
	}
	if !reflect.DeepEqual(&back, r) {
		t.Errorf("round trip changed the report:\n got %+v\nwant %+v", back, *r)
	}
}

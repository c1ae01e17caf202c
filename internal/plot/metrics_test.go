package plot

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"math"
	"strings"
	"testing"

	"github.com/siampipe/siampipe/internal/trainlog"
)

func TestCurvesDrawLossAndZStd(t *testing.T) {
	var lines []string
	for s := 1; s <= 300; s++ {
		lines = append(lines, fmt.Sprintf(`{"epoch":%d,"step":%d,"loss":%g,"z_std":%g}`, (s-1)/30, s, -0.9*(1-math.Exp(-float64(s)/60)), 0.022-0.00002*float64(s%7)))
	}
	ms, err := trainlog.Read(strings.NewReader(strings.Join(lines, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Curves(&b, ms, PNGOptions{Title: "curves"}); err != nil {
		t.Fatal(err)
	}
	// per-step lines are blue (class colour 0), epoch means red (colour 3)
	per, nonWhite, size := colourCounts(t, b.Bytes(), 4)
	if size != (image.Point{1400, 520}) {
		t.Errorf("size %v, want the default 1400x520", size)
	}
	if per[0] < 500 || per[3] < 500 || nonWhite < 10000 {
		t.Errorf("blue %d, red %d, non-white %d pixels: want both curves drawn", per[0], per[3], nonWhite)
	}
	if err := Curves(&b, nil, PNGOptions{}); !errors.Is(err, trainlog.ErrNoMetrics) {
		t.Errorf("no metrics: error %v, want ErrNoMetrics", err)
	}
}

func TestCurvesDrawTheKNNMonitorWhenThereIsOne(t *testing.T) {
	var lines []string
	for s := 1; s <= 300; s++ {
		knn := ""
		if s%30 == 0 {
			knn = fmt.Sprintf(`,"knn":%g`, 0.7+0.0005*float64(s))
		}
		lines = append(lines, fmt.Sprintf(`{"epoch":%d,"step":%d,"loss":-0.5,"z_std":0.02%s}`, (s-1)/30+1, s, knn))
	}
	ms, err := trainlog.Read(strings.NewReader(strings.Join(lines, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Curves(&b, ms, PNGOptions{}); err != nil {
		t.Fatal(err)
	}
	// the kNN curve is green (class colour 2), in a third panel
	per, _, size := colourCounts(t, b.Bytes(), 4)
	if size != (image.Point{2000, 520}) {
		t.Errorf("size %v, want 2000x520 for three panels", size)
	}
	if per[2] < 300 {
		t.Errorf("green %d pixels: want the kNN curve drawn", per[2])
	}
	b.Reset()
	if err := Curves(&b, ms[:20], PNGOptions{}); err != nil { // no knn in the first 20 steps
		t.Fatal(err)
	}
	if per, _, size := colourCounts(t, b.Bytes(), 4); size != (image.Point{1400, 520}) || per[2] > 0 {
		t.Errorf("without knn: size %v, %d green pixels; want 1400x520 and none", size, per[2])
	}
}

package plot

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"math"
	"strings"
	"testing"
)

func TestReadMetricsParsesTrainLines(t *testing.T) {
	in := `{"epoch":0,"step":1,"loss":-0.25,"lr":0.05,"z_std":0.02,"step_ms":310.5,"images_per_s":825.1}

{"epoch":0,"step":2,"loss":-0.5,"lr":0.05,"z_std":0.021,"step_ms":300,"images_per_s":850,"extra":"ignored"}
`
	ms, err := ReadMetrics(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Metric{
		{Epoch: 0, Step: 1, Loss: -0.25, LR: 0.05, ZStd: 0.02, StepMS: 310.5, ImagesPerS: 825.1},
		{Epoch: 0, Step: 2, Loss: -0.5, LR: 0.05, ZStd: 0.021, StepMS: 300, ImagesPerS: 850},
	}
	if len(ms) != len(want) || ms[0] != want[0] || ms[1] != want[1] {
		t.Errorf("got %+v, want %+v", ms, want)
	}
}

func TestReadMetricsRejectsWhatIsNotAMetricsFile(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"empty", "", "no metrics"},
		{"only blank lines", "\n\n  \n", "no metrics"},
		{"not JSON", "{\"loss\":1}\nepoch 1 loss 0.5\n", "line 2"},
		{"no loss", `{"epoch":1,"step":3}`, `no "loss"`},
		{"loss of the wrong type", `{"loss":"low"}`, "line 1"},
		{"an Arrow stream instead", "ARROW1\x00\x00\xff\xff", "line 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadMetrics(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func FuzzReadMetrics(f *testing.F) {
	f.Add([]byte(`{"epoch":0,"step":1,"loss":-0.25,"lr":0.05,"z_std":0.02}`))
	f.Add([]byte("{\"loss\":1}\n\n{\"loss\":2,\"epoch\":1}"))
	f.Add([]byte(`{"loss":1e400}`))
	f.Add([]byte("\xff\xfe"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ms, err := ReadMetrics(bytes.NewReader(b))
		if err != nil {
			if len(ms) != 0 {
				t.Fatal("metrics returned with an error")
			}
			return
		}
		if len(ms) == 0 {
			t.Fatal("no metrics and no error")
		}
		for _, m := range ms {
			if math.IsNaN(m.Loss) || math.IsInf(m.Loss, 0) {
				t.Fatalf("non-finite loss %v accepted", m.Loss)
			}
		}
	})
}

func TestCurvesDrawLossAndZStd(t *testing.T) {
	var lines []string
	for s := 1; s <= 300; s++ {
		lines = append(lines, fmt.Sprintf(`{"epoch":%d,"step":%d,"loss":%g,"z_std":%g}`, (s-1)/30, s, -0.9*(1-math.Exp(-float64(s)/60)), 0.022-0.00002*float64(s%7)))
	}
	ms, err := ReadMetrics(strings.NewReader(strings.Join(lines, "\n")))
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
	if err := Curves(&b, nil, PNGOptions{}); !errors.Is(err, ErrNoMetrics) {
		t.Errorf("no metrics: error %v, want ErrNoMetrics", err)
	}
}

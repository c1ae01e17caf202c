package plot

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Metric is one line of train's metrics file (JSON lines).
type Metric struct {
	Epoch      int     `json:"epoch"`
	Step       int     `json:"step"`
	Loss       float64 `json:"loss"`
	LR         float64 `json:"lr"`
	ZStd       float64 `json:"z_std"`
	StepMS     float64 `json:"step_ms"`
	ImagesPerS float64 `json:"images_per_s"`
}

// ErrNoMetrics reports a metrics file without a single metrics line.
var ErrNoMetrics = errors.New("no metrics lines")

// ReadMetrics parses JSON lines of metrics, one object per line; blank lines
// are skipped, a line that is not a JSON object is an error naming it, and
// so is a line without a finite "loss".
func ReadMetrics(r io.Reader) ([]Metric, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	var out []Metric
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(b, &raw); err != nil {
			return nil, fmt.Errorf("metrics line %d is not a JSON object: %w", line, err)
		}
		if _, ok := raw["loss"]; !ok {
			return nil, fmt.Errorf("metrics line %d has no \"loss\" (is this train's --metrics file?)", line)
		}
		var m Metric
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("metrics line %d: %w", line, err)
		}
		if math.IsNaN(m.Loss) || math.IsInf(m.Loss, 0) {
			return nil, fmt.Errorf("metrics line %d: loss %v is not finite", line, m.Loss)
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read metrics: %w", err)
	}
	if len(out) == 0 {
		return nil, ErrNoMetrics
	}
	return out, nil
}

// Curves writes a PNG of the training loss and the z_std of each step,
// side by side, against the optimiser step (the line number when the
// metrics carry no steps), with the mean of each epoch drawn over the
// per-step values.
func Curves(w io.Writer, ms []Metric, opt PNGOptions) error {
	if len(ms) == 0 {
		return ErrNoMetrics
	}
	if opt.Width == 0 {
		opt.Width = 1400
	}
	if opt.Height == 0 {
		opt.Height = 520
	}
	useLine := true
	for _, m := range ms {
		if m.Step != 0 {
			useLine = false
		}
	}
	x := func(i int) float64 {
		if useLine {
			return float64(i + 1)
		}
		return float64(ms[i].Step)
	}
	panel := func(title, ylabel string, val func(Metric) float64, fromZero bool) (*gplot.Plot, error) {
		pl := gplot.New()
		pl.Title.Text = title
		pl.X.Label.Text = "step"
		pl.Y.Label.Text = ylabel
		pl.Add(plotter.NewGrid())
		xy := make(plotter.XYs, len(ms))
		for i, m := range ms {
			xy[i] = plotter.XY{X: x(i), Y: val(m)}
		}
		line, err := plotter.NewLine(xy)
		if err != nil {
			return nil, err
		}
		line.Color = ClassColor(0)
		line.Width = vg.Points(1)
		pl.Add(line)
		pl.Legend.Add("per step", line)
		// Epoch means, plotted at each epoch's last step.
		var means plotter.XYs
		for i := 0; i < len(ms); {
			j, sum := i, 0.0
			for ; j < len(ms) && ms[j].Epoch == ms[i].Epoch; j++ {
				sum += val(ms[j])
			}
			means = append(means, plotter.XY{X: x(j - 1), Y: sum / float64(j-i)})
			i = j
		}
		if len(means) > 1 {
			ml, mp, err := plotter.NewLinePoints(means)
			if err != nil {
				return nil, err
			}
			ml.Color = color.NRGBA{0xd6, 0x27, 0x28, 0xff}
			ml.Width = vg.Points(2)
			mp.Color = ml.Color
			mp.Shape = draw.CircleGlyph{}
			pl.Add(ml, mp)
			pl.Legend.Add("epoch mean", ml, mp)
		}
		pl.Legend.Top = true
		if fromZero {
			// Collapse is z_std going to 0: keep 0 in view, and room above
			// the curve for the legend.
			pl.Y.Min = math.Min(0, pl.Y.Min)
			pl.Y.Max *= 1.3
		}
		return pl, nil
	}
	loss, err := panel("training loss", "loss (negative cosine, -1 best)", func(m Metric) float64 { return m.Loss }, false)
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	zstd, err := panel("std of l2-normalised z (collapse: towards 0)", "z_std", func(m Metric) float64 { return m.ZStd }, true)
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	img := vgimg.NewWith(vgimg.UseWH(pixels(opt.Width), pixels(opt.Height)), vgimg.UseDPI(dpi), vgimg.UseBackgroundColor(color.White))
	dc := draw.New(img)
	if opt.Title != "" {
		dc = titled(dc, opt.Title)
	}
	row := []*gplot.Plot{loss, zstd}
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Millimeter * 8, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 4}
	canvases := gplot.Align([][]*gplot.Plot{row}, tiles, dc)
	for k, pl := range row {
		pl.Draw(canvases[0][k])
	}
	return writePNG(w, img)
}

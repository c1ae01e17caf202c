package plot

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"slices"

	"github.com/siampipe/siampipe/internal/trainlog"
	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Curves writes a PNG of the training loss and the z_std of each step,
// side by side, against the optimiser step (the line number when the
// metrics carry no steps), with the mean of each epoch drawn over the
// per-step values; and, when the metrics hold kNN monitor scores, a third
// panel with their curve.
func Curves(w io.Writer, ms []trainlog.Record, opt PNGOptions) error {
	if len(ms) == 0 {
		return trainlog.ErrNoMetrics
	}
	if opt.Width == 0 {
		opt.Width = 1400
		if slices.ContainsFunc(ms, func(m trainlog.Record) bool { return m.KNN != nil }) {
			opt.Width = 2000 // three panels
		}
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
	panel := func(title, ylabel string, val func(trainlog.Record) float64, fromZero bool) (*gplot.Plot, error) {
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
	loss, err := panel("training loss", "loss (lower is better)", func(m trainlog.Record) float64 { return m.Loss }, false)
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	zstd, err := panel("std of l2-normalised z (collapse: towards 0)", "z_std", func(m trainlog.Record) float64 { return m.ZStd }, true)
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	row := []*gplot.Plot{loss, zstd}
	if knn, err := knnPanel(ms, x); err != nil {
		return fmt.Errorf("plot: %w", err)
	} else if knn != nil {
		row = append(row, knn)
	}
	img := vgimg.NewWith(vgimg.UseWH(pixels(opt.Width), pixels(opt.Height)), vgimg.UseDPI(dpi), vgimg.UseBackgroundColor(color.White))
	dc := draw.New(img)
	if opt.Title != "" {
		dc = titled(dc, opt.Title)
	}
	tiles := draw.Tiles{Rows: 1, Cols: len(row), PadX: vg.Millimeter * 8, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 4}
	canvases := gplot.Align([][]*gplot.Plot{row}, tiles, dc)
	for k, pl := range row {
		pl.Draw(canvases[0][k])
	}
	return writePNG(w, img)
}

// knnPanel returns the plot of the kNN monitor's scores (nil when the
// metrics hold none), at the steps x gives.
func knnPanel(ms []trainlog.Record, x func(int) float64) (*gplot.Plot, error) {
	var xy plotter.XYs
	for i, m := range ms {
		if m.KNN != nil {
			xy = append(xy, plotter.XY{X: x(i), Y: *m.KNN})
		}
	}
	if len(xy) == 0 {
		return nil, nil
	}
	pl := gplot.New()
	pl.Title.Text = "kNN monitor (top-1 accuracy, higher is better)"
	pl.X.Label.Text = "step"
	pl.Y.Label.Text = "kNN top-1"
	pl.Add(plotter.NewGrid())
	l, p, err := plotter.NewLinePoints(xy)
	if err != nil {
		return nil, err
	}
	l.Color = ClassColor(2)
	l.Width = vg.Points(2)
	p.Color = l.Color
	p.Shape = draw.CircleGlyph{}
	pl.Add(l, p)
	last := xy[len(xy)-1]
	pl.Legend.Add(fmt.Sprintf("last %.4f", last.Y), l, p)
	pl.Legend.Top = false // the curve rises: its lower right is free
	return pl, nil
}

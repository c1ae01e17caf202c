// Package plot draws siampipe's pictures: the 2-D projections of 3-D
// embedding coordinates coloured by class (PNG, with gonum.org/v1/plot), a
// self-contained interactive 3-D scatter (HTML with its own small canvas
// renderer, no network access), and the training loss and z_std curves from
// train's metrics (PNG).
package plot

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"math/rand/v2"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/siampipe/siampipe/internal/report"
)

// Points are labelled coordinates: N rows of Dim (2 or 3) values, row-major.
type Points struct {
	N, Dim int
	Index  []int64
	Label  []uint8
	Coords []float32
	// Classes names the labels (nil: FashionMNIST's names). Unlabelled
	// points are all label 0 with one name, and are drawn in one colour.
	Classes []string
}

// className names label c of p.
func (p Points) className(c int) string { return report.ClassName(p.Classes, c) }

// DimError reports coordinates of a dimension plot cannot draw (it draws
// 2-d and 3-d points).
type DimError struct{ Dim int }

func (e *DimError) Error() string {
	return fmt.Sprintf("plot: coordinates are %d-d; plot draws 2-d or 3-d coordinates", e.Dim)
}

// check reports points that cannot be drawn.
func (p Points) check() error {
	switch {
	case p.Dim != 2 && p.Dim != 3:
		return &DimError{Dim: p.Dim}
	case p.N == 0:
		return errors.New("plot: no points (the coords stream is empty)")
	case len(p.Coords) != p.N*p.Dim || len(p.Label) != p.N || len(p.Index) != p.N:
		return fmt.Errorf("plot: %d points with %d coordinates, %d labels and %d indices", p.N, len(p.Coords), len(p.Label), len(p.Index))
	}
	for i, v := range p.Coords {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("plot: point %d has coordinate %v; coordinates must be finite", p.Index[i/p.Dim], v)
		}
	}
	return nil
}

// palette holds one colour per class (the ten "tab10" colours), cycled past ten.
var palette = []color.NRGBA{
	{0x1f, 0x77, 0xb4, 0xff}, {0xff, 0x7f, 0x0e, 0xff}, {0x2c, 0xa0, 0x2c, 0xff}, {0xd6, 0x27, 0x28, 0xff},
	{0x94, 0x67, 0xbd, 0xff}, {0x8c, 0x56, 0x4b, 0xff}, {0xe3, 0x77, 0xc2, 0xff}, {0x7f, 0x7f, 0x7f, 0xff},
	{0xbc, 0xbd, 0x22, 0xff}, {0x17, 0xbe, 0xcf, 0xff},
}

// ClassColor returns the colour of class c.
func ClassColor(c int) color.NRGBA { return palette[c%len(palette)] }

// classesOf returns the number of classes: the largest label + 1.
func classesOf(labels []uint8) int {
	n := 0
	for _, l := range labels {
		n = max(n, int(l)+1)
	}
	return n
}

// PNGOptions size a PNG. The zero value means the defaults.
type PNGOptions struct {
	Width, Height int    // pixels; 0 means 1800 x 640 (projections) or 1400 x 520 (curves)
	Title         string // drawn above the figure when not empty
}

const dpi = 96

func pixels(n int) vg.Length { return vg.Length(n) * vg.Inch / dpi }

// Projections writes a PNG of the three 2-D projections (x-y, x-z, y-z) of
// 3-D points side by side (one panel for 2-D points), coloured by class,
// with a legend of the class names. Points are drawn in a fixed shuffled
// order so that no class always lies on top; the same points give the same
// bytes.
func Projections(w io.Writer, p Points, opt PNGOptions) error {
	if err := p.check(); err != nil {
		return err
	}
	if opt.Width == 0 {
		opt.Width = 1800
	}
	if opt.Height == 0 {
		opt.Height = 640
	}
	order := rand.New(rand.NewPCG(1, 2)).Perm(p.N)
	axes := [][2]int{{0, 1}, {0, 2}, {1, 2}}
	if p.Dim == 2 {
		axes = axes[:1]
	}
	names := []string{"dim 1", "dim 2", "dim 3"}
	glyph := func(i int) draw.GlyphStyle {
		return draw.GlyphStyle{Color: withAlpha(ClassColor(int(p.Label[order[i]])), 0xb0), Radius: vg.Points(1.1), Shape: draw.CircleGlyph{}}
	}
	row := make([]*gplot.Plot, len(axes))
	for k, a := range axes {
		xy := make(plotter.XYs, p.N)
		for i, r := range order {
			xy[i] = plotter.XY{X: float64(p.Coords[r*p.Dim+a[0]]), Y: float64(p.Coords[r*p.Dim+a[1]])}
		}
		s, err := plotter.NewScatter(xy)
		if err != nil {
			return fmt.Errorf("plot: %w", err)
		}
		s.GlyphStyleFunc = glyph
		pl := gplot.New()
		pl.Title.Text = names[a[0]] + " vs " + names[a[1]]
		pl.X.Label.Text = names[a[0]]
		pl.Y.Label.Text = names[a[1]]
		pl.Add(s)
		row[k] = pl
	}
	img := vgimg.NewWith(vgimg.UseWH(pixels(opt.Width), pixels(opt.Height)), vgimg.UseDPI(dpi), vgimg.UseBackgroundColor(color.White))
	dc := draw.New(img)
	if opt.Title != "" {
		dc = titled(dc, opt.Title)
	}
	legendW := pixels(170)
	tiles := draw.Tiles{Rows: 1, Cols: len(axes), PadX: vg.Millimeter * 6, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2}
	canvases := gplot.Align([][]*gplot.Plot{row}, tiles, draw.Crop(dc, 0, -legendW, 0, 0))
	for k, pl := range row {
		pl.Draw(canvases[0][k])
	}
	leg := gplot.NewLegend()
	leg.ThumbnailWidth = vg.Points(10)
	for c := 0; c < classesOf(p.Label); c++ {
		s, err := plotter.NewScatter(plotter.XYs{{}})
		if err != nil {
			return fmt.Errorf("plot: %w", err)
		}
		s.GlyphStyle = draw.GlyphStyle{Color: ClassColor(c), Radius: vg.Points(4), Shape: draw.CircleGlyph{}}
		leg.Add(p.className(c), s)
	}
	leg.Top = true
	leg.XOffs = -vg.Millimeter * 3
	leg.YOffs = -vg.Millimeter * 12
	leg.Draw(draw.Crop(dc, dc.Max.X-dc.Min.X-legendW, 0, 0, 0))
	return writePNG(w, img)
}

func withAlpha(c color.NRGBA, a uint8) color.NRGBA {
	c.A = a
	return c
}

// titled draws title at the top of dc and returns the canvas below it.
func titled(dc draw.Canvas, title string) draw.Canvas {
	pl := gplot.New()
	sty := pl.Title.TextStyle
	sty.Font.Size = vg.Points(15)
	sty.XAlign = draw.XCenter
	sty.YAlign = draw.YTop
	h := sty.Height(title) + vg.Millimeter*4
	dc.FillText(sty, vg.Point{X: (dc.Min.X + dc.Max.X) / 2, Y: dc.Max.Y - vg.Millimeter*2}, title)
	return draw.Crop(dc, 0, 0, 0, -h)
}

func writePNG(w io.Writer, img *vgimg.Canvas) error {
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(w); err != nil {
		return fmt.Errorf("plot: write png: %w", err)
	}
	return nil
}

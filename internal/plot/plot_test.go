package plot

import (
	"bytes"
	"errors"
	"image"
	"image/png"
	"math/rand/v2"
	"strings"
	"testing"
)

// blobs returns n points in dim dimensions around one centre per class.
func blobs(n, dim, classes int, seed uint64) Points {
	rng := rand.New(rand.NewPCG(seed, 1))
	centres := make([]float64, classes*dim)
	for i := range centres {
		centres[i] = 10 * rng.NormFloat64()
	}
	p := Points{N: n, Dim: dim, Index: make([]int64, n), Label: make([]uint8, n), Coords: make([]float32, n*dim)}
	for i := 0; i < n; i++ {
		c := i % classes
		p.Index[i] = int64(1000 + i)
		p.Label[i] = uint8(c)
		for d := 0; d < dim; d++ {
			p.Coords[i*dim+d] = float32(centres[c*dim+d] + rng.NormFloat64())
		}
	}
	return p
}

// colourCounts decodes a PNG and counts pixels close to each class colour
// and pixels that are not white.
func colourCounts(t *testing.T, b []byte, classes int) (perClass []int, nonWhite int, size image.Point) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	perClass = make([]int, classes)
	r := img.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			pr, pg, pb := int(cr>>8), int(cg>>8), int(cb>>8)
			if pr < 250 || pg < 250 || pb < 250 {
				nonWhite++
			}
			for c := 0; c < classes; c++ {
				k := ClassColor(c)
				if abs(pr-int(k.R)) < 40 && abs(pg-int(k.G)) < 40 && abs(pb-int(k.B)) < 40 {
					perClass[c]++
				}
			}
		}
	}
	return perClass, nonWhite, r.Size()
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func TestProjectionsDrawEveryClassInItsColour(t *testing.T) {
	for _, tc := range []struct {
		name string
		dim  int
	}{{"3-d gives three panels", 3}, {"2-d gives one panel", 2}} {
		t.Run(tc.name, func(t *testing.T) {
			p := blobs(3000, tc.dim, 10, 4)
			var b bytes.Buffer
			if err := Projections(&b, p, PNGOptions{Width: 1200, Height: 420, Title: "test"}); err != nil {
				t.Fatal(err)
			}
			per, nonWhite, size := colourCounts(t, b.Bytes(), 10)
			if size != (image.Point{1200, 420}) {
				t.Errorf("size %v, want 1200x420", size)
			}
			for c, n := range per {
				if n < 30 {
					t.Errorf("class %d: %d pixels of its colour, want points and a legend entry", c, n)
				}
			}
			if nonWhite < 10000 {
				t.Errorf("only %d non-white pixels", nonWhite)
			}
			var again bytes.Buffer
			if err := Projections(&again, p, PNGOptions{Width: 1200, Height: 420, Title: "test"}); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b.Bytes(), again.Bytes()) {
				t.Error("the same points gave different PNG bytes")
			}
		})
	}
}

func TestPlotsRejectPointsTheyCannotDraw(t *testing.T) {
	four := blobs(10, 4, 2, 1)
	empty := Points{Dim: 3}
	nan := blobs(10, 3, 2, 1)
	nan.Coords[4] = float32(nanValue())
	short := blobs(10, 3, 2, 1)
	short.Label = short.Label[:5]
	for _, tc := range []struct {
		name string
		p    Points
		want string
	}{
		{"4-d coordinates", four, "4-d"},
		{"no points", empty, "no points"},
		{"NaN coordinate", nan, "finite"},
		{"labels missing", short, "labels"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			err := Projections(&b, tc.p, PNGOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Projections: error %v, want one naming %q", err, tc.want)
			}
			err = HTML(&b, tc.p, HTMLOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("HTML: error %v, want one naming %q", err, tc.want)
			}
		})
	}
}

func TestPlotsReportTheDimensionTheyCannotDraw(t *testing.T) {
	for _, dim := range []int{1, 4, 7} {
		p := blobs(10, dim, 2, 1)
		for name, draw := range map[string]func() error{
			"Projections": func() error { return Projections(&bytes.Buffer{}, p, PNGOptions{}) },
			"HTML":        func() error { return HTML(&bytes.Buffer{}, p, HTMLOptions{}) },
		} {
			err := draw()
			var de *DimError
			if !errors.As(err, &de) || de.Dim != dim {
				t.Errorf("%s of %d-d points: error %v, want a *DimError with Dim %d", name, dim, err, dim)
			}
			// Flags are the stage's business: the library names none.
			if err != nil && strings.Contains(err.Error(), "--") {
				t.Errorf("%s: error %q names a flag", name, err)
			}
		}
	}
}

func nanValue() float64 {
	z := 0.0
	return z / z
}

func TestHTMLIsSelfContained(t *testing.T) {
	p := blobs(500, 3, 10, 2)
	var b bytes.Buffer
	if err := HTML(&b, p, HTMLOptions{Title: "a </script> <b>title</b>"}); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, bad := range []string{"http://", "https://", "src=", "<link", "@import"} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q: it must not load anything", bad)
		}
	}
	if n := strings.Count(page, "</script>"); n != 3 {
		t.Errorf("%d </script> tags, want 3 (the title must not end a script)", n)
	}
	for _, want := range []string{`"Ankle boot"`, `"index":[1000,1001`, "#ff7f0e"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

package infer

import (
	"math"
	"testing"

	"github.com/siampipe/siampipe/internal/arch"
	"github.com/siampipe/siampipe/internal/contract"
)

// TestRGBModelReadsEachPlane checks the layout of 3-channel images: a model
// whose first convolution weighs only plane p, fed images whose plane p is
// a grey image (the other planes noise), computes what the grey model
// computes on that grey image. A model reading the planes in another order,
// or mixing them, gives other features.
func TestRGBModelReadsEachPlane(t *testing.T) {
	const n, h, w = 9, 28, 28
	hw := h * w
	grey := randomImages(n, hw, 11)
	noise := randomImages(n, 3*hw, 12)
	ts := randomCheckpoint(arch.SimSiam, 3)
	ref, err := New(arch.SimSiam, ts, h, w, Projector)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float32, n*ref.Dim())
	ref.NewWorker().Forward(grey, n, want)
	for p := range 3 {
		rgb := make([]contract.Tensor, len(ts))
		copy(rgb, ts)
		w1 := ts[0] // backbone.conv1.weight, [32 1 3 3]
		if w1.Name != arch.ConvName(1, 1)+".weight" {
			t.Fatalf("first tensor is %s", w1.Name)
		}
		c := contract.Tensor{Name: w1.Name, Shape: []int{w1.Shape[0], 3, 3, 3}, Values: make([]float32, w1.Shape[0]*27)}
		for o := range w1.Shape[0] {
			copy(c.Values[(o*3+p)*9:(o*3+p+1)*9], w1.Values[o*9:(o+1)*9])
		}
		rgb[0] = c
		m, err := New(arch.SimSiam, rgb, h, w, Projector)
		if err != nil {
			t.Fatal(err)
		}
		if m.Channels() != 3 {
			t.Fatalf("model takes %d channels", m.Channels())
		}
		px := append([]uint8(nil), noise...)
		for i := range n {
			copy(px[(i*3+p)*hw:(i*3+p+1)*hw], grey[i*hw:(i+1)*hw])
		}
		got := make([]float32, n*m.Dim())
		m.NewWorker().Forward(px, n, got)
		for i := range got {
			if d := math.Abs(float64(got[i] - want[i])); d > 1e-4*(1+math.Abs(float64(want[i]))) {
				t.Fatalf("plane %d: feature %d is %g, the grey model's %g", p, i, got[i], want[i])
			}
		}
	}
}

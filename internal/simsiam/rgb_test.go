package simsiam

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/siampipe/siampipe/internal/arch"
)

// TestRGBStepReadsEachPlane checks the layout of 3-channel training
// images: a model whose first convolution weighs only plane p, fed pairs
// whose plane p is a grey pair (the other planes noise), has the grey
// model's loss and gradients, and the gradient of its plane-p weights is
// the grey model's first-convolution gradient.
func TestRGBStepReadsEachPlane(t *testing.T) {
	const n, h, w = 8, 16, 16
	hw := h * w
	r := rand.New(rand.NewPCG(5, 6))
	img := func(k int) []uint8 {
		b := make([]uint8, k)
		for i := range b {
			b[i] = uint8(r.UintN(256))
		}
		return b
	}
	g1, g2 := img(n*hw), img(n*hw)
	cfg := Config{Arch: arch.SimSiam, Method: arch.MethodSimCLR, Height: h, Width: w, Channels: []int{4, 8}, ProjDims: []int{16, 8}}
	grey, err := New(cfg, 9)
	if err != nil {
		t.Fatal(err)
	}
	gg, err := grey.NewGraph(n, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	defer gg.Close()
	wantLoss, err := gg.Run(g1, g2)
	if err != nil {
		t.Fatal(err)
	}
	cfg.InChannels = 3
	for p := range 3 {
		rgb, err := New(cfg, 9)
		if err != nil {
			t.Fatal(err)
		}
		for i, q := range rgb.Params {
			src := grey.Params[i]
			if q.Name != arch.ConvName(1, 1)+".weight" {
				copy(q.Value, src.Value)
				continue
			}
			clear(q.Value)
			for o := range q.Shape[0] {
				copy(q.Value[(o*3+p)*9:(o*3+p+1)*9], src.Value[o*9:(o+1)*9])
			}
		}
		v1, v2 := img(3*n*hw), img(3*n*hw)
		for i := range n {
			copy(v1[(i*3+p)*hw:(i*3+p+1)*hw], g1[i*hw:(i+1)*hw])
			copy(v2[(i*3+p)*hw:(i*3+p+1)*hw], g2[i*hw:(i+1)*hw])
		}
		gr, err := rgb.NewGraph(n, 0.5)
		if err != nil {
			t.Fatal(err)
		}
		loss, err := gr.Run(v1, v2)
		if err != nil {
			t.Fatal(err)
		}
		if d := math.Abs(float64(loss - wantLoss)); d > 1e-5 {
			t.Errorf("plane %d: loss %g, grey %g", p, loss, wantLoss)
		}
		for i, q := range gr.Trainable() {
			want := gg.Grads[i]
			got := gr.Grads[i]
			if q.Name == arch.ConvName(1, 1)+".weight" {
				plane := make([]float32, 0, len(want))
				for o := range q.Shape[0] {
					plane = append(plane, got[(o*3+p)*9:(o*3+p+1)*9]...)
				}
				got = plane
			}
			for j := range want {
				if d := math.Abs(float64(got[j] - want[j])); d > 1e-4*(1e-3+math.Abs(float64(want[j]))) && d > 1e-6 {
					t.Fatalf("plane %d: gradient of %s[%d] is %g, grey %g", p, q.Name, j, got[j], want[j])
				}
			}
		}
		gr.Close()
	}
}

package infer

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/siampipe/siampipe/internal/contract"
)

// golden is a model and its PyTorch outputs from testdata/gen_golden.py.
type golden struct {
	name, arch string
	tensors    []contract.Tensor
	outputs    map[string][]float32 // layer -> n x dim
	images     []uint8
	n, h, w    int
}

func loadGolden(t testing.TB) []golden {
	t.Helper()
	var index struct {
		Images struct {
			File          string
			N             int
			Height, Width int
		}
		Models []struct {
			Name, Arch string
			Tensors    []struct {
				Name   string
				Shape  []int
				Dtype  string
				Scale  float64
				Offset int
			}
			Outputs map[string]struct {
				Shape  []int
				Dtype  string
				Offset int
			}
		}
	}
	js, err := os.ReadFile(filepath.Join("testdata", "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(js, &index); err != nil {
		t.Fatal(err)
	}
	blob, err := os.ReadFile(filepath.Join("testdata", "golden.bin"))
	if err != nil {
		t.Fatal(err)
	}
	images, err := os.ReadFile(filepath.Join("testdata", index.Images.File))
	if err != nil {
		t.Fatal(err)
	}
	im := index.Images
	if len(images) != im.N*im.Height*im.Width {
		t.Fatalf("images.bin has %d bytes, want %d", len(images), im.N*im.Height*im.Width)
	}
	size := func(shape []int) int {
		n := 1
		for _, d := range shape {
			n *= d
		}
		return n
	}
	var gs []golden
	for _, m := range index.Models {
		g := golden{name: m.Name, arch: m.Arch, outputs: map[string][]float32{}, images: images, n: im.N, h: im.Height, w: im.Width}
		for _, tt := range m.Tensors {
			if tt.Dtype != "int8" {
				t.Fatalf("%s: tensor %s has dtype %s", m.Name, tt.Name, tt.Dtype)
			}
			vals := make([]float32, size(tt.Shape))
			for i := range vals {
				vals[i] = float32(float64(int8(blob[tt.Offset+i])) * tt.Scale)
			}
			g.tensors = append(g.tensors, contract.Tensor{Name: tt.Name, Shape: tt.Shape, Values: vals})
		}
		for layer, o := range m.Outputs {
			vals := make([]float32, size(o.Shape))
			for i := range vals {
				vals[i] = math.Float32frombits(binary.LittleEndian.Uint32(blob[o.Offset+4*i:]))
			}
			g.outputs[layer] = vals
		}
		gs = append(gs, g)
	}
	return gs
}

// engines returns every engine this machine runs, the plain Go reference
// kernel included, so each is held to PyTorch's outputs.
func engines() []engine {
	es := []engine{blasEngine{}, kernelEngine{refKernel(4, 8)}, kernelEngine{refKernel(3, 16)}}
	for _, k := range kernels() {
		es = append(es, kernelEngine{k})
	}
	return es
}

// TestForwardMatchesPyTorch runs both archs on real FashionMNIST images and
// compares every layer with PyTorch's eval-mode forward.
func TestForwardMatchesPyTorch(t *testing.T) {
	const tol = 1e-5 // |go - torch| <= tol * (1 + |torch|)
	for _, g := range loadGolden(t) {
		for _, eng := range engines() {
			for layer, want := range g.outputs {
				t.Run(g.name+"/"+layer+"/"+eng.name(), func(t *testing.T) {
					m, err := newModel(g.arch, g.tensors, g.h, g.w, layer, eng)
					if err != nil {
						t.Fatal(err)
					}
					if m.Dim()*g.n != len(want) {
						t.Fatalf("Dim() = %d, PyTorch's output has %d values for %d images", m.Dim(), len(want), g.n)
					}
					got := make([]float32, len(want))
					m.NewWorker().Forward(g.images, g.n, got)
					worst, at := 0.0, 0
					for i := range want {
						d := math.Abs(float64(got[i])-float64(want[i])) / (1 + math.Abs(float64(want[i])))
						if !(d <= worst) {
							worst, at = d, i
						}
					}
					if worst > tol {
						t.Errorf("worst relative error %.3g at %d (image %d): got %v, PyTorch %v", worst, at, at/m.Dim(), got[at], want[at])
					}
					t.Logf("worst relative error %.3g", worst)
				})
			}
		}
	}
}

package infer

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/siampipe/siampipe/internal/arch"
	"github.com/siampipe/siampipe/internal/contract"
)

// randomCheckpoint returns the tensors of a model of the given arch at the
// sizes siampipe trains (seed: 32-64-128 backbone, 2048-64-2048 predictor;
// simsiam: the paper-style heads of NOTES.md).
func randomCheckpoint(archName string, seed uint64) []contract.Tensor {
	r := rand.New(rand.NewPCG(seed, 1))
	var ts []contract.Tensor
	add := func(name string, scale, shift float32, shape ...int) {
		t := contract.Tensor{Name: name, Shape: shape}
		t.Values = make([]float32, t.Size())
		for i := range t.Values {
			t.Values[i] = shift + scale*(2*r.Float32()-1)
		}
		ts = append(ts, t)
	}
	bn := func(name string, c int, affine bool) {
		if affine {
			add(name+".weight", 0.5, 1, c)
			add(name+".bias", 0.2, 0, c)
		}
		add(name+".running_mean", 0.3, 0, c)
		add(name+".running_var", 0.5, 1, c)
	}
	c := 1
	for i, co := range []int{32, 64, 128} {
		add(fmt.Sprintf("backbone.conv%d.weight", i+1), 1/float32(3*c), 0, co, c, 3, 3)
		add(fmt.Sprintf("backbone.conv%d.bias", i+1), 0.1, 0, co)
		bn(fmt.Sprintf("backbone.bn%d", i+1), co, true)
		c = co
	}
	fc := func(name string, in, out int) {
		add(name+".weight", 1/float32(in), 0, out, in)
		add(name+".bias", 0.1, 0, out)
	}
	if archName == arch.Seed {
		fc("predictor.fc1", 2048, 64)
		bn("predictor.bn1", 64, true)
		fc("predictor.fc2", 64, 2048)
		return ts
	}
	fc("projector.fc1", 2048, 512)
	bn("projector.bn1", 512, true)
	fc("projector.fc2", 512, 512)
	bn("projector.bn2", 512, false)
	fc("predictor.fc1", 512, 128)
	bn("predictor.bn1", 128, true)
	fc("predictor.fc2", 128, 512)
	return ts
}

func randomImages(n, hw int, seed uint64) []uint8 {
	r := rand.New(rand.NewPCG(seed, 2))
	px := make([]uint8, n*hw)
	for i := range px {
		px[i] = uint8(r.UintN(256))
	}
	return px
}

// BenchmarkForward measures one goroutine's forward pass of a batch of 256
// 28x28 images per engine; images/s is the throughput by the wall clock,
// images/CPU-s by the CPU time of the whole process (the steadier number
// on a shared, loaded machine; run with -cpu 1 so that BLAS goroutines do
// not hide work on other cores from the wall clock):
//
//	go test ./internal/infer -run XXX -bench Forward -cpu 1
func BenchmarkForward(b *testing.B) {
	const batch = 256
	px := randomImages(batch, 28*28, 1)
	for _, an := range arch.Names() {
		ts := randomCheckpoint(an, 1)
		for _, layer := range []string{Backbone, Predictor} {
			for _, eng := range engines() {
				if eng.name()[:2] == "go" {
					continue
				}
				b.Run(an+"/"+layer+"/"+eng.name(), func(b *testing.B) {
					m, err := newModel(an, ts, 28, 28, layer, eng)
					if err != nil {
						b.Fatal(err)
					}
					w := m.NewWorker()
					out := make([]float32, batch*m.Dim())
					runtime.GC()
					cpu0, ok := processCPU()
					for b.Loop() {
						w.Forward(px, batch, out)
					}
					b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "images/s")
					if cpu1, _ := processCPU(); ok && cpu1 > cpu0 {
						b.ReportMetric(float64(b.N*batch)/(cpu1-cpu0).Seconds(), "images/CPU-s")
					}
				})
			}
		}
	}
}

package simsiam

import (
	"math/rand/v2"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/siampipe/siampipe/internal/arch"
	"github.com/siampipe/siampipe/internal/cpufeat"
	"github.com/siampipe/siampipe/internal/nnops"
	"github.com/siampipe/siampipe/internal/optim"
)

// BenchmarkTrainStep is one full training step (forward, backward, SGD) of
// the seed and the default model on a batch of 256 pairs (both architectures
// with SimSiam, and the simsiam architecture with SimCLR), on GOMAXPROCS
// cores: the median step of b.N after three warm-up steps, the mean, and
// the CPU time per step.
func BenchmarkTrainStep(b *testing.B) {
	cfgs := []Config{{Arch: arch.Seed}, {Arch: arch.SimSiam}, {Arch: arch.SimSiam, Method: arch.MethodSimCLR}}
	for _, cfg := range cfgs {
		name := cfg.Arch
		if cfg.Method != "" {
			name += "-" + cfg.Method
		}
		b.Run(name, func(b *testing.B) {
			m, err := New(cfg, 1)
			if err != nil {
				b.Fatal(err)
			}
			const n = 256
			gr, err := m.NewGraph(n, 0)
			if err != nil {
				b.Fatal(err)
			}
			defer gr.Close()
			rng := rand.New(rand.NewPCG(1, 2))
			v1 := make([]uint8, n*28*28)
			v2 := make([]uint8, n*28*28)
			for i := range v1 {
				v1[i], v2[i] = uint8(rng.IntN(256)), uint8(rng.IntN(256))
			}
			sgd := optim.SGD{Momentum: 0.9, WeightDecay: 1e-4}
			ws := make([][]float32, len(gr.Trainable()))
			lrs := make([]float64, len(ws))
			for i, p := range gr.Trainable() {
				ws[i], lrs[i] = p.Value, 0.05
			}
			step := func() {
				if _, err := gr.Run(v1, v2); err != nil {
					b.Fatal(err)
				}
				sgd.Step(ws, gr.Grads, lrs)
			}
			// Three warm-up steps (buffers, caches), then each step timed.
			for range 3 {
				step()
			}
			times := make([]float64, 0, b.N)
			b.Logf("kernels: matrix products %s; vector kernels %s", nnops.BLASName(), cpufeat.Describe())
			b.ReportAllocs()
			cpu0 := cpuTime()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				step()
				times = append(times, float64(time.Since(t0).Microseconds())/1000)
			}
			b.StopTimer()
			slices.Sort(times)
			b.ReportMetric(times[len(times)/2], "median-ms/step")
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/step")
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/step")
			var ru syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
			b.ReportMetric(float64(ru.Maxrss)/1024, "peak-MiB")
		})
	}
}

// cpuTime is the user+system CPU time of the process so far: on a shared
// machine it is steadier than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

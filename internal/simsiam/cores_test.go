package simsiam

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/siampipe/siampipe/internal/arch"
)

// TestStepsGiveTheSameBytesOnAnyCoreCount trains both architectures with
// SimSiam, the simsiam architecture with SimCLR, and a backbone of depth 2
// (its stride-1 convolutions in several chunks of images) for three steps
// with GOMAXPROCS 1, 2 and 3: every parameter, running
// statistic and momentum buffer must be the same bytes, since every Op
// splits its work by the data's shape, never by the number of cores.
func TestStepsGiveTheSameBytesOnAnyCoreCount(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	const n, steps = 64, 3
	rng := rand.New(rand.NewPCG(3, 4))
	views := make([][2][]uint8, steps)
	for s := range views {
		for v := range views[s] {
			views[s][v] = make([]uint8, n*28*28)
			for i := range views[s][v] {
				views[s][v][i] = uint8(rng.IntN(256))
			}
		}
	}
	for _, cfg := range []Config{{Arch: arch.Seed}, {Arch: arch.SimSiam}, {Arch: arch.SimSiam, Method: arch.MethodSimCLR},
		{Arch: arch.SimSiam, Channels: []int{8, 16, 32}, Depth: 2}} {
		name := fmt.Sprintf("%s %s depth %d", cfg.Arch, cfg.Method, cfg.Depth)
		var want []byte
		for _, procs := range []int{1, 2, 3} {
			runtime.GOMAXPROCS(procs)
			tr, err := NewTrainer(TrainConfig{Model: cfg, BatchSize: n, Seed: 7, Epochs: 1, RowsPerEpoch: n * steps})
			if err != nil {
				t.Fatal(err)
			}
			for s := range views {
				if _, err := tr.TrainStep(views[s][0], views[s][1]); err != nil {
					t.Fatal(err)
				}
			}
			var buf bytes.Buffer
			for _, p := range tr.Tensors() {
				buf.WriteString(p.Name)
				binary.Write(&buf, binary.LittleEndian, p.Value)
			}
			tr.Close()
			if want == nil {
				want = buf.Bytes()
				continue
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("%s: the model after %d steps with GOMAXPROCS %d differs from GOMAXPROCS 1", name, steps, procs)
			}
		}
	}
}

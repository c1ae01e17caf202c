//go:build ignore

// embed_ckpt.go is the Go side of bench/embed.sh's plumbing:
//
//	go run bench/embed_ckpt.go ckpt WEIGHTS OUT.arrows   WEIGHTS.json + WEIGHTS.bin (embed_torch.py weights) -> checkpoint
//	go run bench/embed_ckpt.go compare FEATURES.arrows TORCH.bin   worst difference of embed's features from PyTorch's
package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"

	"github.com/siampipe/siampipe/internal/contract"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "embed_ckpt:", err)
		os.Exit(1)
	}
}

func floats(b []byte) []float32 {
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

func run(args []string) error {
	if len(args) != 3 {
		return fmt.Errorf("usage: embed_ckpt.go ckpt WEIGHTS OUT | compare FEATURES TORCH.bin")
	}
	switch args[0] {
	case "ckpt":
		js, err := os.ReadFile(args[1] + ".json")
		if err != nil {
			return err
		}
		blob, err := os.ReadFile(args[1] + ".bin")
		if err != nil {
			return err
		}
		var idx struct {
			Arch    string
			Tensors []struct {
				Name   string
				Shape  []int
				Offset int
			}
		}
		if err := json.Unmarshal(js, &idx); err != nil {
			return err
		}
		var ts []contract.Tensor
		for _, t := range idx.Tensors {
			tt := contract.Tensor{Name: t.Name, Shape: t.Shape}
			tt.Values = floats(blob[t.Offset : t.Offset+4*tt.Size()])
			ts = append(ts, tt)
		}
		f, err := os.Create(args[2])
		if err != nil {
			return err
		}
		meta := contract.Meta{contract.MetaArch: idx.Arch, contract.MetaHeight: "28", contract.MetaWidth: "28"}
		if err := contract.WriteModel(f, meta, ts, contract.Options{}); err != nil {
			return err
		}
		return f.Close()
	case "compare":
		f, err := os.Open(args[1])
		if err != nil {
			return err
		}
		defer f.Close()
		m, err := contract.ReadMatrix(f)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(args[2])
		if err != nil {
			return err
		}
		want := floats(b)
		if len(want) != len(m.Data) {
			return fmt.Errorf("%d PyTorch values, %d features", len(want), len(m.Data))
		}
		worst, scale := 0.0, 0.0
		for i, w := range want {
			worst = max(worst, math.Abs(float64(m.Data[i])-float64(w))/(1+math.Abs(float64(w))))
			scale = max(scale, math.Abs(float64(w)))
		}
		fmt.Printf("%.2g (max |torch| %.3g)\n", worst, scale)
		return nil
	}
	return fmt.Errorf("unknown command %q", args[0])
}

package nnops

import (
	"fmt"
	"testing"
)

// TestTransposeBlocks checks the tiled block transpose against the
// definition, dst[j][i] = src[i][j] (blocks of q), for sizes that fill the
// tiles, leave partial ones, and the model's.
func TestTransposeBlocks(t *testing.T) {
	for _, tt := range []struct{ a, b, q int }{{1, 1, 1}, {3, 5, 2}, {7, 4, 3}, {4, 9, 1}, {128, 256, 16}, {256, 128, 16}, {5, 5, 49}} {
		t.Run(fmt.Sprintf("%dx%dx%d", tt.a, tt.b, tt.q), func(t *testing.T) {
			src, dst := make([]float32, tt.a*tt.b*tt.q), make([]float32, tt.a*tt.b*tt.q)
			for i := range src {
				src[i] = float32(i)
			}
			transposeBlocks(src, dst, tt.a, tt.b, tt.q)
			for i := range tt.a {
				for j := range tt.b {
					for e := range tt.q {
						if got, want := dst[(j*tt.a+i)*tt.q+e], src[(i*tt.b+j)*tt.q+e]; got != want {
							t.Fatalf("block (%d, %d) element %d = %v, want %v", j, i, e, got, want)
						}
					}
				}
			}
		})
	}
}

package gemm_test

import (
	"fmt"

	"github.com/siampipe/siampipe/internal/gemm"
)

// A linear layer y = x·Wᵀ for two inputs of three features and two
// outputs: op(b) = Wᵀ, so tB is true and b is W as stored (2×3).
func ExampleSgemm() {
	x := []float32{1, 2, 3, 4, 5, 6} // 2×3
	w := []float32{1, 0, 1, 0, 1, 0} // 2×3: out0 = f0+f2, out1 = f1
	y := make([]float32, 4)          // 2×2
	gemm.Sgemm(false, true, 2, 2, 3, 1, x, 3, w, 3, 0, y, 2)
	fmt.Println(y)
	// Output: [4 2 10 5]
}

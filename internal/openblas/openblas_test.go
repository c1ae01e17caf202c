//go:build openblas

package openblas

import (
	"os"
	"testing"

	"github.com/siampipe/siampipe/internal/cpufeat"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/netlib/blas/netlib"
)

// TestCore checks that the kernels in use are the best this CPU runs: the
// test binary went through init's re-exec if OpenBLAS chose worse ones.
func TestCore(t *testing.T) {
	c := cpufeat.Host()
	core := Core()
	t.Logf("OpenBLAS core %s, %s=%q", core, coreEnv, os.Getenv(coreEnv))
	if up := Upgrade(core, c); up != "" {
		t.Errorf("OpenBLAS runs %s kernels; this CPU runs %s", core, up)
	}
}

// TestGemm checks that blas32 goes to OpenBLAS and multiplies correctly.
func TestGemm(t *testing.T) {
	if _, ok := blas32.Implementation().(netlib.Implementation); !ok {
		t.Fatalf("blas32 uses %T, want OpenBLAS", blas32.Implementation())
	}
	a := blas32.General{Rows: 2, Cols: 3, Stride: 3, Data: []float32{1, 2, 3, 4, 5, 6}}
	b := blas32.General{Rows: 3, Cols: 2, Stride: 2, Data: []float32{7, 8, 9, 10, 11, 12}}
	c := blas32.General{Rows: 2, Cols: 2, Stride: 2, Data: make([]float32, 4)}
	blas32.Gemm(blas.NoTrans, blas.NoTrans, 1, a, b, 0, c)
	want := []float32{58, 64, 139, 154}
	for i := range want {
		if c.Data[i] != want[i] {
			t.Fatalf("Gemm = %v, want %v", c.Data, want)
		}
	}
}

package infer

import (
	"fmt"
	"unsafe"
)

// A kernel computes one mr x nr tile of C = epilogue(A·B):
//
//	C[r*ldc+j] = max(v*mul[j]+add[j], lo[j])*s[j] + t[j],  v = sum_k A[r*lda+k]*B[k*nr+j]
//
// for r < mr, j < nr, reading A row-major (lda floats a row), B as one packed
// column panel (k-major, nr floats for each k) and ep as mul, add, lo, s, t,
// nr floats each. It reads mr rows of A and writes mr full rows of nr floats
// of C, so callers pad both to whole tiles.
type kernel struct {
	name   string
	mr, nr int
	fn     func(k int, a *float32, lda int, b *float32, ep *float32, c *float32, ldc int)
}

// refKernel is the kernel contract in plain Go: the definition the assembly
// kernels are tested against.
func refKernel(mr, nr int) kernel {
	return kernel{name: fmt.Sprintf("go%dx%d", mr, nr), mr: mr, nr: nr, fn: func(k int, a *float32, lda int, b *float32, ep *float32, c *float32, ldc int) {
		as := unsafe.Slice(a, (mr-1)*lda+k)
		bs := unsafe.Slice(b, k*nr)
		es := unsafe.Slice(ep, 5*nr)
		cs := unsafe.Slice(c, (mr-1)*ldc+nr)
		for r := 0; r < mr; r++ {
			for j := 0; j < nr; j++ {
				var v float32
				for kk := 0; kk < k; kk++ {
					v += as[r*lda+kk] * bs[kk*nr+j]
				}
				v = v*es[j] + es[nr+j]
				if v < es[2*nr+j] {
					v = es[2*nr+j]
				}
				cs[r*ldc+j] = v*es[3*nr+j] + es[4*nr+j]
			}
		}
	}}
}

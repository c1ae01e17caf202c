package nnops

// BLASName reports what the Ops' matrix products run on: internal/gemm and
// its micro-kernel ("gemm avx512 14x32"), or, built with -tags openblas,
// OpenBLAS and the kernel family it runs ("openblas SkylakeX").
func BLASName() string { return blasName() }

// sgemm computes c = alpha*op(a)*op(b) + beta*c for row-major matrices,
// where op(a) is m×k and op(b) is k×n, on all cores.
func sgemm(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	sgemmAll(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// sgemmSerial is sgemm on the calling goroutine only: for products that
// already run on all cores, one per chunk of the work.
func sgemmSerial(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	sgemmOne(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

//go:build !purego

package knn

import "golang.org/x/sys/cpu"

// dot3x4 is the AVX2 micro-kernel of dot_amd64.s.
//
//go:noescape
func dot3x4(k int, a *float32, lda int, b *float32, ldb int, acc *float32)

// haveKernel reports whether this CPU runs dot3x4.
var haveKernel = cpu.X86.HasAVX2 && cpu.X86.HasFMA

package nnops

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/siampipe/siampipe/internal/cpufeat"
	"github.com/siampipe/siampipe/internal/cpufeat/cpufeattest"
	"gorgonia.org/tensor"
)

// cpuNow is the process's user+system CPU time: steadier than wall time on
// a shared machine.
func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSgemm measures the BLAS on the matrix shapes of one view of the
// seed model's training step (batch 256).
func BenchmarkSgemm(b *testing.B) {
	shapes := []struct {
		name    string
		tA, tB  bool
		m, n, k int
	}{
		{"conv1 fwd", false, false, 32, 50176, 9},
		{"conv1 dW", false, true, 32, 9, 50176},
		{"conv2 fwd", false, false, 64, 12544, 288},
		{"conv2 dW", false, true, 64, 288, 12544},
		{"conv2 dX", true, false, 288, 12544, 64},
		{"conv3 fwd", false, false, 128, 4096, 576},
		{"conv3 dW", false, true, 128, 576, 4096},
		{"conv3 dX", true, false, 576, 4096, 128},
		{"fc1 fwd", false, true, 256, 64, 2048},
		{"fc2 fwd", false, true, 256, 2048, 64},
		{"fc1 dX", false, false, 256, 2048, 64},
		{"fc1 dW", true, false, 64, 2048, 256},
		{"fc2 dX", false, false, 256, 64, 2048},
		{"fc2 dW", true, false, 2048, 64, 256},
	}
	for _, s := range shapes {
		b.Run(fmt.Sprintf("%s %dx%dx%d", s.name, s.m, s.n, s.k), func(b *testing.B) {
			a := make([]float32, s.m*s.k)
			bb := make([]float32, s.k*s.n)
			c := make([]float32, s.m*s.n)
			for i := range a {
				a[i] = float32(i%7) * 0.1
			}
			for i := range bb {
				bb[i] = float32(i%5) * 0.1
			}
			lda, ldb := s.k, s.n
			if s.tA {
				lda = s.m
			}
			if s.tB {
				ldb = s.k
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				sgemm(s.tA, s.tB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
			}
			b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
		})
	}
}

// BenchmarkBNLayer1 is the forward and backward of the first backbone
// BatchNorm (ReLU fused in front) of one view: 32 channels × 256·14·14.
func BenchmarkBNLayer1(b *testing.B) {
	const c, m = 32, 256 * 14 * 14
	x := make([]float32, c*m)
	dh := make([]float32, c*m)
	for i := range x {
		x[i] = float32(i%13) - 6
		dh[i] = float32(i%7) - 3
	}
	g, bt := make([]float32, c), make([]float32, c)
	for i := range g {
		g[i] = 1
	}
	op := NewBN(4, BNConfig{Affine: true, PreReLU: true})
	gx := &bnGradX{base: newBase("BNGradX", 4, 4, 4, 4, 1), st: op.st}
	tx := tensorOf(x, c, 256, 14, 14)
	tdh := tensorOf(dh, c, 256, 14, 14)
	tg, tb := tensorOf(g, c), tensorOf(bt, c)
	c0 := cpuNow()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h, _ := op.Do(tx, tg, tb)
		if _, err := gx.Do(tx, h, tdh, tg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(c*m), "ns/elem")
	b.ReportMetric(float64((cpuNow()-c0).Nanoseconds())/float64(b.N)/float64(c*m), "cpu-ns/elem")
}

// BenchmarkIm2ColCol2Im is the patch matrix and its adjoint of the second
// backbone convolution of one view (32 channels, 256 images of 14×14).
func BenchmarkIm2ColCol2Im(b *testing.B) {
	const c, n, h, w = 32, 256, 14, 14
	x := make([]float32, c*n*h*w)
	cols := make([]float32, c*9*n*7*7)
	c0 := cpuNow()
	for i := 0; i < b.N; i++ {
		Im2Col(x, cols, c, n, h, w, 3, 2, 1, 7, 7)
		Col2Im(cols, x, c, n, h, w, 3, 2, 1, 7, 7)
	}
	b.ReportMetric(float64((cpuNow()-c0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
}

// BenchmarkIm2ColCol2ImStride1 is the patch matrix and its adjoint of a
// stride-1 3×3 convolution (pad 1) of the deeper backbone, on a small
// slice of it (8 channels, 16 images of 14×14): the stride-1 path against
// the generic loops it replaces.
func BenchmarkIm2ColCol2ImStride1(b *testing.B) {
	const c, n, h, w, k = 8, 16, 14, 14, 3
	rng := rand.New(rand.NewPCG(1, 2))
	x := fill(rng, make([]float32, c*n*h*w))
	cols := fill(rng, make([]float32, c*k*k*n*h*w))
	for _, path := range []struct {
		name           string
		im2col, col2im func()
	}{
		{"stride1", func() { Im2Col(x, cols, c, n, h, w, k, 1, 1, h, w) }, func() { Col2Im(cols, x, c, n, h, w, k, 1, 1, h, w) }},
		{"generic", func() { im2colGeneric(x, cols, n*h*w, c, n, h, w, k, 1, 1, h, w, 0, n) },
			func() { col2imGeneric(cols, n*h*w, x, c, n, h, w, k, 1, 1, h, w, 0, n) }},
	} {
		b.Run("im2col/"+path.name, func(b *testing.B) {
			for b.Loop() {
				path.im2col()
			}
		})
		b.Run("col2im/"+path.name, func(b *testing.B) {
			for b.Loop() {
				path.col2im()
			}
		})
	}
}

// BenchmarkKernels times each vector kernel against the Go loop it
// replaces (the generic level) on the sizes of the seed model's training
// step: one channel of the first BatchNorm (256·14·14 elements), one row
// of the loss (2048), and the padded planes of the three convolutions
// (28×28, 14×14 and 7×7 images, 3×3 at stride 2). Each kernel runs at
// every level this machine has: name/generic, name/avx2, name/avx512.
func BenchmarkKernels(b *testing.B) {
	type kernel struct {
		name string
		run  func()
	}
	const m = 256 * 14 * 14
	rng := rand.New(rand.NewPCG(1, 2))
	x, g, dst := fill(rng, make([]float32, m)), fill(rng, make([]float32, m)), make([]float32, m)
	kernels := []kernel{
		{"sumSqReLU/50176", func() { sumSqReLU(x) }},
		{"scaleShiftReLU/50176", func() { scaleShiftReLU(dst, x, 1.25, -0.5) }},
		{"sumGradReLU/50176", func() { sumGradReLU(g, x, 0.1, 1.5) }},
		{"gradReLU/50176", func() { gradReLU(dst, g, x, 0.7, 0.01, 0.2) }},
		{"sum64/50176", func() { sum64(x) }},
		{"dot3/2048", func() { dot3(x[:2048], g[:2048]) }},
	}
	for _, w := range []int{28, 14, 7} {
		const pad = 1
		pw, wo := w+2*pad, (w+2*pad-3)/2+1
		name := fmt.Sprintf("/%dx%d", w, w)
		plane, img := fill(rng, make([]float32, pw*pw)), fill(rng, make([]float32, w*w))
		cols := make([]float32, 9*wo*wo)
		kernels = append(kernels,
			kernel{"im2col3" + name, func() { im2col3(cols, wo*wo, plane, pw, wo, wo) }},
			kernel{"col2im3" + name, func() { col2im3(plane, pw, cols, wo*wo, wo, wo) }},
			kernel{"copyIntoPlane" + name, func() { copyIntoPlane(plane, img, w, w, pad) }},
			kernel{"copyFromPlane" + name, func() { copyFromPlane(img, plane, w, w, pad) }})
	}
	// The rows the plane kernels do not take: 16 outputs (a 31×31 image).
	plane31, rows31 := fill(rng, make([]float32, 33*33)), make([]float32, 16*16)
	kernels = append(kernels,
		kernel{"gather2/31x31", func() { gather2(rows31, plane31, 16, 16, 2*33) }},
		kernel{"scatter2/31x31", func() { scatter2(plane31, rows31, 16, 16, 2*33) }})
	for _, k := range kernels {
		for _, l := range cpufeat.Levels() {
			b.Run(k.name+"/"+l.String(), func(b *testing.B) {
				cpufeattest.Use(b, l)
				for b.Loop() {
					k.run()
				}
			})
		}
	}
}

// BenchmarkConvLayers is the forward pass, the input and weight gradients
// (one pass, as in training) and the weight gradient alone (as the first
// layer, which has no input gradient, computes it) of each backbone
// convolution of one view (256 images), in GFLOP/s of the products.
func BenchmarkConvLayers(b *testing.B) {
	for _, l := range []struct{ cin, cout, h int }{{1, 32, 28}, {32, 64, 14}, {64, 128, 7}} {
		rng := rand.New(rand.NewPCG(1, 2))
		x := tensor.New(tensor.WithShape(l.cin, 256, l.h, l.h), tensor.WithBacking(randn(rng, l.cin*256*l.h*l.h)))
		w := tensor.New(tensor.WithShape(l.cout, l.cin, 3, 3), tensor.WithBacking(randn(rng, l.cout*l.cin*9)))
		bias := tensor.New(tensor.WithShape(l.cout), tensor.WithBacking(randn(rng, l.cout)))
		conv := NewConv(2, 1, false)
		y, _ := conv.Do(x, w, bias)
		g := y.(*tensor.Dense).Clone().(*tensor.Dense)
		dx := &convDX{base: newBase("ConvDX", 4, 4, 4, 4), st: conv.st}
		dw := &convDW{base: newBase("ConvDW", 4, 4, 4), st: conv.st}
		flops := float64(2 * l.cout * l.cin * 9 * 256 * ((l.h + 1) / 2) * ((l.h + 1) / 2))
		b.Run(fmt.Sprintf("fwd%d", l.cin), func(b *testing.B) {
			for range b.N {
				conv.Do(x, w, bias)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
		})
		b.Run(fmt.Sprintf("dxdw%d", l.cin), func(b *testing.B) { // one pass: dX and dW
			for range b.N {
				dx.Do(g, w, x)
			}
			b.ReportMetric(2*flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
		})
		b.Run(fmt.Sprintf("dw%d", l.cin), func(b *testing.B) {
			for range b.N {
				dw.Do(g, x)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
		})
	}
}

// BenchmarkIm2colChunks is the patch matrix of each backbone convolution
// of one view built a chunk of images at a time, into rows of whole cache
// lines, as the forward pass and the weight gradient build it.
func BenchmarkIm2colChunks(b *testing.B) {
	for _, l := range []struct{ cin, h, chunk int }{{32, 14, 16}, {64, 7, 22}, {1, 28, 64}} {
		rng := rand.New(rand.NewPCG(1, 2))
		n := 256
		x := randn(rng, l.cin*n*l.h*l.h)
		ho := (l.h + 1) / 2
		P := ho * ho
		cols := make([]float32, l.cin*9*padLine(l.chunk*P))
		b.Run(fmt.Sprint(l.cin), func(b *testing.B) {
			for range b.N {
				for b0 := 0; b0 < n; b0 += l.chunk {
					b1 := min(n, b0+l.chunk)
					im2colRange(x, cols, padLine((b1-b0)*P), l.cin, n, l.h, l.h, 3, 2, 1, ho, ho, b0, b1)
				}
			}
			b.ReportMetric(float64(len(cols))*float64(n)/float64(l.chunk)*4*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s-written")
		})
	}
}

package infer

import "fmt"

// Worker holds the scratch buffers of one goroutine's forward passes. Its
// memory grows to the largest batch it has seen and no further.
type Worker struct {
	m     *Model
	img   []float32    // a group of images, pixels/255
	cols  []float32    // im2col rows of one conv
	act   [2][]float32 // conv activations, channels last
	z     []float32    // backbone output of a batch (when heads follow)
	dense [2][]float32 // head activations
}

// NewWorker returns a Worker for m.
func (m *Model) NewWorker() *Worker { return &Worker{m: m} }

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// Forward computes the features of n images into out: pixels holds n
// row-major height x width images (bytes, scaled by 1/255 as torchvision's
// ToTensor does), out receives n rows of Dim() floats. It panics if pixels or
// out has another length.
func (w *Worker) Forward(pixels []uint8, n int, out []float32) {
	m := w.m
	if len(pixels) != n*m.height*m.width || len(out) != n*m.dim {
		panic(fmt.Sprintf("infer: Forward of %d images: %d pixel bytes, %d outputs (want %d and %d)", n, len(pixels), len(out), n*m.height*m.width, n*m.dim))
	}
	e := m.eng
	z, ldz := out, m.dim
	if len(m.dense) > 0 {
		w.z = grow(w.z, e.rows(n)*m.zdim)
		z, ldz = w.z, m.zdim
	}
	g := e.group()
	hw := m.height * m.width
	for i0 := 0; i0 < n; i0 += g {
		gi := min(g, n-i0)
		w.img = grow(w.img, gi*hw)
		for i, p := range pixels[i0*hw : (i0+gi)*hw] {
			w.img[i] = float32(p) / 255
		}
		in, ldin := w.img, 1
		var o *op
		for l, c := range m.convs {
			o = c
			rows := gi * o.hout * o.wout
			w.cols = grow(w.cols, e.rows(rows)*o.k)
			im2col(w.cols, in, ldin, gi, o)
			dst := &w.act[l%2]
			*dst = grow(*dst, e.rows(rows)*o.npad)
			e.gemm(o, rows, w.cols, o.k, *dst, o.npad)
			in, ldin = *dst, o.npad
		}
		// Flatten channels-last to PyTorch's (C,H,W) order.
		hwo := o.hout * o.wout
		for i := range gi {
			zr := z[(i0+i)*ldz : (i0+i)*ldz+m.zdim]
			src := in[i*hwo*ldin:]
			for p := range hwo {
				px := src[p*ldin : p*ldin+o.n]
				for ch, v := range px {
					zr[ch*hwo+p] = v
				}
			}
		}
	}
	if len(m.dense) == 0 {
		return
	}
	a, lda := z, m.zdim
	for l, o := range m.dense {
		dst := &w.dense[l%2]
		*dst = grow(*dst, e.rows(n)*o.npad)
		e.gemm(o, n, a, lda, *dst, o.npad)
		a, lda = *dst, o.npad
	}
	for i := range n {
		copy(out[i*m.dim:(i+1)*m.dim], a[i*lda:i*lda+m.dim])
	}
}

// im2col writes the rows of conv o's product for gi images of in (channels
// last, ldin floats a pixel): row (img, oy, ox) holds the 3x3 patch around
// input pixel (2oy, 2ox), zero-padded, in (ky, kx, cin) order.
func im2col(cols, in []float32, ldin, gi int, o *op) {
	c, h, wd, k := o.cin, o.hin, o.win, o.k
	r := 0
	for img := range gi {
		base := img * h * wd
		for oy := range o.hout {
			for ox := range o.wout {
				row := cols[r*k : (r+1)*k]
				r++
				for ky := range 3 {
					iy := 2*oy - 1 + ky
					for kx := range 3 {
						ix := 2*ox - 1 + kx
						seg := row[(ky*3+kx)*c : (ky*3+kx+1)*c]
						if iy < 0 || iy >= h || ix < 0 || ix >= wd {
							clear(seg)
							continue
						}
						p := (base + iy*wd + ix) * ldin
						if c == 1 {
							seg[0] = in[p]
						} else {
							copy(seg, in[p:p+c])
						}
					}
				}
			}
		}
	}
}

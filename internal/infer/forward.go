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
// images of Channels() planes of height x width bytes (CHW, scaled by 1/255
// as torchvision's ToTensor does), out receives n rows of Dim() floats. It
// panics if pixels or out has another length.
func (w *Worker) Forward(pixels []uint8, n int, out []float32) {
	m := w.m
	if len(pixels) != n*m.imageLen() || len(out) != n*m.dim {
		panic(fmt.Sprintf("infer: Forward of %d images: %d pixel bytes, %d outputs (want %d and %d)", n, len(pixels), len(out), n*m.imageLen(), n*m.dim))
	}
	e := m.eng
	z, ldz := out, m.dim
	if len(m.dense) > 0 {
		w.z = grow(w.z, e.rows(n)*m.zdim)
		z, ldz = w.z, m.zdim
	}
	g := e.group()
	hw := m.imageLen()
	for i0 := 0; i0 < n; i0 += g {
		gi := min(g, n-i0)
		var o *op
		var in []float32
		ldin := 0
		for l, c := range m.convs {
			o = c
			rows := gi * o.hout * o.wout
			w.cols = grow(w.cols, e.rows(rows)*o.k)
			switch {
			case l == 0 && m.channels == 1:
				w.img = grow(w.img, gi*(m.height+2)*(m.width+2))
				im2colImage(w.cols, w.img, pixels[i0*hw:(i0+gi)*hw], gi, o)
			case l == 0:
				w.img = grow(w.img, gi*hw)
				channelsLast(w.img, pixels[i0*hw:(i0+gi)*hw], m.channels, m.height*m.width)
				im2col(w.cols, w.img, m.channels, gi, o)
			default:
				im2col(w.cols, in, ldin, gi, o)
			}
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

// imageLen is the bytes of one image.
func (m *Model) imageLen() int { return m.channels * m.height * m.width }

// channelsLast writes images of c planes of hw bytes (CHW) to dst as
// pixels of c floats (HWC), scaled by 1/255.
func channelsLast(dst []float32, src []uint8, c, hw int) {
	for img := range len(src) / (c * hw) {
		s, d := src[img*c*hw:(img+1)*c*hw], dst[img*c*hw:(img+1)*c*hw]
		for ch := range c {
			for p, v := range s[ch*hw : (ch+1)*hw] {
				d[p*c+ch] = float32(v) / 255
			}
		}
	}
}

// im2colImage writes the rows of the first conv o's product for gi images
// of pixels (one channel, bytes): row (img, oy, ox) holds the 3x3 patch
// around pixel (2oy, 2ox), zero-padded, of pixels/255. pad is scratch for
// the images with a zero border.
func im2colImage(cols, pad []float32, pixels []uint8, gi int, o *op) {
	h, wd := o.hin, o.win
	pw := wd + 2
	clear(pad)
	for img := range gi {
		src := pixels[img*h*wd : (img+1)*h*wd]
		dst := pad[img*(h+2)*pw : (img+1)*(h+2)*pw]
		for y := range h {
			d := dst[(y+1)*pw+1 : (y+1)*pw+1+wd]
			for x, p := range src[y*wd : (y+1)*wd] {
				d[x] = float32(p) / 255
			}
		}
	}
	r := 0
	for img := range gi {
		src := pad[img*(h+2)*pw : (img+1)*(h+2)*pw]
		for oy := range o.hout {
			for ox := range o.wout {
				row := cols[r*9 : r*9+9]
				r++
				p := 2*oy*pw + 2*ox
				top, mid, bot := src[p:p+3], src[p+pw:p+pw+3], src[p+2*pw:p+2*pw+3]
				row[0], row[1], row[2] = top[0], top[1], top[2]
				row[3], row[4], row[5] = mid[0], mid[1], mid[2]
				row[6], row[7], row[8] = bot[0], bot[1], bot[2]
			}
		}
	}
}

// im2col writes the rows of conv o's product for gi images of in (channels
// last, ldin floats a pixel): row (img, oy, ox) holds the 3x3 patch around
// input pixel (s·oy, s·ox) for o's stride s, zero-padded, in (ky, kx, cin)
// order.
func im2col(cols, in []float32, ldin, gi int, o *op) {
	c, h, wd, k, s := o.cin, o.hin, o.win, o.k, o.stride
	r := 0
	for img := range gi {
		base := img * h * wd
		for oy := range o.hout {
			for ox := range o.wout {
				row := cols[r*k : (r+1)*k]
				r++
				for ky := range 3 {
					iy := s*oy - 1 + ky
					seg := row[ky*3*c : (ky+1)*3*c]
					if iy < 0 || iy >= h {
						clear(seg)
						continue
					}
					if ix := s*ox - 1; ldin == c && ix >= 0 && ix+2 < wd {
						// the three pixels are adjacent: one copy
						p := (base + iy*wd + ix) * c
						copy(seg, in[p:p+3*c])
						continue
					}
					for kx := range 3 {
						ix := s*ox - 1 + kx
						s := seg[kx*c : (kx+1)*c]
						if ix < 0 || ix >= wd {
							clear(s)
							continue
						}
						p := (base + iy*wd + ix) * ldin
						copy(s, in[p:p+c])
					}
				}
			}
		}
	}
}

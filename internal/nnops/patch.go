package nnops

// Stride-2 patch extraction through a zero-padded copy of each image plane:
// with the padding materialised, every (ky, kx) row of the patch matrix is
// a plain strided gather (and its adjoint a strided add) with no edge cases,
// which vector kernels do a row of output at a time (patch_amd64.s).

// gather2Go sets dst[r·wo+j] = src[r·sstride+2j] for r < rows, j < wo.
func gather2Go(dst, src []float32, rows, wo, sstride int) {
	for r := 0; r < rows; r++ {
		d := dst[r*wo : (r+1)*wo]
		s := src[r*sstride : r*sstride+2*wo-1]
		for j := range d {
			d[j] = s[2*j]
		}
	}
}

// scatter2Go adds src[r·wo+j] to dst[r·dstride+2j] for r < rows, j < wo.
func scatter2Go(dst, src []float32, rows, wo, dstride int) {
	for r := 0; r < rows; r++ {
		s := src[r*wo : (r+1)*wo]
		d := dst[r*dstride : r*dstride+2*wo-1]
		for j, v := range s {
			d[2*j] += v
		}
	}
}

// stride2Fits reports whether the padded-plane path handles the geometry.
func stride2Fits(stride, ho, wo, h, w, k, pad int) bool {
	return stride == 2 && wo <= 16 && 2*(ho-1)+k <= h+2*pad && 2*(wo-1)+k <= w+2*pad
}

// planeKernels reports whether the one-call-per-plane AVX-512 kernels
// (3×3 windows, rows of at most 15 outputs) take the geometry.
func planeKernels(k, wo int) bool { return useAVX512() && k == 3 && wo <= 15 }

// im2colStride2 is im2colRange for stride 2 (see stride2Fits).
func im2colStride2(x, cols []float32, ld, c, n, h, w, k, pad, ho, wo, b0, b1 int) {
	P := ho * wo
	pw := w + 2*pad
	plane := make([]float32, (h+2*pad)*pw)
	cols = cols[:(c*k*k-1)*ld+(b1-b0)*P]
	for ci := 0; ci < c; ci++ {
		for b := b0; b < b1; b++ {
			img := x[(ci*n+b)*h*w : (ci*n+b+1)*h*w]
			copyIntoPlane(plane, img, h, w, pad)
			if planeKernels(k, wo) {
				// In bounds: the nine rows end inside cols (resliced
				// above), and stride2Fits keeps the reads inside the plane.
				im2col3AVX512(&cols[ci*9*ld+(b-b0)*P], ld, &plane[0], pw, ho, wo)
				continue
			}
			for ky := 0; ky < k; ky++ {
				for kx := 0; kx < k; kx++ {
					r := (ci*k+ky)*k + kx
					dst, src := cols[r*ld+(b-b0)*P:r*ld+(b-b0+1)*P], plane[ky*pw+kx:]
					if useAVX512() {
						// In bounds: dst has ho·wo elements, and
						// stride2Fits keeps the reads inside the plane.
						gather2AVX512(&dst[0], &src[0], ho, wo, 2*pw)
					} else {
						gather2Go(dst, src, ho, wo, 2*pw)
					}
				}
			}
		}
	}
}

// col2imStride2 is col2imRange for stride 2 (see stride2Fits).
func col2imStride2(cols []float32, ld int, x []float32, c, n, h, w, k, pad, ho, wo, b0, b1 int) {
	P := ho * wo
	pw := w + 2*pad
	plane := make([]float32, (h+2*pad)*pw)
	cols = cols[:(c*k*k-1)*ld+(b1-b0)*P]
	for ci := 0; ci < c; ci++ {
		for b := b0; b < b1; b++ {
			clear(plane)
			if planeKernels(k, wo) {
				col2im3AVX512(&plane[0], pw, &cols[ci*9*ld+(b-b0)*P], ld, ho, wo) // in bounds as in im2colStride2
			} else {
				for ky := 0; ky < k; ky++ {
					for kx := 0; kx < k; kx++ {
						r := (ci*k+ky)*k + kx
						dst, src := plane[ky*pw+kx:], cols[r*ld+(b-b0)*P:r*ld+(b-b0+1)*P]
						if useAVX512() {
							scatter2AVX512(&dst[0], &src[0], ho, wo, 2*pw) // in bounds as in im2colStride2
						} else {
							scatter2Go(dst, src, ho, wo, 2*pw)
						}
					}
				}
			}
			img := x[(ci*n+b)*h*w : (ci*n+b+1)*h*w]
			copyFromPlane(img, plane, h, w, pad)
		}
	}
}

// copyIntoPlane copies the h×w image img into the interior of the padded
// plane ((h+2·pad)×(w+2·pad)); the border is left as it is.
func copyIntoPlane(plane, img []float32, h, w, pad int) {
	pw := w + 2*pad
	plane, img = plane[:(h+2*pad)*pw], img[:h*w]
	if useAVX512() && w <= 32 {
		copyRowsAVX512(&plane[pad*pw+pad], pw, &img[0], w, h, w) // in bounds: resliced above
		return
	}
	for y := 0; y < h; y++ {
		copy(plane[(y+pad)*pw+pad:(y+pad)*pw+pad+w], img[y*w:(y+1)*w])
	}
}

// copyFromPlane copies the interior of the padded plane into img.
func copyFromPlane(img, plane []float32, h, w, pad int) {
	pw := w + 2*pad
	plane, img = plane[:(h+2*pad)*pw], img[:h*w]
	if useAVX512() && w <= 32 {
		copyRowsAVX512(&img[0], w, &plane[pad*pw+pad], pw, h, w)
		return
	}
	for y := 0; y < h; y++ {
		copy(img[y*w:(y+1)*w], plane[(y+pad)*pw+pad:(y+pad)*pw+pad+w])
	}
}

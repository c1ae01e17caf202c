package nnops

// Stride-2 patch extraction through a zero-padded copy of each image plane:
// with the padding materialised, every (ky, kx) row of the patch matrix is
// a plain strided gather (and its adjoint a strided add) with no edge cases,
// which vector kernels do a row of output at a time (patch_amd64.s with
// AVX-512, patch_avx2_amd64.s with AVX2). At stride 1 the same plane makes
// every row of the patch matrix a block of row copies (copyRows) and its
// adjoint a block of row adds.

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

// gather2 is gather2Go with the vector kernels where the level has them
// (wo <= 16). It panics if dst or src is too short.
func gather2(dst, src []float32, rows, wo, sstride int) {
	if rows <= 0 || wo <= 0 {
		return
	}
	dst, src = dst[:rows*wo], src[:(rows-1)*sstride+2*wo-1]
	switch {
	case wo > 16:
	case useAVX512():
		gather2AVX512(&dst[0], &src[0], rows, wo, sstride)
		return
	case useAVX2():
		gather2AVX2(&dst[0], &src[0], rows, wo, sstride)
		return
	}
	gather2Go(dst, src, rows, wo, sstride)
}

// scatter2 is scatter2Go with the vector kernels where the level has them
// (wo <= 16). It panics if dst or src is too short.
func scatter2(dst, src []float32, rows, wo, dstride int) {
	if rows <= 0 || wo <= 0 {
		return
	}
	dst, src = dst[:(rows-1)*dstride+2*wo-1], src[:rows*wo]
	switch {
	case wo > 16:
	case useAVX512():
		scatter2AVX512(&dst[0], &src[0], rows, wo, dstride)
		return
	case useAVX2():
		scatter2AVX2(&dst[0], &src[0], rows, wo, dstride)
		return
	}
	scatter2Go(dst, src, rows, wo, dstride)
}

// planeFits reports whether im2col3 and col2im3 take the geometry: the
// plane kernels do 3×3 windows and rows of at most 15 outputs.
func planeFits(k, wo int) bool { return k == 3 && wo <= 15 }

// im2col3 writes the nine patch-matrix rows of one padded plane (pw wide)
// for a 3×3 kernel at stride 2: cols[(ky·3+kx)·np + oy·wo + j] =
// plane[(2oy+ky)·pw + 2j+kx] for oy < ho, j < wo. It panics if cols or
// plane is too short or the rows do not fit in pw.
func im2col3(cols []float32, np int, plane []float32, pw, ho, wo int) {
	if ho <= 0 || wo <= 0 {
		return
	}
	cols, plane = cols[:8*np+ho*wo], plane[:2*ho*pw+2*wo+1]
	switch {
	case wo > 15 || 2*wo+1 > pw || ho*wo > np:
		panic("nnops: im2col3: bad geometry")
	case useAVX512():
		im2col3AVX512(&cols[0], np, &plane[0], pw, ho, wo)
		return
	case useAVX2():
		im2col3AVX2(&cols[0], np, &plane[0], pw, ho, wo)
		return
	}
	im2col3Go(cols, np, plane, pw, ho, wo)
}

// im2col3Go is im2col3 in Go: nine strided gathers.
func im2col3Go(cols []float32, np int, plane []float32, pw, ho, wo int) {
	for ky := 0; ky < 3; ky++ {
		for kx := 0; kx < 3; kx++ {
			r := ky*3 + kx
			gather2Go(cols[r*np:r*np+ho*wo], plane[ky*pw+kx:], ho, wo, 2*pw)
		}
	}
}

// col2im3 is the adjoint of im2col3: it adds the nine rows into the plane,
// in the order of the Go loops (by ky, then kx, then oy: each element gets
// its terms by ky, then kx). The vector kernels may rewrite elements of
// the plane between the windows, adding +0 to them. It panics as im2col3.
func col2im3(plane []float32, pw int, cols []float32, np, ho, wo int) {
	if ho <= 0 || wo <= 0 {
		return
	}
	cols, plane = cols[:8*np+ho*wo], plane[:2*ho*pw+2*wo+1]
	switch {
	case wo > 15 || 2*wo+1 > pw || ho*wo > np:
		panic("nnops: col2im3: bad geometry")
	case useAVX512():
		col2im3AVX512(&plane[0], pw, &cols[0], np, ho, wo)
		return
	case useAVX2():
		col2im3AVX2(&plane[0], pw, &cols[0], np, ho, wo)
		return
	}
	col2im3Go(plane, pw, cols, np, ho, wo)
}

// col2im3Go is col2im3 in Go: nine strided adds, by ky, then kx.
func col2im3Go(plane []float32, pw int, cols []float32, np, ho, wo int) {
	for ky := 0; ky < 3; ky++ {
		for kx := 0; kx < 3; kx++ {
			r := ky*3 + kx
			scatter2Go(plane[ky*pw+kx:], cols[r*np:r*np+ho*wo], ho, wo, 2*pw)
		}
	}
}

// copyRows copies rows of w elements between strided layouts:
// dst[r·dstride+j] = src[r·sstride+j] for r < rows, j < w. It panics if
// dst or src is too short.
func copyRows(dst []float32, dstride int, src []float32, sstride, rows, w int) {
	if rows <= 0 || w <= 0 {
		return
	}
	dst, src = dst[:(rows-1)*dstride+w], src[:(rows-1)*sstride+w]
	switch {
	case w > 32:
	case useAVX512():
		copyRowsAVX512(&dst[0], dstride, &src[0], sstride, rows, w)
		return
	case useAVX2():
		copyRowsAVX2(&dst[0], dstride, &src[0], sstride, rows, w)
		return
	}
	for r := 0; r < rows; r++ {
		copy(dst[r*dstride:r*dstride+w], src[r*sstride:r*sstride+w])
	}
}

// directFits reports whether im2col3Direct takes the geometry: a 3×3
// window at stride 2 with padding 1 over rows of at most 30 elements.
func directFits(k, pad, w, wo int) bool {
	return k == 3 && pad == 1 && w <= 30 && wo <= 15 && w <= 2*wo
}

// im2col3Direct writes the nine patch-matrix rows of each of n images of x
// (h·w floats each) for a 3×3 window at stride 2 and padding 1, straight
// from the images: cols[(ky·3+kx)·ld + (i·ho+oy)·wo + j] =
// x[i][2oy−1+ky][2j−1+kx], or 0 outside the image. It needs the AVX-512
// level (useAVX512; other levels go through padded planes) and rows a
// multiple of 16 floats apart (ld; its stores are whole 64-byte lines), and
// panics without them, if cols or x is too short, or if the geometry does
// not fit (see directFits).
func im2col3Direct(cols []float32, ld int, x []float32, h, w, ho, wo, n int) {
	if !useAVX512() {
		panic("nnops: im2col3Direct: no AVX-512")
	}
	if n <= 0 || ho <= 0 || wo <= 0 {
		return
	}
	if !directFits(3, 1, w, wo) || ho != (h-1)/2+1 || wo != (w-1)/2+1 || n*ho*wo > ld || ld%lineFloats != 0 {
		panic("nnops: im2col3Direct: bad geometry")
	}
	cols, x = cols[:8*ld+n*ho*wo], x[:n*h*w]
	if w <= 14 { // wo <= 7: a row's window fits in 16 lanes
		im2col3PairsAVX512(&cols[0], ld, &x[0], h, w, ho, wo, n, &pairTables[wo][0])
		return
	}
	im2col3DirectAVX512(&cols[0], ld, &x[0], h, w, ho, wo, n, &directTable[0])
}

// lineFloats is the floats of a 64-byte cache line: the row stride the
// direct im2col kernels need, and the patch buffers' rows are padded to.
const lineFloats = 16

// padLine rounds n up to a multiple of lineFloats.
func padLine(n int) int { return (n + lineFloats - 1) / lineFloats * lineFloats }

// An appendTable holds a direct im2col kernel's permutations for its
// aligned stores (the kernels' APPEND3): for kx = 0, 1, 2 and f = 0..15,
// the kx table rotated by f lanes (lane i takes lane (i−f) mod 16 of it),
// so that a row's outputs land from lane f of the line being filled; then,
// at lane 0 of each of 16 more slots of 16, the mask of the lanes from f on.
type appendTable [4 * 16 * 16]int32

func newAppendTable(base [3][16]int32) (t appendTable) {
	for kx := range 3 {
		for f := range 16 {
			for i := range 16 {
				t[(kx*16+f)*16+i] = base[kx][(i-f+16)%16]
			}
		}
	}
	for f := range 16 {
		t[(48+f)*16] = int32(0xffff << f & 0xffff)
	}
	return t
}

// directTable is im2col3DirectAVX512's: lane j of kx takes element 2j+kx
// of the 32-lane window (lane 0 the padding column).
var directTable = func() appendTable {
	var base [3][16]int32
	for kx := range 3 {
		for j := range 16 {
			base[kx][j] = int32(2*j + kx)
		}
	}
	return newAppendTable(base)
}()

// pairTables[wo] is im2col3PairsAVX512's for rows of wo outputs (wo <= 7):
// lane j < wo of kx takes element 2j+kx of the first row's window and lane
// wo+j element 2j+kx of the second's (16 lanes on).
var pairTables = func() (t [8]appendTable) {
	for wo := 1; wo < len(t); wo++ {
		var base [3][16]int32
		for kx := range 3 {
			for j := range wo {
				base[kx][j] = int32(2*j + kx)
				base[kx][wo+j] = int32(16 + 2*j + kx)
			}
		}
		t[wo] = newAppendTable(base)
	}
	return t
}()

// col2im3Direct is the adjoint of im2col3Direct: it overwrites the n
// images of x with the sums of their window terms from cols, added by ky,
// then kx (col2imGeneric's order), without a padded plane. It panics as
// im2col3Direct.
func col2im3Direct(x, cols []float32, ld, h, w, ho, wo, n int) {
	if !useAVX512() {
		panic("nnops: col2im3Direct: no AVX-512")
	}
	if n <= 0 || h <= 0 || w <= 0 {
		return
	}
	if !directFits(3, 1, w, wo) || ho != (h-1)/2+1 || wo != (w-1)/2+1 || n*ho*wo > ld {
		panic("nnops: col2im3Direct: bad geometry")
	}
	cols, x = cols[:8*ld+n*ho*wo], x[:n*h*w]
	col2im3DirectAVX512(&x[0], &cols[0], ld, h, w, ho, wo, n)
}

// im2colStride2 is im2colRange for stride 2 (see stride2Fits).
func im2colStride2(x, cols []float32, ld, c, n, h, w, k, pad, ho, wo, b0, b1 int, plane []float32) {
	P := ho * wo
	if directFits(k, pad, w, wo) && useAVX512() && ld%lineFloats == 0 {
		for ci := 0; ci < c; ci++ {
			im2col3Direct(cols[ci*9*ld:], ld, x[(ci*n+b0)*h*w:(ci*n+b1)*h*w], h, w, ho, wo, b1-b0)
		}
		return
	}
	pw := w + 2*pad
	plane = zeroPlane(plane, (h+2*pad)*pw)
	for ci := 0; ci < c; ci++ {
		for b := b0; b < b1; b++ {
			img := x[(ci*n+b)*h*w : (ci*n+b+1)*h*w]
			copyIntoPlane(plane, img, h, w, pad)
			if planeFits(k, wo) {
				im2col3(cols[ci*9*ld+(b-b0)*P:], ld, plane, pw, ho, wo)
				continue
			}
			for ky := 0; ky < k; ky++ {
				for kx := 0; kx < k; kx++ {
					r := (ci*k+ky)*k + kx
					gather2(cols[r*ld+(b-b0)*P:], plane[ky*pw+kx:], ho, wo, 2*pw)
				}
			}
		}
	}
}

// col2imStride2 is col2imRange for stride 2 (see stride2Fits).
func col2imStride2(cols []float32, ld int, x []float32, c, n, h, w, k, pad, ho, wo, b0, b1 int) {
	P := ho * wo
	if directFits(k, pad, w, wo) && useAVX512() {
		for ci := 0; ci < c; ci++ {
			col2im3Direct(x[(ci*n+b0)*h*w:(ci*n+b1)*h*w], cols[ci*9*ld:], ld, h, w, ho, wo, b1-b0)
		}
		return
	}
	pw := w + 2*pad
	plane := make([]float32, (h+2*pad)*pw)
	for ci := 0; ci < c; ci++ {
		for b := b0; b < b1; b++ {
			clear(plane)
			if planeFits(k, wo) {
				col2im3(plane, pw, cols[ci*9*ld+(b-b0)*P:], ld, ho, wo)
			} else {
				for ky := 0; ky < k; ky++ {
					for kx := 0; kx < k; kx++ {
						r := (ci*k+ky)*k + kx
						scatter2(plane[ky*pw+kx:], cols[r*ld+(b-b0)*P:], ho, wo, 2*pw)
					}
				}
			}
			img := x[(ci*n+b)*h*w : (ci*n+b+1)*h*w]
			copyFromPlane(img, plane, h, w, pad)
		}
	}
}

// zeroPlane returns buf's first n floats cleared (a padded plane whose
// border the image copies leave at 0), or a new plane if buf is shorter.
func zeroPlane(buf []float32, n int) []float32 {
	if len(buf) < n {
		return make([]float32, n)
	}
	clear(buf[:n])
	return buf[:n]
}

// copyIntoPlane copies the h×w image img into the interior of the padded
// plane ((h+2·pad)×(w+2·pad)); the border is left as it is.
func copyIntoPlane(plane, img []float32, h, w, pad int) {
	pw := w + 2*pad
	copyRows(plane[pad*pw+pad:], pw, img, w, h, w)
}

// copyFromPlane copies the interior of the padded plane into img.
func copyFromPlane(img, plane []float32, h, w, pad int) {
	pw := w + 2*pad
	copyRows(img, w, plane[pad*pw+pad:], pw, h, w)
}

// stride1Fits reports whether the stride-1 padded-plane path handles the
// geometry: stride 1 and every window inside the padded plane (true of
// every output size the convolution computes).
func stride1Fits(stride, ho, wo, h, w, k, pad int) bool {
	return stride == 1 && ho >= 1 && wo >= 1 && ho-1+k <= h+2*pad && wo-1+k <= w+2*pad
}

// im2colStride1 is im2colRange for stride 1 (see stride1Fits): row (ci, ky,
// kx) of an image's patch matrix is the ho×wo block of its padded plane at
// (ky, kx), copied a row at a time.
func im2colStride1(x, cols []float32, ld, c, n, h, w, k, pad, ho, wo, b0, b1 int, plane []float32) {
	P := ho * wo
	pw := w + 2*pad
	if pad > 0 {
		plane = zeroPlane(plane, (h+2*pad)*pw)
	}
	for ci := 0; ci < c; ci++ {
		for b := b0; b < b1; b++ {
			src := x[(ci*n+b)*h*w : (ci*n+b+1)*h*w]
			if pad > 0 {
				copyIntoPlane(plane, src, h, w, pad)
				src = plane
			}
			for ky := 0; ky < k; ky++ {
				for kx := 0; kx < k; kx++ {
					r := (ci*k+ky)*k + kx
					copyRows(cols[r*ld+(b-b0)*P:], wo, src[ky*pw+kx:], pw, ho, wo)
				}
			}
		}
	}
}

// col2imStride1 is col2imRange for stride 1 (see stride1Fits): the adjoint
// of im2colStride1, summed into a cleared padded plane whose interior is
// then copied out. Each element gets its terms in the order of
// col2imGeneric (by ky, then kx), so the two give the same bits.
func col2imStride1(cols []float32, ld int, x []float32, c, n, h, w, k, pad, ho, wo, b0, b1 int) {
	P := ho * wo
	pw := w + 2*pad
	plane := make([]float32, (h+2*pad)*pw)
	for ci := 0; ci < c; ci++ {
		for b := b0; b < b1; b++ {
			clear(plane)
			row := func(ky, kx int) []float32 {
				r := (ci*k+ky)*k + kx
				return cols[r*ld+(b-b0)*P : r*ld+(b-b0+1)*P]
			}
			for ky := 0; ky < k; ky++ {
				if k == 3 && wo >= 3 {
					add3Rows(plane[ky*pw:], pw, row(ky, 0), row(ky, 1), row(ky, 2), ho, wo)
					continue
				}
				for kx := 0; kx < k; kx++ {
					addRows(plane[ky*pw+kx:], pw, row(ky, kx), wo, ho, wo)
				}
			}
			copyFromPlane(x[(ci*n+b)*h*w:(ci*n+b+1)*h*w], plane, h, w, pad)
		}
	}
}

// addRows adds rows of w elements between strided layouts:
// dst[r·dstride+j] += src[r·sstride+j] for r < rows, j < w. It panics if
// dst or src is too short.
func addRows(dst []float32, dstride int, src []float32, sstride, rows, w int) {
	for r := 0; r < rows; r++ {
		d := dst[r*dstride : r*dstride+w]
		for j, v := range src[r*sstride : r*sstride+w] {
			d[j] += v
		}
	}
}

// add3Rows is addRows of the three kx rows a, b, c (each rows×wo, packed)
// of one ky of a 3-wide window, at column offsets 0, 1 and 2 of dst, in one
// pass: dst[r·dstride+x] += a[r·wo+x] + b[r·wo+x−1] + c[r·wo+x−2], the
// terms that exist, added in that order (as three addRows calls would).
// It needs wo >= 3 and panics if dst, a, b or c is too short.
func add3Rows(dst []float32, dstride int, a, b, c []float32, rows, wo int) {
	for r := 0; r < rows; r++ {
		d := dst[r*dstride : r*dstride+wo+2]
		ar, br, cr := a[r*wo:(r+1)*wo], b[r*wo:(r+1)*wo], c[r*wo:(r+1)*wo]
		d[0] += ar[0]
		d[1] = d[1] + ar[1] + br[0]
		mid := d[2:wo]
		ar, bm, cm := ar[2:wo], br[1:wo-1], cr[:wo-2]
		for x := range mid {
			mid[x] = mid[x] + ar[x] + bm[x] + cm[x]
		}
		d[wo] = d[wo] + br[wo-1] + cr[wo-2]
		d[wo+1] += cr[wo-1]
	}
}

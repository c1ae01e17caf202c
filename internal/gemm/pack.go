package gemm

// packATile packs rows i..i+r-1 of op(a), columns pc..pc+kc-1, into dst as
// one row tile: k-major, kern.as floats for each p, of which the first r
// are the rows (the others are left alone and never read).
func packATile(dst []float32, o *operands, kern *kernel, i, r, pc, kc int) {
	as := kern.as
	dst = dst[:kc*as]
	if o.tA { // op(a)[i][p] = a[p*lda+i]: rows of a are copied
		if kern.copyRows != nil {
			kern.copyRows(kc, &o.a[pc*o.lda+i], o.lda, &dst[0], as, r)
			return
		}
		for q := range kc {
			copy(dst[q*as:q*as+r], o.a[(pc+q)*o.lda+i:][:r])
		}
		return
	}
	// op(a)[i][p] = a[i*lda+p]: rows of a are transposed, 8 at a time, in
	// bands of columns that keep the band of dst in L1 (each 8 rows write
	// half of a slot).
	q0 := 0
	if kern.tr8 != nil && kc >= 8 {
		for ; q0+8 <= kc; q0 += trBand {
			k8 := min(trBand, kc-q0) / 8
			for b0 := 0; b0 < r; b0 += 8 {
				kern.tr8(k8, &o.a[(i+b0)*o.lda+pc+q0], o.lda, min(8, r-b0), &dst[q0*as+b0], as)
			}
		}
		q0 = kc / 8 * 8
	}
	for ii := range r {
		src := o.a[(i+ii)*o.lda+pc:][:kc]
		for q := q0; q < kc; q++ {
			dst[q*as+ii] = src[q]
		}
	}
}

// trBand is the width of the bands of A that packATile transposes at a
// time (a multiple of 8).
const trBand = 256

// packBPanel packs columns j..j+cols-1 of op(b), rows pc..pc+kc-1, into
// dst as one column panel: k-major, kern.nr floats for each p, of which
// the first cols are the columns (the others are left alone: the kernels
// neither store nor depend on them).
func packBPanel(dst []float32, o *operands, kern *kernel, j, cols, pc, kc int) {
	nr := kern.nr
	dst = dst[:kc*nr]
	if !o.tB { // op(b)[p][j] = b[p*ldb+j]: rows of b are copied
		if kern.copyRows != nil {
			kern.copyRows(kc, &o.b[pc*o.ldb+j], o.ldb, &dst[0], nr, cols)
			return
		}
		for q := range kc {
			copy(dst[q*nr:q*nr+cols], o.b[(pc+q)*o.ldb+j:][:cols])
		}
		return
	}
	// op(b)[p][j] = b[j*ldb+p]: rows of b are transposed
	q0 := 0
	if kern.tr8 != nil && kc >= 8 {
		k8 := kc / 8
		for jb := 0; jb < cols; jb += 8 {
			kern.tr8(k8, &o.b[(j+jb)*o.ldb+pc], o.ldb, min(8, cols-jb), &dst[jb], nr)
		}
		q0 = 8 * k8
	}
	for jj := range cols {
		src := o.b[(j+jj)*o.ldb+pc:][:kc]
		for q := q0; q < kc; q++ {
			dst[q*nr+jj] = src[q]
		}
	}
}

package gemm

// maxGatherLD bounds the leading dimension the gathering packers take: their
// offsets (row·ld, row < 32) are int32.
const maxGatherLD = 1 << 26

// packA writes the row tiles t0..t1-1 of op(a), columns pc..pc+kc-1, into
// dst: tile after tile, each k-major (r floats for each p).
func packA(dst []float32, o *operands, p *plan, t0, t1, pc, kc int) {
	kern := p.kern
	off := 0
	for t := t0; t < t1; t++ {
		i := p.tileRow(t)
		r := p.tileRow(t+1) - i
		d := dst[off : off+r*kc]
		switch {
		case o.tA && kern.packAT != nil:
			kern.packAT(kc, &o.a[pc*o.lda+i], o.lda, &d[0], r)
		case o.tA: // op(a)[i][p] = a[p*lda+i]
			for q := range kc {
				copy(d[q*r:q*r+r], o.a[(pc+q)*o.lda+i:])
			}
		case kern.packAN != nil && o.lda < maxGatherLD:
			kern.packAN(kc, &o.a[i*o.lda+pc], o.lda, &d[0], r)
		default: // op(a)[i][p] = a[i*lda+p]
			for ii := range r {
				src := o.a[(i+ii)*o.lda+pc:][:kc]
				for q, v := range src {
					d[q*r+ii] = v
				}
			}
		}
		off += r * kc
	}
}

// packB writes columns j..j+cols-1 of op(b), rows pc..pc+kc-1, into dst as
// one panel nr floats wide (k-major), zero beyond cols.
func packB(dst []float32, o *operands, kern *kernel, j, cols, pc, kc int) {
	nr := kern.nr
	d := dst[:kc*nr]
	switch {
	case !o.tB && kern.packBN != nil:
		kern.packBN(kc, &o.b[pc*o.ldb+j], o.ldb, &d[0], cols)
	case !o.tB: // op(b)[p][j] = b[p*ldb+j]
		for q := range kc {
			row := d[q*nr : q*nr+nr]
			copy(row, o.b[(pc+q)*o.ldb+j:][:cols])
			clear(row[cols:])
		}
	case kern.packBT != nil && o.ldb < maxGatherLD:
		kern.packBT(kc, &o.b[j*o.ldb+pc], o.ldb, &d[0], cols)
	default: // op(b)[p][j] = b[j*ldb+p]
		if cols < nr {
			clear(d)
		}
		for jj := range cols {
			src := o.b[(j+jj)*o.ldb+pc:][:kc]
			for q, v := range src {
				d[q*nr+jj] = v
			}
		}
	}
}

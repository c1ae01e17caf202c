package gemm

// pack runs phase-0 task t: it packs row tiles of op(a), or a k range of
// one, into p.apack.
func (p *plan) pack(t int) {
	o, as := &p.po, p.kern.as
	t0 := t / p.packParts * p.packTiles
	t1 := min(t0+p.packTiles, p.tiles)
	k0, k1 := span(t%p.packParts, p.packParts, o.k)
	for tt := t0; tt < t1; tt++ {
		i, r := p.tileRow(tt), p.tileRow(tt+1)-p.tileRow(tt)
		packATile(p.apack[(tt*o.k+k0)*as:], o, p.kern, i, r, k0, k1-k0)
	}
}

// product runs phase-1 task t: for one k group, one row block and one
// column block of C, it packs B a panel at a time and calls the
// micro-kernel on every tile, a k block at a time.
func (p *plan) product(t int, buf *buffer) {
	o, kern := &p.po, p.kern
	blocks := p.rowBlocks * p.colBlocks
	g, rb, cb := t/blocks, t%blocks/p.colBlocks, t%p.colBlocks
	t0, t1 := span(rb, p.rowBlocks, p.tiles)
	pn0, pn1 := span(cb, p.colBlocks, p.panels)
	j0, j1 := pn0*kern.nr, min(pn1*kern.nr, o.n)
	k0, k1 := span(g, p.groups, o.k)

	c, ldc, alpha, beta := o.c, o.ldc, o.alpha, o.beta
	if p.groups > 1 {
		c, ldc, alpha, beta = p.ws[g*o.m*o.n:(g+1)*o.m*o.n], o.n, 1, 0
	}
	nkb := (k1 - k0 + kern.kc - 1) / kern.kc
	buf.b = growAligned(buf.b, kcMax(k1-k0, kern.kc)*kern.nr)
	for kb := range nkb {
		lo, hi := span(kb, nkb, k1-k0)
		pc, kc := k0+lo, hi-lo
		be, load := float32(1), 1
		if kb == 0 {
			be = beta
			if beta == 0 {
				load = 0
			}
		}
		for j := j0; j < j1; j += kern.nr {
			cols := min(kern.nr, j1-j)
			// A whole panel of a row-major B is read in place by the
			// tiles that read A in place; the others are packed.
			bp, ldb := &buf.b[0], kern.nr
			if p.directB && cols == kern.nr {
				bp, ldb = &o.b[pc*o.ldb+j], o.ldb
			} else {
				packBPanel(buf.b, o, kern, j, cols, pc, kc)
			}
			for tt := t0; tt < t1; tt++ {
				i, r := p.tileRow(tt), p.tileRow(tt+1)-p.tileRow(tt)
				switch {
				case p.direct && o.tA:
					kern.colTiles[r](kc, &o.a[pc*o.lda+i], o.lda, bp, ldb, &c[i*ldc+j], ldc, alpha, be, cols, load)
					continue
				case p.direct:
					kern.rowTiles[r](kc, &o.a[i*o.lda+pc], o.lda, bp, ldb, &c[i*ldc+j], ldc, alpha, be, cols, load)
					continue
				}
				kern.tiles[r](kc, &p.apack[(tt*o.k+pc)*kern.as], &buf.b[0], &c[i*ldc+j], ldc, alpha, be, cols, load)
			}
		}
	}
}

// reduce runs phase-2 task t: for a slice of the rows of C, it sums the
// groups' partial products in group order and writes c = alpha·sum +
// beta·c (reading the workspace transposed if the plan swapped).
func (p *plan) reduce(t int) {
	o := p.o
	m, n := o.m, o.n
	i0, i1 := span(t, p.redTasks, m)
	for i := i0; i < i1; i++ {
		row := o.c[i*o.ldc : i*o.ldc+n]
		if p.swap {
			for j := range row {
				s := p.ws[j*m+i]
				for g := 1; g < p.groups; g++ {
					s += p.ws[g*m*n+j*m+i]
				}
				if o.beta == 0 {
					row[j] = o.alpha * s
				} else {
					row[j] = o.alpha*s + o.beta*row[j]
				}
			}
			continue
		}
		sum := p.ws[i*n : (i+1)*n]
		for g := 1; g < p.groups; g++ {
			part := p.ws[g*m*n+i*n : g*m*n+(i+1)*n]
			for j, v := range part {
				sum[j] += v
			}
		}
		alpha, beta := o.alpha, o.beta
		if beta == 0 {
			for j, v := range sum {
				row[j] = alpha * v
			}
			continue
		}
		for j, v := range sum {
			row[j] = alpha*v + beta*row[j]
		}
	}
}

package gemm

// A plan cuts one product into tasks by its shape and the kernel's tile
// sizes alone (never by the worker count), so that every element of C is
// computed by the same sequence of operations whoever runs its task:
//
//   - rows of C go in tiles of at most kernel.mr rows, of balanced heights
//     (ceil or floor of m/tiles), and consecutive tiles make row blocks;
//   - columns go in panels of kernel.nr, and consecutive panels make
//     column blocks;
//   - a tall reduction (k much larger than m and n) is cut into k groups,
//     whose partial products go to a workspace and are then summed in
//     group order; such a product may be computed transposed (Cᵀ = op(b)ᵀ
//     op(a)ᵀ) when that fills the tiles better, the sums transposing back;
//   - within a task, k goes in blocks of at most kernel.kc;
//   - op(a) is read in place by the kernel's rowTiles (a row-major op(a))
//     or colTiles (a transposed one), if it has them (AVX-512): packing a
//     row-major A costs a transpose of all of it, which products with few
//     columns (the weight gradient of a convolution, Cout of them) do not
//     earn back, and a product per chunk of a convolution would pack the
//     same weights again each time. The sums are the same;
//   - with them, whole panels of a row-major op(b) are read in place too
//     when few tiles share each panel (a convolution's forward product,
//     Cout rows: packing its patches for at most ten tiles does not pay)
//     and the panel's rows fall in enough L1 sets (fitsL1).
//
// A product runs in up to three phases, each a set of tasks: 0 packs all
// of op(a) into row tiles (shared by the tasks of phase 1), unless it is
// read in place; 1 computes,
// task by task, one (k group, row block, column block) of C (or of the
// workspace); 2 sums the k groups.
type plan struct {
	o    *operands // the call
	po   operands  // what phase 1 computes: o, or its transpose if swap
	kern *kernel
	swap bool

	tiles, q, rem int // row tiles: tile t has q+1 rows if t < rem, else q
	rowBlocks     int
	panels        int // column panels of kern.nr
	colBlocks     int
	groups        int       // k groups; > 1 uses ws
	ws            []float32 // groups × m × n partial products (n × m if swap)
	direct        bool      // op(a) is read in place (kern.rowTiles or colTiles): no phase 0
	directB       bool      // and whole panels of a row-major op(b) too
	apack         []float32 // op(a) packed: tile t at t·k·kern.as, k-major
	packTiles     int       // tiles packed by one phase-0 task
	packParts     int       // k ranges of a tile packed by phase-0 tasks
	redTasks      int       // tasks of phase 2 (groups > 1)
}

// Tuning constants. They shape the plan, so changing one changes the
// rounding of some products (never their dependence on the worker count).
const (
	maxBlockRows   = 640       // rows of a row block (its packed A block stays in L2)
	taskFlops      = 1_000_000 // a task's work, at least, when there is enough
	maxTasks       = 32        // tasks of phase 1, at most
	tallRatio      = 4         // k >= tallRatio·max(m, n) makes a reduction tall
	groupK         = 1024      // k per group of a tall reduction, at least
	maxGroups      = 8         // k groups, at most
	packFloats     = 1 << 16   // floats packed by one phase-0 task, at least
	maxPackParts   = 16        // k ranges of one tile packed by phase-0 tasks, at most
	maxPackTasks   = 1024      // phase-0 tasks, at most
	maxRowBlocks   = 4096      // row blocks, at most (so phase 1 has < 1<<16 tasks)
	reduceFloats   = 1 << 16   // floats summed by one phase-2 task, at least
	maxReduceTasks = 16
	parallelFlops  = 1_000_000 // below this a product runs on the caller alone
	// B is read in place for at most this many row tiles (a packed panel is
	// read by every tile; one read in place costs them more L1 and TLB
	// misses: measured a loss from 19 tiles on, a gain up to 10).
	maxDirectBTiles = 10
)

// fitsL1 reports whether a B panel read in place, kc rows of nr floats
// ldb floats apart, spreads over the sets of a 48 KiB 12-way L1 (64 sets of
// 64-byte lines) with at most 8 lines in any one set, so that the tiles
// find it in L1 rather than evict it themselves (a stride of a multiple of
// 4 KiB would put every row in the same sets).
func fitsL1(ldb, kc, nr int) bool {
	var sets [64]int
	last := -1 // the last line counted (rows closer than a line share it)
	for r := range kc {
		start := r * ldb * 4
		for l := max(last+1, start/64); l <= (start+4*nr-1)/64; l++ {
			if sets[l%64]++; sets[l%64] > 8 {
				return false
			}
			last = l
		}
	}
	return true
}

// kcMax is the largest k block of a product with k terms: k split into
// equal blocks of at most kc.
func kcMax(k, kc int) int {
	nkb := max(1, (k+kc-1)/kc)
	return (k + nkb - 1) / nkb
}

func newPlan(kern *kernel, o *operands) plan {
	p := plan{o: o, po: *o, kern: kern}
	m, n, k := o.m, o.n, o.k
	p.groups = 1
	if k >= tallRatio*max(m, n) {
		p.groups = min(maxGroups, max(1, k/groupK))
	}
	if p.groups > 1 && fill(n, kern.nr) < fill(m, kern.nr) {
		p.swap = true
		p.po = operands{tA: !o.tB, tB: !o.tA, m: n, n: m, k: k, alpha: 1, a: o.b, lda: o.ldb, b: o.a, ldb: o.lda}
		m, n = n, m
	}
	p.direct = directA && (!p.po.tA && kern.rowTiles != nil || p.po.tA && kern.colTiles != nil)
	p.tiles = (m + kern.mr - 1) / kern.mr
	p.q, p.rem = m/p.tiles, m%p.tiles
	tilesPerBlock := max(1, maxBlockRows/kern.mr, (p.tiles+maxRowBlocks-1)/maxRowBlocks)
	p.rowBlocks = (p.tiles + tilesPerBlock - 1) / tilesPerBlock
	p.panels = (n + kern.nr - 1) / kern.nr
	p.directB = p.direct && directB && !p.po.tB && p.tiles <= maxDirectBTiles &&
		fitsL1(p.po.ldb, kcMax(k, kern.kc), kern.nr)
	p.packTiles, p.packParts = max(1, packFloats/max(1, p.q*k), (p.tiles+maxPackTasks-1)/maxPackTasks), 1
	if p.packTiles == 1 {
		p.packParts = min(maxPackParts, max(1, p.q*k/packFloats))
	}

	flops := 2 * float64(m) * float64(n) * float64(k)
	target := min(maxTasks, max(1, int(flops/taskFlops)))
	want := (target + p.rowBlocks*p.groups - 1) / (p.rowBlocks * p.groups)
	p.colBlocks = min(p.panels, max(1, want))
	if p.groups > 1 {
		p.redTasks = min(maxReduceTasks, o.m, max(1, p.groups*m*n/reduceFloats))
	}
	return p
}

// fill is the fraction of nr-wide panels that n columns fill.
func fill(n, nr int) float64 {
	return float64(n) / float64((n+nr-1)/nr*nr)
}

// packTasks is the number of phase-0 tasks.
func (p *plan) packTasks() int {
	if p.direct {
		return 0
	}
	return (p.tiles + p.packTiles - 1) / p.packTiles * p.packParts
}

// packedSize is the length of the packed op(a).
func (p *plan) packedSize() int {
	if p.direct {
		return 0
	}
	return p.tiles * p.kern.as * p.po.k
}

// directA makes plans read op(a) in place when the kernel can, and
// directB whole panels of a row-major op(b) with it (tests turn them off to
// compare with the packed operands).
var directA, directB = true, true

// tasks is the number of phase-1 tasks.
func (p *plan) tasks() int { return p.groups * p.rowBlocks * p.colBlocks }

// tileRow returns the first row of tile t (t == p.tiles gives m).
func (p *plan) tileRow(t int) int { return t*p.q + min(t, p.rem) }

// span returns the b-th of parts balanced slices of [0, n).
func span(b, parts, n int) (lo, hi int) { return b * n / parts, (b + 1) * n / parts }

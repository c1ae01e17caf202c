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
//     group order (the second phase);
//   - within a task, k goes in blocks of at most kernel.kc.
//
// A task is one (k group, row block, column block).
type plan struct {
	o    *operands
	kern *kernel

	tiles, q, rem int // row tiles: tile t has q+1 rows if t < rem, else q
	rowBlocks     int
	panels        int // column panels of kern.nr
	colBlocks     int
	groups        int       // k groups; > 1 uses ws
	ws            []float32 // groups × m × n partial products
	redTasks      int       // tasks of the second phase (groups > 1)
}

// Tuning constants. They shape the plan, so changing one changes the
// rounding of some products (never their dependence on the worker count).
const (
	maxBlockRows   = 256       // rows of a row block (its packed A stays in L2)
	minBlockCols   = 128       // columns of a column block, at least
	taskFlops      = 2_000_000 // a task's work, at least, when there is enough
	maxTasks       = 24        // tasks per phase, at most
	tallRatio      = 4         // k >= tallRatio·max(m, n) makes a reduction tall
	groupK         = 1024      // k per group of a tall reduction, at least
	maxGroups      = 8         // k groups, at most
	reduceFloats   = 1 << 16   // floats summed by one second-phase task, at least
	parallelFlops  = 2_000_000 // below this a product runs on the caller alone
	maxReduceTasks = 16
)

func newPlan(kern *kernel, o *operands) plan {
	p := plan{o: o, kern: kern}
	m, n, k := o.m, o.n, o.k
	p.tiles = (m + kern.mr - 1) / kern.mr
	p.q, p.rem = m/p.tiles, m%p.tiles
	tilesPerBlock := max(1, maxBlockRows/kern.mr)
	p.rowBlocks = (p.tiles + tilesPerBlock - 1) / tilesPerBlock
	p.panels = (n + kern.nr - 1) / kern.nr

	p.groups = 1
	if k >= tallRatio*max(m, n) {
		p.groups = min(maxGroups, max(1, k/groupK))
	}
	flops := 2 * float64(m) * float64(n) * float64(k)
	target := min(maxTasks, max(1, int(flops/taskFlops)))
	maxColBlocks := max(1, p.panels*kern.nr/minBlockCols)
	want := (target + p.rowBlocks*p.groups - 1) / (p.rowBlocks * p.groups)
	p.colBlocks = min(maxColBlocks, max(1, want))
	if p.groups > 1 {
		p.redTasks = min(maxReduceTasks, m, max(1, p.groups*m*n/reduceFloats))
	}
	return p
}

// tasks is the number of first-phase tasks.
func (p *plan) tasks() int { return p.groups * p.rowBlocks * p.colBlocks }

// tileRow returns the first row of tile t (t == p.tiles gives m).
func (p *plan) tileRow(t int) int { return t*p.q + min(t, p.rem) }

// span returns the b-th of parts balanced slices of [0, n).
func span(b, parts, n int) (lo, hi int) { return b * n / parts, (b + 1) * n / parts }

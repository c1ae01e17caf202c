package neighbors

import (
	"math"
	"sort"
	"sync/atomic"

	"github.com/siampipe/siampipe/internal/splitmix"
)

// rng is the SplitMix64 stream used by the trees and NN-descent.
type rng struct{ splitmix.Stream }

func (r *rng) intn(n int) int { return int(r.Next() % uint64(n)) }

// tree is one random projection tree: perm lists the points leaf by leaf;
// leaf l holds perm[start[l]:start[l+1]].
type tree struct {
	perm  []int32
	start []int32
	leaf  []int32 // leaf of each point
}

// buildTree splits by random hyperplanes (the perpendicular bisector of two
// random points, through the origin for cosine) until leaves hold at most
// leafSize points, as pynndescent's rp trees do.
func buildTree(sp *space, n, leafSize int, seed uint64) *tree {
	r := &rng{splitmix.Stream{S: seed}}
	t := &tree{perm: make([]int32, n), leaf: make([]int32, n)}
	for i := range t.perm {
		t.perm[i] = int32(i)
	}
	h := make([]float32, sp.dim)
	side := make([]bool, n)
	tmp := make([]int32, n)
	var split func(lo, hi int)
	split = func(lo, hi int) {
		if hi-lo <= leafSize {
			t.start = append(t.start, int32(lo))
			return
		}
		idx := t.perm[lo:hi]
		a := idx[r.intn(len(idx))]
		b := idx[r.intn(len(idx))]
		for tries := 0; a == b && tries < 8; tries++ {
			b = idx[r.intn(len(idx))]
		}
		xa, xb := sp.row(a), sp.row(b)
		var off float32
		for j := range h {
			h[j] = xa[j] - xb[j]
			if !sp.cosine {
				off -= h[j] * (xa[j] + xb[j]) / 2
			}
		}
		nl := 0
		for q, p := range idx {
			m := dot(h, sp.row(p)) + off
			var left bool
			if math.Abs(float64(m)) < 1e-8 {
				left = r.Next()&1 == 0
			} else {
				left = m > 0
			}
			side[q] = left
			if left {
				nl++
			}
		}
		if nl == 0 || nl == len(idx) { // degenerate: split at random
			nl = 0
			for q := range idx {
				side[q] = r.Next()&1 == 0
				if side[q] {
					nl++
				}
			}
			if nl == 0 || nl == len(idx) {
				for q := range idx {
					side[q] = q < len(idx)/2
				}
				nl = len(idx) / 2
			}
		}
		l, rr := 0, nl
		for q, p := range idx {
			if side[q] {
				tmp[l] = p
				l++
			} else {
				tmp[rr] = p
				rr++
			}
		}
		copy(idx, tmp[:len(idx)])
		split(lo, lo+nl)
		split(lo+nl, hi)
	}
	split(0, n)
	t.start = append(t.start, int32(n))
	for l := 0; l+1 < len(t.start); l++ {
		for _, p := range t.perm[t.start[l]:t.start[l+1]] {
			t.leaf[p] = int32(l)
		}
	}
	return t
}

// update is a proposed neighbour j of i at distance d.
type update struct {
	i, j int32
	d    float32
}

const (
	treeDim     = 64  // width of the random projection the trees are built on
	chunkPoints = 256 // points per work chunk: fixed, so the result is core-count independent
	nBuckets    = 64  // target buckets for applying updates in parallel
)

// Approximate computes an approximate k-nearest-neighbour graph with
// NN-descent (Dong, Moses, Li 2011) started from the leaves of random
// projection trees, following pynndescent's scheme: sampled new/old
// candidate lists with reverse neighbours, local joins, early stop.
//
// Determinism: all randomness is a hash of (Seed, tree or iteration, point);
// local joins run in fixed chunks of points writing proposals to per-chunk,
// per-target-bucket buffers, which are then applied bucket by bucket in chunk
// order. The result is the same for any Workers value.
func Approximate(data []float32, n, dim int, opt Options) (*Graph, error) {
	opt.defaults(n)
	if err := check(data, n, dim, &opt); err != nil {
		return nil, err
	}
	sp := newSpace(data, n, dim, opt.Metric)
	k := opt.K - 1
	h := newHeaps(n, k)
	progress := func(phase string, d, t int) {
		if opt.Progress != nil {
			opt.Progress(phase, d, t)
		}
	}

	// Random projection forest, built on a Gaussian random projection of the
	// rows to treeDim dimensions when they are wider: the trees' hyperplane
	// tests then stream 64 floats per point instead of dim (most of the forest's
	// cost at 784 or 2048 dimensions); leaves still hold points that are close,
	// and the exact distances below decide.
	tsp := sp
	if dim > 2*treeDim {
		tsp = newSpace(project(sp, n, treeDim, opt.Seed, opt.Workers), n, treeDim, opt.Metric)
	}
	trees := make([]*tree, opt.Trees)
	var built atomic.Int64
	parallel(opt.Trees, 1, opt.Workers, func(lo, _ int) {
		trees[lo] = buildTree(tsp, n, opt.LeafSize, splitmix.Hash(opt.Seed^0x7265656474726565+uint64(lo)*0x100000001b3))
		progress("rp-trees", int(built.Add(1)), opt.Trees)
	})

	nChunks := (n + chunkPoints - 1) / chunkPoints
	bufs := make([][nBuckets][]update, max(nChunks, 1))
	bucketOf := func(i int32) int { return int(int64(i) * nBuckets / int64(n)) }
	applyBufs := func(used int) int64 {
		var changed atomic.Int64
		parallel(nBuckets, 1, opt.Workers, func(b, _ int) {
			cnt := 0
			for c := 0; c < used; c++ {
				for _, u := range bufs[c][b] {
					if h.push(int(u.i), u.j, u.d, 1) {
						cnt++
					}
				}
			}
			changed.Add(int64(cnt))
		})
		return changed.Load()
	}

	// Seed the heaps with all pairs within each leaf, tree by tree: leaf
	// chunks in parallel propose, buckets apply in chunk order (deterministic).
	for _, t := range trees {
		nl := len(t.start) - 1
		const leavesPerChunk = 64
		lc := (nl + leavesPerChunk - 1) / leavesPerChunk
		for len(bufs) < lc {
			bufs = append(bufs, [nBuckets][]update{})
		}
		parallel(nl, leavesPerChunk, opt.Workers, func(lo, hi int) {
			buf := &bufs[lo/leavesPerChunk]
			for b := range buf {
				buf[b] = buf[b][:0]
			}
			for l := lo; l < hi; l++ {
				pts := t.perm[t.start[l]:t.start[l+1]]
				for a, p := range pts {
					for _, q := range pts[a+1:] {
						d := sp.dist(p, q)
						buf[bucketOf(p)] = append(buf[bucketOf(p)], update{p, q, d})
						buf[bucketOf(q)] = append(buf[bucketOf(q)], update{q, p, d})
					}
				}
			}
		})
		applyBufs(lc)
	}
	trees = nil
	// Points whose heaps are not full yet (tiny leaves) get random neighbours.
	parallel(n, chunkPoints, opt.Workers, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			r := rng{splitmix.Stream{S: splitmix.Hash(opt.Seed ^ 0x66696c6c ^ uint64(i)<<20)}}
			for tries := 0; h.idx[i*k] < 0 && tries < 4*k; tries++ {
				j := int32(r.intn(n))
				if int(j) != i {
					h.push(i, j, sp.dist(int32(i), j), 1)
				}
			}
		}
	})

	mc := opt.MaxCandidates
	newC := make([]int32, n*mc)
	oldC := make([]int32, n*mc)
	newN := make([]int32, n)
	oldN := make([]int32, n)
	thr := make([]float32, n)

	for it := 0; it < opt.Iters; it++ {
		buildCandidates(h, n, k, mc, opt.Seed, it, opt.Workers, newC, oldC, newN, oldN)
		for i := 0; i < n; i++ {
			thr[i] = h.dist[i*k]
		}
		// Local join.
		parallel(n, chunkPoints, opt.Workers, func(lo, hi int) {
			c := lo / chunkPoints
			buf := &bufs[c]
			for b := range buf {
				buf[b] = buf[b][:0]
			}
			add := func(p, q int32, d float32) {
				if d < thr[p] {
					b := bucketOf(p)
					buf[b] = append(buf[b], update{p, q, d})
				}
				if d < thr[q] {
					b := bucketOf(q)
					buf[b] = append(buf[b], update{q, p, d})
				}
			}
			for i := lo; i < hi; i++ {
				nw := newC[i*mc : i*mc+int(newN[i])]
				od := oldC[i*mc : i*mc+int(oldN[i])]
				for a, p := range nw {
					for _, q := range nw[a+1:] {
						add(p, q, sp.dist(p, q))
					}
					for _, q := range od {
						if p != q {
							add(p, q, sp.dist(p, q))
						}
					}
				}
			}
		})
		// Apply proposals: buckets in parallel, chunks in fixed order.
		changed := applyBufs(nChunks)
		progress("nn-descent", it+1, opt.Iters)
		if float64(changed) <= opt.Delta*float64(k)*float64(n) {
			progress("nn-descent", opt.Iters, opt.Iters)
			break
		}
	}
	return h.graph(n, sp.cosine), nil
}

// buildCandidates samples, for every point, up to mc new and mc old
// candidates from its neighbours and reverse neighbours, by hashed priority,
// and marks the sampled new forward neighbours old (pynndescent's
// new_build_candidates).
func buildCandidates(h *heaps, n, k, mc int, seed uint64, it, workers int, newC, oldC, newN, oldN []int32) {
	// Entries (target, candidate, isNew) grouped by target with a counting sort.
	cnt := make([]int32, n+1)
	for i := 0; i < n; i++ {
		for t := 0; t < k; t++ {
			j := h.idx[i*k+t]
			if j < 0 {
				continue
			}
			cnt[i+1]++
			cnt[j+1]++
		}
	}
	for i := 0; i < n; i++ {
		cnt[i+1] += cnt[i]
	}
	type ent struct {
		c     int32
		isNew bool
	}
	ents := make([]ent, cnt[n])
	pos := make([]int32, n)
	copy(pos, cnt[:n])
	for i := 0; i < n; i++ {
		for t := 0; t < k; t++ {
			j := h.idx[i*k+t]
			if j < 0 {
				continue
			}
			nw := h.flag[i*k+t] == 1
			ents[pos[i]] = ent{j, nw}
			pos[i]++
			ents[pos[j]] = ent{int32(i), nw}
			pos[j]++
		}
	}
	itSeed := splitmix.Hash(seed ^ uint64(it+1)*0xd1b54a32d192ed03)
	parallel(n, chunkPoints, workers, func(lo, hi int) {
		type pc struct {
			p uint64
			c int32
		}
		var nw, od []pc
		for i := lo; i < hi; i++ {
			nw, od = nw[:0], od[:0]
			for _, e := range ents[cnt[i]:cnt[i+1]] {
				p := splitmix.Hash(itSeed ^ uint64(i)<<32 ^ uint64(e.c))
				if e.isNew {
					nw = append(nw, pc{p, e.c})
				} else {
					od = append(od, pc{p, e.c})
				}
			}
			pick := func(list []pc, out []int32) int32 {
				sort.Slice(list, func(a, b int) bool {
					if list[a].p != list[b].p {
						return list[a].p < list[b].p
					}
					return list[a].c < list[b].c
				})
				m := int32(0)
				for x, e := range list {
					if x > 0 && e.c == list[x-1].c && e.p == list[x-1].p {
						continue
					}
					dup := false
					for _, v := range out[:m] {
						if v == e.c {
							dup = true
							break
						}
					}
					if dup {
						continue
					}
					out[m] = e.c
					m++
					if int(m) == len(out) {
						break
					}
				}
				return m
			}
			newN[i] = pick(nw, newC[i*mc:(i+1)*mc])
			oldN[i] = pick(od, oldC[i*mc:(i+1)*mc])
			// mark sampled new forward neighbours old
			for t := 0; t < k; t++ {
				if h.flag[i*k+t] == 0 {
					continue
				}
				j := h.idx[i*k+t]
				for _, v := range newC[i*mc : i*mc+int(newN[i])] {
					if v == j {
						h.flag[i*k+t] = 0
						break
					}
				}
			}
		}
	})
}

// project returns the rows of sp times a fixed Gaussian random matrix
// (dim x pd, entries N(0, 1/pd), seeded), n x pd row-major.
func project(sp *space, n, pd int, seed uint64, workers int) []float32 {
	dim := sp.dim
	pt := make([]float32, pd*dim) // transposed: row c is column c of the projection
	r := rng{splitmix.Stream{S: splitmix.Hash(seed ^ 0x70726f6a)}}
	for i := range pt {
		// Box-Muller from two uniforms in (0, 1]
		u1 := (float64(r.Next()>>11) + 1) / (1 << 53)
		u2 := float64(r.Next()>>11) / (1 << 53)
		pt[i] = float32(math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2) / math.Sqrt(float64(pd)))
	}
	out := make([]float32, n*pd)
	parallel(n, chunkPoints, workers, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row := sp.row(int32(i))
			o := out[i*pd : (i+1)*pd]
			for c := range o {
				o[c] = dot(pt[c*dim:(c+1)*dim], row)
			}
		}
	})
	return out
}

package umap

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/siampipe/siampipe/internal/spectral"
	"github.com/siampipe/siampipe/internal/splitmix"
)

// layoutChunk is the number of head vertices per unit of parallel SGD work.
// It is fixed (not derived from the core count) so that the result does not
// depend on how many goroutines run the chunks.
const layoutChunk = 128

type layoutParams struct {
	a, b, gamma, alpha0 float64
	negRate             float64
	epochs              int
	seed                uint64
	workers             int
	progress            func(done, total int)
}

// clip4 clamps v to [-4, 4] (umap-learn's clip). Plain compares: the
// clamp rarely applies, so the branches predict well (cheaper here than the
// NaN-aware builtin min/max).
func clip4(v float64) float64 {
	if v > 4 {
		return 4
	}
	if v < -4 {
		return -4
	}
	return v
}

// clip4f is clip4 in float32.
func clip4f(v float32) float32 {
	if v > 4 {
		return 4
	}
	if v < -4 {
		return -4
	}
	return v
}

// optimize runs umap-learn's optimize_layout_euclidean (move_other=True) on
// emb (n x dim, row-major) over the edges of g, whose epochs per sample are eps.
//
// umap-learn's schedule, kept exactly: edge e is sampled in epoch t when
// epoch_of_next_sample[e] <= t, then gets
// floor((t - epoch_of_next_negative_sample[e]) / (eps[e]/negRate)) negative
// samples drawn uniformly from all vertices; gradients are clipped to +-4 per
// coordinate; the learning rate is alpha0 * (1 - t/epochs).
//
// Parallel and deterministic: each epoch, head vertices are cut into fixed
// chunks of layoutChunk (128) vertices (their CSR rows, so each chunk owns a
// contiguous range of edges and their sampling state). A chunk moves its own
// head vertices in place, in edge order; every other position it reads (edge
// tails, negative samples) comes from a snapshot taken at the start of the
// epoch; the move_other update of an edge's tail is recorded in the chunk's
// log and all logs are applied after the epoch in chunk order. Negative
// samples come from a generator seeded by hash(seed, epoch, chunk). So no
// goroutine reads what another writes during an epoch (no Hogwild races) and
// every floating-point operation happens in an order fixed by the input and
// the seed, whatever the number of cores. The price is that tails and
// negative samples are seen one epoch late, as in any synchronous parallel
// SGD. In the 3-D kernel, the negative samples that follow one positive
// sample are also evaluated at the same head position and their (each
// clipped) moves summed before they are applied, where umap-learn moves the
// head after each: this breaks a serial dependency chain through the head's
// coordinates and saves about a quarter of the layout's time. The tests and
// bench/reduce.md check that quality matches umap-learn.
func optimize(emb []float32, n, dim int, g *spectral.Graph, eps []float64, p layoutParams) {
	ne := len(g.Indices)
	epns := make([]float64, ne) // epochs per negative sample
	eons := make([]float64, ne) // epoch of next sample
	eonns := make([]float64, ne)
	for e := range eps {
		epns[e] = eps[e] / p.negRate
		eons[e] = eps[e]
		eonns[e] = epns[e]
	}
	snap := make([]float32, len(emb))
	nChunks := (n + layoutChunk - 1) / layoutChunk
	type tailLog struct {
		k     []int32
		delta []float32
	}
	logs := make([]tailLog, nChunks)
	a, b := p.a, p.b
	workers := p.workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, nChunks)
	alpha := p.alpha0

	pt := newPowTable(b)
	twoAB, twoGB := 2*a*b, 2*p.gamma*b
	seedOf := func(c, epoch int) uint64 {
		return splitmix.Hash(p.seed ^ uint64(epoch+1)*0x9e3779b97f4a7c15 ^ uint64(c+1)*0xd1b54a32d192ed03)
	}
	// runChunk is the generic kernel: any dim.
	runChunk := func(c, epoch int) {
		r := splitmix.Stream{S: seedOf(c, epoch)}
		lg := &logs[c]
		lg.k, lg.delta = lg.k[:0], lg.delta[:0]
		t := float64(epoch)
		for j := c * layoutChunk; j < min(n, (c+1)*layoutChunk); j++ {
			cur := emb[j*dim : (j+1)*dim]
			for e := g.Indptr[j]; e < g.Indptr[j+1]; e++ {
				if eons[e] > t {
					continue
				}
				k := g.Indices[e]
				other := snap[int(k)*dim : int(k+1)*dim]
				var d2 float32
				for d := 0; d < dim; d++ {
					diff := cur[d] - other[d]
					d2 += diff * diff
				}
				gc := 0.0
				if d2 > 0 {
					pb := float64(pt.pow(d2))
					gc = -twoAB * pb / float64(d2) / (a*pb + 1)
				}
				for d := 0; d < dim; d++ {
					gd := clip4(gc * float64(cur[d]-other[d]))
					cur[d] += float32(gd * alpha)
					lg.delta = append(lg.delta, float32(-gd*alpha))
				}
				lg.k = append(lg.k, k)
				eons[e] += eps[e]
				nneg := int((t - eonns[e]) / epns[e])
				for q := 0; q < nneg; q++ {
					kk := int((r.Next() >> 32) * uint64(n) >> 32) // uniform in [0, n) (Lemire)
					if kk == j {
						continue
					}
					other := snap[kk*dim : (kk+1)*dim]
					var d2 float32
					for d := 0; d < dim; d++ {
						diff := cur[d] - other[d]
						d2 += diff * diff
					}
					gc := 0.0
					if d2 > 0 {
						gc = twoGB / ((0.001 + float64(d2)) * (a*float64(pt.pow(d2)) + 1))
					}
					for d := 0; d < dim; d++ {
						gd := 4.0
						if gc > 0 {
							gd = clip4(gc * float64(cur[d]-other[d]))
						}
						cur[d] += float32(gd * alpha)
					}
				}
				eonns[e] += float64(nneg) * epns[e]
			}
		}
	}
	// runChunk3 is the same schedule for dim = 3 in float32 arithmetic, with
	// the head vertex kept in registers (only this chunk writes it; nobody
	// reads it this epoch).
	a32, twoAB32, twoGB32 := float32(a), float32(twoAB), float32(twoGB)
	runChunk3 := func(c, epoch int) {
		r := splitmix.Stream{S: seedOf(c, epoch)}
		lg := &logs[c]
		lg.k, lg.delta = lg.k[:0], lg.delta[:0]
		t := float64(epoch)
		al := float32(alpha)
		un := uint64(n)
		for j := c * layoutChunk; j < min(n, (c+1)*layoutChunk); j++ {
			cp := emb[j*3 : j*3+3 : j*3+3]
			x0, x1, x2 := cp[0], cp[1], cp[2]
			for e := g.Indptr[j]; e < g.Indptr[j+1]; e++ {
				if eons[e] > t {
					continue
				}
				k := g.Indices[e]
				o := snap[int(k)*3 : int(k)*3+3 : int(k)*3+3]
				f0, f1, f2 := x0-o[0], x1-o[1], x2-o[2]
				d2 := f0*f0 + f1*f1 + f2*f2
				var gc float32
				if d2 > 0 {
					pb := pt.pow(d2)
					gc = -twoAB32 * pb / (d2 * (a32*pb + 1))
				}
				g0 := clip4f(gc*f0) * al
				g1 := clip4f(gc*f1) * al
				g2 := clip4f(gc*f2) * al
				x0 += g0
				x1 += g1
				x2 += g2
				lg.delta = append(lg.delta, -g0, -g1, -g2)
				lg.k = append(lg.k, k)
				eons[e] += eps[e]
				// The negative samples of one positive sample are evaluated
				// at the same head position and their moves summed, then
				// applied: their dependency chains overlap in the CPU instead
				// of running one after another (see optimize's doc).
				nneg := int((t - eonns[e]) / epns[e])
				var s0, s1, s2 float32
				for q := 0; q < nneg; q++ {
					kk := int((r.Next() >> 32) * un >> 32) // uniform in [0, n) (Lemire)
					if kk == j {
						continue
					}
					o := snap[kk*3 : kk*3+3 : kk*3+3]
					f0, f1, f2 := x0-o[0], x1-o[1], x2-o[2]
					d2 := f0*f0 + f1*f1 + f2*f2
					if d2 > 0 {
						gc := twoGB32 / ((0.001 + d2) * (a32*pt.pow(d2) + 1))
						s0 += clip4f(gc*f0) * al
						s1 += clip4f(gc*f1) * al
						s2 += clip4f(gc*f2) * al
					} else {
						s0 += 4 * al
						s1 += 4 * al
						s2 += 4 * al
					}
				}
				x0 += s0
				x1 += s1
				x2 += s2
				eonns[e] += float64(nneg) * epns[e]
			}
			cp[0], cp[1], cp[2] = x0, x1, x2
		}
	}
	if dim == 3 {
		runChunk = runChunk3
	}

	for epoch := 0; epoch < p.epochs; epoch++ {
		copy(snap, emb)
		if workers <= 1 {
			for c := 0; c < nChunks; c++ {
				runChunk(c, epoch)
			}
		} else {
			var next atomic.Int64
			var wg sync.WaitGroup
			for w := 0; w < workers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						c := int(next.Add(1) - 1)
						if c >= nChunks {
							return
						}
						runChunk(c, epoch)
					}
				}()
			}
			wg.Wait()
		}
		for c := range logs {
			lg := &logs[c]
			for t, k := range lg.k {
				row := emb[int(k)*dim : int(k+1)*dim]
				for d := 0; d < dim; d++ {
					row[d] += lg.delta[t*dim+d]
				}
			}
		}
		alpha = p.alpha0 * (1 - float64(epoch)/float64(p.epochs))
		if p.progress != nil {
			p.progress(epoch+1, p.epochs)
		}
	}
}

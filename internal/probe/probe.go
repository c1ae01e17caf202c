// Package probe trains the linear probe of frozen features: multinomial
// logistic regression on standardised features, fitted with L-BFGS
// (gonum.org/v1/gonum/optimize).
//
// The objective is scikit-learn's LogisticRegression(penalty="l2", C) with
// the lbfgs solver, divided by the number of samples:
//
//	f(W, b) = 1/n Σᵢ [log Σ_c exp(zᵢc) − zᵢyᵢ] + 1/(2Cn) ‖W‖²,  zᵢ = W xᵢ + b,
//
// where xᵢ is the standardised feature vector and the intercept b is not
// penalised. The problem is strictly convex, so any solver that converges
// reaches the same weights.
package probe

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sort"
	"sync"

	"github.com/siampipe/siampipe/internal/cpufeat"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/optimize"
)

// Defaults for the zero values of Config.
const (
	DefaultC       = 1.0
	DefaultMaxIter = 100
	DefaultTol     = 1e-4
)

// Config sets the training. Its zero value means the documented defaults.
type Config struct {
	// C is the inverse L2 strength, as in scikit-learn; 0 means DefaultC (1).
	C float64
	// MaxIter bounds the L-BFGS iterations; 0 means DefaultMaxIter (100,
	// scikit-learn's max_iter). Reaching it is not an error:
	// Model.Converged reports it. On raw FashionMNIST pixels (all 60,000
	// labels) 100 iterations give test top-1 0.8402, 200 give 0.8378 and
	// convergence to tol 1e-4 (949 iterations) 0.8341: stopping early
	// regularises, and costs a tenth of the time.
	MaxIter int
	// Tol stops the optimisation when the largest absolute gradient entry of
	// f is below it; 0 means DefaultTol (1e-4, scikit-learn's default tol).
	Tol float64
	// Classes is the number of classes; 0 means the largest label + 1.
	Classes int
}

func (c Config) withDefaults() Config {
	if c.C == 0 {
		c.C = DefaultC
	}
	if c.MaxIter == 0 {
		c.MaxIter = DefaultMaxIter
	}
	if c.Tol == 0 {
		c.Tol = DefaultTol
	}
	return c
}

// Model is a trained probe.
type Model struct {
	Dim, Classes int
	// Mean and Scale standardise a feature: (x − Mean) / Scale. They are the
	// mean and the standard deviation (ddof 0) of the training rows; a
	// constant column has Scale 1.
	Mean, Scale []float64
	// W holds Classes x Dim weights (row-major, one row per class) on the
	// standardised features, B one intercept per class.
	W, B []float64
	// Iterations is the number of L-BFGS iterations run, Loss the final
	// objective value, Converged whether the gradient tolerance was met.
	Iterations int
	Loss       float64
	Converged  bool
}

// chunkRows is the number of rows per unit of parallel work (a multiple of
// 3, the kernel's row count). Partial sums are added in chunk order, so
// results do not depend on the number of cores.
const chunkRows = 1020

// Train fits a probe to the rows of x (row-major, dim columns) listed in
// rows, or to all rows if rows is nil. It returns ctx.Err() if ctx is
// cancelled during training.
func Train(ctx context.Context, x []float32, dim int, labels []uint8, rows []int, cfg Config) (*Model, error) {
	cfg = cfg.withDefaults()
	if dim <= 0 || len(x)%dim != 0 || len(x)/dim != len(labels) {
		return nil, fmt.Errorf("probe: %d values, %d labels and dimension %d do not make a matrix", len(x), len(labels), dim)
	}
	if !(cfg.C > 0) || cfg.MaxIter < 0 || !(cfg.Tol > 0) {
		return nil, fmt.Errorf("probe: C and tolerance must be positive, max iterations not negative (got C %v, tol %v, max iter %d)", cfg.C, cfg.Tol, cfg.MaxIter)
	}
	if rows == nil {
		rows = make([]int, len(labels))
		for i := range rows {
			rows[i] = i
		}
	}
	n := len(rows)
	if n == 0 {
		return nil, errors.New("probe: no training rows")
	}
	classes := cfg.Classes
	for _, r := range rows {
		if r < 0 || r >= len(labels) {
			return nil, fmt.Errorf("probe: row %d out of range [0, %d)", r, len(labels))
		}
		if cfg.Classes == 0 {
			classes = max(classes, int(labels[r])+1)
		}
	}
	y := make([]int, n)
	for i, r := range rows {
		if int(labels[r]) >= classes {
			return nil, fmt.Errorf("probe: row %d has label %d, but there are only %d classes", r, labels[r], classes)
		}
		y[i] = int(labels[r])
	}
	m := &Model{Dim: dim, Classes: classes}
	obj := &objective{y: y, n: n, dim: dim, classes: classes, lambda: 1 / (cfg.C * float64(n)),
		dp: padTo(dim, 12), kp: padTo(classes, 4), kernel: useKernel()}
	var err error
	if obj.x, err = m.standardise(x, dim, rows, obj.dp); err != nil {
		return nil, err
	}
	obj.partial = make([][]float64, (n+chunkRows-1)/chunkRows)
	for i := range obj.partial {
		obj.partial[i] = make([]float64, obj.kp*(obj.dp+1)+1)
	}
	obj.w = make([]float64, obj.kp*obj.dp)
	problem := optimize.Problem{
		Func: func(p []float64) float64 { return obj.eval(p).f },
		Grad: func(g, p []float64) { copy(g, obj.eval(p).g) },
		Status: func() (optimize.Status, error) {
			if err := ctx.Err(); err != nil {
				return optimize.Failure, err
			}
			return optimize.NotTerminated, nil
		},
	}
	settings := &optimize.Settings{
		GradientThreshold: cfg.Tol,
		MajorIterations:   cfg.MaxIter,
		Converger:         &optimize.FunctionConverge{Absolute: 1e-12, Relative: 1e-12, Iterations: 50},
	}
	p0 := make([]float64, classes*(dim+1))
	res, err := optimize.Minimize(problem, p0, settings, &optimize.LBFGS{})
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err != nil && (res == nil || res.Status != optimize.IterationLimit) {
		return nil, fmt.Errorf("probe: L-BFGS: %w", err)
	}
	m.W = append([]float64(nil), res.X[:classes*dim]...)
	m.B = append([]float64(nil), res.X[classes*dim:]...)
	m.Iterations = res.Stats.MajorIterations
	m.Loss = res.F
	m.Converged = res.Status == optimize.GradientThreshold || res.Status == optimize.FunctionConvergence
	return m, nil
}

// standardise fits Mean and Scale on the listed rows and returns those rows
// standardised, in float64, stride dp (zero padded), with zero rows up to a
// multiple of 3.
func (m *Model) standardise(x []float32, dim int, rows []int, dp int) ([]float64, error) {
	n := len(rows)
	sum := make([]float64, dim)
	for _, r := range rows {
		for j, v := range x[r*dim : (r+1)*dim] {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("probe: row %d holds %v; features must be finite", r, v)
			}
			sum[j] += float64(v)
		}
	}
	m.Mean = make([]float64, dim)
	for j := range sum {
		m.Mean[j] = sum[j] / float64(n)
	}
	ss := make([]float64, dim)
	for _, r := range rows {
		for j, v := range x[r*dim : (r+1)*dim] {
			d := float64(v) - m.Mean[j]
			ss[j] += d * d
		}
	}
	m.Scale = make([]float64, dim)
	for j := range ss {
		s := math.Sqrt(ss[j] / float64(n))
		// scikit-learn's StandardScaler treats tiny variances as zero.
		if s < 10*math.SmallestNonzeroFloat64 || s <= 1e-12*math.Max(1, math.Abs(m.Mean[j])) {
			s = 1
		}
		m.Scale[j] = s
	}
	xs := make([]float64, padTo(n, 3)*dp)
	for i, r := range rows {
		m.apply(xs[i*dp:i*dp+dim], x[r*dim:(r+1)*dim])
	}
	return xs, nil
}

func (m *Model) apply(dst []float64, src []float32) {
	for j, v := range src {
		dst[j] = (float64(v) - m.Mean[j]) / m.Scale[j]
	}
}

// Predict returns the class with the largest logit (the smallest class on
// ties) for each row of x, row-major with Dim columns. It panics if len(x) is
// not a multiple of Dim.
func (m *Model) Predict(x []float32) []uint8 {
	if len(x)%m.Dim != 0 {
		panic(fmt.Sprintf("probe: Predict: %d values are not rows of %d", len(x), m.Dim))
	}
	rows := len(x) / m.Dim
	out := make([]uint8, rows)
	parallel((rows+chunkRows-1)/chunkRows, func(c int) {
		xs := make([]float64, m.Dim)
		for i := c * chunkRows; i < min((c+1)*chunkRows, rows); i++ {
			m.apply(xs, x[i*m.Dim:(i+1)*m.Dim])
			best, bestZ := 0, math.Inf(-1)
			for k := 0; k < m.Classes; k++ {
				z := floats.Dot(m.W[k*m.Dim:(k+1)*m.Dim], xs) + m.B[k]
				if z > bestZ {
					best, bestZ = k, z
				}
			}
			out[i] = uint8(best)
		}
	})
	return out
}

// useKernel reports whether Train uses the assembly micro-kernels: this
// build has them and cpufeat's level is AVX2 or above.
func useKernel() bool { return haveKernel && cpufeat.Current() >= cpufeat.AVX2 }

func padTo(n, m int) int { return (n + m - 1) / m * m }

// objective evaluates f and its gradient, caching the last point because
// gonum asks for the value and the gradient at one point separately.
//
// Layout: x holds the standardised rows with stride dp (dim rounded up to
// a multiple of 12, zero padded) and zero rows up to a multiple of 3; the
// weights are copied into w, kp x dp (classes rounded up to a multiple of
// 4). Padding contributes exact zeros.
type objective struct {
	x               []float64
	y               []int
	n, dim, classes int
	dp, kp          int
	lambda          float64
	kernel          bool
	w               []float64   // kp x dp padded copy of the weights
	partial         [][]float64 // per chunk: kp x dp weight gradient, kp bias gradient, loss
	last            []float64
	cached          evaluation
	haveCache       bool
}

type evaluation struct {
	f float64
	g []float64
}

func (o *objective) eval(p []float64) evaluation {
	if o.haveCache && floats.Equal(p, o.last) {
		return o.cached
	}
	d, k, dp, kp := o.dim, o.classes, o.dp, o.kp
	nw := k * d
	for c := 0; c < k; c++ {
		copy(o.w[c*dp:c*dp+d], p[c*d:(c+1)*d])
	}
	b := p[nw:]
	parallel(len(o.partial), func(chunk int) { o.chunk(chunk, b) })
	g := make([]float64, len(p))
	var loss float64
	for _, part := range o.partial {
		for c := 0; c < k; c++ {
			floats.Add(g[c*d:(c+1)*d], part[c*dp:c*dp+d])
			g[nw+c] += part[kp*dp+c]
		}
		loss += part[len(part)-1]
	}
	w := p[:nw]
	inv := 1 / float64(o.n)
	floats.Scale(inv, g)
	floats.AddScaled(g[:nw], o.lambda, w)
	f := loss*inv + 0.5*o.lambda*floats.Dot(w, w)
	o.last = append(o.last[:0], p...)
	o.cached = evaluation{f: f, g: g}
	o.haveCache = true
	return o.cached
}

// chunk computes the loss and gradient sums of one chunk of rows into its
// partial.
func (o *objective) chunk(chunk int, b []float64) {
	k, dp, kp := o.classes, o.dp, o.kp
	part := o.partial[chunk]
	clear(part)
	i0 := chunk * chunkRows
	i1 := min(i0+chunkRows, o.n)
	rows := padTo(i1-i0, 3)
	// z: logits, then the residuals softmax - onehot, rows x kp; zero for
	// padded rows and classes.
	z := make([]float64, rows*kp)
	if o.kernel {
		var acc [48]float64
		for i := 0; i < rows; i += 3 {
			for j := 0; j < kp; j += 4 {
				dot3x4(dp, &o.x[(i0+i)*dp], dp, &o.w[j*dp], dp, &acc[0])
				for ii := 0; ii < 3; ii++ {
					for jj := 0; jj < 4; jj++ {
						l := acc[(4*ii+jj)*4:]
						z[(i+ii)*kp+j+jj] = (l[0] + l[1]) + (l[2] + l[3])
					}
				}
			}
		}
	} else {
		for i := 0; i < i1-i0; i++ {
			xi := o.x[(i0+i)*dp : (i0+i+1)*dp]
			for c := 0; c < k; c++ {
				z[i*kp+c] = floats.Dot(o.w[c*dp:(c+1)*dp], xi)
			}
		}
	}
	var loss float64
	for i := 0; i < rows; i++ {
		zi := z[i*kp : (i+1)*kp]
		if i >= i1-i0 {
			clear(zi)
			continue
		}
		zmax := math.Inf(-1)
		for c := 0; c < k; c++ {
			zi[c] += b[c]
			zmax = math.Max(zmax, zi[c])
		}
		var s float64
		for c := 0; c < k; c++ {
			zi[c] = math.Exp(zi[c] - zmax)
			s += zi[c]
		}
		yi := o.y[i0+i]
		loss += math.Log(s) - math.Log(zi[yi])
		for c := 0; c < k; c++ {
			zi[c] /= s
		}
		zi[yi]--
		clear(zi[k:])
		for c := 0; c < k; c++ {
			part[kp*dp+c] += zi[c]
		}
	}
	part[len(part)-1] = loss
	// weight gradient: part[c][l] += sum_i z[i][c] * x[i][l]
	if o.kernel {
		// Columns outer: the 12 columns of x stay in cache for every class.
		for l := 0; l < dp; l += 12 {
			for c := 0; c < kp; c += 4 {
				ger4x12(rows, &z[c], kp, &o.x[i0*dp+l], dp, &part[c*dp+l], dp)
			}
		}
		return
	}
	for i := 0; i < i1-i0; i++ {
		xi := o.x[(i0+i)*dp : (i0+i+1)*dp]
		for c := 0; c < k; c++ {
			floats.AddScaled(part[c*dp:(c+1)*dp], z[i*kp+c], xi)
		}
	}
}

// parallel runs fn(0..n-1) on all cores.
func parallel(n int, fn func(int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(runtime.GOMAXPROCS(0), n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}

// Subset returns a stratified, seeded selection of row indices: from each
// class, round(fraction x its count) rows (at least one), chosen by a
// shuffle seeded with seed, returned in increasing order. A fraction of 1
// returns all rows. The same labels, fraction and seed give the same rows.
func Subset(labels []uint8, fraction float64, seed uint64) ([]int, error) {
	if !(fraction > 0 && fraction <= 1) {
		return nil, fmt.Errorf("probe: label fraction must be in (0, 1], got %v", fraction)
	}
	var byClass [256][]int
	for i, l := range labels {
		byClass[l] = append(byClass[l], i)
	}
	rng := rand.New(rand.NewPCG(seed, 0x5eed_9a0be))
	var out []int
	for _, idx := range byClass {
		if len(idx) == 0 {
			continue
		}
		take := int(math.Round(fraction * float64(len(idx))))
		take = max(1, min(take, len(idx)))
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		out = append(out, idx[:take]...)
	}
	sort.Ints(out)
	return out, nil
}

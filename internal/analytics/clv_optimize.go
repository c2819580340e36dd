package analytics

import (
	"math"
	"runtime"
	"slices"
	"sync"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"

	"github.com/pivand/pivand/internal/crm"
)

// objective evaluates a negative mean log-likelihood and its gradient at
// log-parameters x (grad has len(x)).
type objective func(x, grad []float64) float64

// FitStats reports how a maximum-likelihood fit went.
type FitStats struct {
	Iterations  int     `json:"iterations"`  // BFGS major iterations
	Evaluations int     `json:"evaluations"` // likelihood+gradient evaluations
	GradientMax float64 `json:"gradient"`    // largest |∂(mean LL)/∂log θ| at the optimum
	Status      string  `json:"status"`      // the BFGS termination status
	// Converged: the gradient at the optimum is below 1e-6. A fit that did
	// not converge (the likelihood is flat or a parameter runs off to 0 or
	// ∞) still returns its best point; its values should not be trusted.
	Converged bool `json:"converged"`
}

// minimizeLog minimises f over log-parameters, starting at x0, with gonum's
// BFGS (More–Thuente line search), then polishes the optimum with Newton
// steps on a finite-difference Hessian of the analytic gradient. It returns
// the optimum, the Hessian of f there (nil when not positive definite) and
// the statistics.
func minimizeLog(f objective, x0 []float64) ([]float64, *mat.SymDense, FitStats, error) {
	n := len(x0)
	var stats FitStats
	var cacheX, cacheG []float64
	var cacheF float64
	eval := func(x []float64) {
		if cacheX != nil && slices.Equal(cacheX, x) {
			return
		}
		if cacheX == nil {
			cacheX, cacheG = make([]float64, n), make([]float64, n)
		}
		copy(cacheX, x)
		cacheF = f(x, cacheG)
		stats.Evaluations++
		if math.IsNaN(cacheF) {
			cacheF = math.Inf(1) // lets the line search back off
		}
	}
	p := optimize.Problem{
		Func: func(x []float64) float64 { eval(x); return cacheF },
		Grad: func(g, x []float64) { eval(x); copy(g, cacheG) },
	}
	settings := &optimize.Settings{
		GradientThreshold: 1e-7,
		Converger:         &optimize.FunctionConverge{Absolute: 1e-15, Relative: 1e-15, Iterations: 25},
		MajorIterations:   1000,
	}
	res, err := optimize.Minimize(p, x0, settings, &optimize.BFGS{})
	if res == nil {
		return nil, nil, stats, crm.Errorf(crm.EINVALID, "the likelihood cannot be maximised: %v", err)
	}
	stats.Iterations = res.MajorIterations
	stats.Status = res.Status.String()
	if math.IsInf(res.F, 0) || math.IsNaN(res.F) {
		return nil, nil, stats, crm.Errorf(crm.EINVALID, "the likelihood cannot be maximised (status %s)", res.Status)
	}

	// Newton polish: BFGS stops once the gradient is small (or the line
	// search can make no more progress in the function value, which at a
	// flat optimum can leave the parameters a little off). The analytic
	// gradient stays precise there, so Newton steps on a finite-difference
	// Hessian of it finish the job in a few evaluations; the same Hessian
	// gives the standard errors.
	x := slices.Clone(res.X)
	g := make([]float64, n)
	f0 := f(x, g)
	stats.Evaluations++
	hess := fdHessian(f, x, g, &stats)
	var chol mat.Cholesky
	if hess == nil || !chol.Factorize(hess) {
		hess = nil
	} else {
		for range 6 {
			var step mat.VecDense
			if err := chol.SolveVecTo(&step, mat.NewVecDense(n, slices.Clone(g))); err != nil {
				break
			}
			trial := slices.Clone(x)
			big := 0.0
			for i := range trial {
				trial[i] -= step.AtVec(i)
				big = max(big, math.Abs(step.AtVec(i)))
			}
			tg := make([]float64, n)
			ft := f(trial, tg)
			stats.Evaluations++
			if math.IsNaN(ft) || ft > f0+1e-13*math.Abs(f0) || maxAbs(tg) >= maxAbs(g) {
				break
			}
			x, g, f0 = trial, tg, ft
			if big < 1e-10 {
				break
			}
		}
	}
	stats.GradientMax = maxAbs(g)
	stats.Converged = stats.GradientMax < 1e-6
	return x, hess, stats, nil
}

func maxAbs(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, math.Abs(x))
	}
	return m
}

// fdHessian is the forward-difference Jacobian of the analytic gradient g
// at x, symmetrised; nil when a value is not finite.
func fdHessian(f objective, x, g []float64, stats *FitStats) *mat.SymDense {
	n := len(x)
	const h = 1e-6
	cols := make([][]float64, n)
	xp := slices.Clone(x)
	for j := range n {
		xp[j] = x[j] + h
		cols[j] = make([]float64, n)
		f(xp, cols[j])
		xp[j] = x[j]
		stats.Evaluations++
		for i := range n {
			cols[j][i] = (cols[j][i] - g[i]) / h
		}
	}
	hs := mat.NewSymDense(n, nil)
	for i := range n {
		for j := i; j < n; j++ {
			v := (cols[i][j] + cols[j][i]) / 2
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil
			}
			hs.SetSym(i, j, v)
		}
	}
	return hs
}

// standardErrors returns the asymptotic standard errors of θ = exp(x) from
// the Hessian of the mean negative log-likelihood in log space and the
// total weight (observed information = weight·H; delta method).
func standardErrors(hess *mat.SymDense, x []float64, weight float64) []float64 {
	if hess == nil {
		return nil
	}
	var inv mat.SymDense
	var chol mat.Cholesky
	if !chol.Factorize(hess) || chol.InverseTo(&inv) != nil {
		return nil
	}
	se := make([]float64, len(x))
	for i := range x {
		se[i] = math.Exp(x[i]) * math.Sqrt(inv.At(i, i)/weight)
	}
	return se
}

// parallelChunks is the fixed number of pieces a likelihood sum is split
// into. Fixing it (rather than using the core count) makes every sum, and
// so every fit, bit-for-bit the same on any machine.
const parallelChunks = 16

// parallelSum runs fn over [0,n) split into parallelChunks pieces on up to
// GOMAXPROCS goroutines; each piece writes its partial sums into its own
// accumulator of width k, and the pieces are added in order.
func parallelSum(n, k int, acc []float64, fn func(lo, hi int, out []float64)) {
	parts := make([]float64, parallelChunks*k)
	chunk := (n + parallelChunks - 1) / parallelChunks
	workers := min(runtime.GOMAXPROCS(0), parallelChunks)
	if n < 20000 {
		workers = 1
	}
	run := func(c int) {
		lo, hi := c*chunk, min((c+1)*chunk, n)
		if lo < hi {
			fn(lo, hi, parts[c*k:(c+1)*k])
		}
	}
	if workers == 1 {
		for c := range parallelChunks {
			run(c)
		}
	} else {
		var wg sync.WaitGroup
		next := make(chan int, parallelChunks)
		for c := range parallelChunks {
			next <- c
		}
		close(next)
		for range workers {
			wg.Go(func() {
				for c := range next {
					run(c)
				}
			})
		}
		wg.Wait()
	}
	for i := range acc {
		acc[i] = 0
	}
	for c := range parallelChunks {
		for i := range k {
			acc[i] += parts[c*k+i]
		}
	}
}

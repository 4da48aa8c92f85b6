package landscape

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"gonum.org/v1/gonum/mat"
)

// EigenOptions is the budget and starting point of PowerIteration and
// Lanczos. Each iteration costs one Hessian-vector product.
type EigenOptions struct {
	// Iters is the largest number of iterations (default 100). For
	// Lanczos it is also the largest Krylov dimension, capped at Dim.
	Iters int
	// Tol is the relative residual at which an eigenpair counts as
	// converged (default 1e-8): |H v - theta v| <= Tol |theta| for a unit
	// v. For a symmetric H some eigenvalue lies within the residual of
	// theta, so the eigenvalue error is at most Tol |theta| (and of order
	// the residual squared over the spectral gap once the gap shows).
	Tol float64
	// K is the number of top eigenvalues Lanczos must converge (default
	// 1). PowerIteration finds one.
	K int
	// Start is the start vector (copied, not modified). A warm start from
	// the previous top eigenvector makes tracking the sharpness along a
	// run cheap. Nil draws a Gaussian vector from Rand.
	Start []float64
	// Rand draws the start vector when Start is nil.
	Rand *rand.Rand
}

func (o *EigenOptions) check(name string, n int) error {
	if o.Iters < 0 {
		return fmt.Errorf("landscape.%s: Iters = %d, want >= 0", name, o.Iters)
	}
	if o.Iters == 0 {
		o.Iters = 100
	}
	if !(o.Tol >= 0) {
		return fmt.Errorf("landscape.%s: Tol = %v, want >= 0", name, o.Tol)
	}
	if o.Tol == 0 {
		o.Tol = 1e-8
	}
	if o.K < 0 || o.K > n {
		return fmt.Errorf("landscape.%s: K = %d, want in [0, %d]", name, o.K, n)
	}
	if o.K == 0 {
		o.K = 1
	}
	if o.Start != nil && len(o.Start) != n {
		return fmt.Errorf("landscape.%s: len(Start) = %d, want %d", name, len(o.Start), n)
	}
	if o.Start == nil && o.Rand == nil {
		return fmt.Errorf("landscape.%s: Rand is nil and no Start given", name)
	}
	return nil
}

func (o *EigenOptions) start(n int) ([]float64, error) {
	v := make([]float64, n)
	if o.Start != nil {
		copy(v, o.Start)
	} else {
		for i := range v {
			v[i] = o.Rand.NormFloat64()
		}
	}
	nv := norm(v)
	if nv == 0 || math.IsNaN(nv) || math.IsInf(nv, 0) {
		return nil, errors.New("landscape: start vector is zero or not finite")
	}
	scal(1/nv, v)
	return v, nil
}

// EigenResult holds Ritz pairs of the Hessian at a point.
type EigenResult struct {
	// Values are the Ritz values in decreasing order: for Lanczos all m of
	// them (the extreme ones approximate both ends of the spectrum), for
	// power iteration one.
	Values []float64
	// Vectors[i] is the unit Ritz vector of Values[i], for the first K.
	Vectors [][]float64
	// Residuals[i] is |H v_i - theta_i v_i| for the first K (for Lanczos
	// the bound beta_m |s_{m,i}|, equal to it in exact arithmetic).
	Residuals []float64
	// Iters is the number of Hessian-vector products used.
	Iters int
	// Converged reports whether the first K pairs met the tolerance.
	Converged bool
}

// Smoothness returns max(|Values[0]|, |Values[last]|): the largest
// absolute eigenvalue seen, i.e. the local smoothness constant L = |Hess
// f(x)|_2 once Lanczos has converged at both ends of the spectrum. The
// maximum of it over the points of a run is the empirical L along the run.
func (r EigenResult) Smoothness() float64 {
	if len(r.Values) == 0 {
		return math.NaN()
	}
	return math.Max(math.Abs(r.Values[0]), math.Abs(r.Values[len(r.Values)-1]))
}

// PowerIteration estimates the eigenvalue of largest magnitude of the
// Hessian of obj at x, and its eigenvector, by the power method on
// Hessian-vector products: v <- H v / |H v| with the Rayleigh quotient
// theta = v^T H v, until the residual |H v - theta v| <= Tol |theta|. Its
// error shrinks like (|lambda_2| / |lambda_1|)^k, so it is slow when the
// top of the spectrum is crowded; then prefer Lanczos. Near a minimum the
// Hessian is positive semidefinite and the largest magnitude is the
// sharpness; elsewhere a large negative eigenvalue can win, which Lanczos
// separates.
func PowerIteration(obj Objective, x []float64, opts EigenOptions) (EigenResult, error) {
	n := obj.Dim()
	if len(x) != n {
		return EigenResult{}, fmt.Errorf("landscape.PowerIteration: len(x) = %d, want %d", len(x), n)
	}
	if err := opts.check("PowerIteration", n); err != nil {
		return EigenResult{}, err
	}
	v, err := opts.start(n)
	if err != nil {
		return EigenResult{}, err
	}
	w := make([]float64, n)
	var res EigenResult
	theta, resid := 0.0, math.Inf(1)
	for it := 1; it <= opts.Iters; it++ {
		obj.HVP(x, v, w)
		res.Iters = it
		theta = dot(v, w)
		r := 0.0
		for i := range w {
			d := w[i] - theta*v[i]
			r += d * d
		}
		resid = math.Sqrt(r)
		if resid <= opts.Tol*math.Abs(theta) {
			res.Converged = true
			break
		}
		nw := norm(w)
		if nw == 0 {
			// H v = 0: v is in the null space and theta = 0 is exact.
			res.Converged, theta, resid = true, 0, 0
			break
		}
		for i := range v {
			v[i] = w[i] / nw
		}
	}
	res.Values = []float64{theta}
	res.Vectors = [][]float64{v}
	res.Residuals = []float64{resid}
	return res, nil
}

// Lanczos estimates the K largest eigenvalues of the Hessian of obj at x
// (and, through its other Ritz values, the bottom of the spectrum) by the
// Lanczos process on Hessian-vector products (Lanczos 1950; Golub and Van
// Loan, Matrix Computations, ch. 10). After m steps the Krylov basis Q_m
// and the tridiagonal T_m = Q_m^T H Q_m satisfy H Q_m = Q_m T_m + beta_m
// q_{m+1} e_m^T; the eigenvalues theta_i of T_m (computed with gonum's
// EigenSym) are the Ritz values and |H Q_m s_i - theta_i Q_m s_i| =
// beta_m |s_{m,i}|, which is the convergence test. Every new basis vector
// is orthogonalized twice against all previous ones (full
// reorthogonalization): it costs O(m n) per step, negligible beside a
// Hessian-vector product for the small m used here, and prevents the
// spurious copies of converged eigenvalues that plain Lanczos produces in
// floating point. The process stops when the top K pairs converge, after
// Iters steps, or when beta vanishes (an invariant subspace: the Ritz
// values are then exact eigenvalues).
func Lanczos(obj Objective, x []float64, opts EigenOptions) (EigenResult, error) {
	n := obj.Dim()
	if len(x) != n {
		return EigenResult{}, fmt.Errorf("landscape.Lanczos: len(x) = %d, want %d", len(x), n)
	}
	if err := opts.check("Lanczos", n); err != nil {
		return EigenResult{}, err
	}
	m := min(opts.Iters, n)
	if m < opts.K {
		return EigenResult{}, fmt.Errorf("landscape.Lanczos: Iters = %d is less than K = %d", m, opts.K)
	}
	q, err := opts.start(n)
	if err != nil {
		return EigenResult{}, err
	}
	Q := [][]float64{q}
	var alpha, beta []float64
	var res EigenResult
	var vals []float64
	var vecs *mat.Dense
	for j := 0; j < m; j++ {
		w := make([]float64, n)
		obj.HVP(x, Q[j], w)
		res.Iters = j + 1
		a := dot(Q[j], w)
		alpha = append(alpha, a)
		axpy(-a, Q[j], w)
		if j > 0 {
			axpy(-beta[j-1], Q[j-1], w)
		}
		for range 2 {
			for _, qi := range Q {
				axpy(-dot(qi, w), qi, w)
			}
		}
		b := norm(w)
		beta = append(beta, b)
		if j+1 < opts.K && b > 0 {
			scal(1/b, w)
			Q = append(Q, w)
			continue
		}
		vals, vecs, err = tridiagEigen(alpha, beta[:j])
		if err != nil {
			return EigenResult{}, err
		}
		k := min(opts.K, len(vals))
		conv := true
		// Breakdown: beta tiny relative to the spectrum's scale means
		// Q spans an invariant subspace.
		scale := math.Max(math.Abs(vals[0]), math.Abs(vals[len(vals)-1]))
		exhausted := b <= 1e-14*math.Max(scale, 1e-300) || j+1 == m
		for i := 0; i < k; i++ {
			if b*math.Abs(vecs.At(j, i)) > opts.Tol*math.Abs(vals[i]) {
				conv = false
			}
		}
		if conv || exhausted {
			res.Converged = conv || b <= 1e-14*math.Max(scale, 1e-300)
			res.Values = vals
			res.Residuals = make([]float64, k)
			for i := 0; i < k; i++ {
				res.Residuals[i] = b * math.Abs(vecs.At(j, i))
				v := make([]float64, n)
				for l, ql := range Q {
					axpy(vecs.At(l, i), ql, v)
				}
				scal(1/norm(v), v)
				res.Vectors = append(res.Vectors, v)
			}
			if len(vals) < opts.K {
				res.Converged = false
			}
			return res, nil
		}
		scal(1/b, w)
		Q = append(Q, w)
	}
	// Unreachable: the loop returns at j+1 == m.
	return res, nil
}

// tridiagEigen returns the eigenvalues of the symmetric tridiagonal matrix
// with diagonal alpha and off-diagonal beta in decreasing order, with the
// eigenvectors as the matching columns.
func tridiagEigen(alpha, beta []float64) ([]float64, *mat.Dense, error) {
	m := len(alpha)
	t := mat.NewSymDense(m, nil)
	for i := range m {
		t.SetSym(i, i, alpha[i])
		if i+1 < m {
			t.SetSym(i, i+1, beta[i])
		}
	}
	var es mat.EigenSym
	if !es.Factorize(t, true) {
		return nil, nil, errors.New("landscape.Lanczos: eigendecomposition of the tridiagonal matrix failed")
	}
	ev := es.Values(nil)
	var vs mat.Dense
	es.VectorsTo(&vs)
	idx := make([]int, m)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return ev[idx[a]] > ev[idx[b]] })
	vals := make([]float64, m)
	vecs := mat.NewDense(m, m, nil)
	for c, i := range idx {
		vals[c] = ev[i]
		for r := range m {
			vecs.Set(r, c, vs.At(r, i))
		}
	}
	return vals, vecs, nil
}

// StabilityRatio returns sharpness * lr / 2, the sharpness in units of
// 2/eta. Gradient descent with step eta on a quadratic diverges along any
// direction of curvature above 2/eta; Cohen et al. (2021) observed that
// full-batch GD on neural networks drives the sharpness up to this
// threshold (progressive sharpening) and then keeps it hovering there (the
// edge of stability), so a ratio near 1 along a run is the signature.
func StabilityRatio(sharpness, lr float64) float64 { return sharpness * lr / 2 }

// TraceOptions is the budget of HutchinsonTrace.
type TraceOptions struct {
	// Probes is the number of Rademacher probe vectors, at least 2 (for
	// the standard error); default 100. Each costs one Hessian-vector
	// product.
	Probes int
	// Rand draws the probes; required.
	Rand *rand.Rand
}

// TraceEstimate is a Hutchinson estimate of a trace.
type TraceEstimate struct {
	// Trace is the mean of the probe values z^T H z.
	Trace float64
	// StdErr is the sample standard deviation of the probe values over
	// sqrt(Probes): the standard error of Trace.
	StdErr float64
	// Probes is the number of probes used.
	Probes int
}

// HutchinsonTrace estimates tr(H), H the Hessian of obj at x, by
// Hutchinson's estimator (Hutchinson 1989): for z with independent
// Rademacher (+-1) entries E[z^T H z] = tr H, and the variance of one probe
// is 2 sum_{i != j} H_ij^2, the smallest of all i.i.d. probe distributions
// with unit variance (so a diagonal H is estimated exactly). The mean of
// Probes independent values and its standard error are returned; for many
// probes the estimate is within 3 standard errors of the trace with
// probability about 0.997.
func HutchinsonTrace(obj Objective, x []float64, opts TraceOptions) (TraceEstimate, error) {
	n := obj.Dim()
	if len(x) != n {
		return TraceEstimate{}, fmt.Errorf("landscape.HutchinsonTrace: len(x) = %d, want %d", len(x), n)
	}
	if opts.Probes == 0 {
		opts.Probes = 100
	}
	if opts.Probes < 2 {
		return TraceEstimate{}, fmt.Errorf("landscape.HutchinsonTrace: Probes = %d, want >= 2", opts.Probes)
	}
	if opts.Rand == nil {
		return TraceEstimate{}, errors.New("landscape.HutchinsonTrace: Rand is nil")
	}
	z := make([]float64, n)
	hz := make([]float64, n)
	var mean, m2 float64
	for k := 1; k <= opts.Probes; k++ {
		for i := range z {
			// One random bit per entry: Uint64 gives 64 of them.
			if i%64 == 0 {
				bits := opts.Rand.Uint64()
				for j := i; j < min(i+64, n); j++ {
					z[j] = float64(int64(bits>>(j-i)&1)*2 - 1)
				}
			}
		}
		obj.HVP(x, z, hz)
		s := dot(z, hz)
		// Welford's update: stable for many probes of large values.
		d := s - mean
		mean += d / float64(k)
		m2 += d * (s - mean)
	}
	sd := math.Sqrt(m2 / float64(opts.Probes-1))
	return TraceEstimate{Trace: mean, StdErr: sd / math.Sqrt(float64(opts.Probes)), Probes: opts.Probes}, nil
}

package optim

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"

	"github.com/gradflow/gradflow/internal/nilcheck"
	"github.com/gradflow/gradflow/internal/simd"
)

// Weakly convex problems (Davis and Drusvyatskiy 2019).
//
// A function f is rho-weakly convex if f + (rho/2)|x|^2 is convex. The
// compositions h(c(x)) with h convex and L_h-Lipschitz and c smooth with an
// L_c-Lipschitz Jacobian are (L_h L_c)-weakly convex: robust phase retrieval
// (1/m) sum_i |<a_i, x>^2 - b_i|, blind deconvolution, robust matrix
// sensing, and any smooth function. Such an f need not be differentiable,
// so |grad f| cannot measure stationarity; its Moreau envelope can. For
// rhobar > rho,
//
//	f_{1/rhobar}(x) = min_y f(y) + (rhobar/2)|y - x|^2
//	prox(x)         = argmin_y f(y) + (rhobar/2)|y - x|^2   (unique: the
//	                  objective is (rhobar - rho)-strongly convex)
//	grad f_{1/rhobar}(x) = rhobar (x - prox(x)),
//
// and a small |grad f_{1/rhobar}(x)| = delta means x is within delta/rhobar
// of a point, prox(x), that is nearly stationary for f: dist(0, ∂f(prox(x)))
// <= delta and f(prox(x)) <= f(x). MoreauProx computes prox(x) for the
// finite sums AbsComposite describes.
//
// Davis and Drusvyatskiy's stochastic model-based methods take, from x_t
// and a sample i, the step
//
//	x_{t+1} = argmin_y f_{x_t}(y; i) + |y - x_t|^2/(2 eta_t)
//
// with a one-sided model f_x(.; i) of the sampled term f_i: the linear model
// f_i(x) + <v, y - x> (v a subgradient: stochastic subgradient method), the
// convex composite model h(c_i(x) + ∇c_i(x)(y - x)) (stochastic
// prox-linear), or f_i itself (stochastic proximal point). For each model
// their analysis bounds, for T steps with the constant step
// eta = alpha/sqrt(T+1), t* drawn uniformly from {0, ..., T} (in general
// with probability proportional to eta_t), rhobar = 2 rho and L a bound on
// the subgradients (up to constants that depend on the model),
//
//	E |grad f_{1/rhobar}(x_{t*})|^2 <= C (f_{1/rhobar}(x_0) - min f + rhobar L^2 alpha^2) / (alpha sqrt(T+1)):
//
// |grad f_{1/rhobar}| = O(T^(-1/4)), the
// nonsmooth nonconvex analogue of the O(T^(-1/2)) rate of |grad f| for
// SGD on smooth nonconvex f (Ghadimi and Lan 2013).

// AbsComposite is the weakly convex finite sum
//
//	f(x) = (1/m) sum_{i<m} |c_i(x)|
//
// of absolute values of smooth residuals c_i: robust (l1) regression when
// c_i is affine, robust phase retrieval when c_i(x) = <a_i, x>^2 - b_i.
type AbsComposite interface {
	// Len returns m (>= 1).
	Len() int
	// Dim returns the dimension of x.
	Dim() int
	// Residual returns c_i(x) and, if grad is not nil, writes the gradient
	// of c_i at x into grad.
	Residual(i int, x, grad []float64) float64
	// Rho returns a modulus rho >= 0 with
	//	(1/m) sum_i |c_i(z) - c_i(y) - <∇c_i(y), z - y>| <= (rho/2)|z - y|^2
	// for all y, z: the linearized model is then accurate to second
	// order, and f is rho-weakly convex.
	Rho() float64
}

// TermProx is implemented by an AbsComposite whose terms have an exact
// proximal map; the stochastic proximal point method needs it.
type TermProx interface {
	// ProxTerm sets dst = argmin_y |c_i(y)| + |y - x|^2/(2 eta); dst may be x.
	ProxTerm(dst, x []float64, i int, eta float64)
}

// Model selects the model of a sampled term that ModelBased minimizes.
type Model int

const (
	// LinearModel is the stochastic subgradient method:
	// x <- x - eta sign(c_i(x)) ∇c_i(x).
	LinearModel Model = iota
	// ProxLinearModel is the stochastic prox-linear method, in closed
	// form for one absolute residual: with c = c_i(x), g = ∇c_i(x),
	// x <- x - eta clip(c/(eta |g|^2), -1, 1) g, which stops at the zero
	// of the linearized residual when that is within reach.
	ProxLinearModel
	// FullModel is the stochastic proximal point method,
	// x <- argmin_y |c_i(y)| + |y - x|^2/(2 eta); the problem must
	// implement TermProx.
	FullModel
)

// String returns the model's name as error messages and tests print it.
func (m Model) String() string {
	switch m {
	case LinearModel:
		return "subgradient"
	case ProxLinearModel:
		return "prox-linear"
	case FullModel:
		return "prox-point"
	}
	return fmt.Sprintf("Model(%d)", int(m))
}

// ModelBasedConfig configures ModelBased.
type ModelBasedConfig struct {
	Model Model
	// LR is alpha: the step is eta_t = alpha (constant; Davis and
	// Drusvyatskiy take alpha/sqrt(T+1) for a horizon of T steps) or,
	// with Decay, eta_t = alpha/sqrt(t+1).
	LR    float64
	Decay bool
}

// ModelBased runs Davis and Drusvyatskiy's stochastic model-based methods
// on an AbsComposite, one uniformly drawn term per step, in float64 on its
// own copy of the iterate. MoreauGradNorm at X() after a uniformly drawn
// number of steps gives the stationarity measure of the theory.
type ModelBased struct {
	f     AbsComposite
	cfg   ModelBasedConfig
	prox  TermProx
	rng   *rand.Rand
	x, g  []float64
	steps int
}

// NewModelBased returns the method cfg selects for f from x0 (copied),
// drawing terms from rng.
func NewModelBased(f AbsComposite, x0 []float64, cfg ModelBasedConfig, rng *rand.Rand) (*ModelBased, error) {
	if nilcheck.Nil(f) {
		return nil, errors.New("optim: NewModelBased: the objective is nil")
	}
	if rng == nil {
		return nil, errors.New("optim: NewModelBased: rng is nil (want a seeded *rand.Rand)")
	}
	if f.Len() < 1 || len(x0) != f.Dim() {
		return nil, fmt.Errorf("optim: NewModelBased: %d terms and x0 of length %d for dimension %d (want >= 1 term and len(x0) = Dim)", f.Len(), len(x0), f.Dim())
	}
	if !(cfg.LR > 0) || math.IsInf(cfg.LR, 1) {
		return nil, errField("ModelBased", "LR", cfg.LR, "a finite number > 0")
	}
	o := &ModelBased{f: f, cfg: cfg, rng: rng, x: append([]float64(nil), x0...), g: make([]float64, len(x0))}
	switch cfg.Model {
	case LinearModel, ProxLinearModel:
	case FullModel:
		p, ok := f.(TermProx)
		if !ok {
			return nil, fmt.Errorf("optim: NewModelBased: Model prox-point needs an objective with ProxTerm (TermProx); %T has none", f)
		}
		o.prox = p
	default:
		return nil, errField("ModelBased", "Model", int(cfg.Model), "LinearModel, ProxLinearModel or FullModel")
	}
	return o, nil
}

// X returns the current iterate (the method's own slice: copy it to keep
// it across steps).
func (o *ModelBased) X() []float64 { return o.x }

// Steps returns the number of steps taken.
func (o *ModelBased) Steps() int { return o.steps }

// Eta returns the step size of the next step.
func (o *ModelBased) Eta() float64 {
	if o.cfg.Decay {
		return o.cfg.LR / math.Sqrt(float64(o.steps+1))
	}
	return o.cfg.LR
}

// Step draws a term and takes one step on its model.
func (o *ModelBased) Step() {
	eta := o.Eta()
	i := o.rng.IntN(o.f.Len())
	o.steps++
	if o.cfg.Model == FullModel {
		o.prox.ProxTerm(o.x, o.x, i, eta)
		return
	}
	c := o.f.Residual(i, o.x, o.g)
	var s float64
	switch {
	case o.cfg.Model == LinearModel:
		s = eta * sign(c)
	default:
		if q := sumSquares(o.g); q > 0 {
			s = eta * math.Max(-1, math.Min(1, c/(eta*q)))
		}
	}
	for k, v := range o.g {
		o.x[k] -= s * v
	}
}

func sign(v float64) float64 {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

// AbsValue returns f(x) = (1/m) sum_i |c_i(x)|.
func AbsValue(f AbsComposite, x []float64) float64 {
	var s float64
	for i := 0; i < f.Len(); i++ {
		s += math.Abs(f.Residual(i, x, nil))
	}
	return s / float64(f.Len())
}

// MoreauOptions sets the accuracy of MoreauProx.
type MoreauOptions struct {
	// Tol bounds |y - prox(x)| for the returned y (0 means 1e-6 times
	// max(1, |x|)), through the certificate described at MoreauProx.
	Tol float64
	// MaxIter caps the outer (prox-linear) iterations (0 means 500).
	MaxIter int
}

// MoreauProx sets dst to prox(x) = argmin_y F(y), F(y) = f(y) +
// (rhobar/2)|y - x|^2, for rhobar > f.Rho(), and returns the number of
// outer iterations (dst may be x). It minimizes F by majorization: from y_k,
//
//	y_{k+1} = argmin_z (1/m) sum_i |c_i(y_k) + <∇c_i(y_k), z - y_k>| + (rhobar/2)|z - x|^2 + (rho/2)|z - y_k|^2,
//
// whose objective M_k is >= F and equals F at y_k (Rho's inequality), and
// <= F + rho|. - y_k|^2. Comparing with z on the segment from y_k to prox(x)
// gives the contraction F(y_{k+1}) - F* <= q (F(y_k) - F*), q = 2 rho/(2 rho
// + mu), mu = rhobar - rho the strong convexity of F, hence the certificate
// it stops on:
//
//	|y_{k+1} - prox(x)|^2 <= 2 (F(y_{k+1}) - F*)/mu <= 2 q (F(y_k) - F(y_{k+1}))/((1 - q) mu).
//
// In floating point F(y_k) - F(y_{k+1}) cannot be resolved below the
// rounding of F (about 1e-16 F), so this certificate alone only reaches
// |y - prox(x)| of order 1e-8 sqrt(F/mu). MoreauProx therefore also
// requires the tail estimate |y_{k+1} - y_k| r/(1 - r) <= Tol, r the last
// ratio of consecutive steps (the iteration converges linearly): with both,
// the answer agrees with an exact solve to about Tol down to Tol ~ 1e-12
// (checked against a piecewise-quadratic exact solve in one dimension).
// Each convex subproblem, an l1 fit plus a quadratic, is solved through its
// dual, a box-constrained quadratic program in m variables (|u_i| <= 1/m),
// by cyclic coordinate ascent until the duality gap is below 1e-14 times
// max(1, F(y_k)), warm-started from the previous duals; the certificate
// then holds up to that gap, far below Tol for well-scaled problems.
// An error reports rhobar <= rho, a length mismatch, or no certificate within
// MaxIter iterations.
func MoreauProx(dst []float64, f AbsComposite, x []float64, rhobar float64, opt MoreauOptions) (int, error) {
	rho := f.Rho()
	d, m := f.Dim(), f.Len()
	if len(x) != d || len(dst) != d {
		return 0, fmt.Errorf("optim: MoreauProx: len(x) = %d, len(dst) = %d, want Dim = %d", len(x), len(dst), d)
	}
	if !(rhobar > rho) || math.IsInf(rhobar, 1) {
		return 0, fmt.Errorf("optim: MoreauProx: rhobar = %g, want finite and > rho = %g", rhobar, rho)
	}
	tol, maxIter := opt.Tol, opt.MaxIter
	if tol == 0 {
		tol = 1e-6 * math.Max(1, math.Sqrt(sumSquares(x)))
	}
	if maxIter == 0 {
		maxIter = 500
	}
	mu := rhobar - rho
	q := 2 * rho / (2*rho + mu)
	s := newL1QP(m, d)
	y := append([]float64(nil), x...)
	F := func(z []float64) float64 { return AbsValue(f, z) + rhobar/2*sqDist(z, x) }
	fy := F(y)
	prevStep := 0.0
	for it := 1; it <= maxIter; it++ {
		// Model at y: residual r_i + <g_i, z> with r_i = c_i(y) - <g_i, y>;
		// quadratic (gamma/2)|z - w|^2 + const with gamma = rhobar + rho,
		// w = (rhobar x + rho y)/gamma.
		gamma := rhobar + rho
		for i := 0; i < m; i++ {
			g := s.rows[i*d : (i+1)*d]
			c := f.Residual(i, y, g)
			s.r[i] = c - simd.Dot(g, y)
		}
		for k := range s.w {
			s.w[k] = (rhobar*x[k] + rho*y[k]) / gamma
		}
		s.solve(gamma, 1e-14*math.Max(1, fy))
		fz := F(s.z)
		if rho == 0 { // the model is exact: one subproblem solves it
			copy(dst, s.z)
			return it, nil
		}
		dec := math.Max(fy-fz, 0)
		step := math.Sqrt(sqDist(y, s.z))
		// The observed contraction of the steps estimates the tail
		// sum_{j>k} |y_{j+1} - y_j| <= step r/(1 - r).
		r := 0.99
		if prevStep > 0 {
			r = math.Min(r, step/prevStep)
		}
		prevStep = step
		copy(y, s.z)
		fy = fz
		if 2*q*dec/((1-q)*mu) <= tol*tol && step*r/(1-r) <= tol {
			copy(dst, y)
			return it, nil
		}
	}
	copy(dst, y)
	return maxIter, fmt.Errorf("optim: MoreauProx: no certificate |y - prox(x)| <= %g after %d iterations", tol, maxIter)
}

// MoreauGradNorm returns |grad f_{1/rhobar}(x)| = rhobar |x - prox(x)|,
// with prox(x) from MoreauProx (so accurate to rhobar times its Tol).
func MoreauGradNorm(f AbsComposite, x []float64, rhobar float64, opt MoreauOptions) (float64, error) {
	p := make([]float64, len(x))
	if _, err := MoreauProx(p, f, x, rhobar, opt); err != nil {
		return math.NaN(), err
	}
	return rhobar * math.Sqrt(sqDist(x, p)), nil
}

// l1QP solves min_z (1/m) sum_i |r_i + <g_i, z>| + (gamma/2)|z - w|^2
// through its dual
//
//	max_{|u_i| <= 1/m} sum_i u_i (<g_i, w> + r_i) - |sum_i u_i g_i|^2/(2 gamma),
//
// z = w - sum_i u_i g_i / gamma, by cyclic coordinate ascent.
type l1QP struct {
	m, d    int
	rows    []float64 // g_i, row-major m x d
	r, u, w []float64
	z       []float64
}

func newL1QP(m, d int) *l1QP {
	return &l1QP{m: m, d: d, rows: make([]float64, m*d), r: make([]float64, m),
		u: make([]float64, m), w: make([]float64, d), z: make([]float64, d)}
}

func (s *l1QP) solve(gamma, gapTol float64) {
	bound := 1 / float64(s.m)
	copy(s.z, s.w)
	for i := 0; i < s.m; i++ {
		if s.u[i] != 0 {
			simd.Axpy(-s.u[i]/gamma, s.rows[i*s.d:(i+1)*s.d], s.z)
		}
	}
	for epoch := 0; epoch < 100000; epoch++ {
		for i := 0; i < s.m; i++ {
			g := s.rows[i*s.d : (i+1)*s.d]
			q := sumSquares(g)
			if q == 0 {
				continue
			}
			nu := math.Max(-bound, math.Min(bound, s.u[i]+gamma*(simd.Dot(g, s.z)+s.r[i])/q))
			if du := nu - s.u[i]; du != 0 {
				simd.Axpy(-du/gamma, g, s.z)
				s.u[i] = nu
			}
		}
		if epoch%4 == 3 && s.gap(gamma) <= gapTol {
			return
		}
	}
}

// gap returns primal(z) - dual(u) at the current pair.
func (s *l1QP) gap(gamma float64) float64 {
	// With z = w - v/gamma, v = sum u_i g_i: primal - dual =
	// sum_i [|res_i|/m - u_i res_i], res_i = r_i + <g_i, z>, since the
	// quadratic terms cancel.
	var g float64
	for i := 0; i < s.m; i++ {
		res := s.r[i] + simd.Dot(s.rows[i*s.d:(i+1)*s.d], s.z)
		g += math.Abs(res)/float64(s.m) - s.u[i]*res
	}
	return g
}

// sqDist returns |x - y|^2.
func sqDist(x, y []float64) float64 {
	var s float64
	for i := range x {
		s += (x[i] - y[i]) * (x[i] - y[i])
	}
	return s
}

// PhaseRetrieval is robust phase retrieval (Duchi and Ruan 2019; Davis,
// Drusvyatskiy and Paquette 2020): recover Signal up to sign from
// b_i = <a_i, Signal>^2 (plus noise, or replaced by outliers for a
// fraction of i) by minimizing
//
//	f(x) = (1/m) sum_i |<a_i, x>^2 - b_i|,
//
// an AbsComposite with c_i(x) = <a_i, x>^2 - b_i, ∇c_i = 2 <a_i, x> a_i and
// rho = 2 lambda_max((1/m) sum_i a_i a_i^T): the linearization error of
// c_i is exactly <a_i, z - y>^2. Without noise and with few enough
// outliers f is sharp, f(x) - f(±Signal) >= lambda dist(x, {±Signal})
// for m >= C d (Duchi and Ruan 2019), and model-based methods converge to
// ±Signal from a start close enough.
type PhaseRetrieval struct {
	A      [][]float64 // the m measurement vectors a_i
	B      []float64
	Signal []float64
	rho    float64
}

// PhaseRetrievalConfig sets the measurements of NewPhaseRetrieval.
type PhaseRetrievalConfig struct {
	M, D int
	// Noise adds Noise*N(0,1) to every b_i.
	Noise float64
	// Corrupt is the fraction of b_i replaced by |N(0, 100)| outliers
	// (the first round(Corrupt*M) measurements).
	Corrupt float64
}

// NewPhaseRetrieval draws a_i ~ N(0, I_d) and Signal uniform on the unit
// sphere from rng, and the measurements cfg describes.
func NewPhaseRetrieval(rng *rand.Rand, cfg PhaseRetrievalConfig) (*PhaseRetrieval, error) {
	if rng == nil {
		return nil, errors.New("optim: NewPhaseRetrieval: rng is nil")
	}
	if cfg.M < 1 || cfg.D < 1 {
		return nil, fmt.Errorf("optim: NewPhaseRetrieval: M = %d, D = %d, want both >= 1", cfg.M, cfg.D)
	}
	if !(cfg.Corrupt >= 0 && cfg.Corrupt <= 1) || !finiteNonNeg(cfg.Noise) {
		return nil, fmt.Errorf("optim: NewPhaseRetrieval: Corrupt = %g, Noise = %g, want Corrupt in [0, 1] and Noise >= 0", cfg.Corrupt, cfg.Noise)
	}
	p := &PhaseRetrieval{A: make([][]float64, cfg.M), B: make([]float64, cfg.M), Signal: make([]float64, cfg.D)}
	for k := range p.Signal {
		p.Signal[k] = rng.NormFloat64()
	}
	scaleTo(p.Signal, 1)
	bad := int(math.Round(cfg.Corrupt * float64(cfg.M)))
	gram := mat.NewSymDense(cfg.D, nil)
	for i := range p.A {
		a := make([]float64, cfg.D)
		for k := range a {
			a[k] = rng.NormFloat64()
		}
		p.A[i] = a
		v := simd.Dot(a, p.Signal)
		p.B[i] = v*v + cfg.Noise*rng.NormFloat64()
		if i < bad {
			p.B[i] = math.Abs(10 * rng.NormFloat64())
		}
		gram.SymRankOne(gram, 1/float64(cfg.M), mat.NewVecDense(cfg.D, a))
	}
	var e mat.EigenSym
	if !e.Factorize(gram, false) {
		return nil, errors.New("optim: NewPhaseRetrieval: eigendecomposition of the measurement covariance failed")
	}
	ev := e.Values(nil)
	// Round up so that Rho's inequality holds despite rounding.
	p.rho = 2 * ev[len(ev)-1] * (1 + 1e-12)
	return p, nil
}

func scaleTo(x []float64, norm float64) {
	s := norm / math.Sqrt(sumSquares(x))
	for k := range x {
		x[k] *= s
	}
}

// Len returns m.
func (p *PhaseRetrieval) Len() int { return len(p.A) }

// Dim returns d.
func (p *PhaseRetrieval) Dim() int { return len(p.Signal) }

// Rho returns 2 lambda_max((1/m) sum_i a_i a_i^T).
func (p *PhaseRetrieval) Rho() float64 { return p.rho }

// Residual returns <a_i, x>^2 - b_i and its gradient 2 <a_i, x> a_i.
func (p *PhaseRetrieval) Residual(i int, x, grad []float64) float64 {
	a := p.A[i]
	v := simd.Dot(a, x)
	if grad != nil {
		for k, ak := range a {
			grad[k] = 2 * v * ak
		}
	}
	return v*v - p.B[i]
}

// ProxTerm computes argmin_y |<a_i, y>^2 - b_i| + |y - x|^2/(2 eta)
// exactly. The minimizer is y = x - lambda a_i (moving across a_i's
// orthogonal complement only adds to the quadratic), and with u = <a_i, x>,
// q = |a_i|^2, lambda minimizes phi(lambda) = |(u - lambda q)^2 - b_i| +
// q lambda^2/(2 eta), a piecewise quadratic: its minimum is at a kink
// (u - lambda q)^2 = b_i or at the stationary point of one of its two
// quadratic pieces, lambda = 2u/(2q + 1/eta) or -2u/(1/eta - 2q); ProxTerm
// takes the best of these candidates.
func (p *PhaseRetrieval) ProxTerm(dst, x []float64, i int, eta float64) {
	a, b := p.A[i], p.B[i]
	u, q := simd.Dot(a, x), sumSquares(a)
	copy(dst, x)
	if q == 0 {
		return
	}
	phi := func(l float64) float64 {
		v := u - l*q
		return math.Abs(v*v-b) + q*l*l/(2*eta)
	}
	best, bestPhi := 0.0, phi(0)
	try := func(l float64) {
		if v := phi(l); v < bestPhi && !math.IsNaN(v) {
			best, bestPhi = l, v
		}
	}
	try(2 * u / (2*q + 1/eta))
	if den := 1/eta - 2*q; den != 0 {
		try(-2 * u / den)
	}
	if b >= 0 {
		r := math.Sqrt(b)
		try((u - r) / q)
		try((u + r) / q)
	}
	simd.Axpy(-best, a, dst)
}

// DistToSignal returns min(|x - Signal|, |x + Signal|) / |Signal|, the
// error of phase retrieval (the sign is not identifiable).
func (p *PhaseRetrieval) DistToSignal(x []float64) float64 {
	var dp float64
	for k, s := range p.Signal {
		dp += (x[k] + s) * (x[k] + s)
	}
	return math.Sqrt(math.Min(sqDist(x, p.Signal), dp) / sumSquares(p.Signal))
}

package flow

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/gradflow/gradflow/internal/nilcheck"
	"github.com/gradflow/gradflow/landscape"
)

// dpStability is where the stability region of the Dormand-Prince 5(4)
// pair crosses the negative real axis: the explicit scheme is stable on
// y' = -lambda y for h lambda <= 3.307. The stiffness cap keeps h lambda
// at 90% of it.
const dpStability = 3.307

// FlowConfig describes the ordinary differential equation a Flow
// integrates on an objective L:
//
//	plain (Eta = 0):   d theta/dt = -grad L(theta) / (1 - beta)
//	modified (Eta > 0): d theta/dt = -grad Ltilde(theta) / (1 - beta),
//	                   Ltilde = L + Eta (1 + beta) / (4 (1 - beta)^2) |grad L|^2,
//
// with beta = Momentum. The plain flow is the limit of gradient descent
// (heavy ball with momentum beta) at step Eta -> 0 with time t = k Eta; the
// modified flow is its first-order backward-error correction, which the
// discrete iterates follow to O(Eta^2) instead of O(Eta). See the package
// documentation for the derivation and references.
type FlowConfig struct {
	// Eta is the step of the discrete method whose modified equation is
	// integrated; 0 integrates the plain flow.
	Eta float64 `json:"eta"`
	// Momentum is the heavy-ball coefficient beta in [0, 1) (PyTorch's SGD
	// momentum with dampening 0: the buffer starts at the first gradient).
	Momentum float64 `json:"momentum"`
	// ODE holds the integrator's tolerances (StepCap is set by the Flow).
	ODE ODEOptions `json:"-"`
	// SharpnessEvery is the number of accepted steps between estimates of
	// the Hessian's largest eigenvalue magnitude, which caps the step
	// where explicit integration turns unstable (default 20; the first
	// estimate is at the initial point). Negative turns the cap off,
	// leaving stability to the error control alone.
	SharpnessEvery int `json:"sharpness_every"`
	// Seed draws the start vector of the first power iteration.
	Seed uint64 `json:"seed"`
}

// FlowStats describes a Flow solve: the integrator's statistics and the
// oracle calls they cost.
type FlowStats struct {
	ODE        ODEStats `json:"ode"`
	Grads      int      `json:"grads"`      // gradient evaluations
	HVPs       int      `json:"hvps"`       // Hessian-vector products (field of the modified flow and sharpness)
	Estimates  int      `json:"estimates"`  // sharpness estimates
	Sharpness  float64  `json:"sharpness"`  // largest sharpness estimate along the solve
	FirstSharp float64  `json:"sharpness0"` // sharpness estimate at the initial point
}

// GradHVPer is an objective that computes its gradient g and a
// Hessian-vector product H v in one pass (v nil meaning v = g), as
// landscape.ModelObjective does by one double backward. Flow uses it for
// the modified field when the objective has it.
type GradHVPer interface {
	GradHVP(x, v, g, hv []float64) float64
}

// Flow integrates a FlowConfig's equation on a landscape.Objective in
// float64 with DormandPrince. It is not safe for concurrent use.
type Flow struct {
	obj   landscape.Objective
	cfg   FlowConfig
	ode   *DormandPrince
	coef  float64 // Eta (1 + beta) / (2 (1 - beta)^2): the multiplier of H grad L in grad Ltilde
	scale float64 // 1 / (1 - beta)
	g, hv []float64
	eig   []float64 // warm start of the power iteration
	rng   *rand.Rand
	stats FlowStats
}

// NewFlow returns the flow of cfg on obj.
func NewFlow(obj landscape.Objective, cfg FlowConfig) (*Flow, error) {
	if nilcheck.Nil(obj) {
		return nil, errors.New("flow.NewFlow: objective is nil")
	}
	switch {
	case !(cfg.Eta >= 0) || math.IsInf(cfg.Eta, 0):
		return nil, fmt.Errorf("flow.NewFlow: Eta = %g must be finite and >= 0", cfg.Eta)
	case !(cfg.Momentum >= 0 && cfg.Momentum < 1):
		return nil, fmt.Errorf("flow.NewFlow: Momentum = %g must be in [0, 1)", cfg.Momentum)
	}
	if cfg.SharpnessEvery == 0 {
		cfg.SharpnessEvery = 20
	}
	n := obj.Dim()
	f := &Flow{obj: obj, cfg: cfg, g: make([]float64, n), hv: make([]float64, n),
		rng: rand.New(rand.NewPCG(cfg.Seed, 0x5eed)), scale: 1 / (1 - cfg.Momentum)}
	b := cfg.Momentum
	f.coef = cfg.Eta * (1 + b) / (2 * (1 - b) * (1 - b))
	opts := cfg.ODE
	if cfg.SharpnessEvery > 0 {
		opts.StepCap = f.stepCap
		opts.CapEvery = cfg.SharpnessEvery
	}
	ode, err := NewDormandPrince(n, opts)
	if err != nil {
		return nil, fmt.Errorf("flow.NewFlow: %w", err)
	}
	f.ode = ode
	f.cfg.ODE = ode.Options()
	return f, nil
}

// Config returns the configuration with defaults filled in.
func (f *Flow) Config() FlowConfig { return f.cfg }

// Field writes the right-hand side of the flow at theta into dst.
func (f *Flow) Field(_ float64, theta, dst []float64) {
	if f.coef == 0 {
		f.obj.Grad(theta, f.g)
		f.stats.Grads++
		for i, g := range f.g {
			dst[i] = -f.scale * g
		}
		return
	}
	if gh, ok := f.obj.(GradHVPer); ok {
		// One double backward gives both.
		gh.GradHVP(theta, nil, f.g, f.hv)
	} else {
		f.obj.Grad(theta, f.g)
		f.stats.Grads++
		f.obj.HVP(theta, f.g, f.hv)
	}
	f.stats.HVPs++
	for i, g := range f.g {
		dst[i] = -f.scale * (g + f.coef*f.hv[i])
	}
}

// InitialPoint writes into dst the point the flow starts from so that it
// tracks the discrete method started at theta0: theta0 itself, except for
// the modified flow of heavy ball, where it is
//
//	theta0 + Eta beta / (1 - beta)^2 grad L(theta0).
//
// The shift accounts for heavy ball's first step, -Eta grad L, being
// shorter than the steady velocity -Eta grad L / (1 - beta): after the
// transient (which decays like beta^k) the iterates follow the modified
// flow from this point, not from theta0, and starting at theta0 would
// leave an O(Eta) error that hides the O(Eta^2) agreement.
func (f *Flow) InitialPoint(dst, theta0 []float64) []float64 {
	dst = append(dst[:0], theta0...)
	b := f.cfg.Momentum
	if f.cfg.Eta == 0 || b == 0 {
		return dst
	}
	f.obj.Grad(theta0, f.g)
	f.stats.Grads++
	c := f.cfg.Eta * b / ((1 - b) * (1 - b))
	for i, g := range f.g {
		dst[i] += c * g
	}
	return dst
}

// Solve integrates the flow from theta(0) = InitialPoint(theta0) and writes
// theta(times[i]) into out[i]. The statistics count the calls of this solve.
func (f *Flow) Solve(ctx context.Context, theta0 []float64, times []float64, out [][]float64) (FlowStats, error) {
	if len(theta0) != f.obj.Dim() {
		return FlowStats{}, fmt.Errorf("flow: initial point of length %d, want %d (the objective's dimension)", len(theta0), f.obj.Dim())
	}
	f.stats = FlowStats{}
	start := f.InitialPoint(nil, theta0)
	st, err := f.ode.Solve(ctx, f.Field, 0, start, times, out)
	f.stats.ODE = st
	return f.stats, err
}

// stepCap is the stiffness bound 0.9 * 3.307 (1 - beta) / (s + 2 coef s^2)
// from an estimate s of the Hessian's largest eigenvalue magnitude: the
// Jacobian of the plain field is -H / (1 - beta), that of the modified one
// is -(H + coef (H^2 + D^3L[grad L])) / (1 - beta), whose third-derivative
// term is bounded here by one more coef s^2.
func (f *Flow) stepCap(_ float64, theta []float64) float64 {
	opts := landscape.EigenOptions{Iters: 30, Tol: 1e-2, Start: f.eig, Rand: f.rng}
	res, err := landscape.PowerIteration(f.obj, theta, opts)
	if err != nil || len(res.Values) == 0 {
		return 0
	}
	f.stats.HVPs += res.Iters
	f.stats.Estimates++
	f.eig = append(f.eig[:0], res.Vectors[0]...)
	s := math.Abs(res.Values[0])
	if f.stats.Estimates == 1 {
		f.stats.FirstSharp = s
	}
	f.stats.Sharpness = math.Max(f.stats.Sharpness, s)
	if !(s > 0) {
		return 0
	}
	return 0.9 * dpStability * (1 - f.cfg.Momentum) / (s + 2*f.coef*s*s)
}

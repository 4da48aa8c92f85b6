package flow

import (
	"context"
	"errors"
	"fmt"
	"math"
)

// Field is the right-hand side of an ordinary differential equation
// y' = f(t, y): it writes f(t, y) into dy (len(dy) == len(y)) and must not
// keep y or dy.
type Field func(t float64, y, dy []float64)

// ODEOptions controls the error and the step of DormandPrince.
type ODEOptions struct {
	// RTol and ATol are the relative and absolute tolerances of the local
	// error: a step is accepted when the root mean square over the
	// components of e_i / (ATol + RTol max(|y_i|, |y_i,new|)) is at most 1.
	// Defaults: RTol 1e-8, ATol RTol/100.
	RTol, ATol float64
	// InitialStep is the first step tried; 0 picks it from the field
	// (Hairer, Norsett and Wanner 1993, II.4).
	InitialStep float64
	// MaxStep bounds every step (0: no bound besides the interval).
	MaxStep float64
	// MaxSteps bounds the number of attempted steps (default 1,000,000):
	// the solver returns an error rather than run forever on a stiff or
	// blowing-up problem.
	MaxSteps int
	// StepCap, when not nil, is a state-dependent bound on the step,
	// re-evaluated at the start and after every CapEvery accepted steps
	// (default 1). GradientFlow uses it for the stiffness cap from the
	// sharpness. A cap <= 0 or NaN means no cap.
	StepCap  func(t float64, y []float64) float64
	CapEvery int
}

func (o ODEOptions) withDefaults() (ODEOptions, error) {
	if o.RTol == 0 {
		o.RTol = 1e-8
	}
	if o.ATol == 0 {
		o.ATol = o.RTol / 100
	}
	if o.MaxSteps == 0 {
		o.MaxSteps = 1_000_000
	}
	if o.CapEvery == 0 {
		o.CapEvery = 1
	}
	switch {
	case !(o.RTol > 0) || !(o.ATol > 0) || math.IsInf(o.RTol, 0) || math.IsInf(o.ATol, 0):
		return o, fmt.Errorf("flow: tolerances RTol = %g, ATol = %g must be positive and finite", o.RTol, o.ATol)
	case o.RTol < 1e-14:
		return o, fmt.Errorf("flow: RTol = %g is below what float64 arithmetic can deliver; use at least 1e-14", o.RTol)
	case o.InitialStep < 0 || o.MaxStep < 0 || math.IsNaN(o.InitialStep) || math.IsNaN(o.MaxStep):
		return o, fmt.Errorf("flow: InitialStep = %g and MaxStep = %g must be non-negative", o.InitialStep, o.MaxStep)
	case o.MaxSteps < 0 || o.CapEvery < 0:
		return o, fmt.Errorf("flow: MaxSteps = %d and CapEvery = %d must be non-negative", o.MaxSteps, o.CapEvery)
	}
	return o, nil
}

// ODEStats describes a DormandPrince solve.
type ODEStats struct {
	Accepted int `json:"accepted"` // accepted steps
	Rejected int `json:"rejected"` // rejected steps (error too large)
	Evals    int `json:"evals"`    // evaluations of the field
	Capped   int `json:"capped"`   // accepted steps whose size StepCap or MaxStep limited
	// ErrorBound is the sum over the accepted steps of the max-norm of the
	// embedded error estimate (the difference of the fifth- and
	// fourth-order solutions). For a contractive field (a gradient flow
	// near a minimum, any flow whose Jacobian has a non-positive
	// logarithmic norm) local errors do not grow as they are carried
	// along, so the global error of the returned fifth-order solution is
	// below this sum: the fourth-order error it measures dominates the
	// fifth-order one the solver keeps (local extrapolation).
	ErrorBound float64 `json:"error_bound"`
	MinStep    float64 `json:"min_step"` // smallest accepted step
	MaxStep    float64 `json:"max_step"` // largest accepted step
}

// The Dormand-Prince 5(4) tableau (Dormand and Prince 1980), with the
// fourth-order continuous extension of Hairer, Norsett and Wanner (1993,
// II.6) for dense output. The seventh stage is evaluated at the new point,
// so it is the first stage of the next step (first same as last).
const (
	dpC2, dpC3, dpC4, dpC5 = 1.0 / 5, 3.0 / 10, 4.0 / 5, 8.0 / 9

	dpA21 = 1.0 / 5

	dpA31, dpA32 = 3.0 / 40, 9.0 / 40

	dpA41, dpA42, dpA43 = 44.0 / 45, -56.0 / 15, 32.0 / 9

	dpA51, dpA52, dpA53, dpA54 = 19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729

	dpA61, dpA62, dpA63, dpA64, dpA65 = 9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656

	// Fifth-order weights (row 7 of A).
	dpB1, dpB3, dpB4, dpB5, dpB6 = 35.0 / 384, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84

	// Fifth minus fourth order weights.
	dpE1, dpE3, dpE4, dpE5, dpE6, dpE7 = 71.0 / 57600, -71.0 / 16695, 71.0 / 1920, -17253.0 / 339200, 22.0 / 525, -1.0 / 40

	// Dense output.
	dpD1, dpD3, dpD4, dpD5, dpD6, dpD7 = -12715105075.0 / 11282082432, 87487479700.0 / 32700410799,
		-10690763975.0 / 1880347072, 701980252875.0 / 199316789632, -1453857185.0 / 822651844, 69997945.0 / 29380423
)

// DormandPrince integrates y' = f(t, y) by the embedded Runge-Kutta pair
// of Dormand and Prince (order 5 with a fourth-order error estimate),
// with adaptive steps and dense output. Its buffers are reused across
// solves; it is not safe for concurrent use.
type DormandPrince struct {
	opts ODEOptions
	dim  int
	// stages, the current point, the trial point, the error and the
	// interpolation coefficients of the last step.
	k                  [7][]float64
	y, ynew, tmp, errv []float64
	r1, r2, r3, r4, r5 []float64
	errOld             float64
	interpT0, interpH  float64
}

// NewDormandPrince returns an integrator for systems of dimension dim.
func NewDormandPrince(dim int, opts ODEOptions) (*DormandPrince, error) {
	if dim <= 0 {
		return nil, fmt.Errorf("flow.NewDormandPrince: dimension %d, want > 0", dim)
	}
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	d := &DormandPrince{opts: o, dim: dim}
	for i := range d.k {
		d.k[i] = make([]float64, dim)
	}
	for _, p := range []*[]float64{&d.y, &d.ynew, &d.tmp, &d.errv, &d.r1, &d.r2, &d.r3, &d.r4, &d.r5} {
		*p = make([]float64, dim)
	}
	return d, nil
}

// Options returns the options with defaults filled in.
func (d *DormandPrince) Options() ODEOptions { return d.opts }

// Solve integrates from y(t0) = y0 to the last of times (non-decreasing,
// each >= t0) and writes y(times[i]) into out[i] (each of length dim). The
// values between steps come from the fourth-order dense output, so the
// steps do not have to land on the requested times. It returns the
// statistics of the solve and an error if the inputs are malformed, the
// field becomes non-finite, the step underflows, MaxSteps is reached or
// ctx is done (out then holds the times reached so far).
func (d *DormandPrince) Solve(ctx context.Context, f Field, t0 float64, y0 []float64, times []float64, out [][]float64) (ODEStats, error) {
	var st ODEStats
	if err := d.checkSolve(t0, y0, times, out); err != nil {
		return st, err
	}
	next := 0
	for next < len(times) && times[next] == t0 {
		copy(out[next], y0)
		next++
	}
	if next == len(times) {
		return st, nil
	}
	tEnd := times[len(times)-1]
	copy(d.y, y0)
	f(t0, d.y, d.k[0])
	st.Evals++
	if !finite(d.k[0]) {
		return st, fmt.Errorf("flow: the field is not finite at t = %g (the initial point)", t0)
	}
	h := d.opts.InitialStep
	if h == 0 {
		h = d.initialStep(f, t0, tEnd, &st)
	}
	t := t0
	d.errOld = 1e-4
	capH := d.capAt(t, d.y)
	rejected := false
	for attempts := 0; next < len(times); attempts++ {
		if attempts >= d.opts.MaxSteps {
			return st, fmt.Errorf("flow: %d steps did not reach t = %g (at t = %g, step %.3g): the problem is too stiff for an explicit method at this tolerance, or the solution blows up; raise ODEOptions.MaxSteps or loosen RTol", d.opts.MaxSteps, tEnd, t, h)
		}
		if attempts%64 == 0 && ctx.Err() != nil {
			return st, ctx.Err()
		}
		capped := false
		if capH > 0 && h > capH {
			h, capped = capH, true
		}
		if t+h > tEnd || tEnd-(t+h) < 1e-12*math.Abs(tEnd) {
			h = tEnd - t
		}
		if h <= 16*math.Abs(t)*0x1p-52 || h <= 0 {
			return st, fmt.Errorf("flow: step size underflow at t = %g (step %.3g): the field is not smooth enough there or the tolerance RTol = %g is too tight", t, h, d.opts.RTol)
		}
		errNorm, errMax := d.trial(f, t, h, &st)
		if math.IsNaN(errNorm) || math.IsInf(errNorm, 0) {
			// A non-finite trial point: retry with a much smaller step.
			st.Rejected++
			h /= 10
			rejected = true
			continue
		}
		if errNorm > 1 {
			st.Rejected++
			h *= math.Max(0.2, 0.9*math.Pow(errNorm, -0.2))
			rejected = true
			continue
		}
		// Accepted.
		st.Accepted++
		st.ErrorBound += errMax
		if capped {
			st.Capped++
		}
		if st.MinStep == 0 || h < st.MinStep {
			st.MinStep = h
		}
		st.MaxStep = math.Max(st.MaxStep, h)
		d.prepareDense(t, h)
		tNew := t + h
		if tNew == tEnd || tEnd-tNew < 1e-12*math.Abs(tEnd) {
			tNew = tEnd
		}
		for next < len(times) && times[next] <= tNew {
			if times[next] == tNew {
				copy(out[next], d.ynew)
			} else {
				d.dense(times[next], out[next])
			}
			next++
		}
		t = tNew
		copy(d.y, d.ynew)
		d.k[0], d.k[6] = d.k[6], d.k[0]
		if !finite(d.k[0]) {
			return st, fmt.Errorf("flow: the field is not finite at t = %g", t)
		}
		// Step-size control with a proportional-integral controller
		// (Gustafsson; Hairer and Wanner's beta = 0.04), never growing
		// right after a rejection.
		errNorm = math.Max(errNorm, 1e-10)
		fac := 0.9 * math.Pow(errNorm, -0.17) * math.Pow(d.errOld, 0.04)
		fac = math.Min(10, math.Max(0.2, fac))
		if rejected {
			fac = math.Min(1, fac)
		}
		d.errOld = math.Max(errNorm, 1e-4)
		h *= fac
		rejected = false
		if d.opts.StepCap != nil && st.Accepted%d.opts.CapEvery == 0 {
			capH = d.capAt(t, d.y)
		}
	}
	return st, nil
}

func (d *DormandPrince) checkSolve(t0 float64, y0 []float64, times []float64, out [][]float64) error {
	switch {
	case len(y0) != d.dim:
		return fmt.Errorf("flow: initial point of length %d, want %d", len(y0), d.dim)
	case len(out) != len(times):
		return fmt.Errorf("flow: %d outputs for %d times", len(out), len(times))
	case math.IsNaN(t0) || math.IsInf(t0, 0):
		return fmt.Errorf("flow: start time %g is not finite", t0)
	case !finite(y0):
		return errors.New("flow: the initial point has a NaN or Inf component")
	}
	prev := t0
	for i, ti := range times {
		if !(ti >= prev) || math.IsInf(ti, 0) {
			return fmt.Errorf("flow: times[%d] = %g: times must be finite, non-decreasing and >= the start time %g", i, ti, t0)
		}
		if len(out[i]) != d.dim {
			return fmt.Errorf("flow: out[%d] has length %d, want %d", i, len(out[i]), d.dim)
		}
		prev = ti
	}
	return nil
}

// capAt evaluates the step bound at (t, y): the smaller of MaxStep and
// StepCap, 0 for none.
func (d *DormandPrince) capAt(t float64, y []float64) float64 {
	c := d.opts.MaxStep
	if d.opts.StepCap != nil {
		if s := d.opts.StepCap(t, y); s > 0 && (c == 0 || s < c) {
			c = s
		}
	}
	return c
}

// trial takes one step of size h from (t, d.y) with d.k[0] = f(t, y) into
// d.ynew and d.k[6] = f(t+h, ynew), and returns the scaled RMS norm of the
// error estimate and its unscaled max norm.
func (d *DormandPrince) trial(f Field, t, h float64, st *ODEStats) (float64, float64) {
	y, tmp, k := d.y, d.tmp, &d.k
	for i := range tmp {
		tmp[i] = y[i] + h*dpA21*k[0][i]
	}
	f(t+dpC2*h, tmp, k[1])
	for i := range tmp {
		tmp[i] = y[i] + h*(dpA31*k[0][i]+dpA32*k[1][i])
	}
	f(t+dpC3*h, tmp, k[2])
	for i := range tmp {
		tmp[i] = y[i] + h*(dpA41*k[0][i]+dpA42*k[1][i]+dpA43*k[2][i])
	}
	f(t+dpC4*h, tmp, k[3])
	for i := range tmp {
		tmp[i] = y[i] + h*(dpA51*k[0][i]+dpA52*k[1][i]+dpA53*k[2][i]+dpA54*k[3][i])
	}
	f(t+dpC5*h, tmp, k[4])
	for i := range tmp {
		tmp[i] = y[i] + h*(dpA61*k[0][i]+dpA62*k[1][i]+dpA63*k[2][i]+dpA64*k[3][i]+dpA65*k[4][i])
	}
	f(t+h, tmp, k[5])
	ynew := d.ynew
	for i := range ynew {
		ynew[i] = y[i] + h*(dpB1*k[0][i]+dpB3*k[2][i]+dpB4*k[3][i]+dpB5*k[4][i]+dpB6*k[5][i])
	}
	f(t+h, ynew, k[6])
	st.Evals += 6
	var sum, emax float64
	for i := range ynew {
		e := h * (dpE1*k[0][i] + dpE3*k[2][i] + dpE4*k[3][i] + dpE5*k[4][i] + dpE6*k[5][i] + dpE7*k[6][i])
		sc := d.opts.ATol + d.opts.RTol*math.Max(math.Abs(y[i]), math.Abs(ynew[i]))
		sum += (e / sc) * (e / sc)
		emax = math.Max(emax, math.Abs(e))
		if math.IsNaN(ynew[i]) || math.IsInf(ynew[i], 0) || math.IsNaN(k[6][i]) || math.IsInf(k[6][i], 0) {
			return math.NaN(), math.NaN()
		}
	}
	return math.Sqrt(sum / float64(len(ynew))), emax
}

// prepareDense stores the coefficients of the interpolant of the accepted
// step from (t, d.y) to (t+h, d.ynew).
func (d *DormandPrince) prepareDense(t, h float64) {
	k := &d.k
	for i := range d.y {
		diff := d.ynew[i] - d.y[i]
		b := h*k[0][i] - diff
		d.r1[i] = d.y[i]
		d.r2[i] = diff
		d.r3[i] = b
		d.r4[i] = diff - h*k[6][i] - b
		d.r5[i] = h * (dpD1*k[0][i] + dpD3*k[2][i] + dpD4*k[3][i] + dpD5*k[4][i] + dpD6*k[5][i] + dpD7*k[6][i])
	}
	d.interpT0, d.interpH = t, h
}

// dense writes the interpolated solution at time s of the last step into
// dst.
func (d *DormandPrince) dense(s float64, dst []float64) {
	th := (s - d.interpT0) / d.interpH
	th1 := 1 - th
	for i := range dst {
		dst[i] = d.r1[i] + th*(d.r2[i]+th1*(d.r3[i]+th*(d.r4[i]+th1*d.r5[i])))
	}
}

// initialStep is the starting step heuristic of Hairer, Norsett and Wanner
// (1993, II.4): a step at which an explicit Euler step changes the
// solution by about 1% in the tolerance's norm, refined by an estimate of
// the second derivative.
func (d *DormandPrince) initialStep(f Field, t0, tEnd float64, st *ODEStats) float64 {
	y, f0 := d.y, d.k[0]
	var d0, d1 float64
	for i := range y {
		sc := d.opts.ATol + d.opts.RTol*math.Abs(y[i])
		d0 += (y[i] / sc) * (y[i] / sc)
		d1 += (f0[i] / sc) * (f0[i] / sc)
	}
	n := float64(len(y))
	d0, d1 = math.Sqrt(d0/n), math.Sqrt(d1/n)
	h0 := 1e-6
	if d0 >= 1e-5 && d1 >= 1e-5 {
		h0 = 0.01 * d0 / d1
	}
	h0 = math.Min(h0, tEnd-t0)
	if d.opts.MaxStep > 0 {
		h0 = math.Min(h0, d.opts.MaxStep)
	}
	for i := range y {
		d.tmp[i] = y[i] + h0*f0[i]
	}
	f(t0+h0, d.tmp, d.k[1])
	st.Evals++
	var d2 float64
	for i := range y {
		sc := d.opts.ATol + d.opts.RTol*math.Abs(y[i])
		e := (d.k[1][i] - f0[i]) / sc
		d2 += e * e
	}
	d2 = math.Sqrt(d2/n) / h0
	var h1 float64
	if m := math.Max(d1, d2); m <= 1e-15 {
		h1 = math.Max(1e-6, h0*1e-3)
	} else {
		h1 = math.Pow(0.01/m, 0.2)
	}
	h := math.Min(100*h0, h1)
	if !(h > 0) || math.IsInf(h, 0) {
		h = h0
	}
	return h
}

func finite(v []float64) bool {
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

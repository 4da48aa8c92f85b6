package optim

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/gradflow/gradflow/tensor"
)

// Objective evaluates a deterministic objective at the current parameter
// values and returns its value. With grad true it must also write the
// gradient into every parameter's Grad (overwriting it); with grad false it
// must not depend on or be required to touch Grad.
type Objective func(grad bool) float64

// ArmijoConfig configures gradient descent with a backtracking (Armijo)
// line search.
type ArmijoConfig struct {
	// LR is the first step size tried (> 0).
	LR float64
	// C in (0, 1) is the sufficient-decrease constant: a step eta is
	// accepted when f(x - eta g) <= f(x) - C eta |g|^2. 1e-4 is usual.
	C float64
	// Shrink in (0, 1) multiplies eta after a rejected trial.
	Shrink float64
	// Grow >= 1, if not 0, makes the first trial of the next step
	// min(LR, Grow * accepted eta) instead of LR, which saves evaluations
	// on problems whose good step size is far below LR.
	Grow float64
	// MaxBacktracks bounds the rejected trials per step (> 0).
	MaxBacktracks int
}

// DefaultArmijo returns ArmijoConfig{LR: lr, C: 1e-4, Shrink: 0.5,
// MaxBacktracks: 60}.
func DefaultArmijo(lr float64) ArmijoConfig {
	return ArmijoConfig{LR: lr, C: 1e-4, Shrink: 0.5, MaxBacktracks: 60}
}

func (c ArmijoConfig) validate() error {
	const k = "Armijo"
	switch {
	case !(c.LR > 0) || math.IsInf(c.LR, 0):
		return errField(k, "LR", c.LR, "a finite number > 0")
	case !(c.C > 0 && c.C < 1):
		return errField(k, "C", c.C, "a number in (0, 1)")
	case !(c.Shrink > 0 && c.Shrink < 1):
		return errField(k, "Shrink", c.Shrink, "a number in (0, 1)")
	case c.Grow != 0 && !(c.Grow >= 1 && !math.IsInf(c.Grow, 0)):
		return errField(k, "Grow", c.Grow, "0 or a finite number >= 1")
	case c.MaxBacktracks <= 0:
		return errField(k, "MaxBacktracks", c.MaxBacktracks, "> 0")
	}
	return nil
}

// LineSearchGD is full-batch gradient descent with Armijo's backtracking
// line search (Armijo 1966; Nocedal and Wright, Numerical Optimization,
// Alg. 3.1), for deterministic objectives. Each step moves along
// d = -s_p g_p (s_p the parameter's LRScale) with the largest eta in
// {eta0, eta0*Shrink, eta0*Shrink^2, ...} such that
//
//	f(x + eta d) <= f(x) - C eta sum_p s_p |g_p|^2.
//
// On an L-smooth f the accepted eta is at least min(eta0, 2 Shrink (1-C) / L)
// (with s_p = 1), so every step decreases f by at least C eta |g|^2.
//
// It is not an Optimizer, since a step needs the objective itself (Step
// takes it), but it checkpoints like one (State, LoadState).
type LineSearchGD[T tensor.Float] struct {
	params []*Param[T]
	cfg    ArmijoConfig
	x0     [][]T
	trial  float64 // first trial of the next step
	last   float64 // accepted eta of the last step
	evals  int
	steps  int64 // accepted steps
}

// NewLineSearchGD returns a line-search gradient descent over params.
func NewLineSearchGD[T tensor.Float](params []*Param[T], cfg ArmijoConfig) (*LineSearchGD[T], error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	o := &LineSearchGD[T]{params: append([]*Param[T](nil), params...), cfg: cfg, trial: cfg.LR}
	for i, p := range params {
		if p == nil || p.Value == nil {
			return nil, fmt.Errorf("optim: LineSearchGD: parameter %d is nil or has a nil Value", i)
		}
		o.x0 = append(o.x0, make([]T, p.Value.Len()))
	}
	return o, nil
}

// LastStepSize returns the step size accepted by the last Step (0 if the
// gradient was zero).
func (o *LineSearchGD[T]) LastStepSize() float64 { return o.last }

// Evaluations returns the number of calls to the objective so far.
func (o *LineSearchGD[T]) Evaluations() int { return o.evals }

// Step evaluates f and its gradient at the current parameters, then searches
// for an accepted step and moves the parameters there. It returns the value
// of f at the new parameters. If no trial satisfies the Armijo condition
// within MaxBacktracks (f is not smooth there, or the gradient is wrong), it
// restores the parameters and returns an error.
func (o *LineSearchGD[T]) Step(f Objective) (float64, error) {
	f0 := f(true)
	o.evals++
	if math.IsNaN(f0) || math.IsInf(f0, 0) {
		return f0, fmt.Errorf("optim: LineSearchGD: objective is %v at the current parameters", f0)
	}
	var dec float64 // sum_p s_p |g_p|^2 = -(directional derivative)
	for i, p := range o.params {
		checkGrad("LineSearchGD", p)
		dec += lrScale(p) * sumSquares(p.Grad.Data())
		copy(o.x0[i], p.Value.Data())
	}
	o.last = 0
	if dec == 0 {
		return f0, nil
	}
	eta := o.trial
	for k := 0; k <= o.cfg.MaxBacktracks; k++ {
		for i, p := range o.params {
			x, g := p.Value.Data(), p.Grad.Data()
			a := T(-eta * lrScale(p))
			for j, v := range o.x0[i] {
				x[j] = v + a*g[j]
			}
		}
		ft := f(false)
		o.evals++
		if ft <= f0-o.cfg.C*eta*dec { // false for NaN: backtrack
			o.last = eta
			o.steps++
			o.trial = o.cfg.LR
			if o.cfg.Grow != 0 {
				o.trial = math.Min(o.cfg.LR, o.cfg.Grow*eta)
			}
			return ft, nil
		}
		eta *= o.cfg.Shrink
	}
	for i, p := range o.params {
		copy(p.Value.Data(), o.x0[i])
	}
	return f0, fmt.Errorf("optim: LineSearchGD: no sufficient decrease after %d backtracks (last step %g)",
		o.cfg.MaxBacktracks, eta/o.cfg.Shrink)
}

// lineSearchKind is the State.Kind of LineSearchGD.
const lineSearchKind = "linesearch"

// State returns the line search's state for a checkpoint: its config as
// the one group's hyperparameters, the parameters' names and sizes, the
// number of accepted steps, and in Extra the first trial step size of the
// next step ("trial"), the last accepted step size ("last") and the number
// of objective evaluations ("evals"). The search keeps no per-parameter
// buffers across steps.
func (o *LineSearchGD[T]) State() *State {
	hj, err := json.Marshal(o.cfg)
	if err != nil {
		panic("optim: LineSearchGD: cannot encode the config: " + err.Error()) // numbers only
	}
	g := GroupState{Hyper: hj}
	for _, p := range o.params {
		g.Params = append(g.Params, ParamState{Name: p.Name, Len: p.Value.Len(), Step: o.steps})
	}
	return &State{Kind: lineSearchKind, Steps: o.steps, Groups: []GroupState{g},
		Extra: map[string]float64{"trial": o.trial, "last": o.last, "evals": float64(o.evals)}}
}

// LoadState restores a state saved by State over the same parameters. On
// error the line search is left as it was.
func (o *LineSearchGD[T]) LoadState(s *State) error {
	const k = "optim: LineSearchGD.LoadState"
	switch {
	case s == nil:
		return fmt.Errorf("%s: nil state", k)
	case s.Kind != lineSearchKind:
		return fmt.Errorf("%s: state is of optimizer %q", k, s.Kind)
	case len(s.Groups) != 1:
		return fmt.Errorf("%s: state has %d parameter groups, want 1", k, len(s.Groups))
	case s.Steps < 0:
		return fmt.Errorf("%s: negative step count %d", k, s.Steps)
	}
	if err := refuseAverage("LineSearchGD", s); err != nil {
		return err
	}
	cfg := o.cfg
	if err := json.Unmarshal(s.Groups[0].Hyper, &cfg); err != nil {
		return fmt.Errorf("%s: config: %v", k, err)
	}
	if err := cfg.validate(); err != nil {
		return fmt.Errorf("%s: %v", k, err)
	}
	ps := s.Groups[0].Params
	if len(ps) != len(o.params) {
		return fmt.Errorf("%s: state has %d parameters, optimizer has %d", k, len(ps), len(o.params))
	}
	for i, p := range o.params {
		if ps[i].Name != p.Name || ps[i].Len != p.Value.Len() {
			return fmt.Errorf("%s: parameter %d: state is for %q with %d elements, optimizer has %q with %d",
				k, i, ps[i].Name, ps[i].Len, p.Name, p.Value.Len())
		}
	}
	trial, last, evals := s.Extra["trial"], s.Extra["last"], s.Extra["evals"]
	if !(trial > 0) || math.IsInf(trial, 0) || !(last >= 0) || math.IsInf(last, 0) || !(evals >= 0) || evals != math.Trunc(evals) {
		return fmt.Errorf("%s: extra trial %v, last %v, evals %v: want trial > 0, last >= 0 and a whole evals >= 0", k, trial, last, evals)
	}
	o.cfg, o.steps, o.trial, o.last, o.evals = cfg, s.Steps, trial, last, int(evals)
	return nil
}

package optim

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/gradflow/gradflow/tensor"
)

// Averaging chooses which iterates an Averaged optimizer averages. With
// x_t the parameters after t calls to Step, the average after T steps is
//
//	xbar_T = 1/(T - From) * sum_{t = From+1}^{T} x_t      (T > From)
//
// and xbar_T = x_T while T <= From (nothing averaged yet). From = 0 is the
// Polyak-Ruppert average of every iterate; From = T - m, for a run of T
// steps, is the tail (suffix) average of the last m iterates.
type Averaging struct {
	// From is the number of steps taken before averaging starts (>= 0).
	From int64 `json:"from"`
}

// ParseAveraging reads the textual form of an averaging option, as
// Spec.Average writes it:
//
//	"" or "none"   no averaging (ok is false)
//	"polyak"       the average of every iterate (From = 0)
//	"from:S"       the average of the iterates after step S (From = S)
//	"tail:Q:T"     the average of the last fraction Q in (0, 1] of a run of
//	               T steps: the last m = max(1, round(Q*T)) iterates, From = T - m
//
// Errors quote s and say what each form takes.
func ParseAveraging(s string) (a Averaging, ok bool, err error) {
	parts := strings.Split(s, ":")
	bad := func(why string) (Averaging, bool, error) {
		return Averaging{}, false, fmt.Errorf("optim: average %q: %s", s, why)
	}
	const forms = "want none, polyak, from:STEP or tail:FRACTION:STEPS"
	switch parts[0] {
	case "", "none":
		if len(parts) != 1 {
			return bad(forms)
		}
		return Averaging{}, false, nil
	case "polyak":
		if len(parts) != 1 {
			return bad("polyak takes no numbers")
		}
		return Averaging{}, true, nil
	case "from":
		if len(parts) != 2 {
			return bad("from takes one number, the step after which averaging starts")
		}
		from, err := strconv.ParseInt(parts[1], 10, 64)
		if err != nil || from < 0 {
			return bad(fmt.Sprintf("%q is not a step count >= 0", parts[1]))
		}
		return Averaging{From: from}, true, nil
	case "tail":
		if len(parts) != 3 {
			return bad("tail takes two numbers, the fraction of the run averaged and the run's steps")
		}
		q, err := strconv.ParseFloat(parts[1], 64)
		if err != nil || !(q > 0 && q <= 1) {
			return bad(fmt.Sprintf("fraction %q is not a number in (0, 1]", parts[1]))
		}
		steps, err := strconv.ParseInt(parts[2], 10, 64)
		if err != nil || steps <= 0 {
			return bad(fmt.Sprintf("steps %q is not a step count > 0", parts[2]))
		}
		return TailAveraging(q, steps), true, nil
	}
	return bad(forms)
}

// TailAveraging returns the averaging of the last fraction q in (0, 1] of
// a run of steps steps: its last m = max(1, round(q*steps)) iterates.
func TailAveraging(q float64, steps int64) Averaging {
	m := max(1, min(steps, int64(math.Round(q*float64(steps)))))
	return Averaging{From: steps - m}
}

// Averaged wraps an optimizer and keeps the running average of its iterates
// (Polyak-Ruppert averaging; Ruppert 1988, Polyak and Juditsky 1992): Step
// runs the wrapped optimizer's step, then folds the new parameter values
// into the average, in float64 whatever T:
//
//	n <- n + 1;  xbar <- xbar + (x - xbar)/n      (once Steps > From)
//
// The optimizer keeps training the last iterate x_t; the average is what
// to evaluate. For SGD with steps eta_t = c/t^alpha, 1/2 < alpha < 1, on a
// smooth strongly convex problem, sqrt(t)(xbar_t - x*) tends in law to
// N(0, H^-1 S H^-1) (H the Hessian and S the gradient-noise covariance at
// x*): the optimal asymptotic covariance, reached without knowing H, where
// the last iterate only reaches the rate eta_t (see the package doc).
//
// State and LoadState carry the average with the wrapped optimizer's state
// (State.Average), so a run resumed from a checkpoint averages exactly as
// an uninterrupted one. Averaged does not forward SetLoss (LossAware): wrap
// only optimizers whose step does not need the loss (those New builds).
type Averaged[T tensor.Float] struct {
	inner  Optimizer[T]
	params []*Param[T]
	cfg    Averaging
	steps  int64 // calls to Step
	count  int64 // iterates in the average
	avg    [][]float64
	saved  [][]T // the live values while the average is swapped in
}

// NewAveraged returns opt with iterate averaging a. opt must list its
// parameters (every optimizer of this package does, see ParamLister); the
// average starts from the parameters' current values at the first step
// after a.From.
func NewAveraged[T tensor.Float](opt Optimizer[T], a Averaging) (*Averaged[T], error) {
	pl, ok := opt.(ParamLister[T])
	if !ok {
		return nil, fmt.Errorf("optim: NewAveraged: the optimizer (%T) does not list its parameters", opt)
	}
	if a.From < 0 {
		return nil, errField("Averaging", "From", a.From, ">= 0")
	}
	params := pl.AllParams()
	av := &Averaged[T]{inner: opt, params: params, cfg: a, avg: make([][]float64, len(params))}
	for i, p := range params {
		av.avg[i] = make([]float64, p.Value.Len())
	}
	return av, nil
}

// Unwrap returns the wrapped optimizer.
func (a *Averaged[T]) Unwrap() Optimizer[T] { return a.inner }

// Averaging returns the averaging option.
func (a *Averaged[T]) Averaging() Averaging { return a.cfg }

// Count returns the number of iterates in the average (0 before step
// From+1).
func (a *Averaged[T]) Count() int64 { return a.count }

// Step runs one step of the wrapped optimizer and adds the new iterate to
// the average once more than From steps have been taken. It panics if the
// average is swapped in (see SwapIn): the optimizer would train the average.
func (a *Averaged[T]) Step() {
	if a.saved != nil {
		panic("optim: Averaged.Step: the average is swapped into the parameters; call SwapOut first")
	}
	a.inner.Step()
	a.steps++
	if a.steps <= a.cfg.From {
		return
	}
	a.count++
	w := 1 / float64(a.count)
	for i, p := range a.params {
		m := a.avg[i]
		for k, v := range p.Value.Data() {
			m[k] += (float64(v) - m[k]) * w
		}
	}
}

// ZeroGrad zeroes the gradients (the wrapped optimizer's ZeroGrad).
func (a *Averaged[T]) ZeroGrad() { a.inner.ZeroGrad() }

// NumGroups returns the wrapped optimizer's number of groups.
func (a *Averaged[T]) NumGroups() int { return a.inner.NumGroups() }

// LR returns the learning rate of group g.
func (a *Averaged[T]) LR(g int) float64 { return a.inner.LR(g) }

// SetLR sets the learning rate of group g.
func (a *Averaged[T]) SetLR(g int, lr float64) { a.inner.SetLR(g, lr) }

// AllParams returns the wrapped optimizer's parameters (see ParamLister).
func (a *Averaged[T]) AllParams() []*Param[T] { return append([]*Param[T](nil), a.params...) }

// Average writes the averaged value of parameter i (in AllParams order)
// into dst, which must have the parameter's length; before any iterate is
// averaged it writes the current value.
func (a *Averaged[T]) Average(i int, dst []T) {
	p := a.params[i]
	if len(dst) != p.Value.Len() {
		panic(fmt.Sprintf("optim: Averaged.Average: parameter %q has %d elements, dst %d", p.Name, p.Value.Len(), len(dst)))
	}
	if a.count == 0 {
		copy(dst, a.live(i))
		return
	}
	for k, v := range a.avg[i] {
		dst[k] = T(v)
	}
}

// live returns the values the optimizer trains of parameter i, wherever
// they are (in the parameter, or set aside by SwapIn).
func (a *Averaged[T]) live(i int) []T {
	if a.saved != nil {
		return a.saved[i]
	}
	return a.params[i].Value.Data()
}

// WriteAverage writes the averaged parameters into dst, parameters of
// another model with the same names and sizes in the same order (e.g. an
// evaluation copy of the model).
func (a *Averaged[T]) WriteAverage(dst []*Param[T]) error {
	if len(dst) != len(a.params) {
		return fmt.Errorf("optim: Averaged.WriteAverage: %d parameters given, the optimizer has %d", len(dst), len(a.params))
	}
	for i, p := range a.params {
		if dst[i].Name != p.Name || dst[i].Value.Len() != p.Value.Len() {
			return fmt.Errorf("optim: Averaged.WriteAverage: parameter %d is %q with %d elements, want %q with %d",
				i, dst[i].Name, dst[i].Value.Len(), p.Name, p.Value.Len())
		}
	}
	for i := range a.params {
		a.Average(i, dst[i].Value.Data())
	}
	return nil
}

// SwapIn puts the averaged values into the parameters and sets the live
// ones aside, to evaluate the model at the average; SwapOut puts them back
// bit for bit. Step panics in between. SwapIn twice is a no-op.
func (a *Averaged[T]) SwapIn() {
	if a.saved != nil {
		return
	}
	saved := make([][]T, len(a.params))
	for i, p := range a.params {
		saved[i] = append([]T(nil), p.Value.Data()...)
	}
	for i, p := range a.params {
		a.Average(i, p.Value.Data())
	}
	a.saved = saved
}

// SwapOut restores the live values set aside by SwapIn; without SwapIn it
// does nothing.
func (a *Averaged[T]) SwapOut() {
	if a.saved == nil {
		return
	}
	for i, p := range a.params {
		copy(p.Value.Data(), a.saved[i])
	}
	a.saved = nil
}

// State returns the wrapped optimizer's state with the average in
// State.Average.
func (a *Averaged[T]) State() *State {
	s := a.inner.State()
	as := &AverageState{From: a.cfg.From, Steps: a.steps, Count: a.count, Params: make([]Buffer, len(a.params))}
	for i, p := range a.params {
		as.Params[i] = Buffer{Name: p.Name, Data: append([]float64(nil), a.avg[i]...)}
	}
	s.Average = as
	return s
}

// LoadState restores a state saved by State. A state without an average (a
// checkpoint written before averaging existed, or by an optimizer without
// it) loads with an empty average that starts at the next step after
// From. A state whose average starts at another step than a.From is
// refused. On error nothing changes.
func (a *Averaged[T]) LoadState(s *State) error {
	if s == nil {
		return fmt.Errorf("optim: Averaged.LoadState: nil state")
	}
	as := s.Average
	if as != nil {
		if err := a.checkAverage(as); err != nil {
			return err
		}
	}
	inner := *s
	inner.Average = nil
	if err := a.inner.LoadState(&inner); err != nil {
		return err
	}
	if as == nil {
		a.steps, a.count = s.Steps, 0
		for _, m := range a.avg {
			clear(m)
		}
		return nil
	}
	a.steps, a.count = as.Steps, as.Count
	for i := range a.avg {
		copy(a.avg[i], as.Params[i].Data)
	}
	return nil
}

func (a *Averaged[T]) checkAverage(as *AverageState) error {
	const what = "optim: Averaged.LoadState: "
	switch {
	case as.From != a.cfg.From:
		return fmt.Errorf(what+"the state averages from step %d, the optimizer from step %d", as.From, a.cfg.From)
	case as.Steps < 0 || as.Count < 0 || as.Count > max(0, as.Steps-as.From):
		return fmt.Errorf(what+"inconsistent average: %d iterates after %d steps averaged from step %d", as.Count, as.Steps, as.From)
	case len(as.Params) != len(a.params):
		return fmt.Errorf(what+"the average has %d parameters, the optimizer %d", len(as.Params), len(a.params))
	}
	for i, p := range a.params {
		if b := as.Params[i]; b.Name != p.Name || len(b.Data) != p.Value.Len() {
			return fmt.Errorf(what+"average parameter %d is %q with %d elements, want %q with %d",
				i, b.Name, len(b.Data), p.Name, p.Value.Len())
		}
	}
	return nil
}

// AverageState is the state of an Averaged optimizer's iterate average.
type AverageState struct {
	// From is Averaging.From; Steps the calls to Step; Count the iterates
	// averaged: max(0, Steps - From), or fewer after resuming from a state
	// that had no average.
	From  int64 `json:"from"`
	Steps int64 `json:"steps"`
	Count int64 `json:"count"`
	// Params holds the average of every parameter (AllParams order),
	// named after the parameter.
	Params []Buffer `json:"params"`
}

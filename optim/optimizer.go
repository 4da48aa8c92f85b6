package optim

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/gradflow/gradflow/tensor"
)

// Optimizer updates parameters in place from their gradients.
//
// Parameters are organised in groups, as torch.optim's param_groups: every
// group has its own hyperparameters (learning rate, weight decay, ...), and
// every parameter additionally multiplies its group's learning rate by its
// own LRScale (muP). The first group is the one given to the constructor;
// the concrete optimizer types add more with AddGroup.
type Optimizer[T tensor.Float] interface {
	// Step performs one update of every parameter that has a gradient.
	Step()
	// ZeroGrad sets every gradient to zero in place (keeping the buffers,
	// so that the next backward pass allocates nothing).
	ZeroGrad()
	// NumGroups returns the number of parameter groups.
	NumGroups() int
	// LR returns the learning rate of group g.
	LR(g int) float64
	// SetLR sets the learning rate of group g; schedules call it.
	SetLR(g int, lr float64)
	// State returns a deep copy of the optimizer's state (hyperparameters
	// of every group and per-parameter buffers) for a checkpoint.
	State() *State
	// LoadState restores a state saved by an optimizer of the same kind
	// over the same parameters (same groups, names and sizes). On error
	// the optimizer is left unchanged.
	LoadState(s *State) error
}

// ParamLister is implemented by optimizers that can list the parameters
// they update: every optimizer of this package. train.NewStepper uses it
// to refuse an optimizer built over another model's parameters, which
// would train nothing.
type ParamLister[T tensor.Float] interface {
	// AllParams returns every parameter of every group, group by group in
	// the order they were given (a new slice; the parameters are the
	// optimizer's own).
	AllParams() []*Param[T]
}

// LossAware is implemented by optimizers whose step depends on the value of
// the objective at the current parameters (the Polyak step). A training
// loop calls SetLoss with the loss of the batch whose gradient is in the
// parameters' Grad before calling Step.
type LossAware interface {
	SetLoss(loss float64)
}

// hyper is the constraint on the hyperparameter (config) struct of an
// optimizer: it validates itself and exposes its learning rate.
type hyper[H any] interface {
	validate() error
	lr() float64
	withLR(lr float64) H
}

// slot is the state the optimizer keeps for one parameter.
type slot[T tensor.Float] struct {
	step  int64 // number of updates applied to this parameter
	bufs  [][]T // indexed like base.bufNames; nil until first needed
	first bool  // the current Step is the first to create the buffers
}

// group is one parameter group: its hyperparameters, parameters and their
// per-parameter state.
type group[T tensor.Float, H any] struct {
	hyper  H
	params []*Param[T]
	slots  []slot[T]
}

// base holds what every optimizer shares: parameter groups, per-parameter
// buffers, and the conversion of both to and from State.
type base[T tensor.Float, H hyper[H]] struct {
	kind     string
	bufNames []string
	groups   []group[T, H]
	steps    int64

	// bufLen returns the length of buffer b of a parameter with n
	// elements; nil means n (a buffer shaped like the parameter).
	bufLen func(b, n int) int
	// saveExtra and loadExtra carry optimizer-level scalar state (FISTA's
	// momentum sequence, the Polyak level, ...). loadExtra must not modify
	// the optimizer when it returns an error.
	saveExtra func() map[string]float64
	loadExtra func(map[string]float64) (apply func(), err error)

	// flat lists every parameter of every group in order, with where
	// its slot is, for work divided in row shares (see forShares).
	flat    []*Param[T]
	flatPos []slotPos
	job     shareJob[T]
	zero    gradZeroer[T]
}

// grad returns gradient element d as the update rules of torch.optim see
// it: negated when maximizing, plus the L2 term wd*x when wd != 0.
func grad[T tensor.Float](d, x, wd T, maximize bool) T {
	if maximize {
		d = -d
	}
	if wd != 0 {
		d += wd * x
	}
	return d
}

// slotPos locates a parameter's slot: group g, index i.
type slotPos struct{ g, i int }

// step runs one Step of an elementwise optimizer. The serial part checks
// every parameter that has a gradient, advances its step count and calls
// prep to create its buffers (n is the parameter's length); the update
// itself then runs in row shares over the cores (forShares), r.doRange
// on each piece.
func (o *base[T, H]) step(prep func(h H, s *slot[T], n int), r ranger) {
	o.steps++
	for gi := range o.groups {
		g := &o.groups[gi]
		for pi, p := range g.params {
			if p.Grad == nil {
				continue
			}
			checkGrad(o.kind, p)
			s := &g.slots[pi]
			s.step++
			prep(g.hyper, s, p.Value.Len())
		}
	}
	forShares(&o.job, o.flat, r)
}

// span returns what doRange updates for flat parameter k: the parameter,
// its group's hyperparameters, its slot and the elements [lo, hi) of its
// value and gradient. ok is false when the parameter has no gradient.
func (o *base[T, H]) span(k, lo, hi int) (p *Param[T], h H, s *slot[T], x, g []T, ok bool) {
	p = o.flat[k]
	if p.Grad == nil {
		return p, h, nil, nil, nil, false
	}
	grp, s := o.slotOf(k)
	return p, grp.hyper, s, p.Value.Data()[lo:hi], p.Grad.Data()[lo:hi], true
}

// slotOf returns the group and slot of flat parameter k.
func (o *base[T, H]) slotOf(k int) (*group[T, H], *slot[T]) {
	pos := o.flatPos[k]
	g := &o.groups[pos.g]
	return g, &g.slots[pos.i]
}

// gradZeroer zeros the gradients of a parameter list, share by share.
type gradZeroer[T tensor.Float] struct{ params []*Param[T] }

func (z *gradZeroer[T]) doRange(i, lo, hi int) {
	p := z.params[i]
	if p.Grad == nil {
		return
	}
	if g := p.Grad.Data(); len(g) == p.Value.Len() { // else done by ZeroGrad
		clear(g[lo:hi])
	}
}

func (o *base[T, H]) init(kind string, bufNames ...string) {
	o.kind = kind
	o.bufNames = bufNames
}

// AddGroup appends a parameter group with its own hyperparameters. It
// returns an error, and adds nothing, if cfg is invalid, a parameter is nil
// or has a nil Value, or a parameter already belongs to a group.
func (o *base[T, H]) AddGroup(cfg H, params ...*Param[T]) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	seen := make(map[*Param[T]]bool)
	for _, g := range o.groups {
		for _, p := range g.params {
			seen[p] = true
		}
	}
	for i, p := range params {
		if p == nil {
			return fmt.Errorf("optim: %s: parameter %d of the group is nil", o.kind, i)
		}
		if p.Value == nil {
			return fmt.Errorf("optim: %s: parameter %d (%q) has a nil Value", o.kind, i, p.Name)
		}
		if p.Grad != nil && p.Grad.Len() != p.Value.Len() {
			return fmt.Errorf("optim: %s: parameter %d (%q) has %d values but %d gradients",
				o.kind, i, p.Name, p.Value.Len(), p.Grad.Len())
		}
		if seen[p] {
			return fmt.Errorf("optim: %s: parameter %d (%q) appears in more than one group", o.kind, i, p.Name)
		}
		seen[p] = true
	}
	g := group[T, H]{hyper: cfg, params: append([]*Param[T](nil), params...), slots: make([]slot[T], len(params))}
	for i := range g.slots {
		g.slots[i].bufs = make([][]T, len(o.bufNames))
	}
	o.groups = append(o.groups, g)
	for i, p := range g.params {
		o.flat = append(o.flat, p)
		o.flatPos = append(o.flatPos, slotPos{len(o.groups) - 1, i})
	}
	o.zero.params = o.flat
	return nil
}

// Params returns the parameters of group g (the slice is a copy; the
// parameters are the optimizer's own).
func (o *base[T, H]) Params(g int) []*Param[T] {
	return append([]*Param[T](nil), o.groups[g].params...)
}

// AllParams returns the parameters of all groups, in order (see
// ParamLister).
func (o *base[T, H]) AllParams() []*Param[T] {
	return append([]*Param[T](nil), o.flat...)
}

// Config returns the hyperparameters of group g.
func (o *base[T, H]) Config(g int) H { return o.groups[g].hyper }

// SetConfig replaces the hyperparameters of group g after validating them.
// Buffers are kept, as when a torch param_group's entries are edited.
func (o *base[T, H]) SetConfig(g int, cfg H) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	o.groups[g].hyper = cfg
	return nil
}

// NumGroups returns the number of parameter groups.
func (o *base[T, H]) NumGroups() int { return len(o.groups) }

// LR returns the learning rate of group g.
func (o *base[T, H]) LR(g int) float64 { return o.groups[g].hyper.lr() }

// SetLR sets the learning rate of group g. It panics if lr is negative or
// NaN: schedules compute learning rates, so a bad one is a programming error.
func (o *base[T, H]) SetLR(g int, lr float64) {
	if !(lr >= 0) || math.IsInf(lr, 0) {
		panic(fmt.Sprintf("optim: %s.SetLR: learning rate %v of group %d is not a finite non-negative number", o.kind, lr, g))
	}
	o.groups[g].hyper = o.groups[g].hyper.withLR(lr)
}

// Steps returns the number of calls to Step so far.
func (o *base[T, H]) Steps() int64 { return o.steps }

// ZeroGrad sets every gradient to zero in place.
func (o *base[T, H]) ZeroGrad() {
	forShares(&o.job, o.flat, &o.zero)
	for _, p := range o.flat {
		// Shares follow the values: a gradient of another length (which
		// Step would refuse) is zeroed whole here.
		if outsideShares(p) {
			p.Grad.Zero()
		}
	}
}

// buf returns buffer b of slot s for a parameter of n elements, allocating
// it (zero-filled) on first use.
func (o *base[T, H]) buf(s *slot[T], b, n int) []T {
	if s.bufs[b] == nil {
		s.bufs[b] = make([]T, o.lenOf(b, n))
	}
	return s.bufs[b]
}

func (o *base[T, H]) lenOf(b, n int) int {
	if o.bufLen == nil {
		return n
	}
	return o.bufLen(b, n)
}

// State returns a deep copy of the optimizer's state.
func (o *base[T, H]) State() *State {
	s := &State{Kind: o.kind, Steps: o.steps}
	if o.saveExtra != nil {
		s.Extra = o.saveExtra()
	}
	for _, g := range o.groups {
		hj, err := json.Marshal(g.hyper)
		if err != nil {
			// The config structs hold only numbers and booleans; a NaN
			// hyperparameter cannot pass validate.
			panic("optim: " + o.kind + ": cannot encode hyperparameters: " + err.Error())
		}
		gs := GroupState{Hyper: hj}
		for i, p := range g.params {
			sl := &g.slots[i]
			ps := ParamState{Name: p.Name, Len: p.Value.Len(), Step: sl.step}
			for b, data := range sl.bufs {
				if data == nil {
					continue
				}
				f := make([]float64, len(data))
				for k, v := range data {
					f[k] = float64(v)
				}
				ps.Buffers = append(ps.Buffers, Buffer{Name: o.bufNames[b], Data: f})
			}
			gs.Params = append(gs.Params, ps)
		}
		s.Groups = append(s.Groups, gs)
	}
	return s
}

// LoadState restores state saved by State. Every check is done before
// anything is changed, so on error the optimizer is left as it was.
func (o *base[T, H]) LoadState(s *State) error {
	if s == nil {
		return fmt.Errorf("optim: %s.LoadState: nil state", o.kind)
	}
	if s.Kind != o.kind {
		return fmt.Errorf("optim: %s.LoadState: state is of optimizer %q", o.kind, s.Kind)
	}
	if len(s.Groups) != len(o.groups) {
		return fmt.Errorf("optim: %s.LoadState: state has %d parameter groups, optimizer has %d",
			o.kind, len(s.Groups), len(o.groups))
	}
	if s.Steps < 0 {
		return fmt.Errorf("optim: %s.LoadState: negative step count %d", o.kind, s.Steps)
	}
	if err := refuseAverage(o.kind, s); err != nil {
		return err
	}
	hypers := make([]H, len(o.groups))
	for gi, gs := range s.Groups {
		g := &o.groups[gi]
		h := g.hyper
		if err := json.Unmarshal(gs.Hyper, &h); err != nil {
			return fmt.Errorf("optim: %s.LoadState: group %d: hyperparameters: %v", o.kind, gi, err)
		}
		if err := h.validate(); err != nil {
			return fmt.Errorf("optim: %s.LoadState: group %d: %v", o.kind, gi, err)
		}
		hypers[gi] = h
		if len(gs.Params) != len(g.params) {
			return fmt.Errorf("optim: %s.LoadState: group %d: state has %d parameters, optimizer has %d",
				o.kind, gi, len(gs.Params), len(g.params))
		}
		for pi, ps := range gs.Params {
			p := g.params[pi]
			if ps.Name != p.Name || ps.Len != p.Value.Len() {
				return fmt.Errorf("optim: %s.LoadState: group %d parameter %d: state is for %q with %d elements, optimizer has %q with %d",
					o.kind, gi, pi, ps.Name, ps.Len, p.Name, p.Value.Len())
			}
			if ps.Step < 0 {
				return fmt.Errorf("optim: %s.LoadState: parameter %q: negative step %d", o.kind, p.Name, ps.Step)
			}
			for _, b := range ps.Buffers {
				k := o.bufIndex(b.Name)
				if k < 0 {
					return fmt.Errorf("optim: %s.LoadState: parameter %q: unknown buffer %q", o.kind, p.Name, b.Name)
				}
				if want := o.lenOf(k, p.Value.Len()); len(b.Data) != want {
					return fmt.Errorf("optim: %s.LoadState: parameter %q: buffer %q has %d elements, want %d",
						o.kind, p.Name, b.Name, len(b.Data), want)
				}
			}
		}
	}
	var applyExtra func()
	if o.loadExtra != nil {
		var err error
		if applyExtra, err = o.loadExtra(s.Extra); err != nil {
			return fmt.Errorf("optim: %s.LoadState: %v", o.kind, err)
		}
	}
	// All checks passed: apply.
	o.steps = s.Steps
	for gi, gs := range s.Groups {
		g := &o.groups[gi]
		g.hyper = hypers[gi]
		for pi, ps := range gs.Params {
			sl := &g.slots[pi]
			sl.step = ps.Step
			// Buffers absent from the state start afresh (nil), exactly as
			// a torch optimizer whose state lacks them.
			for b := range sl.bufs {
				sl.bufs[b] = nil
			}
			for _, b := range ps.Buffers {
				k := o.bufIndex(b.Name)
				d := make([]T, len(b.Data))
				for i, v := range b.Data {
					d[i] = T(v)
				}
				sl.bufs[k] = d
			}
		}
	}
	if applyExtra != nil {
		applyExtra()
	}
	return nil
}

func (o *base[T, H]) bufIndex(name string) int {
	for i, n := range o.bufNames {
		if n == name {
			return i
		}
	}
	return -1
}

// checkGrad panics if p's gradient does not match its value in length: a
// programming error in whatever wrote the gradient.
func checkGrad[T tensor.Float](kind string, p *Param[T]) {
	if p.Grad.Len() != p.Value.Len() {
		panic(fmt.Sprintf("optim: %s.Step: parameter %q has %d values but %d gradients (shapes %v and %v)",
			kind, p.Name, p.Value.Len(), p.Grad.Len(), p.Value.Shape(), p.Grad.Shape()))
	}
}

// errField formats a hyperparameter error naming the optimizer and field.
func errField(kind, field string, v any, want string) error {
	return fmt.Errorf("optim: %s: %s = %v, want %s", kind, field, v, want)
}

// finiteNonNeg reports whether v is a finite number >= 0.
func finiteNonNeg(v float64) bool { return v >= 0 && !math.IsInf(v, 1) }

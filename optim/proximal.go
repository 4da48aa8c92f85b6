package optim

import (
	"fmt"
	"math"

	"github.com/gradflow/gradflow/tensor"
)

// ProxConfig is the hyperparameters of a parameter group of a proximal
// method: a learning rate and the nonsmooth part g of the objective as a
// Prox (nil means g = 0, a plain gradient step). Only LR is saved in State:
// LoadState keeps the group's Prox.
type ProxConfig[T tensor.Float] struct {
	LR   float64 `json:"lr"`
	Prox Prox[T] `json:"-"`
}

func (c ProxConfig[T]) lr() float64                     { return c.LR }
func (c ProxConfig[T]) withLR(lr float64) ProxConfig[T] { c.LR = lr; return c }
func (c ProxConfig[T]) validate() error {
	if !finiteNonNeg(c.LR) {
		return errField("proximal", "LR", c.LR, "a finite number >= 0")
	}
	if c.Prox != nil {
		return c.Prox.Validate()
	}
	return nil
}

// ProxSGD is the proximal gradient method for F = f + g with g given per
// group as a Prox:
//
//	x <- prox_{eta g}(x - eta grad f(x))
//
// With full-batch gradients and eta = 1/L (L the smoothness constant of f)
// it is ISTA, whose objective gap is at most L |x0 - x*|^2 / (2k) after k
// steps (Beck and Teboulle 2009, Thm. 3.1); with stochastic gradients it is
// proximal SGD.
type ProxSGD[T tensor.Float] struct {
	base[T, ProxConfig[T]]
}

// NewProxSGD returns a proximal gradient optimizer over params.
func NewProxSGD[T tensor.Float](params []*Param[T], cfg ProxConfig[T]) (*ProxSGD[T], error) {
	o := &ProxSGD[T]{}
	o.init("proxsgd")
	if err := o.AddGroup(cfg, params...); err != nil {
		return nil, err
	}
	return o, nil
}

// Step performs one proximal gradient step of every parameter that has a
// gradient.
func (o *ProxSGD[T]) Step() {
	o.steps++
	for gi := range o.groups {
		g := &o.groups[gi]
		for pi, p := range g.params {
			if p.Grad == nil {
				continue
			}
			checkGrad(o.kind, p)
			g.slots[pi].step++
			eta := g.hyper.LR * lrScale(p)
			x := p.Value.Data()
			axpy(T(-eta), p.Grad.Data(), x)
			if g.hyper.Prox != nil {
				g.hyper.Prox.Prox(x, x, eta)
			}
		}
	}
}

// Restart selects the adaptive restart rule of FISTA (O'Donoghue and Candès
// 2015).
type Restart int

const (
	// NoRestart is Beck and Teboulle's FISTA.
	NoRestart Restart = iota
	// GradientRestart resets the momentum when the step and the previous
	// displacement make an acute angle: (y_k - x_k).(x_k - x_{k-1}) > 0.
	// It needs nothing but the gradients.
	GradientRestart
	// FunctionRestart resets the momentum when F(x_k) > F(x_{k-1}); it
	// needs FISTAConfig.Smooth.
	FunctionRestart
)

// FISTAConfig configures FISTA: group 0's learning rate and Prox, and the
// restart rule.
type FISTAConfig[T tensor.Float] struct {
	// LR is the step size of group 0; 1/L for an L-smooth f.
	LR float64
	// Prox is g of group 0 (nil: g = 0, Nesterov's accelerated gradient).
	Prox Prox[T]
	// Restart chooses the restart rule.
	Restart Restart
	// Smooth returns the smooth part f at the current parameter Values.
	// Step calls it (with the Values at the new iterate x_k) only for
	// FunctionRestart.
	Smooth func() float64
}

// FISTA is the fast iterative shrinkage-thresholding algorithm (Beck and
// Teboulle 2009), the accelerated proximal gradient method for F = f + g:
//
//	x_k     = prox_{eta g}(y_k - eta grad f(y_k))
//	t_{k+1} = (1 + sqrt(1 + 4 t_k^2)) / 2,   t_1 = 1
//	y_{k+1} = x_k + ((t_k - 1)/t_{k+1}) (x_k - x_{k-1})
//
// For convex f with eta = 1/L, F(x_k) - F* <= 2 L |x0 - x*|^2 / (k+1)^2
// (Beck and Teboulle, Thm. 4.4), against ISTA's O(1/k).
//
// The parameters' Values hold y_k, the point where the gradient must be
// evaluated; the iterate x_k is kept by the optimizer (Iterate) and copied
// into the Values by UseIterate. A restart sets t back to 1 and y to x_k.
type FISTA[T tensor.Float] struct {
	base[T, ProxConfig[T]]
	restart  Restart
	smooth   func() float64
	t        float64
	fPrev    float64
	restarts int
}

const (
	fistaX = iota
	fistaTmp
)

// NewFISTA returns a FISTA optimizer over params.
func NewFISTA[T tensor.Float](params []*Param[T], cfg FISTAConfig[T]) (*FISTA[T], error) {
	switch {
	case cfg.Restart < NoRestart || cfg.Restart > FunctionRestart:
		return nil, errField("FISTA", "Restart", int(cfg.Restart), "NoRestart, GradientRestart or FunctionRestart")
	case cfg.Restart == FunctionRestart && cfg.Smooth == nil:
		return nil, errField("FISTA", "Smooth", "nil", "a function for FunctionRestart")
	}
	o := &FISTA[T]{restart: cfg.Restart, smooth: cfg.Smooth, t: 1, fPrev: math.Inf(1)}
	o.init("fista", "x", "tmp")
	if err := o.AddGroup(ProxConfig[T]{LR: cfg.LR, Prox: cfg.Prox}, params...); err != nil {
		return nil, err
	}
	o.saveExtra = func() map[string]float64 {
		m := map[string]float64{"t": o.t, "restarts": float64(o.restarts)}
		if !math.IsInf(o.fPrev, 1) {
			m["f_prev"] = o.fPrev
		}
		return m
	}
	o.loadExtra = func(m map[string]float64) (func(), error) {
		t, ok := m["t"]
		if !ok || !(t >= 1) {
			return nil, fmt.Errorf("missing or invalid extra \"t\" (%v)", t)
		}
		fp, hasF := m["f_prev"]
		return func() {
			o.t, o.fPrev, o.restarts = t, math.Inf(1), int(m["restarts"])
			if hasF {
				o.fPrev = fp
			}
		}, nil
	}
	return o, nil
}

// Restarts returns the number of restarts so far.
func (o *FISTA[T]) Restarts() int { return o.restarts }

// Iterate returns the current iterate x_k of parameter i of group g (the
// optimizer's own buffer: do not modify it), or its Value before the first
// step.
func (o *FISTA[T]) Iterate(g, i int) []T {
	if x := o.groups[g].slots[i].bufs[fistaX]; x != nil {
		return x
	}
	return o.groups[g].params[i].Value.Data()
}

// UseIterate copies the iterate x_k into the parameters' Values and restarts
// the momentum, so that the Values are the method's answer (for evaluation
// or at the end of a run) and the next Step continues from there.
func (o *FISTA[T]) UseIterate() {
	for _, g := range o.groups {
		for i, p := range g.params {
			if x := g.slots[i].bufs[fistaX]; x != nil {
				copy(p.Value.Data(), x)
			}
		}
	}
	o.t = 1
}

// Step performs one FISTA step from the gradients at y_k in the parameters'
// Grad.
func (o *FISTA[T]) Step() {
	o.steps++
	var acute float64 // (y_k - x_k) . (x_k - x_{k-1})
	for gi := range o.groups {
		g := &o.groups[gi]
		for pi, p := range g.params {
			if p.Grad == nil {
				continue
			}
			checkGrad(o.kind, p)
			s := &g.slots[pi]
			n := p.Value.Len()
			y := p.Value.Data()
			if s.bufs[fistaX] == nil {
				copy(o.buf(s, fistaX, n), y) // x_0 = y_1
			}
			xp, z := s.bufs[fistaX][:n], o.buf(s, fistaTmp, n)[:n]
			eta := g.hyper.LR * lrScale(p)
			gr := p.Grad.Data()[:n]
			for i := range z {
				z[i] = y[i] - T(eta)*gr[i]
			}
			if g.hyper.Prox != nil {
				g.hyper.Prox.Prox(z, z, eta)
			}
			for i := range z {
				acute += float64(y[i]-z[i]) * float64(z[i]-xp[i])
			}
		}
	}
	restart := false
	switch o.restart {
	case GradientRestart:
		restart = acute > 0
	case FunctionRestart:
		for gi := range o.groups {
			g := &o.groups[gi]
			for pi, p := range g.params {
				if z := g.slots[pi].bufs[fistaTmp]; p.Grad != nil && z != nil {
					copy(p.Value.Data(), z)
				}
			}
		}
		f := o.smooth()
		for gi := range o.groups {
			g := &o.groups[gi]
			if g.hyper.Prox == nil {
				continue
			}
			for pi, p := range g.params {
				if z := g.slots[pi].bufs[fistaTmp]; p.Grad != nil && z != nil {
					f += g.hyper.Prox.Value(z)
				}
			}
		}
		restart = f > o.fPrev
		o.fPrev = f
	}
	tNext := (1 + math.Sqrt(1+4*o.t*o.t)) / 2
	beta := T((o.t - 1) / tNext)
	if restart {
		o.restarts++
		beta, tNext = 0, 1
	}
	o.t = tNext
	for gi := range o.groups {
		g := &o.groups[gi]
		for pi, p := range g.params {
			if p.Grad == nil {
				continue
			}
			s := &g.slots[pi]
			s.step++
			n := p.Value.Len()
			y, xp, z := p.Value.Data(), s.bufs[fistaX][:n], s.bufs[fistaTmp][:n]
			for i := range y {
				y[i] = z[i] + beta*(z[i]-xp[i])
			}
			copy(xp, z)
		}
	}
}

package optim

import (
	"math"

	"github.com/gradflow/gradflow/tensor"
)

// RMSpropConfig holds the hyperparameters of RMSprop, with
// torch.optim.RMSprop's names and meaning. Start from DefaultRMSprop: the
// zero value has Alpha = 0 and Eps = 0.
type RMSpropConfig struct {
	// LR is the learning rate eta (>= 0).
	LR float64 `json:"lr"`
	// Alpha is the smoothing constant of the squared-gradient average (>= 0).
	Alpha float64 `json:"alpha"`
	// Eps is added to the square root of the average (>= 0).
	Eps float64 `json:"eps"`
	// WeightDecay lambda adds lambda*x to the gradient (>= 0).
	WeightDecay float64 `json:"weight_decay"`
	// Momentum mu (>= 0) accumulates the normalized steps in a buffer.
	Momentum float64 `json:"momentum"`
	// Centered normalizes by an estimate of the gradient's variance
	// instead of its second moment (Graves 2013).
	Centered bool `json:"centered"`
	// Maximize ascends the objective instead of descending it.
	Maximize bool `json:"maximize"`
}

// DefaultRMSprop returns torch.optim.RMSprop's defaults: lr 1e-2, alpha
// 0.99, eps 1e-8.
func DefaultRMSprop() RMSpropConfig { return RMSpropConfig{LR: 1e-2, Alpha: 0.99, Eps: 1e-8} }

func (c RMSpropConfig) lr() float64                     { return c.LR }
func (c RMSpropConfig) withLR(lr float64) RMSpropConfig { c.LR = lr; return c }

func (c RMSpropConfig) validate() error {
	const k = "RMSprop"
	switch {
	case !finiteNonNeg(c.LR):
		return errField(k, "LR", c.LR, "a finite number >= 0")
	case !finiteNonNeg(c.Alpha):
		return errField(k, "Alpha", c.Alpha, "a finite number >= 0")
	case !finiteNonNeg(c.Eps):
		return errField(k, "Eps", c.Eps, "a finite number >= 0")
	case !finiteNonNeg(c.WeightDecay):
		return errField(k, "WeightDecay", c.WeightDecay, "a finite number >= 0")
	case !finiteNonNeg(c.Momentum):
		return errField(k, "Momentum", c.Momentum, "a finite number >= 0")
	}
	return nil
}

// RMSprop is Hinton's RMSprop (Tieleman and Hinton 2012), following
// torch.optim.RMSprop exactly. Per parameter and step:
//
//	g <- g + lambda*x                       if WeightDecay != 0
//	v <- alpha*v + (1-alpha)*g*g
//	a <- alpha*a + (1-alpha)*g;  d = sqrt(v - a*a) + eps   (Centered)
//	                             d = sqrt(v) + eps         (otherwise)
//	b <- mu*b + g/d;  x <- x - eta*b        if Momentum > 0
//	x <- x - eta*g/d                        otherwise
type RMSprop[T tensor.Float] struct {
	base[T, RMSpropConfig]
}

const (
	rmsSquareAvg = iota
	rmsMomentum
	rmsGradAvg
)

// NewRMSprop returns an RMSprop optimizer over params.
func NewRMSprop[T tensor.Float](params []*Param[T], cfg RMSpropConfig) (*RMSprop[T], error) {
	o := &RMSprop[T]{}
	o.init("rmsprop", "square_avg", "momentum_buffer", "grad_avg")
	if err := o.AddGroup(cfg, params...); err != nil {
		return nil, err
	}
	return o, nil
}

// Step performs one RMSprop update of every parameter that has a gradient.
func (o *RMSprop[T]) Step() {
	o.step(func(h RMSpropConfig, s *slot[T], n int) {
		o.buf(s, rmsSquareAvg, n)
		if h.Momentum > 0 {
			o.buf(s, rmsMomentum, n)
		}
		if h.Centered {
			o.buf(s, rmsGradAvg, n)
		}
	}, o)
}

// doRange updates the elements [lo, hi) of flat parameter k.
func (o *RMSprop[T]) doRange(k, lo, hi int) {
	p, h, s, x, gr, ok := o.span(k, lo, hi)
	if !ok {
		return
	}
	sq := s.bufs[rmsSquareAvg][lo:hi]
	var mb, ga []T
	if h.Momentum > 0 {
		mb = s.bufs[rmsMomentum][lo:hi]
	}
	if h.Centered {
		ga = s.bufs[rmsGradAvg][lo:hi]
	}
	negLR := T(-h.LR * lrScale(p))
	alpha, c := T(h.Alpha), T(1-h.Alpha)
	eps, wd, mu := T(h.Eps), T(h.WeightDecay), T(h.Momentum)
	for i := range x {
		d := grad(gr[i], x[i], wd, h.Maximize)
		sq[i] = sq[i]*alpha + c*d*d
		var den T
		if h.Centered {
			ga[i] = ga[i]*alpha + c*d
			den = T(math.Sqrt(float64(sq[i]-ga[i]*ga[i]))) + eps
		} else {
			den = T(math.Sqrt(float64(sq[i]))) + eps
		}
		if h.Momentum > 0 {
			mb[i] = mb[i]*mu + d/den
			x[i] += negLR * mb[i]
		} else {
			x[i] += negLR * d / den
		}
	}
}

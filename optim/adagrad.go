package optim

import (
	"math"

	"github.com/gradflow/gradflow/tensor"
)

// AdagradConfig holds the hyperparameters of Adagrad, with
// torch.optim.Adagrad's names and meaning. Start from DefaultAdagrad: the
// zero value has Eps = 0, which divides by zero on a zero gradient.
type AdagradConfig struct {
	// LR is the learning rate eta (>= 0).
	LR float64 `json:"lr"`
	// LRDecay gamma makes the step at t eta / (1 + (t-1) gamma) (>= 0).
	LRDecay float64 `json:"lr_decay"`
	// WeightDecay lambda adds lambda*x to the gradient (>= 0).
	WeightDecay float64 `json:"weight_decay"`
	// InitialAccumulatorValue starts the sum of squared gradients (>= 0).
	// Each group uses its own value; torch 1.13 uses the value given to
	// the constructor for every group, ignoring a group's own.
	InitialAccumulatorValue float64 `json:"initial_accumulator_value"`
	// Eps is added to the square root of the sum (>= 0).
	Eps float64 `json:"eps"`
	// Maximize ascends the objective instead of descending it.
	Maximize bool `json:"maximize"`
}

// DefaultAdagrad returns torch.optim.Adagrad's defaults: lr 1e-2, eps 1e-10.
func DefaultAdagrad() AdagradConfig { return AdagradConfig{LR: 1e-2, Eps: 1e-10} }

func (c AdagradConfig) lr() float64                     { return c.LR }
func (c AdagradConfig) withLR(lr float64) AdagradConfig { c.LR = lr; return c }

func (c AdagradConfig) validate() error {
	const k = "Adagrad"
	switch {
	case !finiteNonNeg(c.LR):
		return errField(k, "LR", c.LR, "a finite number >= 0")
	case !finiteNonNeg(c.LRDecay):
		return errField(k, "LRDecay", c.LRDecay, "a finite number >= 0")
	case !finiteNonNeg(c.WeightDecay):
		return errField(k, "WeightDecay", c.WeightDecay, "a finite number >= 0")
	case !finiteNonNeg(c.InitialAccumulatorValue):
		return errField(k, "InitialAccumulatorValue", c.InitialAccumulatorValue, "a finite number >= 0")
	case !finiteNonNeg(c.Eps):
		return errField(k, "Eps", c.Eps, "a finite number >= 0")
	}
	return nil
}

// Adagrad is the adaptive subgradient method of Duchi, Hazan and Singer
// (2011), diagonal form, following torch.optim.Adagrad exactly. Per
// parameter and step t = 1, 2, ...:
//
//	g <- g + lambda*x                       if WeightDecay != 0
//	s <- s + g*g                            (s starts at InitialAccumulatorValue)
//	x <- x - eta/(1 + (t-1)*gamma) * g / (sqrt(s) + eps)
type Adagrad[T tensor.Float] struct {
	base[T, AdagradConfig]
}

// NewAdagrad returns an Adagrad optimizer over params.
func NewAdagrad[T tensor.Float](params []*Param[T], cfg AdagradConfig) (*Adagrad[T], error) {
	o := &Adagrad[T]{}
	o.init("adagrad", "sum")
	if err := o.AddGroup(cfg, params...); err != nil {
		return nil, err
	}
	return o, nil
}

// Step performs one Adagrad update of every parameter that has a gradient.
func (o *Adagrad[T]) Step() {
	o.step(func(h AdagradConfig, s *slot[T], n int) {
		if s.bufs[0] == nil {
			sum := o.buf(s, 0, n)
			for i := range sum {
				sum[i] = T(h.InitialAccumulatorValue)
			}
		}
	}, o)
}

// doRange updates the elements [lo, hi) of flat parameter k.
func (o *Adagrad[T]) doRange(k, lo, hi int) {
	p, h, s, x, gr, ok := o.span(k, lo, hi)
	if !ok {
		return
	}
	sum := s.bufs[0][lo:hi]
	clr := h.LR * lrScale(p) / (1 + float64(s.step-1)*h.LRDecay)
	negCLR, eps, wd := T(-clr), T(h.Eps), T(h.WeightDecay)
	for i := range x {
		d := grad(gr[i], x[i], wd, h.Maximize)
		sum[i] += d * d
		std := T(math.Sqrt(float64(sum[i]))) + eps
		x[i] += negCLR * d / std
	}
}

package optim

import (
	"math"

	"github.com/gradflow/gradflow/tensor"
)

// AdamConfig holds the hyperparameters of Adam and AdamW, with
// torch.optim.Adam's names and meaning. The zero value of every field is 0,
// not torch's default: start from DefaultAdam or DefaultAdamW and change
// what you need.
type AdamConfig struct {
	// LR is the learning rate eta (>= 0).
	LR float64 `json:"lr"`
	// Beta1 and Beta2 are the decay rates of the first and second moment
	// estimates (torch's betas), each in [0, 1).
	Beta1 float64 `json:"beta1"`
	Beta2 float64 `json:"beta2"`
	// Eps is added to the denominator, after the square root (>= 0).
	Eps float64 `json:"eps"`
	// WeightDecay lambda: Adam adds lambda*x to the gradient (coupled L2);
	// AdamW multiplies x by 1 - eta*lambda before the step (decoupled).
	WeightDecay float64 `json:"weight_decay"`
	// AMSGrad divides by the running maximum of the second moment estimate
	// (Reddi et al. 2018).
	AMSGrad bool `json:"amsgrad"`
	// Maximize ascends the objective instead of descending it.
	Maximize bool `json:"maximize"`
}

// DefaultAdam returns torch.optim.Adam's defaults: lr 1e-3, betas
// (0.9, 0.999), eps 1e-8, no weight decay.
func DefaultAdam() AdamConfig { return AdamConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8} }

// DefaultAdamW returns torch.optim.AdamW's defaults: DefaultAdam with
// weight decay 1e-2.
func DefaultAdamW() AdamConfig {
	c := DefaultAdam()
	c.WeightDecay = 1e-2
	return c
}

func (c AdamConfig) lr() float64                  { return c.LR }
func (c AdamConfig) withLR(lr float64) AdamConfig { c.LR = lr; return c }

func (c AdamConfig) validate() error {
	const k = "Adam"
	inUnit := func(b float64) bool { return b >= 0 && b < 1 }
	switch {
	case !finiteNonNeg(c.LR):
		return errField(k, "LR", c.LR, "a finite number >= 0")
	case !inUnit(c.Beta1):
		return errField(k, "Beta1", c.Beta1, "a number in [0, 1)")
	case !inUnit(c.Beta2):
		return errField(k, "Beta2", c.Beta2, "a number in [0, 1)")
	case !finiteNonNeg(c.Eps):
		return errField(k, "Eps", c.Eps, "a finite number >= 0")
	case !finiteNonNeg(c.WeightDecay):
		return errField(k, "WeightDecay", c.WeightDecay, "a finite number >= 0")
	}
	return nil
}

// Adam is Adam (Kingma and Ba 2015) or, built with NewAdamW, AdamW
// (Loshchilov and Hutter 2019), following torch.optim.Adam and AdamW
// exactly. With g the gradient (negated if Maximize), per parameter and step
// t = 1, 2, ...:
//
//	x <- x * (1 - eta*lambda)                 AdamW
//	g <- g + lambda*x                          Adam, if WeightDecay != 0
//	m <- beta1*m + (1-beta1)*g
//	v <- beta2*v + (1-beta2)*g*g
//	vmax <- max(vmax, v); v' = vmax (AMSGrad), else v' = v
//	x <- x - (eta / (1-beta1^t)) * m / (sqrt(v') / sqrt(1-beta2^t) + eps)
//
// Note where eps goes: after the bias-corrected square root, as torch does.
type Adam[T tensor.Float] struct {
	base[T, AdamConfig]
	decoupled bool
}

const (
	adamExpAvg = iota
	adamExpAvgSq
	adamMaxExpAvgSq
)

// NewAdam returns an Adam optimizer (coupled L2 weight decay) over params.
func NewAdam[T tensor.Float](params []*Param[T], cfg AdamConfig) (*Adam[T], error) {
	return newAdam(params, cfg, false)
}

// NewAdamW returns an AdamW optimizer (decoupled weight decay) over params.
func NewAdamW[T tensor.Float](params []*Param[T], cfg AdamConfig) (*Adam[T], error) {
	return newAdam(params, cfg, true)
}

func newAdam[T tensor.Float](params []*Param[T], cfg AdamConfig, decoupled bool) (*Adam[T], error) {
	o := &Adam[T]{decoupled: decoupled}
	kind := "adam"
	if decoupled {
		kind = "adamw"
	}
	o.init(kind, "exp_avg", "exp_avg_sq", "max_exp_avg_sq")
	if err := o.AddGroup(cfg, params...); err != nil {
		return nil, err
	}
	return o, nil
}

// Step performs one Adam (or AdamW) update of every parameter that has a
// gradient.
func (o *Adam[T]) Step() {
	o.step(func(h AdamConfig, s *slot[T], n int) {
		o.buf(s, adamExpAvg, n)
		o.buf(s, adamExpAvgSq, n)
		if h.AMSGrad {
			o.buf(s, adamMaxExpAvgSq, n)
		}
	}, o)
}

// doRange updates the elements [lo, hi) of flat parameter k.
func (o *Adam[T]) doRange(k, lo, hi int) {
	p, h, s, x, gr, ok := o.span(k, lo, hi)
	if !ok {
		return
	}
	m := s.bufs[adamExpAvg][lo:hi]
	v := s.bufs[adamExpAvgSq][lo:hi]
	var vmax []T
	if h.AMSGrad {
		vmax = s.bufs[adamMaxExpAvgSq][lo:hi]
	}
	lr := h.LR * lrScale(p)
	t := float64(s.step)
	bc1 := 1 - math.Pow(h.Beta1, t)
	bc2s := T(math.Sqrt(1 - math.Pow(h.Beta2, t)))
	negStep := T(-lr / bc1)
	b1, c1 := T(h.Beta1), T(1-h.Beta1)
	b2, c2 := T(h.Beta2), T(1-h.Beta2)
	eps, wd := T(h.Eps), T(h.WeightDecay)
	if o.decoupled {
		wd = 0 // AdamW decays x itself, below
	}
	decay := T(1 - lr*h.WeightDecay)
	for i := range x {
		if o.decoupled {
			x[i] *= decay
		}
		d := grad(gr[i], x[i], wd, h.Maximize)
		m[i] = m[i]*b1 + c1*d
		v[i] = v[i]*b2 + c2*d*d
		vv := v[i]
		if h.AMSGrad {
			vmax[i] = max(vmax[i], vv)
			vv = vmax[i]
		}
		den := T(math.Sqrt(float64(vv)))/bc2s + eps
		x[i] += negStep * m[i] / den
	}
}

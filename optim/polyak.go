package optim

import (
	"fmt"
	"math"

	"github.com/gradflow/gradflow/tensor"
)

// LRConfig is the hyperparameter of a parameter group that has only a
// learning rate (or learning-rate multiplier): the extra groups of Polyak.
type LRConfig struct {
	LR float64 `json:"lr"`
}

func (c LRConfig) lr() float64                { return c.LR }
func (c LRConfig) withLR(lr float64) LRConfig { c.LR = lr; return c }
func (c LRConfig) validate() error {
	if !finiteNonNeg(c.LR) {
		return errField("group", "LR", c.LR, "a finite number >= 0")
	}
	return nil
}

// PolyakConfig configures the Polyak step size. The optimal value f* is
// either known (FStar) or, with Estimate, tracked by a target level
// f_best - delta that adapts as in Nedić and Bertsekas (2001).
type PolyakConfig struct {
	// LR is gamma, the multiplier of the Polyak step for group 0 (1 is
	// Polyak's step; convergence needs 0 < gamma < 2).
	LR float64
	// FStar is the optimal value f* (or a lower bound of it) when known.
	FStar float64
	// Estimate replaces FStar by the level f_best - delta, where f_best is
	// the lowest loss seen. After each step delta grows by Grow if the
	// loss reached the previous level and otherwise shrinks by Shrink,
	// never below DeltaMin; the method then reaches f* within about
	// DeltaMin.
	Estimate bool
	// Delta is the initial delta (> 0 with Estimate).
	Delta float64
	// DeltaMin is the floor of delta (>= 0).
	DeltaMin float64
	// Shrink in (0, 1) and Grow >= 1 adapt delta.
	Shrink, Grow float64
	// MaxLR caps the step size (the SPS_max rule of Loizou et al. 2021
	// for stochastic gradients); 0 means no cap.
	MaxLR float64
}

func (c PolyakConfig) validate() error {
	const k = "Polyak"
	switch {
	case !finiteNonNeg(c.LR):
		return errField(k, "LR", c.LR, "a finite number >= 0")
	case math.IsNaN(c.FStar) || math.IsInf(c.FStar, 0):
		return errField(k, "FStar", c.FStar, "a finite number")
	case !finiteNonNeg(c.MaxLR):
		return errField(k, "MaxLR", c.MaxLR, "a finite number >= 0")
	case !c.Estimate:
		return nil
	case !(c.Delta > 0) || math.IsInf(c.Delta, 0):
		return errField(k, "Delta", c.Delta, "a finite number > 0 with Estimate")
	case !finiteNonNeg(c.DeltaMin) || c.DeltaMin > c.Delta:
		return errField(k, "DeltaMin", c.DeltaMin, "a number in [0, Delta]")
	case !(c.Shrink > 0 && c.Shrink < 1):
		return errField(k, "Shrink", c.Shrink, "a number in (0, 1)")
	case !(c.Grow >= 1) || math.IsInf(c.Grow, 0):
		return errField(k, "Grow", c.Grow, "a finite number >= 1")
	}
	return nil
}

// Polyak is gradient descent with Polyak's step size (Polyak 1987, "Introduction
// to Optimization", sec. 5.3):
//
//	x <- x - gamma * (f(x) - f*) / |grad f(x)|^2 * grad f(x)
//
// where |.| is the Euclidean norm over all parameters. For convex f with
// known f* it converges without knowing any Lipschitz or smoothness
// constant. The step is clamped at 0 when f(x) < f* (a bad f* or noise), is
// skipped when the gradient is zero, and is capped at MaxLR if set.
//
// The step needs f(x): call SetLoss with the loss at the current parameters
// before each Step (Polyak implements LossAware). Step panics if it was not
// called since the previous Step.
type Polyak[T tensor.Float] struct {
	base[T, LRConfig]
	cfg PolyakConfig

	loss    float64
	hasLoss bool
	lastLR  float64

	// The level estimate (Estimate only).
	fBest    float64
	delta    float64
	level    float64
	hasLevel bool
}

// NewPolyak returns a Polyak-step optimizer over params; cfg.LR is group 0's
// multiplier gamma. More groups (with their own gamma) are added with
// AddGroup.
func NewPolyak[T tensor.Float](params []*Param[T], cfg PolyakConfig) (*Polyak[T], error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	o := &Polyak[T]{cfg: cfg, fBest: math.Inf(1), delta: cfg.Delta}
	o.init("polyak")
	if err := o.AddGroup(LRConfig{LR: cfg.LR}, params...); err != nil {
		return nil, err
	}
	o.saveExtra = func() map[string]float64 {
		m := map[string]float64{"delta": o.delta}
		if !math.IsInf(o.fBest, 1) {
			m["f_best"] = o.fBest
		}
		if o.hasLevel {
			m["level"] = o.level
		}
		return m
	}
	o.loadExtra = func(m map[string]float64) (func(), error) {
		d, ok := m["delta"]
		if !ok || d < 0 {
			return nil, fmt.Errorf("missing or negative extra \"delta\"")
		}
		fb, hasBest := m["f_best"]
		lv, hasLevel := m["level"]
		return func() {
			o.delta, o.fBest, o.level, o.hasLevel = d, math.Inf(1), lv, hasLevel
			if hasBest {
				o.fBest = fb
			}
		}, nil
	}
	return o, nil
}

// SetLoss records the loss at the current parameters for the next Step.
func (o *Polyak[T]) SetLoss(loss float64) { o.loss, o.hasLoss = loss, true }

// LastStepSize returns the step size (before the group's gamma and the
// parameter's LRScale) of the last Step.
func (o *Polyak[T]) LastStepSize() float64 { return o.lastLR }

// FStarEstimate returns the f* the next step will use: FStar, or the current
// level f_best - delta with Estimate.
func (o *Polyak[T]) FStarEstimate() float64 {
	if !o.cfg.Estimate {
		return o.cfg.FStar
	}
	return math.Min(o.fBest, o.loss) - o.delta
}

// Step performs one Polyak step using the loss given to SetLoss.
func (o *Polyak[T]) Step() {
	if !o.hasLoss {
		panic("optim: polyak.Step: SetLoss was not called since the previous Step")
	}
	o.hasLoss = false
	o.steps++
	f := o.loss
	fstar := o.cfg.FStar
	if o.cfg.Estimate {
		if o.hasLevel {
			if f <= o.level {
				o.delta *= o.cfg.Grow
			} else {
				o.delta = math.Max(o.delta*o.cfg.Shrink, o.cfg.DeltaMin)
			}
		}
		o.fBest = math.Min(o.fBest, f)
		o.level, o.hasLevel = o.fBest-o.delta, true
		fstar = o.level
	}
	var g2 float64
	for _, g := range o.groups {
		for _, p := range g.params {
			if p.Grad != nil {
				checkGrad(o.kind, p)
				g2 += sumSquares(p.Grad.Data())
			}
		}
	}
	o.lastLR = 0
	if g2 == 0 || !(f > fstar) {
		return
	}
	eta := (f - fstar) / g2
	if o.cfg.MaxLR > 0 {
		eta = math.Min(eta, o.cfg.MaxLR)
	}
	o.lastLR = eta
	for gi := range o.groups {
		g := &o.groups[gi]
		for pi, p := range g.params {
			if p.Grad == nil {
				continue
			}
			g.slots[pi].step++
			axpy(T(-eta*g.hyper.LR*lrScale(p)), p.Grad.Data(), p.Value.Data())
		}
	}
}

// sumSquares returns sum x_i^2 accumulated in float64, so that the norm of a
// float32 gradient does not lose precision or overflow.
func sumSquares[T tensor.Float](x []T) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return s
}

// axpy computes y += a*x over the first len(y) elements.
func axpy[T tensor.Float](a T, x, y []T) {
	x = x[:len(y)]
	for i := range y {
		y[i] += a * x[i]
	}
}

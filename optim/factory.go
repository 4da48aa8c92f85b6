package optim

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/tensor"
)

// Spec names an optimizer and its hyperparameters, with torch.optim's names
// (JSON keys are torch's keyword arguments). It is how configurations (the
// command line, sweep and mean-field configs) choose an optimizer: start
// from DefaultSpec(name), which holds PyTorch's defaults for that optimizer,
// change what you need, and build it with New. A hyperparameter the named
// optimizer does not take must keep its default (zero); New rejects it
// otherwise, so that a setting is never silently ignored.
type Spec struct {
	// Name is sgd, adam, adamw, adagrad or rmsprop.
	Name string  `json:"name"`
	LR   float64 `json:"lr"`
	// WeightDecay applies to every optimizer (decoupled for adamw).
	WeightDecay float64 `json:"weight_decay"`
	// Momentum: sgd and rmsprop. Dampening and Nesterov: sgd.
	Momentum  float64 `json:"momentum"`
	Dampening float64 `json:"dampening"`
	Nesterov  bool    `json:"nesterov"`
	// Beta1, Beta2 (torch's betas) and AMSGrad: adam and adamw.
	Beta1   float64 `json:"beta1"`
	Beta2   float64 `json:"beta2"`
	AMSGrad bool    `json:"amsgrad"`
	// Eps: adam, adamw, adagrad and rmsprop.
	Eps float64 `json:"eps"`
	// Alpha and Centered: rmsprop.
	Alpha    float64 `json:"alpha"`
	Centered bool    `json:"centered"`
	// LRDecay and InitialAccumulatorValue: adagrad.
	LRDecay                 float64 `json:"lr_decay"`
	InitialAccumulatorValue float64 `json:"initial_accumulator_value"`
	// Average adds iterate averaging to any optimizer (see Averaged and
	// ParseAveraging): "" or "none", "polyak", "from:STEP" or
	// "tail:FRACTION:STEPS". New then returns an *Averaged.
	Average string `json:"average,omitempty"`
}

// Names lists the optimizers New builds.
var Names = []string{"sgd", "adam", "adamw", "adagrad", "rmsprop"}

// hyperUse lists, for each hyperparameter that not every optimizer takes
// (lr and weight_decay apply to all), the optimizers that take it.
var hyperUse = map[string][]string{
	"momentum":                  {"sgd", "rmsprop"},
	"dampening":                 {"sgd"},
	"nesterov":                  {"sgd"},
	"beta1":                     {"adam", "adamw"},
	"beta2":                     {"adam", "adamw"},
	"amsgrad":                   {"adam", "adamw"},
	"eps":                       {"adam", "adamw", "adagrad", "rmsprop"},
	"alpha":                     {"rmsprop"},
	"centered":                  {"rmsprop"},
	"lr_decay":                  {"adagrad"},
	"initial_accumulator_value": {"adagrad"},
}

// Takes reports whether optimizer name takes hyperparameter hp (torch's
// name: "momentum", "lr_decay", ...) and, if not, which optimizers do.
func Takes(name, hp string) (ok bool, takenBy []string) {
	opts, restricted := hyperUse[hp]
	if !restricted {
		return true, nil
	}
	return slices.Contains(opts, name), opts
}

// DefaultSpec returns PyTorch's defaults for optimizer name (torch 1.13):
// sgd lr 0 (torch has no default; set LR), adam lr 1e-3 betas (0.9, 0.999)
// eps 1e-8, adamw the same with weight decay 1e-2, adagrad lr 1e-2 eps
// 1e-10, rmsprop lr 1e-2 alpha 0.99 eps 1e-8.
func DefaultSpec(name string) (Spec, error) {
	s := Spec{Name: name}
	switch name {
	case "sgd":
	case "adam", "adamw":
		c := DefaultAdam()
		if name == "adamw" {
			c = DefaultAdamW()
		}
		s.LR, s.Beta1, s.Beta2, s.Eps, s.WeightDecay = c.LR, c.Beta1, c.Beta2, c.Eps, c.WeightDecay
	case "adagrad":
		c := DefaultAdagrad()
		s.LR, s.Eps = c.LR, c.Eps
	case "rmsprop":
		c := DefaultRMSprop()
		s.LR, s.Alpha, s.Eps = c.LR, c.Alpha, c.Eps
	default:
		return Spec{}, fmt.Errorf("optim: unknown optimizer %q (want %s)", name, strings.Join(Names, ", "))
	}
	return s, nil
}

// Adaptive reports whether the named optimizer normalizes its step by
// gradient statistics (adam, adamw, adagrad, rmsprop), which changes how
// muP and mean-field parameterizations scale learning rates.
func Adaptive(name string) bool { return name != "sgd" }

// Validate checks that the optimizer is known and that every hyperparameter
// it does not take is left at its default; the ranges of the values it
// takes are checked by New (by the optimizer's own config).
func (s Spec) Validate() error {
	t := s.Trim()
	if _, err := DefaultSpec(s.Name); err != nil {
		return err
	}
	if _, _, err := ParseAveraging(s.Average); err != nil {
		return err
	}
	// Bits, not values: a NaN the optimizer takes is its config's to
	// reject, and NaN != NaN.
	ne := func(a, b float64) bool { return math.Float64bits(a) != math.Float64bits(b) }
	differs := map[string]bool{
		"momentum": ne(s.Momentum, t.Momentum), "dampening": ne(s.Dampening, t.Dampening),
		"nesterov": s.Nesterov != t.Nesterov, "beta1": ne(s.Beta1, t.Beta1), "beta2": ne(s.Beta2, t.Beta2),
		"amsgrad": s.AMSGrad != t.AMSGrad, "eps": ne(s.Eps, t.Eps), "alpha": ne(s.Alpha, t.Alpha),
		"centered": s.Centered != t.Centered, "lr_decay": ne(s.LRDecay, t.LRDecay),
		"initial_accumulator_value": ne(s.InitialAccumulatorValue, t.InitialAccumulatorValue),
	}
	for _, hp := range slices.Sorted(maps.Keys(differs)) {
		if differs[hp] {
			_, by := Takes(s.Name, hp)
			return fmt.Errorf("optim: %s does not apply to %s (it is for %s)", hp, s.Name, strings.Join(by, ", "))
		}
	}
	return nil
}

// Trim returns s with every hyperparameter its optimizer does not take set
// to that optimizer's default, for configurations that carry one value of
// every hyperparameter whatever the optimizer (such as the command line's
// flags). An unknown name is returned unchanged.
func (s Spec) Trim() Spec {
	d, err := DefaultSpec(s.Name)
	if err != nil {
		return s
	}
	off := func(hp string) bool { ok, _ := Takes(s.Name, hp); return !ok }
	if off("momentum") {
		s.Momentum = d.Momentum
	}
	if off("dampening") {
		s.Dampening, s.Nesterov = d.Dampening, d.Nesterov
	}
	if off("beta1") {
		s.Beta1, s.Beta2, s.AMSGrad = d.Beta1, d.Beta2, d.AMSGrad
	}
	if off("eps") {
		s.Eps = d.Eps
	}
	if off("alpha") {
		s.Alpha, s.Centered = d.Alpha, d.Centered
	}
	if off("lr_decay") {
		s.LRDecay, s.InitialAccumulatorValue = d.LRDecay, d.InitialAccumulatorValue
	}
	return s
}

// New builds the optimizer s names over params. It is the one way the
// project's configurations turn a name into an optimizer. With s.Average
// set (not "none") the optimizer is wrapped in an *Averaged.
func New[T tensor.Float](params []*nn.Param[T], s Spec) (Optimizer[T], error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	opt, err := newNamed(params, s)
	if err != nil {
		return nil, err
	}
	if a, ok, _ := ParseAveraging(s.Average); ok {
		av, err := NewAveraged[T](opt, a)
		if err != nil {
			return nil, err
		}
		return av, nil
	}
	return opt, nil
}

// newNamed builds the optimizer s names, without averaging.
func newNamed[T tensor.Float](params []*nn.Param[T], s Spec) (Optimizer[T], error) {
	switch s.Name {
	case "sgd":
		return NewSGD(params, SGDConfig{LR: s.LR, Momentum: s.Momentum, Dampening: s.Dampening, Nesterov: s.Nesterov, WeightDecay: s.WeightDecay})
	case "adam", "adamw":
		c := AdamConfig{LR: s.LR, Beta1: s.Beta1, Beta2: s.Beta2, Eps: s.Eps, WeightDecay: s.WeightDecay, AMSGrad: s.AMSGrad}
		if s.Name == "adam" {
			return NewAdam(params, c)
		}
		return NewAdamW(params, c)
	case "adagrad":
		return NewAdagrad(params, AdagradConfig{LR: s.LR, LRDecay: s.LRDecay, WeightDecay: s.WeightDecay, InitialAccumulatorValue: s.InitialAccumulatorValue, Eps: s.Eps})
	}
	return NewRMSprop(params, RMSpropConfig{LR: s.LR, Alpha: s.Alpha, Eps: s.Eps, Momentum: s.Momentum, WeightDecay: s.WeightDecay, Centered: s.Centered})
}

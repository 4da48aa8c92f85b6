package optim

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/gradflow/gradflow/tensor"
)

// Schedule gives the learning rate as a multiple of each group's base
// learning rate: at step t (the number of optimizer steps taken, from 0)
// group g uses base_g * Factor(t). Being a factor, as torch's LambdaLR, keeps
// the ratios between groups (muP's per-layer rates) through the schedule.
// For an absolute schedule, give the optimizer base learning rate 1.
type Schedule interface {
	// Factor returns the multiplier at step t >= 0.
	Factor(t int) float64
	// Validate reports an invalid parameter, naming it.
	Validate() error
}

// Constant is the factor 1 at every step.
type Constant struct{}

// Factor returns 1.
func (Constant) Factor(int) float64 { return 1 }

// Validate always succeeds.
func (Constant) Validate() error { return nil }

// RobbinsMonro is the decreasing step eta_t = C / (T0 + t)^Alpha of
// stochastic approximation (Robbins and Monro 1951). The Robbins-Monro
// conditions sum_t eta_t = inf (the iterates can travel any distance) and
// sum_t eta_t^2 < inf (the accumulated gradient noise has finite variance)
// hold exactly when 1/2 < Alpha <= 1; under them SGD converges almost surely
// on convex problems, and on a mu-strongly convex problem Alpha = 1 with
// C > 1/(2 mu) gives E[f(x_t) - f*] = O(1/t) (with C/T0 <= 1/L for
// stability at the start). Alpha = 1/2 is the usual choice for nonsmooth
// convex problems, with averaging (rate O(1/sqrt t)).
type RobbinsMonro struct {
	C, T0, Alpha float64
}

// Factor returns C / (T0 + t)^Alpha.
func (s RobbinsMonro) Factor(t int) float64 { return s.C / math.Pow(s.T0+float64(t), s.Alpha) }

// Validate requires C >= 0, T0 > 0 and Alpha >= 0.
func (s RobbinsMonro) Validate() error {
	switch {
	case !finiteNonNeg(s.C):
		return errField("RobbinsMonro", "C", s.C, "a finite number >= 0")
	case !(s.T0 > 0) || math.IsInf(s.T0, 0):
		return errField("RobbinsMonro", "T0", s.T0, "a finite number > 0")
	case !finiteNonNeg(s.Alpha):
		return errField("RobbinsMonro", "Alpha", s.Alpha, "a finite number >= 0")
	}
	return nil
}

// SatisfiesRobbinsMonro reports whether 1/2 < Alpha <= 1, i.e. whether
// sum eta_t diverges and sum eta_t^2 converges.
func (s RobbinsMonro) SatisfiesRobbinsMonro() bool { return s.Alpha > 0.5 && s.Alpha <= 1 }

// StepDecay multiplies the factor by Gamma every Every steps:
// Gamma^floor(t/Every) (torch's StepLR).
type StepDecay struct {
	Every int
	Gamma float64
}

// Factor returns Gamma^floor(t/Every).
func (s StepDecay) Factor(t int) float64 { return math.Pow(s.Gamma, float64(t/s.Every)) }

// Validate requires Every > 0 and Gamma >= 0.
func (s StepDecay) Validate() error {
	if s.Every <= 0 {
		return errField("StepDecay", "Every", s.Every, "> 0")
	}
	return checkWeight("StepDecay", "Gamma", s.Gamma)
}

// Exponential is the factor Gamma^t (torch's ExponentialLR).
type Exponential struct{ Gamma float64 }

// Factor returns Gamma^t.
func (s Exponential) Factor(t int) float64 { return math.Pow(s.Gamma, float64(t)) }

// Validate requires Gamma >= 0.
func (s Exponential) Validate() error { return checkWeight("Exponential", "Gamma", s.Gamma) }

// Cosine anneals the factor from 1 to Min over Total steps along a half
// cosine (Loshchilov and Hutter 2017, without restarts) and stays at Min
// afterwards: Min + (1 - Min)(1 + cos(pi t/Total))/2.
type Cosine struct {
	Total int
	Min   float64
}

// Factor returns the cosine-annealed factor at step t.
func (s Cosine) Factor(t int) float64 {
	if t >= s.Total {
		return s.Min
	}
	return s.Min + (1-s.Min)*(1+math.Cos(math.Pi*float64(t)/float64(s.Total)))/2
}

// Validate requires Total > 0 and Min >= 0.
func (s Cosine) Validate() error {
	if s.Total <= 0 {
		return errField("Cosine", "Total", s.Total, "> 0")
	}
	return checkWeight("Cosine", "Min", s.Min)
}

// Warmup ramps the factor linearly from Start to 1 over the first Steps steps
// and then follows Then shifted by Steps (nil Then: Constant). Goyal et al.
// (2017) warm up over 5 epochs from a small rate so that the large learning
// rates of the linear scaling rule do not diverge at the start:
//
//	t < Steps:   (Start + (1 - Start) t/Steps) * Then.Factor(0)
//	t >= Steps:  Then.Factor(t - Steps)
type Warmup struct {
	Steps int
	Start float64
	Then  Schedule
}

// Factor returns the warmed-up factor at step t.
func (s Warmup) Factor(t int) float64 {
	then := s.Then
	if then == nil {
		then = Constant{}
	}
	if t < s.Steps {
		return (s.Start + (1-s.Start)*float64(t)/float64(s.Steps)) * then.Factor(0)
	}
	return then.Factor(t - s.Steps)
}

// Validate requires Steps >= 0, Start in [0, 1] and a valid Then.
func (s Warmup) Validate() error {
	if s.Steps < 0 {
		return errField("Warmup", "Steps", s.Steps, ">= 0")
	}
	if !(s.Start >= 0 && s.Start <= 1) {
		return errField("Warmup", "Start", s.Start, "a number in [0, 1]")
	}
	if s.Then != nil {
		return s.Then.Validate()
	}
	return nil
}

// ScheduleFunc adapts a function to a Schedule (torch's LambdaLR).
type ScheduleFunc func(t int) float64

// Factor returns f(t).
func (f ScheduleFunc) Factor(t int) float64 { return f(t) }

// Validate always succeeds; Scheduler checks each factor it applies.
func (ScheduleFunc) Validate() error { return nil }

// LinearScaledLR returns the learning rate for minibatch size batch under
// the linear scaling rule of Goyal et al. (2017): when the minibatch is
// multiplied by k, multiply the learning rate by k, so that k SGD steps of
// batch B and one of batch kB move the parameters about equally (valid while
// the gradient changes little over k steps; pair it with Warmup).
func LinearScaledLR(baseLR float64, baseBatch, batch int) float64 {
	return baseLR * float64(batch) / float64(baseBatch)
}

// Scheduler applies a Schedule to an optimizer: it records the groups' base
// learning rates when created and sets group g's rate to base_g * Factor(t)
// at step t. Call Step after each optimizer Step, as torch's schedulers.
type Scheduler[T tensor.Float] struct {
	opt   Optimizer[T]
	sched Schedule
	base  []float64
	t     int
}

// NewScheduler returns a Scheduler that drives opt's learning rates, and
// sets them for step 0.
func NewScheduler[T tensor.Float](opt Optimizer[T], s Schedule) (*Scheduler[T], error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	sc := &Scheduler[T]{opt: opt, sched: s, base: make([]float64, opt.NumGroups())}
	for g := range sc.base {
		sc.base[g] = opt.LR(g)
	}
	return sc, sc.apply()
}

// Step advances to the next step and sets the learning rates for it. It
// returns an error (and leaves the rates) if the schedule's factor is
// negative, NaN or infinite.
func (s *Scheduler[T]) Step() error {
	s.t++
	return s.apply()
}

// T returns the current step.
func (s *Scheduler[T]) T() int { return s.t }

// SetT jumps to step t (resuming from a checkpoint) and sets the rates.
func (s *Scheduler[T]) SetT(t int) error {
	s.t = t
	return s.apply()
}

// BaseLR returns the base learning rate of group g.
func (s *Scheduler[T]) BaseLR(g int) float64 { return s.base[g] }

func (s *Scheduler[T]) apply() error {
	f := s.sched.Factor(s.t)
	if !finiteNonNeg(f) {
		return fmt.Errorf("optim: Scheduler: factor %v at step %d is not a finite number >= 0", f, s.t)
	}
	for g, b := range s.base {
		s.opt.SetLR(g, b*f)
	}
	return nil
}

// ParseSchedule reads the textual form of a schedule, as the command line
// and configuration files write it: constant, cosine (annealed over steps -
// warmup steps; steps must be positive), step:EVERY:GAMMA, exp:GAMMA or
// rm:C:T0:ALPHA (Robbins-Monro C/(T0+t)^ALPHA), preceded by a linear warmup
// from 0 over warmup steps when warmup > 0. Errors quote spec and say what
// each form takes.
func ParseSchedule(spec string, steps, warmup int) (Schedule, error) {
	parts := strings.Split(spec, ":")
	nums := make([]float64, len(parts)-1)
	for i, p := range parts[1:] {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil {
			return nil, fmt.Errorf("schedule %q: %q is not a number", spec, p)
		}
		nums[i] = v
	}
	takes := map[string]int{"constant": 0, "cosine": 0, "step": 2, "exp": 1, "rm": 3}
	n, known := takes[parts[0]]
	switch {
	case !known:
		return nil, fmt.Errorf("schedule %q: want constant, cosine, step:EVERY:GAMMA, exp:GAMMA or rm:C:T0:ALPHA", spec)
	case len(nums) != n:
		return nil, fmt.Errorf("schedule %q: %s takes %d numbers", spec, parts[0], n)
	}
	var s Schedule
	switch parts[0] {
	case "constant":
		s = Constant{}
	case "cosine":
		if steps <= 0 {
			return nil, errors.New("schedule cosine needs a step budget (the length of the anneal)")
		}
		s = Cosine{Total: steps - warmup}
	case "step":
		s = StepDecay{Every: int(nums[0]), Gamma: nums[1]}
	case "exp":
		s = Exponential{Gamma: nums[0]}
	case "rm":
		s = RobbinsMonro{C: nums[0], T0: nums[1], Alpha: nums[2]}
	}
	if warmup > 0 {
		s = Warmup{Steps: warmup, Start: 0, Then: s}
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("schedule %q: %w", spec, err)
	}
	return s, nil
}

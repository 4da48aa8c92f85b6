package train

import (
	"fmt"
	"math"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/internal/nilcheck"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/optim"
	"github.com/gradflow/gradflow/tensor"
)

// StepConfig is what one training step needs.
type StepConfig[T tensor.Float] struct {
	Model     nn.Module[T]
	Loss      Loss[T]
	Optimizer optim.Optimizer[T]
	// Schedule scales every group's base learning rate (the rate the
	// optimizer was built with) by Factor(step). Nil means constant.
	Schedule optim.Schedule
	// ClipNorm > 0 rescales the gradient to at most this global norm.
	ClipNorm float64
	// MaxLossRatio > 0 treats a loss above MaxLossRatio times the first
	// loss the stepper saw as divergence (a *DivergenceError with What
	// "loss explosion"), before the update: a run that explodes without
	// reaching Inf or NaN (Adam at a huge rate climbs to 1e21 and stays
	// finite) is stopped like one that does. 0 turns the check off.
	MaxLossRatio float64
}

// Stepper runs the training step, the one every loop of gradflow uses
// (Trainer, width sweeps, mean-field runs, coordinate checks, the
// benchmarks): on a batch, it records the forward pass and the loss on its
// tape, stops on a non-finite loss or gradient (a *DivergenceError, the
// parameters untouched), back-propagates, clips the gradient, sets the
// scheduled learning rate and updates the parameters. In steady state it
// allocates nothing: the tape keeps its arena, gradients and optimizer
// buffers are reused, and the Step it returns is the same value each time.
type Stepper[T tensor.Float] struct {
	cfg    StepConfig[T]
	params []*nn.Param[T]
	tape   *autograd.Tape[T]
	base   []float64 // base learning rate of each group
	count  int
	last   Step[T]
	// first is the first finite loss of this stepper (NaN before a step).
	first float64
	// source names where batches come from in error messages.
	source string
	// fresh lists the optimizer's parameters when their gradients can be
	// set by the backward pass instead of zeroed and then accumulated
	// (autograd.Tape.BackwardFresh): the optimizer lists them and no two
	// share a gradient tensor. Nil means ZeroGrad and Backward.
	fresh []*nn.Param[T]
	grads []*tensor.Tensor[T] // scratch: fresh's gradient tensors
}

// NewStepper validates cfg and returns a Stepper at step 0. Besides nil
// fields and a bad ClipNorm or Schedule, it refuses an optimizer that does
// not update every parameter of the model (one built over another model's
// parameters would train nothing), naming the first parameter it lacks;
// optimizers that do not implement optim.ParamLister are not checked.
func NewStepper[T tensor.Float](cfg StepConfig[T]) (*Stepper[T], error) {
	return newStepper(cfg, "StepConfig")
}

// newStepper is NewStepper; errors name the fields as in the
// configuration struct the caller was given (StepConfig or Config).
func newStepper[T tensor.Float](cfg StepConfig[T], from string) (*Stepper[T], error) {
	switch {
	case nilcheck.Nil(cfg.Model):
		return nil, fmt.Errorf("train: %s.Model is nil", from)
	case nilcheck.Nil(cfg.Loss):
		return nil, fmt.Errorf("train: %s.Loss is nil", from)
	case nilcheck.Nil(cfg.Optimizer):
		return nil, fmt.Errorf("train: %s.Optimizer is nil", from)
	case !(cfg.ClipNorm >= 0) || math.IsInf(cfg.ClipNorm, 0):
		return nil, fmt.Errorf("train: %s.ClipNorm = %v, want a finite number >= 0 (0: no clipping)", from, cfg.ClipNorm)
	case !(cfg.MaxLossRatio >= 0) || math.IsInf(cfg.MaxLossRatio, 0):
		return nil, fmt.Errorf("train: %s.MaxLossRatio = %v, want a finite number >= 0 (0: no check)", from, cfg.MaxLossRatio)
	}
	if cfg.Schedule != nil {
		if err := cfg.Schedule.Validate(); err != nil {
			return nil, fmt.Errorf("train: %s.Schedule: %w", from, err)
		}
	}
	params := cfg.Model.Params()
	if err := optimizerHolds(cfg.Optimizer, params, from); err != nil {
		return nil, err
	}
	s := &Stepper[T]{cfg: cfg, params: params, tape: autograd.NewTape[T](), source: "batch", first: math.NaN()}
	s.fresh = freshParams[T](cfg.Optimizer)
	s.base = make([]float64, cfg.Optimizer.NumGroups())
	for g := range s.base {
		s.base[g] = cfg.Optimizer.LR(g)
	}
	return s, nil
}

// freshParams returns the parameters whose gradients a step may set in
// the backward pass rather than zero first (see Stepper.fresh): every
// parameter of opt, when opt lists them (optim.ParamLister) and no two
// share a gradient tensor; nil otherwise.
func freshParams[T tensor.Float](opt optim.Optimizer[T]) []*nn.Param[T] {
	l, ok := opt.(optim.ParamLister[T])
	if !ok {
		return nil
	}
	ps := l.AllParams()
	seen := make(map[*tensor.Tensor[T]]bool, len(ps))
	for _, p := range ps {
		if p.Grad == nil {
			continue
		}
		if seen[p.Grad] {
			return nil
		}
		seen[p.Grad] = true
	}
	return ps
}

// optimizerHolds returns an error naming the first of the model's params
// that opt does not update, when opt can list its parameters.
func optimizerHolds[T tensor.Float](opt optim.Optimizer[T], params []*nn.Param[T], from string) error {
	l, ok := opt.(optim.ParamLister[T])
	if !ok {
		return nil
	}
	held := l.AllParams()
	has := make(map[*nn.Param[T]]bool, len(held))
	for _, p := range held {
		has[p] = true
	}
	for i, p := range params {
		if has[p] {
			continue
		}
		why := "it was built over other parameters (another model's?), so training would not change them"
		for _, q := range params {
			if has[q] {
				why = "it updates only some of them; build it over all of " + from + ".Model.Params()"
				break
			}
		}
		return fmt.Errorf("train: %s.Optimizer does not update parameter %q of %s.Model (parameter %d of %d): %s",
			from, p.Name, from, i, len(params), why)
	}
	return nil
}

// Count returns the number of steps taken (the schedule's step index of the
// next step).
func (s *Stepper[T]) Count() int { return s.count }

// SetCount positions the stepper after n steps (when resuming a run whose
// parameters and optimizer state were restored).
func (s *Stepper[T]) SetCount(n int) { s.count = n }

// Tape returns the stepper's tape; the output of the last step lives on it
// until the next step resets it.
func (s *Stepper[T]) Tape() *autograd.Tape[T] { return s.tape }

// Config returns the configuration the stepper runs.
func (s *Stepper[T]) Config() StepConfig[T] { return s.cfg }

// Step runs one step on b. The returned Step (loss and output before the
// update, gradient norm before clipping, learning rate used) is reused by
// the next call. On a *DivergenceError or a batch that does not fit the
// model, the parameters and the optimizer state are unchanged.
func (s *Stepper[T]) Step(b *data.Batch[T]) (*Step[T], error) {
	cfg := &s.cfg
	tp := s.tape
	tp.Reset()
	if s.fresh == nil {
		cfg.Optimizer.ZeroGrad()
	}
	out := cfg.Model.Forward(tp, tp.Const(b.X))
	if b.Labels != nil && cfg.Loss.Classification() {
		// A label without an output would panic in the loss.
		if v := out.Value(); v.NDim() == 2 {
			if err := labelsFit(b, v.Dim(1), cfg.Loss); err != nil {
				s.zeroIfFresh()
				return nil, fmt.Errorf("train: step %d: %s: %w", s.count+1, s.source, err)
			}
		}
	}
	loss := cfg.Loss.Eval(out, b)
	lv := float64(loss.Item())
	if math.IsNaN(lv) || math.IsInf(lv, 0) {
		s.zeroIfFresh()
		return nil, &DivergenceError{Step: s.count + 1, What: "loss", Value: lv}
	}
	if math.IsNaN(s.first) {
		s.first = lv
	} else if r := cfg.MaxLossRatio; r > 0 && s.first > 0 && lv > r*s.first {
		s.zeroIfFresh()
		return nil, &DivergenceError{Step: s.count + 1, What: "loss explosion", Value: lv, Initial: s.first}
	}
	if s.fresh != nil {
		// Set the gradients instead of zeroing them before the forward
		// pass and adding to them: saves a pass over every gradient and
		// the weight-gradient GEMMs' reads of C (2-3% of a float64
		// 784-512-512-10 step on one core).
		s.grads = s.grads[:0]
		for _, p := range s.fresh {
			if p.Grad != nil {
				s.grads = append(s.grads, p.Grad)
			}
		}
		tp.BackwardFresh(loss, s.grads)
		clear(s.grads)
	} else {
		tp.Backward(loss)
	}
	gn := optim.GradNorm(s.params)
	if math.IsNaN(gn) || math.IsInf(gn, 0) {
		return nil, &DivergenceError{Step: s.count + 1, What: "gradient norm", Value: gn}
	}
	if cfg.ClipNorm > 0 {
		optim.ClipGradNorm(s.params, cfg.ClipNorm)
	}
	factor := 1.0
	if cfg.Schedule != nil {
		factor = cfg.Schedule.Factor(s.count)
		if !(factor >= 0) || math.IsInf(factor, 0) {
			return nil, fmt.Errorf("train: schedule factor at step %d is %v", s.count, factor)
		}
	}
	for g, lr := range s.base {
		cfg.Optimizer.SetLR(g, lr*factor)
	}
	if la, ok := cfg.Optimizer.(optim.LossAware); ok {
		la.SetLoss(lv)
	}
	cfg.Optimizer.Step()
	s.count++
	s.last = Step[T]{Step: s.count, Loss: lv, GradNorm: gn, LR: s.base[0] * factor, Batch: b, Output: out}
	return &s.last, nil
}

// zeroIfFresh zeroes the gradients on a step that stops before its
// backward pass, when steps set them in the backward pass: the gradients a
// failed step leaves are then zero, as when every step began by zeroing.
func (s *Stepper[T]) zeroIfFresh() {
	if s.fresh != nil {
		s.cfg.Optimizer.ZeroGrad()
	}
}

// FullBatch returns the batch holding all of ds, sharing its storage: the
// batch of full-batch gradient descent, which needs no loader.
func FullBatch[T tensor.Float](ds *data.Dataset[T]) *data.Batch[T] {
	rows := make([]int, ds.Len())
	for i := range rows {
		rows[i] = i
	}
	return &data.Batch[T]{X: ds.X, Labels: ds.Labels, Y: ds.Y, Rows: rows}
}

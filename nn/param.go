package nn

import (
	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/tensor"
)

// Float is the set of element types of models.
type Float = tensor.Float

// Param is a trainable tensor: its value, the gradient Backward accumulates
// into it, and a learning-rate multiplier that optimizers apply on top of
// their learning rate (1 for ordinary parameters; set per layer by the muP
// and mean-field parameterizations).
type Param[T Float] struct {
	Name    string            // state-dict key, e.g. "0.weight"
	Value   *tensor.Tensor[T] // updated in place by optimizers
	Grad    *tensor.Tensor[T] // same shape as Value; accumulated by Backward
	LRScale float64           // learning-rate multiplier

	// The leaf bound on the tape in the current step, so that a parameter
	// used twice is one leaf and callers can ask for it after Forward.
	tape  *autograd.Tape[T]
	epoch uint64
	v     *autograd.Var[T]
}

// NewParam returns a parameter holding value with a zero gradient and
// LRScale 1.
func NewParam[T Float](name string, value *tensor.Tensor[T]) *Param[T] {
	return &Param[T]{Name: name, Value: value, Grad: tensor.New[T](value.Shape()...), LRScale: 1}
}

// Var returns the leaf for p on t in the tape's current step, creating it
// (bound to p.Grad) on first use. Call it after Forward to get the leaves
// to pass to Tape.Grad or Tape.HVP.
func (p *Param[T]) Var(t *autograd.Tape[T]) *autograd.Var[T] {
	if p.tape != t || p.epoch != t.Epoch() || p.v == nil || p.v.RequiresGrad() != t.GradEnabled() {
		p.tape, p.epoch = t, t.Epoch()
		p.v = t.Leaf(p.Value, p.Grad)
	}
	return p.v
}

// ZeroGrad sets p's gradient to zero.
func (p *Param[T]) ZeroGrad() { p.Grad.Zero() }

// Module is a differentiable function with named, ordered parameters.
type Module[T Float] interface {
	// Params returns the parameters in a fixed order (the state-dict
	// order); the slice must not be modified.
	Params() []*Param[T]
	// Forward records the module applied to x on t.
	Forward(t *autograd.Tape[T], x *autograd.Var[T]) *autograd.Var[T]
}

// ZeroGrad zeros the gradients of all parameters of m.
func ZeroGrad[T Float](m Module[T]) {
	for _, p := range m.Params() {
		p.ZeroGrad()
	}
}

// NumParams returns the number of scalar parameters of m.
func NumParams[T Float](m Module[T]) int {
	n := 0
	for _, p := range m.Params() {
		n += p.Value.Len()
	}
	return n
}

// ParamVars returns the leaves of m's parameters on t in the current step
// (after Forward), in Params order, appended to dst[:0].
func ParamVars[T Float](dst []*autograd.Var[T], t *autograd.Tape[T], m Module[T]) []*autograd.Var[T] {
	dst = dst[:0]
	for _, p := range m.Params() {
		dst = append(dst, p.Var(t))
	}
	return dst
}

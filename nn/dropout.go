package nn

import (
	"fmt"
	"math/rand/v2"

	"github.com/gradflow/gradflow/autograd"
)

// Dropout zeroes each element with probability P and scales the others by
// 1/(1-P) in training mode (inverted dropout, torch.nn.Dropout); in
// evaluation mode it is the identity. The masks come from its own seeded
// random source, so a seed fixes them run after run. That source is not
// part of the state dict (PyTorch's masks come from its global generator),
// so a run resumed from a checkpoint draws other masks than the
// uninterrupted run would have.
type Dropout[T Float] struct {
	P        float64
	Training bool
	rng      *rand.Rand
}

// NewDropout returns dropout with probability p in [0, 1), in training
// mode, drawing its masks from rng. It returns an error for a p outside
// [0, 1) or a nil rng.
func NewDropout[T Float](p float64, rng *rand.Rand) (*Dropout[T], error) {
	if rng == nil {
		return nil, errNilRNG("nn.NewDropout")
	}
	if !(p >= 0 && p < 1) {
		return nil, fmt.Errorf("nn.NewDropout: probability %v, want 0 <= p < 1", p)
	}
	return &Dropout[T]{P: p, Training: true, rng: rng}, nil
}

// Params returns nil: dropout has no parameters.
func (d *Dropout[T]) Params() []*Param[T] { return nil }

// SetTraining sets the mode and returns the previous one.
func (d *Dropout[T]) SetTraining(training bool) bool {
	was := d.Training
	d.Training = training
	return was
}

// Forward records dropout on x in training mode and returns x unchanged
// in evaluation mode (or when P is 0).
func (d *Dropout[T]) Forward(_ *autograd.Tape[T], x *autograd.Var[T]) *autograd.Var[T] {
	if !d.Training || d.P == 0 {
		return x
	}
	return autograd.Dropout(x, d.P, d.rng)
}

func (d *Dropout[T]) outShape(in []int) ([]int, error) { return in, nil }

package optim

import (
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/tensor"
)

// Param is the parameter type the optimizers update: nn.Param, a tensor's
// Value, the Grad written by the backward pass, and LRScale, the
// per-parameter learning-rate multiplier of muP and mean-field scaling.
//
// Optimizers read Grad and update Value in place. A nil Grad means the
// parameter took no part in the loss: it is skipped and its optimizer state
// does not advance, as torch.optim skips parameters whose .grad is None.
// An LRScale of 0 is treated as 1, so that a Param built as a struct literal
// trains normally. Leaving a parameter out of the optimizer freezes it in
// a hand-written loop; train's Stepper and Trainer refuse such an
// optimizer, since the same omission is what an optimizer built over
// another model's parameters looks like (and a frozen parameter's
// gradient, never zeroed, would count in the gradient norm).
type Param[T tensor.Float] = nn.Param[T]

// lrScale returns the effective multiplier of p's learning rate.
func lrScale[T tensor.Float](p *Param[T]) float64 {
	if p.LRScale == 0 {
		return 1
	}
	return p.LRScale
}

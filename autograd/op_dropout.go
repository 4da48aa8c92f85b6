package autograd

import "math/rand/v2"

// Dropout zeroes each element of x with probability p and scales the
// others by 1/(1-p) (inverted dropout, as torch.nn.functional.dropout in
// training mode). The mask is drawn from rng, so a seeded rng gives the
// same mask on every run.
func Dropout[T Float](x *Var[T], p float64, rng *rand.Rand) *Var[T] {
	panic("autograd.Dropout: not implemented yet")
}

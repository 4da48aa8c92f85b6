package autograd

import "testing"

func TestErfGrad(t *testing.T) {
	rng := newRNG(3)
	f := func(tp *Tape[float64], x []*Var[float64]) *Var[float64] { return Erf(x[0]) }
	checkOp(t, f, randAway(rng, 3, 5))
}

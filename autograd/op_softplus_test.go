package autograd

import "testing"

func TestSoftplusGrad(t *testing.T) {
	rng := newRNG(3)
	f := func(tp *Tape[float64], x []*Var[float64]) *Var[float64] { return Softplus(Scale(x[0], 3)) }
	checkOp(t, f, randAway(rng, 3, 5))
}

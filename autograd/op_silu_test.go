package autograd

import "testing"

func TestSiluGrad(t *testing.T) {
	rng := newRNG(3)
	f := func(tp *Tape[float64], x []*Var[float64]) *Var[float64] { return Silu(x[0]) }
	checkOp(t, f, randAway(rng, 3, 5))
}

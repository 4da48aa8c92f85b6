package autograd

import "testing"

func TestSqrtGrad(t *testing.T) {
	rng := newRNG(3)
	f := func(tp *Tape[float64], x []*Var[float64]) *Var[float64] { return Sqrt(x[0]) }
	checkOp(t, f, randPos(rng, 3, 5))
}

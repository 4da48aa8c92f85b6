package autograd

import "testing"

func TestReluGrad(t *testing.T) {
	rng := newRNG(3)
	f := func(tp *Tape[float64], x []*Var[float64]) *Var[float64] { return Mul(Relu(x[0]), x[0]) }
	checkOp(t, f, randAway(rng, 3, 5))
}

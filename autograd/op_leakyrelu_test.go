package autograd

import "testing"

func TestLeakyReluGrad(t *testing.T) {
	rng := newRNG(3)
	f := func(tp *Tape[float64], x []*Var[float64]) *Var[float64] { return Mul(LeakyRelu(x[0], 0.1), x[0]) }
	checkOp(t, f, randAway(rng, 3, 5))
}

package autograd

import "testing"

func TestPowGrad(t *testing.T) {
	rng := newRNG(3)
	f := func(tp *Tape[float64], x []*Var[float64]) *Var[float64] {
		return Add(Add(Pow(x[0], 3), Pow(x[0], -1.5)), Add(Pow(x[0], 2), Pow(x[0], 0.5)))
	}
	checkOp(t, f, randPos(rng, 3, 5))
}

package autograd

import "testing"

func TestReshapeGrad(t *testing.T) {
	rng := newRNG(3)
	f := func(tp *Tape[float64], x []*Var[float64]) *Var[float64] {
		return Mul(Reshape(x[0], 5, -1), Reshape(x[0], 5, 3))
	}
	checkOp(t, f, randAway(rng, 3, 5))
}

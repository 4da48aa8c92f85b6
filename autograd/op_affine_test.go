package autograd

import "testing"

func TestAffineGrad(t *testing.T) {
	rng := newRNG(3)
	f := func(tp *Tape[float64], x []*Var[float64]) *Var[float64] {
		return Mul(Affine(x[0], -1.5, 0.25), Scale(AddScalar(x[0], 2), 0.5))
	}
	checkOp(t, f, randAway(rng, 3, 5))
}

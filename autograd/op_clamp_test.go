package autograd

import "testing"

func TestClampGrad(t *testing.T) {
	rng := newRNG(17)
	f := func(tp *Tape[float64], x []*Var[float64]) *Var[float64] { return Mul(Clamp(x[0], -0.7, 0.9), x[0]) }
	// randAway's magnitudes avoid 0 but not +-0.7 and 0.9 exactly; the
	// chance of landing within eps of a bound is negligible (about 1e-6).
	checkOp(t, f, randAway(rng, 4, 5))
}

package autograd

import "testing"

func TestLogGrad(t *testing.T) {
	rng := newRNG(3)
	f := func(tp *Tape[float64], x []*Var[float64]) *Var[float64] { return Log(x[0]) }
	checkOp(t, f, randPos(rng, 3, 5))
}

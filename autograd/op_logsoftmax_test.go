package autograd

import "testing"

func TestLogSoftmaxGrad(t *testing.T) {
	rng := newRNG(3)
	f := func(tp *Tape[float64], x []*Var[float64]) *Var[float64] {
		return Add(LogSoftmax(x[0], 1), Softmax(x[0], 0))
	}
	checkOp(t, f, randAway(rng, 3, 5))
}

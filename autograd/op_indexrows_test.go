package autograd

import "testing"

func TestIndexRowsGrad(t *testing.T) {
	rng := newRNG(12)
	idx := []int{2, 0, 2, 3}
	f := func(tp *Tape[float64], x []*Var[float64]) *Var[float64] {
		r := IndexRows(x[0], idx)
		return Mul(r, r)
	}
	checkOp(t, f, randAway(rng, 4, 3))
}

func TestPickGrad(t *testing.T) {
	rng := newRNG(13)
	idx := []int{2, 0, 2}
	f := func(tp *Tape[float64], x []*Var[float64]) *Var[float64] {
		r := Pick(x[0], idx)
		return Mul(r, r)
	}
	checkOp(t, f, randAway(rng, 3, 4))
}

package autograd

import "testing"

func TestDivGrad(t *testing.T) {
	rng := newRNG(2)
	f := func(tp *Tape[float64], x []*Var[float64]) *Var[float64] { return Mul(Div(x[0], x[1]), x[0]) }
	t.Run("same", func(t *testing.T) { checkOp(t, f, randAway(rng, 3, 4), randAway(rng, 3, 4)) })
	t.Run("row", func(t *testing.T) { checkOp(t, f, randAway(rng, 3, 4), randAway(rng, 4)) })
	t.Run("col", func(t *testing.T) { checkOp(t, f, randAway(rng, 2, 3, 4), randAway(rng, 3, 1)) })
	t.Run("scalar", func(t *testing.T) { checkOp(t, f, randAway(rng, 3, 4), randAway(rng, 1)) })
}

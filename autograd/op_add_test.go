package autograd

import "testing"

func TestAddGrad(t *testing.T) {
	rng := newRNG(1)
	f := func(tp *Tape[float64], x []*Var[float64]) *Var[float64] { return Mul(Add(x[0], x[1]), x[0]) }
	t.Run("same", func(t *testing.T) { checkOp(t, f, randAway(rng, 3, 4), randAway(rng, 3, 4)) })
	t.Run("row", func(t *testing.T) { checkOp(t, f, randAway(rng, 3, 4), randAway(rng, 4)) })
	t.Run("col", func(t *testing.T) { checkOp(t, f, randAway(rng, 3, 4), randAway(rng, 3, 1)) })
	t.Run("outer", func(t *testing.T) { checkOp(t, f, randAway(rng, 3, 1), randAway(rng, 1, 4)) })
}

func TestAddShapePanic(t *testing.T) {
	tp := NewTape[float64]()
	a, b := tp.Const(randAway(newRNG(1), 2, 3)), tp.Const(randAway(newRNG(1), 4))
	mustPanic(t, func() { Add(a, b) }, "Add", "[2 3]", "[4]")
}

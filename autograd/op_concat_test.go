package autograd

import "testing"

func TestConcatGrad(t *testing.T) {
	rng := newRNG(9)
	for axis := 0; axis < 3; axis++ {
		f := func(tp *Tape[float64], x []*Var[float64]) *Var[float64] {
			c := Concat(axis, x[0], x[1], x[0])
			return Mul(c, c)
		}
		s1 := []int{2, 3, 4}
		s1[axis] = 1
		t.Run(itoa(axis), func(t *testing.T) { checkOp(t, f, randAway(rng, 2, 3, 4), randAway(rng, s1...)) })
	}
}

func TestNarrowGrad(t *testing.T) {
	rng := newRNG(10)
	f := func(tp *Tape[float64], x []*Var[float64]) *Var[float64] {
		c := Narrow(x[0], 1, 1, 2)
		return Mul(c, c)
	}
	checkOp(t, f, randAway(rng, 2, 4, 3))
}

func TestConcatShapePanic(t *testing.T) {
	tp := NewTape[float64]()
	a, b := tp.Const(randAway(newRNG(1), 2, 3)), tp.Const(randAway(newRNG(1), 4, 5))
	mustPanic(t, func() { Concat(0, a, b) }, "Concat", "[2 3]", "[4 5]")
}

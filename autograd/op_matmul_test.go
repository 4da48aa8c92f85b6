package autograd

import "testing"

func TestMatMulGrad(t *testing.T) {
	rng := newRNG(4)
	for _, ta := range []bool{false, true} {
		for _, tb := range []bool{false, true} {
			// op(A) is 3x4, op(B) is 4x2.
			as, bs := []int{3, 4}, []int{4, 2}
			if ta {
				as = []int{4, 3}
			}
			if tb {
				bs = []int{2, 4}
			}
			f := func(tp *Tape[float64], x []*Var[float64]) *Var[float64] {
				c := MatMul(x[0], x[1], ta, tb)
				return Mul(c, c) // nonlinear, so the second-order check sees cross terms
			}
			t.Run(boolStr(ta)+"/"+boolStr(tb), func(t *testing.T) {
				checkOp(t, f, randAway(rng, as...), randAway(rng, bs...))
			})
		}
	}
}

func TestMatMulShapePanic(t *testing.T) {
	tp := NewTape[float64]()
	a, b := tp.Const(randAway(newRNG(1), 2, 3)), tp.Const(randAway(newRNG(1), 4, 5))
	mustPanic(t, func() { MatMul(a, b, false, false) }, "MatMul", "[2 3]", "[4 5]")
}

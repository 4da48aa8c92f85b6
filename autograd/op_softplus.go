package autograd

import "math"

// Softplus returns log(1 + e^a) elementwise, computed stably as
// max(a, 0) + log1p(e^-|a|) so that large |a| neither overflows nor loses
// the small term.
func Softplus[T Float](a *Var[T]) *Var[T] {
	t := a.tape
	v := t.newVar()
	mapInto(v.out(a.Shape()...), a.value, func(x T) T {
		y := float64(x)
		return T(math.Max(y, 0) + math.Log1p(math.Exp(-math.Abs(y))))
	})
	t.record(v, softplusOp[T]{}, a, nil)
	return v
}

type softplusOp[T Float] struct{}

func (softplusOp[T]) name() string { return "Softplus" }

// d softplus(a) = sigmoid(a) da.
func (softplusOp[T]) backward(t *Tape[T], v, g *Var[T]) {
	if a := v.in[0]; t.wants(a) {
		t.accum(a, Mul(g, Sigmoid(a)))
	}
}

package autograd

import "math"

// Erf returns the error function of a elementwise.
func Erf[T Float](a *Var[T]) *Var[T] {
	t := a.tape
	v := t.newVar()
	mapInto(v.out(a.Shape()...), a.value, func(x T) T { return T(math.Erf(float64(x))) })
	t.record(v, erfOp[T]{}, a, nil)
	return v
}

type erfOp[T Float] struct{}

func (erfOp[T]) name() string { return "Erf" }

// d erf(a) = (2/sqrt(pi)) e^(-a^2) da.
func (erfOp[T]) backward(t *Tape[T], v, g *Var[T]) {
	if a := v.in[0]; t.wants(a) {
		t.accum(a, Mul(g, Scale(Exp(Scale(Mul(a, a), -1)), 2/math.SqrtPi)))
	}
}

package autograd

import "github.com/gradflow/gradflow/tensor"

// Exp returns e^a elementwise.
func Exp[T Float](a *Var[T]) *Var[T] {
	t := a.tape
	v := t.newVar()
	tensor.ExpInto(v.out(a.Shape()...), a.value)
	t.record(v, expOp[T]{}, a, nil)
	return v
}

type expOp[T Float] struct{}

func (expOp[T]) name() string { return "Exp" }

// d e^a = e^a da: the output is the derivative.
func (expOp[T]) backward(t *Tape[T], v, g *Var[T]) {
	if a := v.in[0]; t.wants(a) {
		t.accum(a, Mul(g, v))
	}
}

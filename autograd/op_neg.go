package autograd

import "github.com/gradflow/gradflow/tensor"

// Neg returns -a.
func Neg[T Float](a *Var[T]) *Var[T] {
	t := a.tape
	v := t.newVar()
	tensor.NegInto(v.out(a.Shape()...), a.value)
	t.record(v, negOp[T]{}, a, nil)
	return v
}

type negOp[T Float] struct{}

func (negOp[T]) name() string { return "Neg" }

func (negOp[T]) backward(t *Tape[T], v, g *Var[T]) {
	if a := v.in[0]; t.wants(a) {
		t.accum(a, Neg(g))
	}
}

package autograd

import "github.com/gradflow/gradflow/tensor"

// Tanh returns tanh(a) elementwise.
func Tanh[T Float](a *Var[T]) *Var[T] {
	t := a.tape
	v := t.newVar()
	tensor.TanhInto(v.out(a.Shape()...), a.value)
	t.record(v, tanhOp[T]{}, a, nil)
	return v
}

type tanhOp[T Float] struct{}

func (tanhOp[T]) name() string { return "Tanh" }

// d tanh(a) = (1 - y^2) da with y the output.
func (tanhOp[T]) backward(t *Tape[T], v, g *Var[T]) {
	if a := v.in[0]; t.wants(a) {
		t.accum(a, Mul(g, Affine(Mul(v, v), -1, 1)))
	}
}

package autograd

import "github.com/gradflow/gradflow/tensor"

// Sqrt returns the square root of a elementwise.
func Sqrt[T Float](a *Var[T]) *Var[T] {
	t := a.tape
	v := t.newVar()
	tensor.SqrtInto(v.out(a.Shape()...), a.value)
	t.record(v, sqrtOp[T]{}, a, nil)
	return v
}

type sqrtOp[T Float] struct{}

func (sqrtOp[T]) name() string { return "Sqrt" }

// d sqrt(a) = da / (2 sqrt(a)), from the output.
func (sqrtOp[T]) backward(t *Tape[T], v, g *Var[T]) {
	if a := v.in[0]; t.wants(a) {
		t.accum(a, Div(g, Scale(v, 2)))
	}
}

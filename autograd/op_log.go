package autograd

import "github.com/gradflow/gradflow/tensor"

// Log returns the natural logarithm of a elementwise.
func Log[T Float](a *Var[T]) *Var[T] {
	t := a.tape
	v := t.newVar()
	tensor.LogInto(v.out(a.Shape()...), a.value)
	t.record(v, logOp[T]{}, a, nil)
	return v
}

type logOp[T Float] struct{}

func (logOp[T]) name() string { return "Log" }

func (logOp[T]) backward(t *Tape[T], v, g *Var[T]) {
	if a := v.in[0]; t.wants(a) {
		t.accum(a, Div(g, a))
	}
}

package autograd

import "github.com/gradflow/gradflow/tensor"

// Relu returns max(a, 0) elementwise. Its derivative at 0 is taken as 0, as
// in PyTorch.
func Relu[T Float](a *Var[T]) *Var[T] {
	t := a.tape
	v := t.newVar()
	tensor.ReluInto(v.out(a.Shape()...), a.value)
	t.record(v, reluOp[T]{}, a, nil)
	return v
}

type reluOp[T Float] struct{}

func (reluOp[T]) name() string { return "Relu" }

// The mask 1[y > 0] is read from the output (equal to 1[a > 0]).
func (reluOp[T]) backward(t *Tape[T], v, g *Var[T]) {
	if a := v.in[0]; t.wants(a) {
		t.accum(a, Mul(g, stepMask(v)))
	}
}

package autograd

import "github.com/gradflow/gradflow/tensor"

// Sigmoid returns the logistic function 1/(1+e^-a) elementwise.
func Sigmoid[T Float](a *Var[T]) *Var[T] {
	t := a.tape
	v := t.newVar()
	tensor.SigmoidInto(v.out(a.Shape()...), a.value)
	t.record(v, sigmoidOp[T]{}, a, nil)
	return v
}

type sigmoidOp[T Float] struct{}

func (sigmoidOp[T]) name() string { return "Sigmoid" }

// d s(a) = s (1 - s) da with s the output.
func (sigmoidOp[T]) backward(t *Tape[T], v, g *Var[T]) {
	if a := v.in[0]; t.wants(a) {
		t.accum(a, Mul(g, Mul(v, Affine(v, -1, 1))))
	}
}

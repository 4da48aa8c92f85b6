package autograd

import "github.com/gradflow/gradflow/tensor"

// Silu returns a*sigmoid(a) elementwise (also called swish).
func Silu[T Float](a *Var[T]) *Var[T] {
	t := a.tape
	v := t.newVar()
	out := v.out(a.Shape()...)
	tensor.SigmoidInto(out, a.value)
	tensor.MulInto(out, out, a.value)
	t.record(v, siluOp[T]{}, a, nil)
	return v
}

type siluOp[T Float] struct{}

func (siluOp[T]) name() string { return "Silu" }

// d silu(a) = s (1 + a (1 - s)) da with s = sigmoid(a).
func (siluOp[T]) backward(t *Tape[T], v, g *Var[T]) {
	a := v.in[0]
	if !t.wants(a) {
		return
	}
	s := Sigmoid(a)
	t.accum(a, Mul(g, Mul(s, AddScalar(Mul(a, Affine(s, -1, 1)), 1))))
}

package autograd

import "github.com/gradflow/gradflow/tensor"

// Mul returns a * b elementwise (Hadamard product) with NumPy broadcasting.
func Mul[T Float](a, b *Var[T]) *Var[T] {
	t := sameTape("Mul", a, b)
	v := t.newVar()
	tensor.MulInto(binaryOut("Mul", v, a, b), a.value, b.value)
	t.record(v, mulOp[T]{}, a, b)
	return v
}

type mulOp[T Float] struct{}

func (mulOp[T]) name() string { return "Mul" }

// d(ab) = b da + a db.
func (mulOp[T]) backward(t *Tape[T], v, g *Var[T]) {
	a, b := v.in[0], v.in[1]
	if t.wants(a) {
		t.accum(a, sumTo(Mul(g, b), a.Shape()))
	}
	if t.wants(b) {
		t.accum(b, sumTo(Mul(g, a), b.Shape()))
	}
}

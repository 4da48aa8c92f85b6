package autograd

import "github.com/gradflow/gradflow/tensor"

// Sub returns a - b elementwise with NumPy broadcasting.
func Sub[T Float](a, b *Var[T]) *Var[T] {
	t := sameTape("Sub", a, b)
	v := t.newVar()
	tensor.SubInto(binaryOut("Sub", v, a, b), a.value, b.value)
	t.record(v, subOp[T]{}, a, b)
	return v
}

type subOp[T Float] struct{}

func (subOp[T]) name() string { return "Sub" }

func (subOp[T]) backward(t *Tape[T], v, g *Var[T]) {
	a, b := v.in[0], v.in[1]
	if t.wants(a) {
		t.accum(a, sumTo(g, a.Shape()))
	}
	if t.wants(b) {
		t.accum(b, Neg(sumTo(g, b.Shape())))
	}
}

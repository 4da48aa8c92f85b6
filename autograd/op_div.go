package autograd

import "github.com/gradflow/gradflow/tensor"

// Div returns a / b elementwise with NumPy broadcasting (IEEE semantics for
// division by zero).
func Div[T Float](a, b *Var[T]) *Var[T] {
	t := sameTape("Div", a, b)
	v := t.newVar()
	tensor.DivInto(binaryOut("Div", v, a, b), a.value, b.value)
	t.record(v, divOp[T]{}, a, b)
	return v
}

type divOp[T Float] struct{}

func (divOp[T]) name() string { return "Div" }

// d(a/b) = da/b - (a/b) db/b; reusing the output a/b saves a product.
func (divOp[T]) backward(t *Tape[T], v, g *Var[T]) {
	a, b := v.in[0], v.in[1]
	gb := Div(g, b)
	if t.wants(a) {
		t.accum(a, sumTo(gb, a.Shape()))
	}
	if t.wants(b) {
		t.accum(b, sumTo(Neg(Mul(gb, v)), b.Shape()))
	}
}

package autograd

import "github.com/gradflow/gradflow/tensor"

// Add returns a + b elementwise with NumPy broadcasting. It panics if the
// shapes do not broadcast.
func Add[T Float](a, b *Var[T]) *Var[T] {
	t := sameTape("Add", a, b)
	v := t.newVar()
	tensor.AddInto(binaryOut("Add", v, a, b), a.value, b.value)
	t.record(v, addOp[T]{}, a, b)
	return v
}

type addOp[T Float] struct{}

func (addOp[T]) name() string { return "Add" }

// d(a+b) = da + db; a broadcast operand collects the sum over the
// dimensions it was broadcast along.
func (addOp[T]) backward(t *Tape[T], v, g *Var[T]) {
	a, b := v.in[0], v.in[1]
	if t.wants(a) {
		t.accum(a, sumTo(g, a.Shape()))
	}
	if t.wants(b) {
		t.accum(b, sumTo(g, b.Shape()))
	}
}

package autograd

import "github.com/gradflow/gradflow/tensor"

// Maximum returns max(a, b) elementwise with NumPy broadcasting. Where a
// and b are equal the gradient is split evenly between them, as in
// PyTorch.
func Maximum[T Float](a, b *Var[T]) *Var[T] {
	t := sameTape("Maximum", a, b)
	v := t.newVar()
	tensor.MaximumInto(binaryOut("Maximum", v, a, b), a.value, b.value)
	t.record(v, extremumOp[T]{}, a, b)
	return v
}

// Minimum returns min(a, b) elementwise with NumPy broadcasting; ties split
// the gradient evenly.
func Minimum[T Float](a, b *Var[T]) *Var[T] {
	t := sameTape("Minimum", a, b)
	v := t.newVar()
	tensor.MinimumInto(binaryOut("Minimum", v, a, b), a.value, b.value)
	if t.record(v, extremumOp[T]{}, a, b) {
		v.flag = true
	}
	return v
}

type extremumOp[T Float] struct{}

func (extremumOp[T]) name() string { return "Maximum/Minimum" }

// The gradient goes to the operand that won: mask = 1 where a wins, 1/2 on
// ties, 0 where b wins; a gets g*mask and b gets g*(1-mask). The mask is
// piecewise constant, hence a constant.
func (extremumOp[T]) backward(t *Tape[T], v, g *Var[T]) {
	a, b := v.in[0], v.in[1]
	m := t.constLike(v.Shape())
	tensor.SubInto(m.value, a.value, b.value)
	d := m.value.Data()
	sign := T(1)
	if v.flag {
		sign = -1
	}
	for i := range d {
		switch x := sign * d[i]; {
		case x > 0:
			d[i] = 1
		case x < 0:
			d[i] = 0
		default:
			d[i] = 0.5
		}
	}
	if t.wants(a) {
		t.accum(a, sumTo(Mul(g, m), a.Shape()))
	}
	if t.wants(b) {
		t.accum(b, sumTo(Mul(g, Affine(m, -1, 1)), b.Shape()))
	}
}

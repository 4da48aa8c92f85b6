package autograd

import "github.com/gradflow/gradflow/tensor"

// Abs returns |a| elementwise. Its derivative at 0 is taken as 0, as in
// PyTorch.
func Abs[T Float](a *Var[T]) *Var[T] {
	t := a.tape
	v := t.newVar()
	tensor.AbsInto(v.out(a.Shape()...), a.value)
	t.record(v, absOp[T]{}, a, nil)
	return v
}

type absOp[T Float] struct{}

func (absOp[T]) name() string { return "Abs" }

// The derivative sign(a) is piecewise constant, so a constant mask is exact
// for higher derivatives too.
func (absOp[T]) backward(t *Tape[T], v, g *Var[T]) {
	a := v.in[0]
	if !t.wants(a) {
		return
	}
	m := t.constLike(a.Shape())
	mapInto(m.value, a.value, func(x T) T {
		switch {
		case x > 0:
			return 1
		case x < 0:
			return -1
		}
		return 0
	})
	t.accum(a, Mul(g, m))
}

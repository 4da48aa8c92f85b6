package autograd

import "github.com/gradflow/gradflow/tensor"

// Pow returns a^p elementwise for a constant exponent p.
func Pow[T Float](a *Var[T], p float64) *Var[T] {
	t := a.tape
	v := t.newVar()
	tensor.PowInto(v.out(a.Shape()...), a.value, T(p))
	if t.record(v, powOp[T]{}, a, nil) {
		v.f = p
	}
	return v
}

type powOp[T Float] struct{}

func (powOp[T]) name() string { return "Pow" }

// d a^p = p a^(p-1) da. p = 0 has a zero derivative, and p = 1 is the
// identity; both are special-cased so that 0 * a^-1 never makes a NaN at 0.
func (powOp[T]) backward(t *Tape[T], v, g *Var[T]) {
	a := v.in[0]
	if !t.wants(a) || v.f == 0 {
		return
	}
	if v.f == 1 {
		t.accum(a, g)
		return
	}
	if v.f == 2 {
		t.accum(a, Mul(g, Scale(a, 2)))
		return
	}
	t.accum(a, Mul(g, Scale(Pow(a, v.f-1), v.f)))
}

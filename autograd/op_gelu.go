package autograd

import "math"

// Gelu returns the Gaussian error linear unit a*Phi(a) elementwise, with
// Phi(a) = (1 + erf(a/sqrt 2))/2 the standard normal CDF (the exact form,
// PyTorch's default, not the tanh approximation).
func Gelu[T Float](a *Var[T]) *Var[T] {
	t := a.tape
	v := t.newVar()
	mapInto(v.out(a.Shape()...), a.value, func(x T) T {
		y := float64(x)
		return T(0.5 * y * (1 + math.Erf(y/math.Sqrt2)))
	})
	t.record(v, geluOp[T]{}, a, nil)
	return v
}

type geluOp[T Float] struct{}

func (geluOp[T]) name() string { return "Gelu" }

// d gelu(a) = (Phi(a) + a phi(a)) da with phi the standard normal density;
// built from differentiable ops so that it can be differentiated again.
func (geluOp[T]) backward(t *Tape[T], v, g *Var[T]) {
	a := v.in[0]
	if !t.wants(a) {
		return
	}
	cdf := Affine(Erf(Scale(a, 1/math.Sqrt2)), 0.5, 0.5)
	pdf := Scale(Exp(Scale(Mul(a, a), -0.5)), 1/math.Sqrt(2*math.Pi))
	t.accum(a, Mul(g, Add(cdf, Mul(a, pdf))))
}

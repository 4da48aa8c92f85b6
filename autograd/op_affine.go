package autograd

import "github.com/gradflow/gradflow/tensor"

// Scale returns s*a.
func Scale[T Float](a *Var[T], s float64) *Var[T] { return affine(a, s, 0) }

// AddScalar returns a + c.
func AddScalar[T Float](a *Var[T], c float64) *Var[T] { return affine(a, 1, c) }

// Affine returns s*a + c elementwise in one pass.
func Affine[T Float](a *Var[T], s, c float64) *Var[T] { return affine(a, s, c) }

func affine[T Float](a *Var[T], s, c float64) *Var[T] {
	t := a.tape
	v := t.newVar()
	dst := v.out(a.Shape()...)
	switch {
	case c == 0:
		tensor.ScaleInto(dst, a.value, T(s))
	case s == 1:
		tensor.AddScalarInto(dst, a.value, T(c))
	default:
		d, x := dst.Data(), a.value.Data()
		ss, cc := T(s), T(c)
		for i := range d {
			d[i] = ss*x[i] + cc
		}
	}
	if t.record(v, affineOp[T]{}, a, nil) {
		v.f, v.c = s, c
	}
	return v
}

type affineOp[T Float] struct{}

func (affineOp[T]) name() string { return "Affine" }

func (affineOp[T]) backward(t *Tape[T], v, g *Var[T]) {
	if a := v.in[0]; t.wants(a) {
		if v.f == 1 {
			t.accum(a, g)
			return
		}
		t.accum(a, affine(g, v.f, 0))
	}
}

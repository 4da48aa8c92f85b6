package autograd

import "github.com/gradflow/gradflow/tensor"

// Transpose returns the transpose of a 2-D a (a copy). Prefer the
// transpose flags of MatMul where the transpose only feeds a product.
func Transpose[T Float](a *Var[T]) *Var[T] {
	s := a.Shape()
	if len(s) != 2 {
		panic("autograd.Transpose: need a 2-D operand, got shape " + shapeStr(s))
	}
	t := a.tape
	v := t.newVar()
	tensor.TransposeInto(v.out(s[1], s[0]), a.value)
	t.record(v, transposeOp[T]{}, a, nil)
	return v
}

type transposeOp[T Float] struct{}

func (transposeOp[T]) name() string { return "Transpose" }

func (transposeOp[T]) backward(t *Tape[T], v, g *Var[T]) {
	if a := v.in[0]; t.wants(a) {
		t.accum(a, Transpose(g))
	}
}

package autograd

import "github.com/gradflow/gradflow/tensor"

// resolveShape copies shape into rs with a -1 replaced by the size that
// makes the element counts of from and shape agree; it panics naming both
// shapes if that is impossible.
func resolveShape(opName string, rs *[tensor.MaxRank]int, from, shape []int) []int {
	if len(shape) > tensor.MaxRank {
		panic("autograd." + opName + ": shape " + shapeStr(shape) + " exceeds MaxRank")
	}
	n := 1
	for _, d := range from {
		n *= d
	}
	known, infer := 1, -1
	for i, d := range shape {
		rs[i] = d
		switch {
		case d == -1 && infer < 0:
			infer = i
		case d < 0:
			panic("autograd." + opName + ": invalid shape " + shapeStr(shape))
		default:
			known *= d
		}
	}
	if infer >= 0 && known != 0 {
		rs[infer] = n / known
		known *= rs[infer]
	}
	if known != n {
		panic("autograd." + opName + ": cannot reshape " + shapeStr(from) + " to " + shapeStr(shape))
	}
	return rs[:len(shape)]
}

// Reshape returns a view of a with the given shape (one dimension may be
// -1). It shares a's data: no copy is made.
func Reshape[T Float](a *Var[T], shape ...int) *Var[T] {
	t := a.tape
	var rs [tensor.MaxRank]int
	v := t.newVar()
	v.value = v.viewOf(a.value, resolveShape("Reshape", &rs, a.Shape(), shape))
	t.record(v, reshapeOp[T]{}, a, nil)
	return v
}

type reshapeOp[T Float] struct{}

func (reshapeOp[T]) name() string { return "Reshape" }

func (reshapeOp[T]) backward(t *Tape[T], v, g *Var[T]) {
	if a := v.in[0]; t.wants(a) {
		t.accum(a, Reshape(g, a.Shape()...))
	}
}

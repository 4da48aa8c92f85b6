package autograd

import "github.com/gradflow/gradflow/tensor"

// Rows returns the rows i..j-1 of a (the slices along its first
// dimension) as a view sharing a's data: a mini-batch of a dataset held in
// one tensor.
func Rows[T Float](a *Var[T], i, j int) *Var[T] {
	t := a.tape
	s := a.Shape()
	if len(s) == 0 || i < 0 || j < i || j > s[0] {
		panic("autograd.Rows: range [" + itoa(i) + "," + itoa(j) + ") out of bounds for shape " + shapeStr(s))
	}
	v := t.newVar()
	if !cachedRows(v.view, a.value, i, j) {
		v.view = a.value.Rows(i, j)
	}
	v.value = v.view
	if t.record(v, rowsOp[T]{}, a, nil) {
		v.i0 = i
	}
	return v
}

// cachedRows reports whether view already is the view a.Rows(i, j), so
// that a step in steady state reuses it instead of allocating a header.
func cachedRows[T Float](view, a *tensor.Tensor[T], i, j int) bool {
	if view == nil || view.NDim() != a.NDim() || view.Dim(0) != j-i {
		return false
	}
	vs, as := view.Shape(), a.Shape()
	if !sameShape(vs[1:], as[1:]) {
		return false
	}
	row := 1
	for _, d := range as[1:] {
		row *= d
	}
	vd, ad := view.Data(), a.Data()
	if len(vd) == 0 {
		return len(ad) == 0 || row == 0
	}
	return &vd[0] == &ad[i*row]
}

type rowsOp[T Float] struct{}

func (rowsOp[T]) name() string { return "Rows" }

func (rowsOp[T]) backward(t *Tape[T], v, g *Var[T]) {
	if a := v.in[0]; t.wants(a) {
		t.accum(a, pad(g, 0, v.i0, a.Shape()))
	}
}

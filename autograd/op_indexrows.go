package autograd

// IndexRows returns the rows of a listed in idx, in that order (repeats
// allowed): a gather along the first dimension, as torch.index_select(a, 0,
// idx). idx is kept by reference until the backward pass: do not modify it
// before then.
func IndexRows[T Float](a *Var[T], idx []int) *Var[T] {
	t := a.tape
	s := a.Shape()
	if len(s) == 0 {
		panic("autograd.IndexRows: scalar operand has no rows")
	}
	row := a.value.Len()
	if s[0] > 0 {
		row /= s[0]
	}
	v := t.newVar()
	var rs [8]int
	copy(rs[:], s)
	rs[0] = len(idx)
	dst := v.out(rs[:len(s)]...).Data()
	src := a.value.Data()
	for k, i := range idx {
		if i < 0 || i >= s[0] {
			panic("autograd.IndexRows: index " + itoa(i) + " out of range for shape " + shapeStr(s))
		}
		copy(dst[k*row:(k+1)*row], src[i*row:(i+1)*row])
	}
	if t.record(v, indexRowsOp[T]{}, a, nil) {
		v.idx = idx
	}
	return v
}

type indexRowsOp[T Float] struct{}

func (indexRowsOp[T]) name() string { return "IndexRows" }

func (indexRowsOp[T]) backward(t *Tape[T], v, g *Var[T]) {
	if a := v.in[0]; t.wants(a) {
		t.accum(a, scatterRows(g, v.idx, a.Shape()))
	}
}

// scatterRows returns zeros of shape with row k of g added into row idx[k]:
// the adjoint of IndexRows.
func scatterRows[T Float](g *Var[T], idx []int, shape []int) *Var[T] {
	t := g.tape
	v := t.newVar()
	out := v.out(shape...)
	out.Zero()
	row := 1
	for _, d := range shape[1:] {
		row *= d
	}
	dst, src := out.Data(), g.value.Data()
	for k, i := range idx {
		d, s := dst[i*row:(i+1)*row], src[k*row:(k+1)*row]
		for j := range d {
			d[j] += s[j]
		}
	}
	if t.record(v, scatterRowsOp[T]{}, g, nil) {
		v.idx = idx
	}
	return v
}

type scatterRowsOp[T Float] struct{}

func (scatterRowsOp[T]) name() string { return "scatterRows" }

func (scatterRowsOp[T]) backward(t *Tape[T], v, g *Var[T]) {
	if a := v.in[0]; t.wants(a) {
		t.accum(a, IndexRows(g, v.idx))
	}
}

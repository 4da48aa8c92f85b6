package autograd

// Pick returns, for a 2-D a [n, c] and n class indices, the vector [n] of
// a[i, idx[i]]: the gather of the log-probability of each example's label
// that cross-entropy needs. idx is kept by reference until the backward
// pass.
func Pick[T Float](a *Var[T], idx []int) *Var[T] {
	t := a.tape
	s := a.Shape()
	if len(s) != 2 || len(idx) != s[0] {
		panic("autograd.Pick: need a 2-D operand and one index per row, got shape " + shapeStr(s) +
			" and " + itoa(len(idx)) + " indices")
	}
	v := t.newVar()
	d, x := v.out(s[0]).Data(), a.value.Data()
	c := s[1]
	for i, k := range idx {
		if k < 0 || k >= c {
			panic("autograd.Pick: index " + itoa(k) + " in row " + itoa(i) + " out of range for shape " + shapeStr(s))
		}
		d[i] = x[i*c+k]
	}
	if t.record(v, pickOp[T]{}, a, nil) {
		v.idx = idx
	}
	return v
}

type pickOp[T Float] struct{}

func (pickOp[T]) name() string { return "Pick" }

func (pickOp[T]) backward(t *Tape[T], v, g *Var[T]) {
	if a := v.in[0]; t.wants(a) {
		t.accum(a, unpick(g, v.idx, a.Shape()))
	}
}

// unpick returns zeros of shape [n, c] with g[i] at (i, idx[i]): the
// adjoint of Pick.
func unpick[T Float](g *Var[T], idx []int, shape []int) *Var[T] {
	t := g.tape
	v := t.newVar()
	out := v.out(shape...)
	out.Zero()
	d, x := out.Data(), g.value.Data()
	c := shape[1]
	for i, k := range idx {
		d[i*c+k] = x[i]
	}
	if t.record(v, unpickOp[T]{}, g, nil) {
		v.idx = idx
	}
	return v
}

type unpickOp[T Float] struct{}

func (unpickOp[T]) name() string { return "unpick" }

func (unpickOp[T]) backward(t *Tape[T], v, g *Var[T]) {
	if a := v.in[0]; t.wants(a) {
		t.accum(a, Pick(g, v.idx))
	}
}

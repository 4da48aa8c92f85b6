package autograd

// LeakyRelu returns a where a > 0 and slope*a elsewhere.
func LeakyRelu[T Float](a *Var[T], slope float64) *Var[T] {
	t := a.tape
	v := t.newVar()
	d, x := v.out(a.Shape()...).Data(), a.value.Data()
	s := T(slope)
	for i := range d {
		if x[i] > 0 {
			d[i] = x[i]
		} else {
			d[i] = s * x[i]
		}
	}
	if t.record(v, leakyReluOp[T]{}, a, nil) {
		v.f = slope
	}
	return v
}

type leakyReluOp[T Float] struct{}

func (leakyReluOp[T]) name() string { return "LeakyRelu" }

func (leakyReluOp[T]) backward(t *Tape[T], v, g *Var[T]) {
	a := v.in[0]
	if !t.wants(a) {
		return
	}
	m := t.constLike(a.Shape())
	d, x := m.value.Data(), a.value.Data()
	s := T(v.f)
	for i := range d {
		if x[i] > 0 {
			d[i] = 1
		} else {
			d[i] = s
		}
	}
	t.accum(a, Mul(g, m))
}

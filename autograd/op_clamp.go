package autograd

// Clamp returns a clipped to [lo, hi] elementwise. The gradient passes
// where lo < a < hi and is zero elsewhere (at the bounds too).
func Clamp[T Float](a *Var[T], lo, hi float64) *Var[T] {
	if !(lo <= hi) {
		panic("autograd.Clamp: empty range [" + ftoa(lo) + ", " + ftoa(hi) + "]")
	}
	t := a.tape
	v := t.newVar()
	d, x := v.out(a.Shape()...).Data(), a.value.Data()
	l, h := T(lo), T(hi)
	for i := range d {
		d[i] = min(max(x[i], l), h)
	}
	if t.record(v, clampOp[T]{}, a, nil) {
		v.f, v.c = lo, hi
	}
	return v
}

type clampOp[T Float] struct{}

func (clampOp[T]) name() string { return "Clamp" }

// The derivative is the constant mask 1[lo < a < hi].
func (clampOp[T]) backward(t *Tape[T], v, g *Var[T]) {
	a := v.in[0]
	if !t.wants(a) {
		return
	}
	m := t.constLike(a.Shape())
	d, x := m.value.Data(), a.value.Data()
	l, h := T(v.f), T(v.c)
	for i := range d {
		if x[i] > l && x[i] < h {
			d[i] = 1
		} else {
			d[i] = 0
		}
	}
	t.accum(a, Mul(g, m))
}

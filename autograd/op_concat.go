package autograd

import "github.com/gradflow/gradflow/tensor"

// layout views a shape as [outer, n, inner] around axis ax.
func layout(shape []int, ax int) (outer, n, inner int) {
	outer, inner = 1, 1
	for _, d := range shape[:ax] {
		outer *= d
	}
	for _, d := range shape[ax+1:] {
		inner *= d
	}
	return outer, shape[ax], inner
}

// Concat returns the concatenation of xs along axis. All shapes must agree
// except along axis.
func Concat[T Float](axis int, xs ...*Var[T]) *Var[T] {
	if len(xs) == 0 {
		panic("autograd.Concat: no operands")
	}
	t := xs[0].tape
	s0 := xs[0].Shape()
	ax := normAxis("Concat", axis, s0)
	total := 0
	for _, x := range xs {
		sameTape("Concat", xs[0], x)
		s := x.Shape()
		ok := len(s) == len(s0)
		for i := 0; ok && i < len(s); i++ {
			ok = i == ax || s[i] == s0[i]
		}
		if !ok {
			panic("autograd.Concat: shapes " + shapeStr(s0) + " and " + shapeStr(s) + " differ outside axis " + itoa(ax))
		}
		total += s[ax]
	}
	var rs [tensor.MaxRank]int
	copy(rs[:], s0)
	rs[ax] = total
	v := t.newVar()
	dst := v.out(rs[:len(s0)]...).Data()
	outer, _, inner := layout(rs[:len(s0)], ax)
	off := 0
	needs := false
	for _, x := range xs {
		n := x.Shape()[ax]
		src := x.value.Data()
		for o := 0; o < outer; o++ {
			copy(dst[(o*total+off)*inner:(o*total+off+n)*inner], src[o*n*inner:(o+1)*n*inner])
		}
		off += n
		needs = needs || x.needsGrad
	}
	if needs && t.recording && !t.gradOff {
		v.op, v.needsGrad = concatOp[T]{}, true
		v.ins = append(v.ins[:0], xs...)
		v.i0 = ax
	}
	return v
}

type concatOp[T Float] struct{}

func (concatOp[T]) name() string { return "Concat" }

// Each operand's gradient is its slab of g.
func (concatOp[T]) backward(t *Tape[T], v, g *Var[T]) {
	off := 0
	for _, x := range v.ins {
		n := x.Shape()[v.i0]
		if t.wants(x) {
			t.accum(x, Narrow(g, v.i0, off, n))
		}
		off += n
	}
}

// Narrow returns the slab a[..., start:start+length, ...] along axis (a
// copy).
func Narrow[T Float](a *Var[T], axis, start, length int) *Var[T] {
	t := a.tape
	s := a.Shape()
	ax := normAxis("Narrow", axis, s)
	if start < 0 || length < 0 || start+length > s[ax] {
		panic("autograd.Narrow: range [" + itoa(start) + "," + itoa(start+length) + ") out of bounds for axis " +
			itoa(ax) + " of shape " + shapeStr(s))
	}
	var rs [tensor.MaxRank]int
	copy(rs[:], s)
	rs[ax] = length
	v := t.newVar()
	dst := v.out(rs[:len(s)]...).Data()
	outer, n, inner := layout(s, ax)
	src := a.value.Data()
	for o := 0; o < outer; o++ {
		copy(dst[o*length*inner:(o+1)*length*inner], src[(o*n+start)*inner:(o*n+start+length)*inner])
	}
	if t.record(v, narrowOp[T]{}, a, nil) {
		v.i0, v.i1 = ax, start
	}
	return v
}

type narrowOp[T Float] struct{}

func (narrowOp[T]) name() string { return "Narrow" }

func (narrowOp[T]) backward(t *Tape[T], v, g *Var[T]) {
	if a := v.in[0]; t.wants(a) {
		t.accum(a, pad(g, v.i0, v.i1, a.Shape()))
	}
}

// pad returns zeros of shape with g placed at offset start along axis ax:
// the adjoint of Narrow.
func pad[T Float](g *Var[T], ax, start int, shape []int) *Var[T] {
	t := g.tape
	v := t.newVar()
	out := v.out(shape...)
	out.Zero()
	dst, src := out.Data(), g.value.Data()
	outer, n, inner := layout(shape, ax)
	length := g.Shape()[ax]
	for o := 0; o < outer; o++ {
		copy(dst[(o*n+start)*inner:(o*n+start+length)*inner], src[o*length*inner:(o+1)*length*inner])
	}
	if t.record(v, padOp[T]{}, g, nil) {
		v.i0, v.i1 = ax, start
	}
	return v
}

type padOp[T Float] struct{}

func (padOp[T]) name() string { return "pad" }

func (padOp[T]) backward(t *Tape[T], v, g *Var[T]) {
	if a := v.in[0]; t.wants(a) {
		t.accum(a, Narrow(g, v.i0, v.i1, a.Shape()[v.i0]))
	}
}

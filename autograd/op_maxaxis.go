package autograd

import "github.com/gradflow/gradflow/tensor"

// MaxAxis returns the maxima of a along axis, keeping the axis with size 1
// if keepDim. The gradient goes to the first maximal element of each
// slice.
func MaxAxis[T Float](a *Var[T], axis int, keepDim bool) *Var[T] {
	t := a.tape
	ax := normAxis("MaxAxis", axis, a.Shape())
	v := t.newVar()
	var s [tensor.MaxRank]int
	tensor.MaxAxisInto(v.out(reduced(&s, a.Shape(), ax, keepDim)...), a.value, ax)
	if t.record(v, maxAxisOp[T]{}, a, nil) {
		v.i0 = ax
	}
	return v
}

// MinAxis returns the minima of a along axis; see MaxAxis.
func MinAxis[T Float](a *Var[T], axis int, keepDim bool) *Var[T] {
	return Neg(MaxAxis(Neg(a), axis, keepDim))
}

type maxAxisOp[T Float] struct{}

func (maxAxisOp[T]) name() string { return "MaxAxis" }

// The max is locally a selection of one input, so its gradient is g routed
// to the argmax: g broadcast times a constant one-hot mask.
func (maxAxisOp[T]) backward(t *Tape[T], v, g *Var[T]) {
	a := v.in[0]
	if !t.wants(a) {
		return
	}
	ax := v.i0
	outer, n, inner := layout(a.Shape(), ax)
	if cap(v.ints) < outer*inner {
		v.ints = make([]int, outer*inner)
	}
	arg := tensor.ArgMaxAxisInto(v.ints[:outer*inner], a.value, ax)
	m := t.constLike(a.Shape())
	m.value.Zero()
	d := m.value.Data()
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			d[(o*n+arg[o*inner+i])*inner+i] = 1
		}
	}
	t.accum(a, Mul(broadcastTo(keepDims(g, a.Shape(), ax), a.Shape()), m))
}

package autograd

import "github.com/gradflow/gradflow/tensor"

// Sum returns the sum of all elements of a as a scalar (shape []).
func Sum[T Float](a *Var[T]) *Var[T] {
	t := a.tape
	v := t.newVar()
	v.out().Data()[0] = tensor.Sum(a.value)
	t.record(v, sumOp[T]{}, a, nil)
	return v
}

type sumOp[T Float] struct{}

func (sumOp[T]) name() string { return "Sum" }

func (sumOp[T]) backward(t *Tape[T], v, g *Var[T]) {
	if a := v.in[0]; t.wants(a) {
		t.accum(a, broadcastTo(g, a.Shape()))
	}
}

// SumAxis returns the sums of a along axis (negative counts from the end),
// keeping that dimension with size 1 if keepDim.
func SumAxis[T Float](a *Var[T], axis int, keepDim bool) *Var[T] {
	t := a.tape
	ax := normAxis("SumAxis", axis, a.Shape())
	v := t.newVar()
	var s [tensor.MaxRank]int
	tensor.SumAxisInto(v.out(reduced(&s, a.Shape(), ax, keepDim)...), a.value, ax)
	if t.record(v, sumAxisOp[T]{}, a, nil) {
		v.i0, v.flag = ax, keepDim
	}
	return v
}

// reduced writes into s the shape of a reduction of shape along ax and
// returns it as a slice of s.
func reduced(s *[tensor.MaxRank]int, shape []int, ax int, keepDim bool) []int {
	n := copy(s[:], shape[:ax])
	if keepDim {
		s[n] = 1
		n++
	}
	n += copy(s[n:], shape[ax+1:])
	return s[:n]
}

type sumAxisOp[T Float] struct{}

func (sumAxisOp[T]) name() string { return "SumAxis" }

// Every input along the axis receives the gradient of its sum: reshape g
// to keep the axis, then broadcast.
func (sumAxisOp[T]) backward(t *Tape[T], v, g *Var[T]) {
	if a := v.in[0]; t.wants(a) {
		t.accum(a, broadcastTo(keepDims(g, a.Shape(), v.i0), a.Shape()))
	}
}

// keepDims returns g, the gradient of a reduction of shape along ax, with
// the reduced dimension restored as size 1 (a view), ready to broadcast.
func keepDims[T Float](g *Var[T], shape []int, ax int) *Var[T] {
	var s [tensor.MaxRank]int
	ks := reduced(&s, shape, ax, true)
	if sameShape(g.Shape(), ks) {
		return g
	}
	return Reshape(g, ks...)
}

// Mean returns the mean of all elements of a as a scalar.
func Mean[T Float](a *Var[T]) *Var[T] {
	return Scale(Sum(a), 1/float64(a.value.Len()))
}

// MeanAxis returns the means of a along axis; see SumAxis.
func MeanAxis[T Float](a *Var[T], axis int, keepDim bool) *Var[T] {
	ax := normAxis("MeanAxis", axis, a.Shape())
	return Scale(SumAxis(a, ax, keepDim), 1/float64(a.Shape()[ax]))
}

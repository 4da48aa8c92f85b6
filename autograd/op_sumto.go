package autograd

import "github.com/gradflow/gradflow/tensor"

// sumTo returns a summed over its broadcast dimensions down to shape: the
// adjoint of broadcasting, used by the backward rules of broadcasting ops.
// It returns a itself when the shapes already agree.
func sumTo[T Float](a *Var[T], shape []int) *Var[T] {
	if sameShape(a.Shape(), shape) {
		return a
	}
	t := a.tape
	v := t.newVar()
	tensor.SumTo(v.out(shape...), a.value)
	t.record(v, sumToOp[T]{}, a, nil)
	return v
}

type sumToOp[T Float] struct{}

func (sumToOp[T]) name() string { return "sumTo" }

// The adjoint of a sum over broadcast dimensions is the broadcast back.
func (sumToOp[T]) backward(t *Tape[T], v, g *Var[T]) {
	a := v.in[0]
	if t.wants(a) {
		t.accum(a, broadcastTo(g, a.Shape()))
	}
}

// broadcastTo returns a broadcast to shape (copied out).
func broadcastTo[T Float](a *Var[T], shape []int) *Var[T] {
	if sameShape(a.Shape(), shape) {
		return a
	}
	t := a.tape
	v := t.newVar()
	tensor.BroadcastTo(v.out(shape...), a.value)
	t.record(v, broadcastToOp[T]{}, a, nil)
	return v
}

type broadcastToOp[T Float] struct{}

func (broadcastToOp[T]) name() string { return "broadcastTo" }

func (broadcastToOp[T]) backward(t *Tape[T], v, g *Var[T]) {
	a := v.in[0]
	if t.wants(a) {
		t.accum(a, sumTo(g, a.Shape()))
	}
}

// BroadcastTo returns a broadcast to shape under NumPy's rules (copied,
// not a view). Its gradient sums over the broadcast dimensions.
func BroadcastTo[T Float](a *Var[T], shape ...int) *Var[T] {
	var s [tensor.MaxRank]int
	r := broadcastShape("BroadcastTo", &s, a.Shape(), shape)
	if !sameShape(s[:r], shape) {
		panic("autograd.BroadcastTo: shape " + shapeStr(a.Shape()) + " does not broadcast to " + shapeStr(shape))
	}
	return broadcastTo(a, shape)
}

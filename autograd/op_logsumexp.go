package autograd

import "github.com/gradflow/gradflow/tensor"

// LogSumExp returns log(sum(exp(a))) along axis, computed stably (shifted
// by the maximum), keeping the axis with size 1 if keepDim.
func LogSumExp[T Float](a *Var[T], axis int, keepDim bool) *Var[T] {
	t := a.tape
	ax := normAxis("LogSumExp", axis, a.Shape())
	v := t.newVar()
	var s [tensor.MaxRank]int
	tensor.LogSumExpAxisInto(v.out(reduced(&s, a.Shape(), ax, keepDim)...), a.value, ax)
	if t.record(v, logSumExpOp[T]{}, a, nil) {
		v.i0 = ax
	}
	return v
}

type logSumExpOp[T Float] struct{}

func (logSumExpOp[T]) name() string { return "LogSumExp" }

// d lse(a) = softmax(a) . da, with softmax(a) = exp(a - lse(a)) computed
// from the output.
func (logSumExpOp[T]) backward(t *Tape[T], v, g *Var[T]) {
	a := v.in[0]
	if !t.wants(a) {
		return
	}
	ax := v.i0
	sm := Exp(Sub(a, keepDims(v, a.Shape(), ax)))
	t.accum(a, Mul(sm, keepDims(g, a.Shape(), ax)))
}

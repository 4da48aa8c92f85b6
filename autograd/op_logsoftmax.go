package autograd

import (
	"math"

	"github.com/gradflow/gradflow/tensor"
)

// LogSoftmax returns a - logsumexp(a) along axis: the log-probabilities of
// a softmax, computed stably in one fused op.
func LogSoftmax[T Float](a *Var[T], axis int) *Var[T] {
	t := a.tape
	ax := normAxis("LogSoftmax", axis, a.Shape())
	v := t.newVar()
	out := v.out(a.Shape()...)
	if _, n, inner := layout(a.Shape(), ax); inner == 1 && n > 0 {
		logSoftmaxRows(out, v.aux(a.Shape()...), a.value, n)
	} else {
		var s [tensor.MaxRank]int
		lse := v.aux(reduced(&s, a.Shape(), ax, true)...)
		tensor.LogSumExpAxisInto(lse, a.value, ax)
		tensor.SubInto(out, a.value, lse)
	}
	if t.record(v, logSoftmaxOp[T]{}, a, nil) {
		v.i0 = ax
	}
	return v
}

type logSoftmaxOp[T Float] struct{}

func (logSoftmaxOp[T]) name() string { return "LogSoftmax" }

// With y = a - lse(a): da = g - softmax(a) * sum(g) along the axis, and
// softmax(a) = exp(y).
func (logSoftmaxOp[T]) backward(t *Tape[T], v, g *Var[T]) {
	if a := v.in[0]; t.wants(a) {
		t.accum(a, Sub(g, Mul(Exp(v), SumAxis(g, v.i0, true))))
	}
}

// Softmax returns exp(a - logsumexp(a)) along axis.
func Softmax[T Float](a *Var[T], axis int) *Var[T] { return Exp(LogSoftmax(a, axis)) }

// shiftByRowMax writes x - max(row) into dst for each contiguous row of
// length n of x (a NaN in a row is its maximum; an infinite maximum shifts
// by 0, since shifting by it would turn the row into NaNs): the first pass
// of a numerically stable softmax.
func shiftByRowMax[T Float](dst, x []T, n int) {
	for r := 0; r < len(x); r += n {
		row := x[r : r+n]
		m := row[0]
		for _, z := range row[1:] {
			if z > m || z != z {
				m = z
			}
		}
		if math.IsInf(float64(m), 0) {
			m = 0
		}
		o := dst[r : r+n]
		for i, z := range row {
			o[i] = z - m
		}
	}
}

// logSoftmaxRows computes the log-softmax of each contiguous row of length
// n as (x - m) - log(sum(exp(x - m))) with m the row maximum. Subtracting
// the maximum first, rather than x - (m + log sum), keeps the result exact
// when the logits are large (1e4 + log 3 would round away log 3's last
// digits); the exponentials run as one vector kernel over all rows.
func logSoftmaxRows[T Float](out, scratch, x *tensor.Tensor[T], n int) {
	d, e := out.Data(), scratch.Data()
	shiftByRowMax(d, x.Data(), n)
	tensor.ExpInto(scratch, out)
	for r := 0; r < len(d); r += n {
		var sum float64
		for _, z := range e[r : r+n] {
			sum += float64(z)
		}
		l := T(math.Log(sum))
		o := d[r : r+n]
		for i := range o {
			o[i] -= l
		}
	}
}

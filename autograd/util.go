package autograd

import (
	"strconv"

	"github.com/gradflow/gradflow/tensor"
)

func itoa(i int) string { return strconv.Itoa(i) }

func ftoa(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// broadcastShape writes into out the NumPy broadcast of shapes a and b and
// returns its rank; it panics naming opName and both shapes if they do not
// broadcast. The fixed-size array keeps the hot path free of allocations.
func broadcastShape(opName string, out *[tensor.MaxRank]int, a, b []int) int {
	r, ok := tensor.BroadcastInto(out, a, b)
	if !ok {
		panic("autograd." + opName + ": shapes " + shapeStr(a) + " and " + shapeStr(b) + " do not broadcast (or exceed MaxRank)")
	}
	return r
}

// binaryOut prepares v's output buffer with the broadcast shape of a and b.
func binaryOut[T Float](opName string, v, a, b *Var[T]) *tensor.Tensor[T] {
	if sameShape(a.Shape(), b.Shape()) {
		return v.out(a.Shape()...)
	}
	var s [tensor.MaxRank]int
	r := broadcastShape(opName, &s, a.Shape(), b.Shape())
	return v.out(s[:r]...)
}

// mapInto writes f(x) elementwise into dst. f must be a function literal
// that captures nothing (or a top-level function), so that passing it costs
// no allocation.
func mapInto[T Float](dst, x *tensor.Tensor[T], f func(T) T) {
	d, s := dst.Data(), x.Data()
	s = s[:len(d)]
	for i := range d {
		d[i] = f(s[i])
	}
}

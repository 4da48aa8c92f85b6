package simd

import "fmt"

// The exported vector kernels. Each checks lengths once and routes to the
// table of the tier in use. Elementwise kernels allow dst to alias an input.

func checkLen(op string, n int, others ...int) {
	for _, m := range others {
		if m != n {
			panic(fmt.Sprintf("simd.%s: length mismatch %d != %d", op, n, m))
		}
	}
}

// Axpy computes y += alpha*x.
func Axpy[T Float](alpha T, x, y []T) {
	checkLen("Axpy", len(x), len(y))
	if isF32[T]() {
		cur.s.axpy(float32(alpha), as[float32](x), as[float32](y))
		return
	}
	cur.d.axpy(float64(alpha), as[float64](x), as[float64](y))
}

// Scale computes dst = alpha*x.
func Scale[T Float](alpha T, dst, x []T) {
	checkLen("Scale", len(dst), len(x))
	if isF32[T]() {
		cur.s.scale(float32(alpha), as[float32](dst), as[float32](x))
		return
	}
	cur.d.scale(float64(alpha), as[float64](dst), as[float64](x))
}

// Dot returns sum_i x[i]*y[i]. The summation order is fixed by the tier
// (several partial sums), not by GOMAXPROCS.
func Dot[T Float](x, y []T) T {
	checkLen("Dot", len(x), len(y))
	if isF32[T]() {
		return T(cur.s.dot(as[float32](x), as[float32](y)))
	}
	return T(cur.d.dot(as[float64](x), as[float64](y)))
}

// Sum returns sum_i x[i].
func Sum[T Float](x []T) T {
	if isF32[T]() {
		return T(cur.s.sum(as[float32](x)))
	}
	return T(cur.d.sum(as[float64](x)))
}

// Max returns the largest element of x; it panics on an empty slice. If x
// holds a NaN the result is NaN.
func Max[T Float](x []T) T {
	if len(x) == 0 {
		panic("simd.Max: empty slice")
	}
	if isF32[T]() {
		return T(cur.s.max(as[float32](x)))
	}
	return T(cur.d.max(as[float64](x)))
}

func binary[T Float](op string, dst, x, y []T, f32 func(dst, x, y []float32), f64 func(dst, x, y []float64)) {
	checkLen(op, len(dst), len(x), len(y))
	if isF32[T]() {
		f32(as[float32](dst), as[float32](x), as[float32](y))
		return
	}
	f64(as[float64](dst), as[float64](x), as[float64](y))
}

func unary[T Float](op string, dst, x []T, f32 func(dst, x []float32), f64 func(dst, x []float64)) {
	checkLen(op, len(dst), len(x))
	if isF32[T]() {
		f32(as[float32](dst), as[float32](x))
		return
	}
	f64(as[float64](dst), as[float64](x))
}

// Add computes dst = x + y.
func Add[T Float](dst, x, y []T) { binary("Add", dst, x, y, cur.s.add, cur.d.add) }

// Sub computes dst = x - y.
func Sub[T Float](dst, x, y []T) { binary("Sub", dst, x, y, cur.s.sub, cur.d.sub) }

// Mul computes dst = x * y elementwise.
func Mul[T Float](dst, x, y []T) { binary("Mul", dst, x, y, cur.s.mul, cur.d.mul) }

// Div computes dst = x / y elementwise.
func Div[T Float](dst, x, y []T) { binary("Div", dst, x, y, cur.s.div, cur.d.div) }

// Maximum computes dst = max(x, y) elementwise (NaN if either is NaN).
func Maximum[T Float](dst, x, y []T) { binary("Maximum", dst, x, y, cur.s.maximum, cur.d.maximum) }

// Relu computes dst = max(x, 0) (NaN stays NaN).
func Relu[T Float](dst, x []T) { unary("Relu", dst, x, cur.s.relu, cur.d.relu) }

// MaskPositive computes dst = x where y > 0 and +0 elsewhere (where y is
// zero, negative or NaN): the backward pass of ReLU, with y its output and
// x the upstream gradient. x passes through unchanged, NaN included.
func MaskPositive[T Float](dst, x, y []T) {
	binary("MaskPositive", dst, x, y, cur.s.posMask, cur.d.posMask)
}

// Exp computes dst = exp(x). See the tier files for the error bounds.
func Exp[T Float](dst, x []T) { unary("Exp", dst, x, cur.s.exp, cur.d.exp) }

// Log computes dst = log(x) (natural logarithm).
func Log[T Float](dst, x []T) { unary("Log", dst, x, cur.s.log, cur.d.log) }

// Tanh computes dst = tanh(x).
func Tanh[T Float](dst, x []T) { unary("Tanh", dst, x, cur.s.tanh, cur.d.tanh) }

// Sigmoid computes dst = 1/(1+exp(-x)).
func Sigmoid[T Float](dst, x []T) { unary("Sigmoid", dst, x, cur.s.sigmoid, cur.d.sigmoid) }

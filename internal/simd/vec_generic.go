package simd

import "math"

// genericVec returns the portable vector kernels: plain Go loops, and for
// exp, log, tanh and sigmoid the functions of package math evaluated in
// float64. They are the reference every SIMD tier is tested against, and
// the fallback of the purego build and of CPUs without a SIMD tier.
func genericVec[T Float]() vecKernels[T] {
	return vecKernels[T]{
		axpy:    axpyGeneric[T],
		scale:   scaleGeneric[T],
		dot:     dotGeneric[T],
		sum:     sumGeneric[T],
		max:     maxGeneric[T],
		add:     addGeneric[T],
		sub:     subGeneric[T],
		mul:     mulGeneric[T],
		div:     divGeneric[T],
		maximum: maximumGeneric[T],
		relu:    reluGeneric[T],
		posMask: posMaskGeneric[T],
		exp:     expGeneric[T],
		log:     logGeneric[T],
		tanh:    tanhGeneric[T],
		sigmoid: sigmoidGeneric[T],
	}
}

// The loops below reslice every input to len(d) first, so the compiler
// proves the indexes in range once and the loop bodies carry no bounds
// checks; a shorter input panics there instead of being read past its end.

func addGeneric[T Float](d, x, y []T) {
	x, y = x[:len(d)], y[:len(d)]
	for i := range d {
		d[i] = x[i] + y[i]
	}
}

func subGeneric[T Float](d, x, y []T) {
	x, y = x[:len(d)], y[:len(d)]
	for i := range d {
		d[i] = x[i] - y[i]
	}
}

func mulGeneric[T Float](d, x, y []T) {
	x, y = x[:len(d)], y[:len(d)]
	for i := range d {
		d[i] = x[i] * y[i]
	}
}

func divGeneric[T Float](d, x, y []T) {
	x, y = x[:len(d)], y[:len(d)]
	for i := range d {
		d[i] = x[i] / y[i]
	}
}

func maximumGeneric[T Float](d, x, y []T) {
	x, y = x[:len(d)], y[:len(d)]
	for i := range d {
		d[i] = maxNaN(x[i], y[i])
	}
}

func reluGeneric[T Float](d, x []T) {
	x = x[:len(d)]
	for i := range d {
		d[i] = maxNaN(x[i], 0)
	}
}

// posMaskGeneric is dst = y > 0 ? x : +0 without a branch per element:
// ReLU outputs are positive about half the time in no predictable
// pattern, and a mispredicted branch costs more than the arithmetic. As
// an unsigned integer, bits(y) - 1 is below the bits of +Inf exactly for
// the positive floats up to +Inf, so its sign after subtracting those
// bits is the mask.
func posMaskGeneric[T Float](d, x, y []T) {
	switch d := any(d).(type) {
	case []float32:
		x, y := any(x).([]float32)[:len(d)], any(y).([]float32)[:len(d)]
		for i := range d {
			u := math.Float32bits(y[i]) - 1
			m := uint32((int64(u) - 0x7f800000) >> 63)
			d[i] = math.Float32frombits(math.Float32bits(x[i]) & m)
		}
	case []float64:
		x, y := any(x).([]float64)[:len(d)], any(y).([]float64)[:len(d)]
		for i := range d {
			u := math.Float64bits(y[i]) - 1
			// u>>1 keeps the subtraction from overflowing int64.
			m := uint64((int64(u>>1) - 0x3ff8000000000000) >> 63)
			d[i] = math.Float64frombits(math.Float64bits(x[i]) & m)
		}
	}
}

// maxNaN is a > b ? a : b, except that a NaN on either side gives NaN. It
// maps -0 to +0 against +0 in the second argument, like VMAXPS.
func maxNaN[T Float](a, b T) T {
	if a != a || b != b {
		return T(math.NaN())
	}
	if a > b {
		return a
	}
	return b
}

// expGeneric computes dst = exp(x) with exp64 in float64.
// Max error 0.5 ulp (float32), 2 ulp (float64): the float32 results are
// float64 values (within 2 float64 ulps) rounded once, and math.Exp on
// amd64 is off by up to 1.84 ulp (measured, vec_ulp_test.go).
func expGeneric[T Float](d, x []T) {
	x = x[:len(d)]
	for i := range d {
		d[i] = T(exp64(float64(x[i])))
	}
}

// logGeneric computes dst = log(x) with log64 in float64.
// Max error 0.5 ulp (float32), 1 ulp (float64).
func logGeneric[T Float](d, x []T) {
	x = x[:len(d)]
	for i := range d {
		d[i] = T(log64(float64(x[i])))
	}
}

// tanhGeneric computes dst = tanh(x) with math.Tanh in float64.
// Max error 0.5 ulp (float32), 1.5 ulp (float64).
func tanhGeneric[T Float](d, x []T) {
	x = x[:len(d)]
	for i := range d {
		d[i] = T(math.Tanh(float64(x[i])))
	}
}

// sigmoidGeneric computes dst = 1/(1+exp(-x)) with sigmoid64 in float64.
// Max error 0.5 ulp (float32), 3 ulp (float64).
func sigmoidGeneric[T Float](d, x []T) {
	x = x[:len(d)]
	for i := range d {
		d[i] = T(sigmoid64(float64(x[i])))
	}
}

func sigmoid64(a float64) float64 {
	// Both branches avoid exp overflow: for a >= 0, exp(-a) <= 1; for
	// a < 0, e/(1+e) keeps the tiny results that 1/(1+exp(-a)) would
	// flush to 0 once exp(-a) overflows.
	if a >= 0 {
		return 1 / (1 + math.Exp(-a))
	}
	e := math.Exp(a)
	return e / (1 + e)
}

// Thresholds of exp64.
const (
	// exp64Overflow is the largest x with exp(x) finite (about 709.78).
	exp64Overflow = 7.09782712893383973096e+02
	// Above exp64AsmBreak, Go's amd64 math.Exp returns +Inf too early: its
	// assembly rounds x*log2(e) to an integer n and reports overflow once
	// n reaches 1024 (x >= 709.44), although exp(x) <= MaxFloat64 up to
	// exp64Overflow; for example math.Exp(709.5) = +Inf instead of 1.35e308.
	exp64AsmBreak = 709
)

// exp64Ln2Hi and exp64Ln2Lo split ln 2 so that k*exp64Ln2Hi is exact for
// |k| < 2^20 (the same split as package math).
const (
	exp64Ln2Hi = 6.93147180369123816490e-01 // 0x3fe62e42fee00000
	exp64Ln2Lo = 1.90821492927058770002e-10 // 0x3dea39ef35793c76
)

// exp64 is math.Exp, except in (709, exp64Overflow] where math.Exp on
// amd64 wrongly overflows: there exp(x) = 2^1023 * exp(r) with
// r = x - 1023 ln2 in (-0.09, 0.7]; x - 1023*exp64Ln2Hi is exact, so r is
// off by at most half an ulp of r.
func exp64(x float64) float64 {
	if x > exp64AsmBreak && x <= exp64Overflow {
		r := (x - 1023*exp64Ln2Hi) - 1023*exp64Ln2Lo
		return math.Exp(r) * 0x1p1023
	}
	return math.Exp(x)
}

// log64 is math.Log, except for positive denormal x: Go's amd64 math.Log
// reads the exponent field without normalizing them (golang.org/issue/56600,
// math.Log(5e-324) returns -709.09 instead of -744.44), so the argument is
// scaled into the normal range first.
func log64(x float64) float64 {
	if x > 0 && x < 0x1p-1022 {
		return math.Log(x*0x1p54) - 54*math.Ln2
	}
	return math.Log(x)
}

func axpyGeneric[T Float](alpha T, x, y []T) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += alpha * v
	}
}

func scaleGeneric[T Float](alpha T, d, x []T) {
	x = x[:len(d)]
	for i := range d {
		d[i] = alpha * x[i]
	}
}

// dotGeneric uses four partial sums, like the SIMD tiers, for speed and a
// smaller rounding error than one running sum.
func dotGeneric[T Float](x, y []T) T {
	y = y[:len(x)]
	var s0, s1, s2, s3 T
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * y[i]
		s1 += x[i+1] * y[i+1]
		s2 += x[i+2] * y[i+2]
		s3 += x[i+3] * y[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func sumGeneric[T Float](x []T) T {
	var s0, s1, s2, s3 T
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i]
		s1 += x[i+1]
		s2 += x[i+2]
		s3 += x[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func maxGeneric[T Float](x []T) T {
	m := x[0]
	for _, v := range x[1:] {
		if v != v {
			return v
		}
		if v > m {
			m = v
		}
	}
	return m
}

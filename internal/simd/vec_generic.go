package simd

import "math"

// genericVec returns the portable vector kernels: plain loops (the
// reference for every tier) with the math functions of package math, which
// are correctly rounded to within 1 ulp.
func genericVec[T Float]() vecKernels[T] {
	return vecKernels[T]{
		axpy:    axpyGeneric[T],
		scale:   scaleGeneric[T],
		dot:     dotGeneric[T],
		sum:     sumGeneric[T],
		max:     maxGeneric[T],
		add:     func(d, x, y []T) { zip(d, x, y, func(a, b T) T { return a + b }) },
		sub:     func(d, x, y []T) { zip(d, x, y, func(a, b T) T { return a - b }) },
		mul:     func(d, x, y []T) { zip(d, x, y, func(a, b T) T { return a * b }) },
		div:     func(d, x, y []T) { zip(d, x, y, func(a, b T) T { return a / b }) },
		maximum: func(d, x, y []T) { zip(d, x, y, maxNaN[T]) },
		relu:    func(d, x []T) { mapf(d, x, func(a T) T { return maxNaN(a, 0) }) },
		exp:     func(d, x []T) { mapf(d, x, func(a T) T { return T(math.Exp(float64(a))) }) },
		log:     func(d, x []T) { mapf(d, x, func(a T) T { return T(math.Log(float64(a))) }) },
		tanh:    func(d, x []T) { mapf(d, x, func(a T) T { return T(math.Tanh(float64(a))) }) },
		sigmoid: func(d, x []T) { mapf(d, x, sigmoidGeneric[T]) },
	}
}

func sigmoidGeneric[T Float](a T) T {
	// Both branches avoid exp overflow: for a >= 0 exp(-a) <= 1.
	if a >= 0 {
		return T(1 / (1 + math.Exp(-float64(a))))
	}
	e := math.Exp(float64(a))
	return T(e / (1 + e))
}

// maxNaN is max that propagates NaN from either side.
func maxNaN[T Float](a, b T) T {
	if a != a || b != b {
		return T(math.NaN())
	}
	if a > b {
		return a
	}
	return b
}

func zip[T Float](d, x, y []T, f func(a, b T) T) {
	x, y = x[:len(d)], y[:len(d)]
	for i := range d {
		d[i] = f(x[i], y[i])
	}
}

func mapf[T Float](d, x []T, f func(a T) T) {
	x = x[:len(d)]
	for i := range d {
		d[i] = f(x[i])
	}
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

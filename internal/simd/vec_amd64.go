//go:build !purego

package simd

import "unsafe"

// The amd64 vector kernels, in vec_avx512_amd64.s and vec_avx2_amd64.s.
//
// Each takes whole slices and works on n = min(len of its slices) elements
// (the exported wrappers have checked that the lengths are equal), 4
// vectors per iteration for the memory-bound kernels and 1 for the math
// kernels; the last n%lanes elements are handled with masked loads and
// stores, so no byte outside the slices is read or written. The table
// entries (see chunked) call them on at most 64K elements at a time. Both
// tiers evaluate exp, log, tanh and sigmoid with the same operations in the
// same order, so their results are bit-identical; the AVX2 tier differs
// only in how it scales by 2^n, splits log's argument and fixes special
// cases.
//
// exp: x is clamped to [lo, hi] (-104, 89 for float32; -746, 710 for
// float64), just beyond where exp(x) rounds to 0 or overflows. Then
// n = round(x*log2(e)) (one rounding, by adding and subtracting 1.5*2^23 or
// 1.5*2^52), r = x - n*ln2hi - n*ln2lo with fused multiply-adds (|r| <=
// ln2/2, a Cody-Waite reduction), p = 1 + r*(1 + r*Q(r)) with Q a minimax
// polynomial of degree 4 (float32) or 10 (float64) fitted by a Remez
// exchange for the relative error of p, and exp(x) = p*2^n. AVX-512 scales
// with VSCALEF; AVX2 multiplies by 2^floor(n/2) (exact) and then by
// 2^(n-floor(n/2)), which rounds once, overflows to +Inf and underflows
// gradually to denormals and 0 like VSCALEF. NaN passes through every step.
//
// log: x = m*2^k with m in [sqrt(1/2), sqrt(2)) (denormals normalized
// first), f = m-1 (exact), s = f/(2+f), and log(1+f) = 2 atanh(s) written as
// f - (hfsq - s*(hfsq + R(s^2))) with hfsq = f^2/2 and R a minimax polynomial
// (degree 4 or 7 in s^2), so the small terms are added first; k*ln2 is added
// in two parts. Special inputs (NaN, negative, +-0, +Inf) are fixed up last:
// log(+-0) = -Inf, log(x<0) = NaN, log(+Inf) = +Inf.
//
// tanh: for |x| < 0.875 the odd minimax polynomial |x| + |x|^3*P(x^2)
// (degree 6 or 14 in x^2); above, 1 - 2e/(1+e) with e = exp(-2|x|), which
// saturates to 1 without overflow. The sign of x is copied last.
//
// sigmoid: e = exp(-|x|) never overflows. With d = 1+e rounded, dlo =
// (1-d)+e its exact rounding error and num = 1 (x >= 0) or e (x < 0), the
// quotient num/(d+dlo) is computed as q = num*(1/d) and refined once with
// the residual num - q*d - q*dlo. So very negative x give e/(1+e), down to
// denormals, and the rounding of 1+e does not reach the result.

// archVecKernels installs the amd64 vector kernels of a tier.
func archVecKernels(tier string, s *vecKernels[float32], d *vecKernels[float64]) {
	switch tier {
	case TierAVX512:
		*s = chunked(vecKernels[float32]{
			axpy: axpyF32AVX512, scale: scaleF32AVX512, dot: dotF32AVX512, sum: sumF32AVX512, max: maxF32AVX512,
			add: addF32AVX512, sub: subF32AVX512, mul: mulF32AVX512, div: divF32AVX512,
			maximum: maximumF32AVX512, relu: reluF32AVX512, posMask: posMaskF32AVX512,
			exp: expF32AVX512, log: logF32AVX512, tanh: tanhF32AVX512, sigmoid: sigmoidF32AVX512,
		})
		*d = chunked(vecKernels[float64]{
			axpy: axpyF64AVX512, scale: scaleF64AVX512, dot: dotF64AVX512, sum: sumF64AVX512, max: maxF64AVX512,
			add: addF64AVX512, sub: subF64AVX512, mul: mulF64AVX512, div: divF64AVX512,
			maximum: maximumF64AVX512, relu: reluF64AVX512, posMask: posMaskF64AVX512,
			exp: expF64AVX512, log: logF64AVX512, tanh: tanhF64AVX512, sigmoid: sigmoidF64AVX512,
		})
	case TierAVX2:
		*s = chunked(vecKernels[float32]{
			axpy: axpyF32AVX2, scale: scaleF32AVX2, dot: dotF32AVX2, sum: sumF32AVX2, max: maxF32AVX2,
			add: addF32AVX2, sub: subF32AVX2, mul: mulF32AVX2, div: divF32AVX2,
			maximum: maximumF32AVX2, relu: reluF32AVX2, posMask: posMaskF32AVX2,
			exp: expF32AVX2, log: logF32AVX2, tanh: tanhF32AVX2, sigmoid: sigmoidF32AVX2,
		})
		*d = chunked(vecKernels[float64]{
			axpy: axpyF64AVX2, scale: scaleF64AVX2, dot: dotF64AVX2, sum: sumF64AVX2, max: maxF64AVX2,
			add: addF64AVX2, sub: subF64AVX2, mul: mulF64AVX2, div: divF64AVX2,
			maximum: maximumF64AVX2, relu: reluF64AVX2, posMask: posMaskF64AVX2,
			exp: expF64AVX2, log: logF64AVX2, tanh: tanhF64AVX2, sigmoid: sigmoidF64AVX2,
		})
	}
}

// maxChunk is the most elements one assembly call processes. Assembly
// functions are not asynchronously preemptible, so one call on a long
// slice would hold off a stop-the-world pause of the garbage collector for
// its whole duration; 64K elements take 5-150 us with these kernels. It is
// a multiple of every unroll width, so only the last call has a tail.
const maxChunk = 1 << 16

// chunked wraps the kernels of k so that they call their assembly on at
// most maxChunk elements at a time. Reductions combine the results of the
// chunks in order, so the summation order stays fixed for a given length.
func chunked[T Float](k vecKernels[T]) vecKernels[T] {
	unary := func(f func(d, x []T)) func(d, x []T) {
		return func(d, x []T) {
			for len(d) > maxChunk {
				f(d[:maxChunk], x[:maxChunk])
				d, x = d[maxChunk:], x[maxChunk:]
			}
			f(d, x)
		}
	}
	binary := func(f func(d, x, y []T)) func(d, x, y []T) {
		return func(d, x, y []T) {
			for len(d) > maxChunk {
				f(d[:maxChunk], x[:maxChunk], y[:maxChunk])
				d, x, y = d[maxChunk:], x[maxChunk:], y[maxChunk:]
			}
			f(d, x, y)
		}
	}
	axpy, scale := k.axpy, k.scale
	dot, sum, maxf := k.dot, k.sum, k.max
	return vecKernels[T]{
		axpy: func(alpha T, x, y []T) {
			for len(x) > maxChunk {
				axpy(alpha, x[:maxChunk], y[:maxChunk])
				x, y = x[maxChunk:], y[maxChunk:]
			}
			axpy(alpha, x, y)
		},
		scale: func(alpha T, d, x []T) {
			for len(d) > maxChunk {
				scale(alpha, d[:maxChunk], x[:maxChunk])
				d, x = d[maxChunk:], x[maxChunk:]
			}
			scale(alpha, d, x)
		},
		dot: func(x, y []T) T {
			n := min(maxChunk, len(x))
			s := dot(x[:n], y[:n])
			for x, y = x[n:], y[n:]; len(x) > 0; x, y = x[n:], y[n:] {
				n = min(maxChunk, len(x))
				s += dot(x[:n], y[:n])
			}
			return s
		},
		sum: func(x []T) T {
			n := min(maxChunk, len(x))
			s := sum(x[:n])
			for x = x[n:]; len(x) > 0; x = x[n:] {
				n = min(maxChunk, len(x))
				s += sum(x[:n])
			}
			return s
		},
		max: func(x []T) T {
			n := min(maxChunk, len(x))
			m := maxf(x[:n])
			for x = x[n:]; len(x) > 0 && m == m; x = x[n:] {
				n = min(maxChunk, len(x))
				if v := maxf(x[:n]); v > m || v != v {
					m = v
				}
			}
			return m
		},
		add: binary(k.add), sub: binary(k.sub), mul: binary(k.mul), div: binary(k.div),
		maximum: binary(k.maximum), relu: unary(k.relu), posMask: binary(k.posMask),
		exp: unary(k.exp), log: unary(k.log), tanh: unary(k.tanh), sigmoid: unary(k.sigmoid),
	}
}

// axpyF32AVX512 computes y += alpha*x with one fused multiply-add per element.
//
//go:noescape
func axpyF32AVX512(alpha float32, x, y []float32)

// axpyF64AVX512 computes y += alpha*x with one fused multiply-add per element.
//
//go:noescape
func axpyF64AVX512(alpha float64, x, y []float64)

// scaleF32AVX512 computes dst = alpha*x.
//
//go:noescape
func scaleF32AVX512(alpha float32, dst, x []float32)

// scaleF64AVX512 computes dst = alpha*x.
//
//go:noescape
func scaleF64AVX512(alpha float64, dst, x []float64)

// dotF32AVX512 returns sum x[i]*y[i], accumulated with fused multiply-adds
// in four vector partial sums (16 lanes each) that are added pairwise at the end.
//
//go:noescape
func dotF32AVX512(x, y []float32) float32

// dotF64AVX512 returns sum x[i]*y[i], accumulated with fused multiply-adds
// in four vector partial sums (8 lanes each) that are added pairwise at the end.
//
//go:noescape
func dotF64AVX512(x, y []float64) float64

// sumF32AVX512 returns sum x[i], accumulated in four vector partial sums
// (16 lanes each) that are added pairwise at the end.
//
//go:noescape
func sumF32AVX512(x []float32) float32

// sumF64AVX512 returns sum x[i], accumulated in four vector partial sums
// (8 lanes each) that are added pairwise at the end.
//
//go:noescape
func sumF64AVX512(x []float64) float64

// maxF32AVX512 returns the largest element of x, NaN if x holds a
// NaN, and -Inf if x is empty. Which zero it returns when the largest
// elements are -0 and +0 is unspecified.
//
//go:noescape
func maxF32AVX512(x []float32) float32

// maxF64AVX512 returns the largest element of x, NaN if x holds a
// NaN, and -Inf if x is empty. Which zero it returns when the largest
// elements are -0 and +0 is unspecified.
//
//go:noescape
func maxF64AVX512(x []float64) float64

// addF32AVX512 computes dst = x + y.
//
//go:noescape
func addF32AVX512(dst, x, y []float32)

// addF64AVX512 computes dst = x + y.
//
//go:noescape
func addF64AVX512(dst, x, y []float64)

// subF32AVX512 computes dst = x - y.
//
//go:noescape
func subF32AVX512(dst, x, y []float32)

// subF64AVX512 computes dst = x - y.
//
//go:noescape
func subF64AVX512(dst, x, y []float64)

// mulF32AVX512 computes dst = x * y.
//
//go:noescape
func mulF32AVX512(dst, x, y []float32)

// mulF64AVX512 computes dst = x * y.
//
//go:noescape
func mulF64AVX512(dst, x, y []float64)

// divF32AVX512 computes dst = x / y.
//
//go:noescape
func divF32AVX512(dst, x, y []float32)

// divF64AVX512 computes dst = x / y.
//
//go:noescape
func divF64AVX512(dst, x, y []float64)

// maximumF32AVX512 computes dst = max(x, y): x > y ? x : y, and NaN if either is NaN.
//
//go:noescape
func maximumF32AVX512(dst, x, y []float32)

// maximumF64AVX512 computes dst = max(x, y): x > y ? x : y, and NaN if either is NaN.
//
//go:noescape
func maximumF64AVX512(dst, x, y []float64)

// reluF32AVX512 computes dst = max(x, 0): x > 0 ? x : +0, and NaN for NaN.
//
//go:noescape
func reluF32AVX512(dst, x []float32)

// reluF64AVX512 computes dst = max(x, 0): x > 0 ? x : +0, and NaN for NaN.
//
//go:noescape
func reluF64AVX512(dst, x []float64)

// expF32AVX512 computes dst = exp(x).
// Max error 0.91 ulp, measured over all 2^32 float32 inputs
// (vec_ulp_test.go with GRADFLOW_EXHAUSTIVE=1).
//
//go:noescape
func expF32AVX512(dst, x []float32)

// expF64AVX512 computes dst = exp(x).
// Max error 0.9 ulp: 0.886 ulp was the largest error measured on 2e7
// random float64 inputs spread over all exponents (vec_ulp_test.go).
//
//go:noescape
func expF64AVX512(dst, x []float64)

// logF32AVX512 computes dst = log(x).
// Max error 0.84 ulp, measured over all 2^32 float32 inputs
// (vec_ulp_test.go with GRADFLOW_EXHAUSTIVE=1).
//
//go:noescape
func logF32AVX512(dst, x []float32)

// logF64AVX512 computes dst = log(x).
// Max error 0.85 ulp: 0.816 ulp was the largest error measured on 2e7
// random float64 inputs spread over all exponents (vec_ulp_test.go).
//
//go:noescape
func logF64AVX512(dst, x []float64)

// tanhF32AVX512 computes dst = tanh(x).
// Max error 1.27 ulp, measured over all 2^32 float32 inputs
// (vec_ulp_test.go with GRADFLOW_EXHAUSTIVE=1).
//
//go:noescape
func tanhF32AVX512(dst, x []float32)

// tanhF64AVX512 computes dst = tanh(x).
// Max error 1.3 ulp: 1.257 ulp was the largest error measured on 2e7
// random float64 inputs spread over all exponents (vec_ulp_test.go).
//
//go:noescape
func tanhF64AVX512(dst, x []float64)

// sigmoidF32AVX512 computes dst = 1/(1+exp(-x)).
// Max error 1.48 ulp, measured over all 2^32 float32 inputs
// (vec_ulp_test.go with GRADFLOW_EXHAUSTIVE=1).
//
//go:noescape
func sigmoidF32AVX512(dst, x []float32)

// sigmoidF64AVX512 computes dst = 1/(1+exp(-x)).
// Max error 1.5 ulp: 1.439 ulp was the largest error measured on 2e7
// random float64 inputs spread over all exponents (vec_ulp_test.go).
//
//go:noescape
func sigmoidF64AVX512(dst, x []float64)

// axpyF32AVX2 computes y += alpha*x with one fused multiply-add per element.
//
//go:noescape
func axpyF32AVX2(alpha float32, x, y []float32)

// axpyF64AVX2 computes y += alpha*x with one fused multiply-add per element.
//
//go:noescape
func axpyF64AVX2(alpha float64, x, y []float64)

// scaleF32AVX2 computes dst = alpha*x.
//
//go:noescape
func scaleF32AVX2(alpha float32, dst, x []float32)

// scaleF64AVX2 computes dst = alpha*x.
//
//go:noescape
func scaleF64AVX2(alpha float64, dst, x []float64)

// dotF32AVX2 returns sum x[i]*y[i], accumulated with fused multiply-adds
// in four vector partial sums (8 lanes each) that are added pairwise at the end.
//
//go:noescape
func dotF32AVX2(x, y []float32) float32

// dotF64AVX2 returns sum x[i]*y[i], accumulated with fused multiply-adds
// in four vector partial sums (4 lanes each) that are added pairwise at the end.
//
//go:noescape
func dotF64AVX2(x, y []float64) float64

// sumF32AVX2 returns sum x[i], accumulated in four vector partial sums
// (8 lanes each) that are added pairwise at the end.
//
//go:noescape
func sumF32AVX2(x []float32) float32

// sumF64AVX2 returns sum x[i], accumulated in four vector partial sums
// (4 lanes each) that are added pairwise at the end.
//
//go:noescape
func sumF64AVX2(x []float64) float64

// maxF32AVX2 returns the largest element of x, NaN if x holds a
// NaN, and -Inf if x is empty. Which zero it returns when the largest
// elements are -0 and +0 is unspecified.
//
//go:noescape
func maxF32AVX2(x []float32) float32

// maxF64AVX2 returns the largest element of x, NaN if x holds a
// NaN, and -Inf if x is empty. Which zero it returns when the largest
// elements are -0 and +0 is unspecified.
//
//go:noescape
func maxF64AVX2(x []float64) float64

// addF32AVX2 computes dst = x + y.
//
//go:noescape
func addF32AVX2(dst, x, y []float32)

// addF64AVX2 computes dst = x + y.
//
//go:noescape
func addF64AVX2(dst, x, y []float64)

// subF32AVX2 computes dst = x - y.
//
//go:noescape
func subF32AVX2(dst, x, y []float32)

// subF64AVX2 computes dst = x - y.
//
//go:noescape
func subF64AVX2(dst, x, y []float64)

// mulF32AVX2 computes dst = x * y.
//
//go:noescape
func mulF32AVX2(dst, x, y []float32)

// mulF64AVX2 computes dst = x * y.
//
//go:noescape
func mulF64AVX2(dst, x, y []float64)

// divF32AVX2 computes dst = x / y.
//
//go:noescape
func divF32AVX2(dst, x, y []float32)

// divF64AVX2 computes dst = x / y.
//
//go:noescape
func divF64AVX2(dst, x, y []float64)

// maximumF32AVX2 computes dst = max(x, y): x > y ? x : y, and NaN if either is NaN.
//
//go:noescape
func maximumF32AVX2(dst, x, y []float32)

// maximumF64AVX2 computes dst = max(x, y): x > y ? x : y, and NaN if either is NaN.
//
//go:noescape
func maximumF64AVX2(dst, x, y []float64)

// posMaskF32AVX512 computes dst = y > 0 ? x : +0 (one compare into a mask
// register and a zero-masking load of x).
//
//go:noescape
func posMaskF32AVX512(dst, x, y []float32)

// posMaskF64AVX512 computes dst = y > 0 ? x : +0.
//
//go:noescape
func posMaskF64AVX512(dst, x, y []float64)

// posMaskF32AVX2 computes dst = y > 0 ? x : +0 (a compare and an AND).
//
//go:noescape
func posMaskF32AVX2(dst, x, y []float32)

// posMaskF64AVX2 computes dst = y > 0 ? x : +0.
//
//go:noescape
func posMaskF64AVX2(dst, x, y []float64)

// reluF32AVX2 computes dst = max(x, 0): x > 0 ? x : +0, and NaN for NaN.
//
//go:noescape
func reluF32AVX2(dst, x []float32)

// reluF64AVX2 computes dst = max(x, 0): x > 0 ? x : +0, and NaN for NaN.
//
//go:noescape
func reluF64AVX2(dst, x []float64)

// expF32AVX2 computes dst = exp(x).
// Max error 0.91 ulp, measured over all 2^32 float32 inputs
// (vec_ulp_test.go with GRADFLOW_EXHAUSTIVE=1).
//
//go:noescape
func expF32AVX2(dst, x []float32)

// expF64AVX2 computes dst = exp(x).
// Max error 0.9 ulp: 0.886 ulp was the largest error measured on 2e7
// random float64 inputs spread over all exponents (vec_ulp_test.go).
//
//go:noescape
func expF64AVX2(dst, x []float64)

// logF32AVX2 computes dst = log(x).
// Max error 0.84 ulp, measured over all 2^32 float32 inputs
// (vec_ulp_test.go with GRADFLOW_EXHAUSTIVE=1).
//
//go:noescape
func logF32AVX2(dst, x []float32)

// logF64AVX2 computes dst = log(x).
// Max error 0.85 ulp: 0.816 ulp was the largest error measured on 2e7
// random float64 inputs spread over all exponents (vec_ulp_test.go).
//
//go:noescape
func logF64AVX2(dst, x []float64)

// tanhF32AVX2 computes dst = tanh(x).
// Max error 1.27 ulp, measured over all 2^32 float32 inputs
// (vec_ulp_test.go with GRADFLOW_EXHAUSTIVE=1).
//
//go:noescape
func tanhF32AVX2(dst, x []float32)

// tanhF64AVX2 computes dst = tanh(x).
// Max error 1.3 ulp: 1.257 ulp was the largest error measured on 2e7
// random float64 inputs spread over all exponents (vec_ulp_test.go).
//
//go:noescape
func tanhF64AVX2(dst, x []float64)

// sigmoidF32AVX2 computes dst = 1/(1+exp(-x)).
// Max error 1.48 ulp, measured over all 2^32 float32 inputs
// (vec_ulp_test.go with GRADFLOW_EXHAUSTIVE=1).
//
//go:noescape
func sigmoidF32AVX2(dst, x []float32)

// sigmoidF64AVX2 computes dst = 1/(1+exp(-x)).
// Max error 1.5 ulp: 1.439 ulp was the largest error measured on 2e7
// random float64 inputs spread over all exponents (vec_ulp_test.go).
//
//go:noescape
func sigmoidF64AVX2(dst, x []float64)

// archColSum returns the fused ReLU-backward kernels of MaskPositiveColSum
// for a tier.
func archColSum(tier string) (f32, f64 colSumKernel) {
	switch tier {
	case TierAVX512:
		return colSumKernel{maskPosColSumF32AVX512, 16}, colSumKernel{maskPosColSumF64AVX512, 8}
	case TierAVX2:
		return colSumKernel{maskPosColSumF32AVX2, 8}, colSumKernel{maskPosColSumF64AVX2, 4}
	}
	return colSumKernel{}, colSumKernel{}
}

// The maskPosColSum kernels implement MaskPositiveColSum on a block of
// cols columns, a positive multiple of the vector length, rows >= 1, ld in
// bytes, in one pass row by row with the column sums in L1; bounds are
// checked by the caller and the pointers are not retained.

//go:noescape
func maskPosColSumF32AVX512(dz, gr, y, sum unsafe.Pointer, ld, rows, cols int)

//go:noescape
func maskPosColSumF64AVX512(dz, gr, y, sum unsafe.Pointer, ld, rows, cols int)

//go:noescape
func maskPosColSumF32AVX2(dz, gr, y, sum unsafe.Pointer, ld, rows, cols int)

//go:noescape
func maskPosColSumF64AVX2(dz, gr, y, sum unsafe.Pointer, ld, rows, cols int)

// archMomentum returns the heavy-ball kernels of MomentumUpdate for a tier
// and their vector lengths.
func archMomentum(tier string) (f32 momentumKernel[float32], f64 momentumKernel[float64]) {
	switch tier {
	case TierAVX512:
		return momentumKernel[float32]{momentumF32AVX512, 16}, momentumKernel[float64]{momentumF64AVX512, 8}
	case TierAVX2:
		return momentumKernel[float32]{momentumF32AVX2, 8}, momentumKernel[float64]{momentumF64AVX2, 4}
	}
	return
}

// The momentum kernels implement MomentumUpdate on n elements, a multiple
// of the vector length; the pointers are not retained.

//go:noescape
func momentumF32AVX512(x, gr, b *float32, n int, mu, damp, negLR float32)

//go:noescape
func momentumF64AVX512(x, gr, b *float64, n int, mu, damp, negLR float64)

//go:noescape
func momentumF32AVX2(x, gr, b *float32, n int, mu, damp, negLR float32)

//go:noescape
func momentumF64AVX2(x, gr, b *float64, n int, mu, damp, negLR float64)

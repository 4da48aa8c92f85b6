package tensor

import "math/rand/v2"

// RandN returns a tensor of the given shape whose elements are independent
// draws from the normal distribution with the given mean and standard
// deviation. Elements are drawn in row-major order from rng, one
// rng.NormFloat64 per element, so the same seed gives the same tensor bit for
// bit on every platform.
func RandN[T Float](rng *rand.Rand, mean, std T, shape ...int) *Tensor[T] {
	t := New[T](shape...)
	FillRandN(t, rng, mean, std)
	return t
}

// FillRandN overwrites t with normal draws as RandN does, reusing its
// storage.
func FillRandN[T Float](t *Tensor[T], rng *rand.Rand, mean, std T) {
	if rng == nil {
		panic("tensor.FillRandN: rng is nil")
	}
	m, s := float64(mean), float64(std)
	for i := range t.data {
		t.data[i] = T(m + s*rng.NormFloat64())
	}
}

// RandU returns a tensor of the given shape whose elements are independent
// draws from the uniform distribution on [lo, hi). Elements are drawn in
// row-major order from rng, so the same seed gives the same tensor bit for
// bit. It panics unless lo < hi.
func RandU[T Float](rng *rand.Rand, lo, hi T, shape ...int) *Tensor[T] {
	t := New[T](shape...)
	FillRandU(t, rng, lo, hi)
	return t
}

// FillRandU overwrites t with uniform draws on [lo, hi) as RandU does,
// reusing its storage.
func FillRandU[T Float](t *Tensor[T], rng *rand.Rand, lo, hi T) {
	if !(lo < hi) {
		panic("tensor.RandU: need lo < hi")
	}
	if rng == nil {
		panic("tensor.FillRandU: rng is nil")
	}
	l, w := float64(lo), float64(hi)-float64(lo)
	for i := range t.data {
		// The draw is made in float64; rounding to float32 can land on hi,
		// which the half-open interval excludes, so such draws are redrawn
		// (with probability about 2^-25 per element).
		v := T(l + w*rng.Float64())
		for v >= hi {
			v = T(l + w*rng.Float64())
		}
		t.data[i] = v
	}
}

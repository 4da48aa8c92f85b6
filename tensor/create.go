package tensor

import (
	"math"
	"strconv"
)

// New returns a tensor of the given shape filled with zeros. With no
// dimensions it returns a scalar (one element, empty shape). It panics on a
// negative dimension or a rank above MaxRank.
func New[T Float](shape ...int) *Tensor[T] {
	n := numel("New", shape)
	return &Tensor[T]{data: make([]T, n), shape: append([]int{}, shape...)}
}

// Zeros is New: a tensor of the given shape filled with zeros.
func Zeros[T Float](shape ...int) *Tensor[T] { return New[T](shape...) }

// Ones returns a tensor of the given shape filled with ones.
func Ones[T Float](shape ...int) *Tensor[T] { return Full(T(1), shape...) }

// Full returns a tensor of the given shape with every element equal to v.
func Full[T Float](v T, shape ...int) *Tensor[T] {
	t := New[T](shape...)
	t.Fill(v)
	return t
}

// ZerosLike returns a tensor of zeros with the shape of t.
func ZerosLike[T Float](t *Tensor[T]) *Tensor[T] { return New[T](t.shape...) }

// FromSlice returns a tensor of the given shape whose elements are data, in
// row-major order. The tensor shares data: no copy is made. With no shape,
// the tensor is 1-D of length len(data). It panics if len(data) is not the
// product of the dimensions.
func FromSlice[T Float](data []T, shape ...int) *Tensor[T] {
	if len(shape) == 0 {
		return &Tensor[T]{data: data, shape: []int{len(data)}}
	}
	if n := numel("FromSlice", shape); n != len(data) {
		panic("tensor.FromSlice: len(data) = " + strconv.Itoa(len(data)) + " does not match shape " +
			shapeStr(shape) + " (" + strconv.Itoa(n) + " elements)")
	}
	// Cap the slice so that appending to Data() can never write past the
	// tensor into memory the caller still owns.
	return &Tensor[T]{data: data[:len(data):len(data)], shape: append([]int{}, shape...)}
}

// Scalar returns a 0-dimensional tensor holding v.
func Scalar[T Float](v T) *Tensor[T] { return &Tensor[T]{data: []T{v}, shape: []int{}} }

// Arange returns the 1-D tensor [start, start+step, start+2*step, ...] of the
// values below stop (above stop when step < 0), like NumPy's arange. Element
// i is computed as start + i*step rather than by repeated addition, so
// rounding errors do not accumulate. It panics if step is zero or any
// argument is not finite.
func Arange[T Float](start, stop, step T) *Tensor[T] {
	s, e, d := float64(start), float64(stop), float64(step)
	if d == 0 || math.IsNaN(s+e+d) || math.IsInf(s, 0) || math.IsInf(e, 0) || math.IsInf(d, 0) {
		panic("tensor.Arange: invalid range start=" + strconv.FormatFloat(s, 'g', -1, 64) +
			" stop=" + strconv.FormatFloat(e, 'g', -1, 64) + " step=" + strconv.FormatFloat(d, 'g', -1, 64))
	}
	n := 0
	if c := math.Ceil((e - s) / d); c > 0 {
		if c > float64(maxInt/2) {
			panic("tensor.Arange: too many elements")
		}
		n = int(c)
	}
	t := New[T](n)
	for i := range t.data {
		t.data[i] = start + T(i)*step
	}
	return t
}

// Linspace returns the 1-D tensor of n values evenly spaced from start to
// stop inclusive. n must be at least 0; for n == 1 the only value is start.
func Linspace[T Float](start, stop T, n int) *Tensor[T] {
	t := New[T](n)
	if n == 1 {
		t.data[0] = start
	}
	if n > 1 {
		step := (float64(stop) - float64(start)) / float64(n-1)
		for i := range t.data {
			t.data[i] = T(float64(start) + float64(i)*step)
		}
		// Hit the end point exactly whatever the rounding of step.
		t.data[n-1] = stop
	}
	return t
}

// Eye returns the n x n identity matrix.
func Eye[T Float](n int) *Tensor[T] {
	t := New[T](n, n)
	for i := 0; i < n; i++ {
		t.data[i*n+i] = 1
	}
	return t
}

package tensor

import (
	"strconv"
)

// Float is the set of element types a Tensor can hold.
type Float interface{ float32 | float64 }

// MaxRank is the largest number of dimensions a Tensor may have. The
// broadcasting and reduction loops keep their per-dimension state in
// fixed-size arrays of this length so that the Into forms never allocate.
const MaxRank = 8

// Tensor is an N-dimensional array of float32 or float64 stored contiguously
// in row-major order: the element at index (i0, ..., i{r-1}) lives at
// data[i0*s0 + ... + i{r-1}*s{r-1}] where s{r-1} = 1 and sk = s{k+1}*shape[k+1].
//
// A Tensor with an empty shape is a scalar holding one element. Views
// (Reshape, Rows, FromSlice) share their data with the tensor or slice they
// come from; writing through one is seen by the other.
//
// The zero value is not usable; create tensors with New, FromSlice or the
// other constructors.
type Tensor[T Float] struct {
	data  []T
	shape []int
}

// Shape returns the dimensions of t. The returned slice is t's own and must
// not be modified; it is returned without copying so that shape checks in
// hot loops do not allocate.
func (t *Tensor[T]) Shape() []int { return t.shape }

// NDim returns the number of dimensions (the rank) of t; 0 for a scalar.
func (t *Tensor[T]) NDim() int { return len(t.shape) }

// Dim returns the size of dimension i. Negative i counts from the end, so
// Dim(-1) is the last dimension. It panics if i is out of range.
func (t *Tensor[T]) Dim(i int) int {
	j := i
	if j < 0 {
		j += len(t.shape)
	}
	if j < 0 || j >= len(t.shape) {
		panic("tensor.Dim: dimension " + strconv.Itoa(i) + " out of range for shape " + shapeStr(t.shape))
	}
	return t.shape[j]
}

// Len returns the number of elements of t, the product of its dimensions.
func (t *Tensor[T]) Len() int { return len(t.data) }

// Data returns the elements of t in row-major order. The slice is t's own
// storage (len == t.Len()): writes through it change t.
func (t *Tensor[T]) Data() []T { return t.data }

// Item returns the only element of a tensor with one element (a scalar, or
// any shape whose dimensions are all 1). It panics otherwise.
func (t *Tensor[T]) Item() T {
	if len(t.data) != 1 {
		panic("tensor.Item: tensor of shape " + shapeStr(t.shape) + " has " + strconv.Itoa(len(t.data)) + " elements, want 1")
	}
	return t.data[0]
}

// offset returns the position in data of the element at idx, panicking with
// op in the message if idx does not address an element of t.
func (t *Tensor[T]) offset(op string, idx []int) int {
	if len(idx) != len(t.shape) {
		panic("tensor." + op + ": " + strconv.Itoa(len(idx)) + " indices for shape " + shapeStr(t.shape))
	}
	off := 0
	for k, i := range idx {
		d := t.shape[k]
		if i < 0 || i >= d {
			panic("tensor." + op + ": index " + shapeStr(idx) + " out of range for shape " + shapeStr(t.shape))
		}
		off = off*d + i
	}
	return off
}

// At returns the element at the given index, one entry per dimension.
// It panics if the index has the wrong length or is out of range.
func (t *Tensor[T]) At(idx ...int) T { return t.data[t.offset("At", idx)] }

// Set stores v at the given index, one entry per dimension.
// It panics if the index has the wrong length or is out of range.
func (t *Tensor[T]) Set(v T, idx ...int) { t.data[t.offset("Set", idx)] = v }

// Clone returns a copy of t that shares nothing with it.
func (t *Tensor[T]) Clone() *Tensor[T] {
	return &Tensor[T]{data: append([]T(nil), t.data...), shape: append([]int(nil), t.shape...)}
}

// CopyFrom copies the elements of src into t. The shapes must be equal.
func (t *Tensor[T]) CopyFrom(src *Tensor[T]) {
	if !SameShape(t, src) {
		panic("tensor.CopyFrom: shapes " + shapeStr(t.shape) + " and " + shapeStr(src.shape) + " differ")
	}
	copy(t.data, src.data)
}

// Fill sets every element of t to v.
func (t *Tensor[T]) Fill(v T) {
	for i := range t.data {
		t.data[i] = v
	}
}

// Zero sets every element of t to zero.
func (t *Tensor[T]) Zero() { clear(t.data) }

// SameShape reports whether a and b have the same shape.
func SameShape[T Float](a, b *Tensor[T]) bool { return shapeEqual(a.shape, b.shape) }

func shapeEqual(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// shapeStr formats a shape as fmt's %v would ("[2 3]"). It exists because
// passing a slice to fmt makes it escape to the heap, which would cost an
// allocation on the hot, non-panicking path of every Into function whose
// shape lives in a stack array.
func shapeStr(s []int) string {
	b := make([]byte, 0, 2+4*len(s))
	b = append(b, '[')
	for i, d := range s {
		if i > 0 {
			b = append(b, ' ')
		}
		b = strconv.AppendInt(b, int64(d), 10)
	}
	return string(append(b, ']'))
}

// numel returns the product of the dimensions of shape, panicking (naming op)
// on a negative dimension, a rank above MaxRank, or an overflowing product.
func numel(op string, shape []int) int {
	if len(shape) > MaxRank {
		panic("tensor." + op + ": shape " + shapeStr(shape) + " has rank " + strconv.Itoa(len(shape)) +
			", more than MaxRank = " + strconv.Itoa(MaxRank))
	}
	n := 1
	for _, d := range shape {
		if d < 0 {
			panic("tensor." + op + ": negative dimension in shape " + shapeStr(shape))
		}
		if d != 0 && n > maxInt/d {
			panic("tensor." + op + ": shape " + shapeStr(shape) + " has too many elements")
		}
		n *= d
	}
	return n
}

const maxInt = int(^uint(0) >> 1)

package tensor

import (
	"math"
	"strconv"
	"strings"
)

// Tensors with more elements than summarizeAbove print only the first and
// last edgeItems entries of each long dimension, as NumPy does, so that
// logging a weight matrix does not print a million numbers.
const (
	summarizeAbove = 1000
	edgeItems      = 3
)

// String formats t as nested bracketed rows in NumPy's style, each element
// in the shortest form that reads back to the same value, right-aligned to
// a common width:
//
//	[[1 2 3]
//	 [4 5 6]]
//
// A scalar prints as its value alone. Large tensors are summarized with
// "..." in place of the middle of long dimensions.
func (t *Tensor[T]) String() string {
	if len(t.shape) == 0 {
		return formatElem(t.data[0])
	}
	f := formatter[T]{t: t, summarize: len(t.data) > summarizeAbove}
	f.walk(0, 0) // measure
	f.b = new(strings.Builder)
	f.walk(0, 0)
	return f.b.String()
}

type formatter[T Float] struct {
	t         *Tensor[T]
	summarize bool
	width     int              // widest element shown
	b         *strings.Builder // nil while measuring
}

// walk formats the sub-tensor at dimension dim starting at flat offset off.
func (f *formatter[T]) walk(dim, off int) {
	shape := f.t.shape
	n := shape[dim]
	stride := 1
	for _, d := range shape[dim+1:] {
		stride *= d
	}
	f.write("[")
	for i := 0; i < n; i++ {
		if f.summarize && n > 2*edgeItems && i == edgeItems {
			if dim == len(shape)-1 {
				f.write("... ")
			} else {
				f.write("...")
				f.sep(dim)
			}
			i = n - edgeItems
		}
		if dim == len(shape)-1 {
			s := formatElem(f.t.data[off+i])
			if f.b == nil {
				f.width = max(f.width, len(s))
			} else {
				f.write(strings.Repeat(" ", f.width-len(s)) + s)
			}
			if i < n-1 {
				f.write(" ")
			}
			continue
		}
		f.walk(dim+1, off+i*stride)
		if i < n-1 {
			f.sep(dim)
		}
	}
	f.write("]")
}

// sep separates two sub-tensors of dimension dim: a newline per remaining
// level of nesting (a blank line between matrices, none between numbers),
// then indentation under the opening brackets.
func (f *formatter[T]) sep(dim int) {
	f.write(strings.Repeat("\n", len(f.t.shape)-dim-1) + strings.Repeat(" ", dim+1))
}

func (f *formatter[T]) write(s string) {
	if f.b != nil {
		f.b.WriteString(s)
	}
}

func formatElem[T Float](v T) string {
	bits := 64
	if _, ok := any(v).(float32); ok {
		bits = 32
	}
	return strconv.FormatFloat(float64(v), 'g', -1, bits)
}

// Equal reports whether a and b have the same shape and equal elements
// (compared with ==, so a NaN is never equal to anything and 0 == -0).
func Equal[T Float](a, b *Tensor[T]) bool {
	if !shapeEqual(a.shape, b.shape) {
		return false
	}
	for i, v := range a.data {
		if v != b.data[i] {
			return false
		}
	}
	return true
}

// AllClose reports whether a and b have the same shape and every pair of
// elements satisfies |a - b| <= atol + rtol*|b|, NumPy's allclose rule
// (note the asymmetry: rtol is relative to b, the reference). Equal
// infinities are close; a NaN is close to nothing.
func AllClose[T Float](a, b *Tensor[T], rtol, atol float64) bool {
	if !shapeEqual(a.shape, b.shape) {
		return false
	}
	for i, v := range a.data {
		x, y := float64(v), float64(b.data[i])
		if x == y {
			continue
		}
		// An infinity is close only to itself; without this test rtol*|y|
		// = Inf would accept any value, even the opposite infinity.
		if math.IsInf(x, 0) || math.IsInf(y, 0) || !(math.Abs(x-y) <= atol+rtol*math.Abs(y)) {
			return false
		}
	}
	return true
}

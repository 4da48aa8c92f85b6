package tensor

import (
	"math"
	"strconv"
	"sync"

	"github.com/gradflow/gradflow/internal/simd"
)

// Sum returns the sum of all elements of a (0 for an empty tensor). The
// summation order is fixed by the SIMD tier (a few interleaved partial
// sums), never by GOMAXPROCS.
func Sum[T Float](a *Tensor[T]) T { return simd.Sum(a.data) }

// Mean returns the arithmetic mean of the elements of a (NaN for an empty
// tensor).
func Mean[T Float](a *Tensor[T]) T { return simd.Sum(a.data) / T(len(a.data)) }

// MaxAll returns the largest element of a, or NaN if a holds a NaN. It
// panics on an empty tensor.
func MaxAll[T Float](a *Tensor[T]) T {
	if len(a.data) == 0 {
		panic("tensor.MaxAll: empty tensor of shape " + shapeStr(a.shape))
	}
	return simd.Max(a.data)
}

// ArgMax returns the flat (row-major) index of the largest element of a,
// the first one if several are equal. A NaN counts as larger than any
// number, as in NumPy, so the index of the first NaN is returned if there is
// one. It panics on an empty tensor.
func ArgMax[T Float](a *Tensor[T]) int {
	if len(a.data) == 0 {
		panic("tensor.ArgMax: empty tensor of shape " + shapeStr(a.shape))
	}
	return argMaxStrided(a.data, len(a.data), 1)
}

// LogSumExp returns log(sum(exp(a))) over all elements, computed stably as
// m + log(sum(exp(a - m))) with m the largest element, so large elements do
// not overflow and very negative ones do not all underflow to log(0). It is
// -Inf for an empty tensor or one whose elements are all -Inf, +Inf if any
// element is +Inf, and NaN if any element is NaN.
func LogSumExp[T Float](a *Tensor[T]) T {
	buf := getScratch[T]()
	defer putScratch(buf)
	return logSumExpRow(a.data, buf[:chunk])
}

// axisLayout describes a reduction along one axis of a contiguous tensor
// viewed as [outer, n, inner].
type axisLayout struct{ outer, n, inner int }

// reduceLayout validates axis (negative counts from the end) and returns the
// [outer, n, inner] view of a together with the normalized axis.
func reduceLayout[T Float](op string, a *Tensor[T], axis int) (axisLayout, int) {
	r := len(a.shape)
	ax := axis
	if ax < 0 {
		ax += r
	}
	if ax < 0 || ax >= r {
		panic("tensor." + op + ": axis " + strconv.Itoa(axis) + " out of range for shape " + shapeStr(a.shape))
	}
	l := axisLayout{outer: 1, n: a.shape[ax], inner: 1}
	for _, d := range a.shape[:ax] {
		l.outer *= d
	}
	for _, d := range a.shape[ax+1:] {
		l.inner *= d
	}
	return l, ax
}

// reducedShape returns the shape of a reduced along axis ax, keeping a
// dimension of size 1 there if keepDim.
func reducedShape(shape []int, ax int, keepDim bool) []int {
	s := append([]int{}, shape...)
	if keepDim {
		s[ax] = 1
		return s
	}
	return append(s[:ax], s[ax+1:]...)
}

// checkReduced panics unless dst's shape is a's shape reduced along ax, with
// or without the reduced dimension kept (both have the same layout, so the
// Into forms accept either).
func checkReduced(op string, dstShape, shape []int, ax int) {
	ok := false
	switch len(dstShape) {
	case len(shape):
		ok = dstShape[ax] == 1 && shapeEqual(dstShape[:ax], shape[:ax]) && shapeEqual(dstShape[ax+1:], shape[ax+1:])
	case len(shape) - 1:
		ok = shapeEqual(dstShape[:ax], shape[:ax]) && shapeEqual(dstShape[ax:], shape[ax+1:])
	}
	if !ok {
		panic("tensor." + op + ": dst shape " + shapeStr(dstShape) + " is not shape " + shapeStr(shape) +
			" reduced along axis " + strconv.Itoa(ax))
	}
}

// SumAxis returns the sums of a along axis (negative counts from the end).
// The result has a's shape without that axis, or with it set to 1 if
// keepDim.
func SumAxis[T Float](a *Tensor[T], axis int, keepDim bool) *Tensor[T] {
	_, ax := reduceLayout("SumAxis", a, axis)
	return SumAxisInto(New[T](reducedShape(a.shape, ax, keepDim)...), a, axis)
}

// SumAxisInto writes the sums of a along axis into dst and returns dst. dst
// must have a's shape reduced along axis, with or without the reduced
// dimension kept. Sums along the last axis are accumulated in the fixed
// order of the SIMD sum kernel (a few interleaved partial sums, as Sum);
// along other axes each output accumulates its inputs in index order.
func SumAxisInto[T Float](dst, a *Tensor[T], axis int) *Tensor[T] {
	l, ax := reduceLayout("SumAxisInto", a, axis)
	checkReduced("SumAxisInto", dst.shape, a.shape, ax)
	sumAxis(dst.data, a.data, l)
	return dst
}

func sumAxis[T Float](d, x []T, l axisLayout) {
	if l.inner == 1 {
		for o := range d {
			d[o] = simd.Sum(x[o*l.n : (o+1)*l.n])
		}
		return
	}
	// Add whole rows of the inner block so that every call is a long
	// vector operation rather than a strided gather.
	for o := 0; o < l.outer; o++ {
		row := d[o*l.inner : (o+1)*l.inner]
		base := o * l.n * l.inner
		if l.n == 0 {
			clear(row)
			continue
		}
		copy(row, x[base:base+l.inner])
		for j := 1; j < l.n; j++ {
			off := base + j*l.inner
			simd.Add(row, row, x[off:off+l.inner])
		}
	}
}

// MeanAxis returns the means of a along axis; see SumAxis for the shape.
func MeanAxis[T Float](a *Tensor[T], axis int, keepDim bool) *Tensor[T] {
	_, ax := reduceLayout("MeanAxis", a, axis)
	return MeanAxisInto(New[T](reducedShape(a.shape, ax, keepDim)...), a, axis)
}

// MeanAxisInto writes the means of a along axis into dst and returns dst;
// see SumAxisInto for the shape of dst.
func MeanAxisInto[T Float](dst, a *Tensor[T], axis int) *Tensor[T] {
	l, ax := reduceLayout("MeanAxisInto", a, axis)
	checkReduced("MeanAxisInto", dst.shape, a.shape, ax)
	sumAxis(dst.data, a.data, l)
	// Divide rather than multiply by 1/n: the quotient is correctly rounded.
	n := T(l.n)
	for i := range dst.data {
		dst.data[i] /= n
	}
	return dst
}

// MaxAxis returns the maxima of a along axis (NaN where a NaN is among the
// inputs); see SumAxis for the shape. It panics if that axis has size 0.
func MaxAxis[T Float](a *Tensor[T], axis int, keepDim bool) *Tensor[T] {
	_, ax := reduceLayout("MaxAxis", a, axis)
	return MaxAxisInto(New[T](reducedShape(a.shape, ax, keepDim)...), a, axis)
}

// MaxAxisInto writes the maxima of a along axis into dst and returns dst;
// see SumAxisInto for the shape of dst.
func MaxAxisInto[T Float](dst, a *Tensor[T], axis int) *Tensor[T] {
	l, ax := reduceLayout("MaxAxisInto", a, axis)
	checkReduced("MaxAxisInto", dst.shape, a.shape, ax)
	if l.n == 0 && len(dst.data) > 0 {
		panic("tensor.MaxAxisInto: axis " + strconv.Itoa(axis) + " of shape " + shapeStr(a.shape) + " is empty")
	}
	maxAxis(dst.data, a.data, l)
	return dst
}

func maxAxis[T Float](d, x []T, l axisLayout) {
	if l.inner == 1 {
		for o := range d {
			d[o] = simd.Max(x[o*l.n : (o+1)*l.n])
		}
		return
	}
	for o := 0; o < l.outer; o++ {
		row := d[o*l.inner : (o+1)*l.inner]
		base := o * l.n * l.inner
		copy(row, x[base:base+l.inner])
		for j := 1; j < l.n; j++ {
			off := base + j*l.inner
			simd.Maximum(row, row, x[off:off+l.inner])
		}
	}
}

// ArgMaxAxis returns, for every position of a reduced along axis, the index
// along axis of the largest element (the first if several are equal; a NaN
// counts as larger than any number). The result is a []int in row-major
// order over a's shape without axis: for a [m, n] matrix and axis 1, entry
// i is the column of the maximum of row i. It is a []int rather than a
// Tensor because indices are integers and are used as such (labels,
// gathers). It panics if that axis has size 0.
func ArgMaxAxis[T Float](a *Tensor[T], axis int) []int {
	l, _ := reduceLayout("ArgMaxAxis", a, axis)
	return ArgMaxAxisInto(make([]int, l.outer*l.inner), a, axis)
}

// ArgMaxAxisInto writes the indices of ArgMaxAxis into dst, which must have
// one entry per position of a reduced along axis, and returns dst.
func ArgMaxAxisInto[T Float](dst []int, a *Tensor[T], axis int) []int {
	l, _ := reduceLayout("ArgMaxAxisInto", a, axis)
	if len(dst) != l.outer*l.inner {
		panic("tensor.ArgMaxAxisInto: len(dst) = " + strconv.Itoa(len(dst)) + ", want " +
			strconv.Itoa(l.outer*l.inner) + " for shape " + shapeStr(a.shape) + " reduced along axis " + strconv.Itoa(axis))
	}
	if l.n == 0 && len(dst) > 0 {
		panic("tensor.ArgMaxAxisInto: axis " + strconv.Itoa(axis) + " of shape " + shapeStr(a.shape) + " is empty")
	}
	for o := 0; o < l.outer; o++ {
		base := o * l.n * l.inner
		for i := 0; i < l.inner; i++ {
			dst[o*l.inner+i] = argMaxStrided(a.data[base+i:], l.n, l.inner)
		}
	}
	return dst
}

// argMaxStrided returns the k < n maximizing x[k*stride], with NumPy's
// tie and NaN rules (first maximum; first NaN beats everything).
func argMaxStrided[T Float](x []T, n, stride int) int {
	best, bi := x[0], 0
	if best != best {
		return 0
	}
	for k := 1; k < n; k++ {
		v := x[k*stride]
		if v != v {
			return k
		}
		if v > best {
			best, bi = v, k
		}
	}
	return bi
}

// LogSumExpAxis returns log(sum(exp(a))) along axis, computed stably as
// LogSumExp is; see SumAxis for the shape. An empty axis gives -Inf.
func LogSumExpAxis[T Float](a *Tensor[T], axis int, keepDim bool) *Tensor[T] {
	_, ax := reduceLayout("LogSumExpAxis", a, axis)
	return LogSumExpAxisInto(New[T](reducedShape(a.shape, ax, keepDim)...), a, axis)
}

// chunk is the length of the scratch buffers the log-sum-exp loops work
// through, so that exp and log run as vector kernels on bounded memory.
const chunk = 256

// The scratch buffers come from pools rather than the stack: slices handed
// to the SIMD kernels (called through a dispatch table) escape, so a stack
// array would be moved to the heap on every call. A pooled buffer costs no
// allocation in steady state and is safe for concurrent callers.
var (
	scratch32 = sync.Pool{New: func() any { return new([3 * chunk]float32) }}
	scratch64 = sync.Pool{New: func() any { return new([3 * chunk]float64) }}
)

func getScratch[T Float]() *[3 * chunk]T {
	var z T
	if _, ok := any(z).(float32); ok {
		return scratch32.Get().(*[3 * chunk]T)
	}
	return scratch64.Get().(*[3 * chunk]T)
}

func putScratch[T Float](p *[3 * chunk]T) {
	var z T
	if _, ok := any(z).(float32); ok {
		scratch32.Put(p)
		return
	}
	scratch64.Put(p)
}

// LogSumExpAxisInto writes the log-sum-exp of a along axis into dst and
// returns dst; see SumAxisInto for the shape of dst.
func LogSumExpAxisInto[T Float](dst, a *Tensor[T], axis int) *Tensor[T] {
	l, ax := reduceLayout("LogSumExpAxisInto", a, axis)
	checkReduced("LogSumExpAxisInto", dst.shape, a.shape, ax)
	d, x := dst.data, a.data
	if l.inner == 1 {
		buf := getScratch[T]()
		defer putScratch(buf)
		for o := range d {
			d[o] = logSumExpRow(x[o*l.n:(o+1)*l.n], buf[:chunk])
		}
		return dst
	}
	if l.n == 0 {
		for i := range d {
			d[i] = T(math.Inf(-1))
		}
		return dst
	}
	buf := getScratch[T]()
	defer putScratch(buf)
	shift, sum, tmp := buf[:chunk], buf[chunk:2*chunk], buf[2*chunk:]
	for o := 0; o < l.outer; o++ {
		base := o * l.n * l.inner
		for c0 := 0; c0 < l.inner; c0 += chunk {
			w := min(chunk, l.inner-c0)
			m, s, t := shift[:w], sum[:w], tmp[:w]
			copy(m, x[base+c0:base+c0+w])
			for j := 1; j < l.n; j++ {
				off := base + j*l.inner + c0
				simd.Maximum(m, m, x[off:off+w])
			}
			finiteShift(m)
			clear(s)
			for j := 0; j < l.n; j++ {
				off := base + j*l.inner + c0
				simd.Sub(t, x[off:off+w], m)
				simd.Exp(t, t)
				simd.Add(s, s, t)
			}
			simd.Log(s, s)
			out := d[o*l.inner+c0 : o*l.inner+c0+w]
			simd.Add(out, m, s)
		}
	}
	return dst
}

// finiteShift replaces infinite maxima by 0. Shifting by an infinite
// maximum would compute Inf-Inf = NaN; with a zero shift the unshifted sum
// already gives the right answer (+Inf if an element is +Inf, log(0) = -Inf
// if all are -Inf). NaN maxima stay NaN and make the result NaN.
func finiteShift[T Float](m []T) {
	for i, v := range m {
		if math.IsInf(float64(v), 0) {
			m[i] = 0
		}
	}
}

// logSumExpRow is the stable log-sum-exp of a contiguous slice; buf is
// scratch space of length chunk.
func logSumExpRow[T Float](x, buf []T) T {
	if len(x) == 0 {
		return T(math.Inf(-1))
	}
	m := simd.Max(x)
	if math.IsInf(float64(m), 0) {
		m = 0
	}
	var s float64
	for i := 0; i < len(x); i += chunk {
		c := x[i:min(i+chunk, len(x))]
		b := buf[:len(c)]
		for k := range b {
			b[k] = c[k] - m
		}
		simd.Exp(b, b)
		s += float64(simd.Sum(b))
	}
	return m + T(math.Log(s))
}

// SumTo sums a over its broadcast dimensions so that the result has dst's
// shape, writes it into dst and returns dst. dst's shape must broadcast to
// exactly a's shape: it is what the backward pass of a broadcasting op needs
// to turn the gradient of the broadcast result back into the gradient of a
// smaller operand (for example [m, n] to a bias of shape [n], or [m, n] to
// [m, 1]). Each element of dst accumulates its inputs in row-major order of
// a, so the result does not depend on GOMAXPROCS.
func SumTo[T Float](dst, a *Tensor[T]) *Tensor[T] {
	if shapeEqual(dst.shape, a.shape) {
		copy(dst.data, a.data)
		return dst
	}
	var out [MaxRank]int
	r, ok := BroadcastInto(&out, dst.shape, a.shape)
	if !ok || !shapeEqual(out[:r], a.shape) {
		panic("tensor.SumTo: shape " + shapeStr(a.shape) + " cannot be summed to shape " + shapeStr(dst.shape))
	}
	clear(dst.data)
	var st [nOperands][MaxRank]int
	alignedStrides(&st[0], dst.shape, &out, r)
	alignedStrides(&st[1], a.shape, &out, r)
	var l stridedLoop
	l.init(&out, r, &st)
	if l.empty {
		return dst
	}
	n := l.n
	for {
		x := a.data[l.off[1] : l.off[1]+n]
		if l.inner[0] == 1 {
			d := dst.data[l.off[0] : l.off[0]+n]
			simd.Add(d, d, x)
		} else {
			dst.data[l.off[0]] += simd.Sum(x)
		}
		if !l.next() {
			return dst
		}
	}
}

package tensor

import (
	"math"

	"github.com/gradflow/gradflow/internal/simd"
)

// binOp names an elementwise binary operation.
type binOp uint8

const (
	opAdd binOp = iota
	opSub
	opMul
	opDiv
	opMaximum
	opMinimum
)

var binNames = [...]string{opAdd: "Add", opSub: "Sub", opMul: "Mul", opDiv: "Div", opMaximum: "Maximum", opMinimum: "Minimum"}

// binIntoNames are the names of the Into forms, spelled out so that naming
// an op in a panic message never concatenates strings on the hot path.
var binIntoNames = [...]string{opAdd: "AddInto", opSub: "SubInto", opMul: "MulInto", opDiv: "DivInto",
	opMaximum: "MaximumInto", opMinimum: "MinimumInto"}

// Add returns a + b elementwise, broadcasting a and b to a common shape
// (see BroadcastShapes). It panics if the shapes do not broadcast.
func Add[T Float](a, b *Tensor[T]) *Tensor[T] { return binary(opAdd, nil, a, b) }

// AddInto writes a + b (broadcasting as Add) into dst and returns dst. dst
// must have the broadcast shape; a nil dst is allocated. dst may be a or b
// when that operand already has the broadcast shape.
func AddInto[T Float](dst, a, b *Tensor[T]) *Tensor[T] { return binary(opAdd, dst, a, b) }

// Sub returns a - b elementwise with broadcasting.
func Sub[T Float](a, b *Tensor[T]) *Tensor[T] { return binary(opSub, nil, a, b) }

// SubInto writes a - b into dst with the conventions of AddInto.
func SubInto[T Float](dst, a, b *Tensor[T]) *Tensor[T] { return binary(opSub, dst, a, b) }

// Mul returns a * b elementwise (the Hadamard product) with broadcasting.
func Mul[T Float](a, b *Tensor[T]) *Tensor[T] { return binary(opMul, nil, a, b) }

// MulInto writes a * b into dst with the conventions of AddInto.
func MulInto[T Float](dst, a, b *Tensor[T]) *Tensor[T] { return binary(opMul, dst, a, b) }

// Div returns a / b elementwise with broadcasting, with IEEE semantics
// (x/0 is ±Inf or NaN, never a panic).
func Div[T Float](a, b *Tensor[T]) *Tensor[T] { return binary(opDiv, nil, a, b) }

// DivInto writes a / b into dst with the conventions of AddInto.
func DivInto[T Float](dst, a, b *Tensor[T]) *Tensor[T] { return binary(opDiv, dst, a, b) }

// Maximum returns max(a, b) elementwise with broadcasting. A NaN in either
// operand gives NaN, so NaNs are never silently dropped.
func Maximum[T Float](a, b *Tensor[T]) *Tensor[T] { return binary(opMaximum, nil, a, b) }

// MaximumInto writes max(a, b) into dst with the conventions of AddInto.
func MaximumInto[T Float](dst, a, b *Tensor[T]) *Tensor[T] { return binary(opMaximum, dst, a, b) }

// Minimum returns min(a, b) elementwise with broadcasting; a NaN in either
// operand gives NaN.
func Minimum[T Float](a, b *Tensor[T]) *Tensor[T] { return binary(opMinimum, nil, a, b) }

// MinimumInto writes min(a, b) into dst with the conventions of AddInto.
func MinimumInto[T Float](dst, a, b *Tensor[T]) *Tensor[T] { return binary(opMinimum, dst, a, b) }

// binary computes dst = a op b with broadcasting, allocating dst when nil.
func binary[T Float](op binOp, dst, a, b *Tensor[T]) *Tensor[T] {
	if shapeEqual(a.shape, b.shape) {
		// The common case in training: one kernel call over all the data.
		dst = prepDst(binIntoNames[op], dst, a.shape)
		binVec(op, dst.data, a.data, b.data)
		return dst
	}
	var out [MaxRank]int
	r, ok := BroadcastInto(&out, a.shape, b.shape)
	if !ok {
		panicOp(binNames[op], dst != nil, "shapes "+shapeStr(a.shape)+" and "+shapeStr(b.shape)+" do not broadcast")
	}
	if dst == nil {
		dst = New[T](out[:r]...)
	} else if !shapeEqual(dst.shape, out[:r]) {
		panicOp(binNames[op], true, "dst shape "+shapeStr(dst.shape)+" does not match the broadcast shape "+
			shapeStr(out[:r])+" of "+shapeStr(a.shape)+" and "+shapeStr(b.shape))
	}
	var st [nOperands][MaxRank]int
	alignedStrides(&st[0], dst.shape, &out, r)
	alignedStrides(&st[1], a.shape, &out, r)
	alignedStrides(&st[2], b.shape, &out, r)
	var l stridedLoop
	l.init(&out, r, &st)
	if l.empty {
		return dst
	}
	n := l.n
	for {
		d := dst.data[l.off[0] : l.off[0]+n]
		oa, ob := l.off[1], l.off[2]
		switch {
		case l.inner[1] == 1 && l.inner[2] == 1:
			binVec(op, d, a.data[oa:oa+n], b.data[ob:ob+n])
		case l.inner[1] == 1:
			binScalarRight(op, d, a.data[oa:oa+n], b.data[ob])
		case l.inner[2] == 1:
			binScalarLeft(op, d, a.data[oa], b.data[ob:ob+n])
		default:
			v := binScalar(op, a.data[oa], b.data[ob])
			for i := range d {
				d[i] = v
			}
		}
		if !l.next() {
			return dst
		}
	}
}

// BroadcastTo writes a, broadcast to dst's shape, into dst and returns dst:
// each element of dst receives the element of a it lines up with under the
// broadcasting rules. It is the adjoint of SumTo. It panics unless a's shape
// broadcasts to exactly dst's shape.
func BroadcastTo[T Float](dst, a *Tensor[T]) *Tensor[T] {
	if shapeEqual(dst.shape, a.shape) {
		copy(dst.data, a.data)
		return dst
	}
	var out [MaxRank]int
	r, ok := BroadcastInto(&out, dst.shape, a.shape)
	if !ok || !shapeEqual(out[:r], dst.shape) {
		panic("tensor.BroadcastTo: shape " + shapeStr(a.shape) + " does not broadcast to " + shapeStr(dst.shape))
	}
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
		d := dst.data[l.off[0] : l.off[0]+n]
		if l.inner[1] == 1 {
			copy(d, a.data[l.off[1]:l.off[1]+n])
		} else {
			v := a.data[l.off[1]]
			for i := range d {
				d[i] = v
			}
		}
		if !l.next() {
			return dst
		}
	}
}

// binVec computes d = x op y over equal-length slices.
func binVec[T Float](op binOp, d, x, y []T) {
	switch op {
	case opAdd:
		simd.Add(d, x, y)
	case opSub:
		simd.Sub(d, x, y)
	case opMul:
		simd.Mul(d, x, y)
	case opDiv:
		simd.Div(d, x, y)
	case opMaximum:
		simd.Maximum(d, x, y)
	case opMinimum:
		x, y = x[:len(d)], y[:len(d)]
		for i := range d {
			d[i] = minNaN(x[i], y[i])
		}
	}
}

// binScalarRight computes d = x op s. The switch sits outside the loops so
// each loop is a tight, bounds-check-free pass.
func binScalarRight[T Float](op binOp, d, x []T, s T) {
	x = x[:len(d)]
	switch op {
	case opAdd:
		for i := range d {
			d[i] = x[i] + s
		}
	case opSub:
		for i := range d {
			d[i] = x[i] - s
		}
	case opMul:
		simd.Scale(s, d, x)
	case opDiv:
		for i := range d {
			d[i] = x[i] / s
		}
	case opMaximum:
		for i := range d {
			d[i] = maxNaN(x[i], s)
		}
	case opMinimum:
		for i := range d {
			d[i] = minNaN(x[i], s)
		}
	}
}

// binScalarLeft computes d = s op y.
func binScalarLeft[T Float](op binOp, d []T, s T, y []T) {
	y = y[:len(d)]
	switch op {
	case opAdd:
		for i := range d {
			d[i] = s + y[i]
		}
	case opSub:
		for i := range d {
			d[i] = s - y[i]
		}
	case opMul:
		simd.Scale(s, d, y)
	case opDiv:
		for i := range d {
			d[i] = s / y[i]
		}
	case opMaximum:
		for i := range d {
			d[i] = maxNaN(s, y[i])
		}
	case opMinimum:
		for i := range d {
			d[i] = minNaN(s, y[i])
		}
	}
}

func binScalar[T Float](op binOp, x, y T) T {
	switch op {
	case opAdd:
		return x + y
	case opSub:
		return x - y
	case opMul:
		return x * y
	case opDiv:
		return x / y
	case opMaximum:
		return maxNaN(x, y)
	default:
		return minNaN(x, y)
	}
}

// maxNaN and minNaN propagate a NaN from either side, matching
// simd.Maximum; the builtins max and min do too, but spelling it out keeps
// the contract visible next to the loops that rely on it.
func maxNaN[T Float](a, b T) T {
	if a != a || b != b {
		return T(math.NaN())
	}
	if a > b {
		return a
	}
	return b
}

func minNaN[T Float](a, b T) T {
	if a != a || b != b {
		return T(math.NaN())
	}
	if a < b {
		return a
	}
	return b
}

// prepDst returns dst, or a new tensor of the given shape if dst is nil,
// panicking (naming op) if dst has another shape.
func prepDst[T Float](op string, dst *Tensor[T], shape []int) *Tensor[T] {
	if dst == nil {
		return New[T](shape...)
	}
	if !shapeEqual(dst.shape, shape) {
		panic("tensor." + op + ": dst shape " + shapeStr(dst.shape) + " does not match input shape " + shapeStr(shape))
	}
	return dst
}

// panicOp panics with "tensor.<op>[Into]: msg".
func panicOp(op string, into bool, msg string) {
	if into {
		op += "Into"
	}
	panic("tensor." + op + ": " + msg)
}

// unOp names an elementwise unary operation.
type unOp uint8

const (
	opExp unOp = iota
	opLog
	opTanh
	opSigmoid
	opRelu
	opSqrt
	opAbs
	opNeg
)

var unIntoNames = [...]string{opExp: "ExpInto", opLog: "LogInto", opTanh: "TanhInto", opSigmoid: "SigmoidInto",
	opRelu: "ReluInto", opSqrt: "SqrtInto", opAbs: "AbsInto", opNeg: "NegInto"}

func unary[T Float](op unOp, dst, a *Tensor[T]) *Tensor[T] {
	dst = prepDst(unIntoNames[op], dst, a.shape)
	d, x := dst.data, a.data
	switch op {
	case opExp:
		simd.Exp(d, x)
	case opLog:
		simd.Log(d, x)
	case opTanh:
		simd.Tanh(d, x)
	case opSigmoid:
		simd.Sigmoid(d, x)
	case opRelu:
		simd.Relu(d, x)
	case opSqrt:
		x = x[:len(d)]
		for i := range d {
			// Rounding the float64 root to float32 is correctly rounded:
			// float64 carries more than twice float32's precision.
			d[i] = T(math.Sqrt(float64(x[i])))
		}
	case opAbs:
		x = x[:len(d)]
		for i := range d {
			d[i] = T(math.Abs(float64(x[i])))
		}
	case opNeg:
		x = x[:len(d)]
		for i := range d {
			d[i] = -x[i]
		}
	}
	return dst
}

// Exp returns e^a elementwise. The accuracy is that of simd.Exp for the
// SIMD tier in use (see its documentation).
func Exp[T Float](a *Tensor[T]) *Tensor[T] { return unary(opExp, nil, a) }

// ExpInto writes e^a into dst and returns dst. dst must have a's shape (a
// nil dst is allocated) and may be a itself.
func ExpInto[T Float](dst, a *Tensor[T]) *Tensor[T] { return unary(opExp, dst, a) }

// Log returns the natural logarithm of a elementwise (NaN for negative
// elements, -Inf for zeros).
func Log[T Float](a *Tensor[T]) *Tensor[T] { return unary(opLog, nil, a) }

// LogInto writes log(a) into dst with the conventions of ExpInto.
func LogInto[T Float](dst, a *Tensor[T]) *Tensor[T] { return unary(opLog, dst, a) }

// TanhInto writes the hyperbolic tangent of a into dst with the
// conventions of ExpInto. It has no allocating twin: the name Tanh belongs
// to the activation constant, so TanhInto(nil, a) allocates.
func TanhInto[T Float](dst, a *Tensor[T]) *Tensor[T] { return unary(opTanh, dst, a) }

// SigmoidInto writes the logistic function 1/(1+e^-a) into dst with the
// conventions of ExpInto. As with TanhInto, the name Sigmoid belongs to the
// activation constant, so SigmoidInto(nil, a) allocates.
func SigmoidInto[T Float](dst, a *Tensor[T]) *Tensor[T] { return unary(opSigmoid, dst, a) }

// Relu returns max(a, 0) elementwise; NaN stays NaN.
func Relu[T Float](a *Tensor[T]) *Tensor[T] { return unary(opRelu, nil, a) }

// ReluInto writes max(a, 0) into dst with the conventions of ExpInto.
func ReluInto[T Float](dst, a *Tensor[T]) *Tensor[T] { return unary(opRelu, dst, a) }

// Sqrt returns the square root of a elementwise, correctly rounded (NaN
// for negative elements).
func Sqrt[T Float](a *Tensor[T]) *Tensor[T] { return unary(opSqrt, nil, a) }

// SqrtInto writes sqrt(a) into dst with the conventions of ExpInto.
func SqrtInto[T Float](dst, a *Tensor[T]) *Tensor[T] { return unary(opSqrt, dst, a) }

// Abs returns |a| elementwise.
func Abs[T Float](a *Tensor[T]) *Tensor[T] { return unary(opAbs, nil, a) }

// AbsInto writes |a| into dst with the conventions of ExpInto.
func AbsInto[T Float](dst, a *Tensor[T]) *Tensor[T] { return unary(opAbs, dst, a) }

// Neg returns -a elementwise.
func Neg[T Float](a *Tensor[T]) *Tensor[T] { return unary(opNeg, nil, a) }

// NegInto writes -a into dst with the conventions of ExpInto.
func NegInto[T Float](dst, a *Tensor[T]) *Tensor[T] { return unary(opNeg, dst, a) }

// Scale returns s*a.
func Scale[T Float](a *Tensor[T], s T) *Tensor[T] { return ScaleInto(nil, a, s) }

// ScaleInto writes s*a into dst with the conventions of ExpInto.
func ScaleInto[T Float](dst, a *Tensor[T], s T) *Tensor[T] {
	dst = prepDst("ScaleInto", dst, a.shape)
	simd.Scale(s, dst.data, a.data)
	return dst
}

// AddScalar returns a + s elementwise.
func AddScalar[T Float](a *Tensor[T], s T) *Tensor[T] { return AddScalarInto(nil, a, s) }

// AddScalarInto writes a + s into dst with the conventions of ExpInto.
func AddScalarInto[T Float](dst, a *Tensor[T], s T) *Tensor[T] {
	dst = prepDst("AddScalarInto", dst, a.shape)
	binScalarRight(opAdd, dst.data, a.data, s)
	return dst
}

// Pow returns a^p elementwise as math.Pow computes it in float64, except
// that p == 2 is computed as a*a, which is correctly rounded and much
// faster.
func Pow[T Float](a *Tensor[T], p T) *Tensor[T] { return PowInto(nil, a, p) }

// PowInto writes a^p into dst with the conventions of ExpInto.
func PowInto[T Float](dst, a *Tensor[T], p T) *Tensor[T] {
	dst = prepDst("PowInto", dst, a.shape)
	d, x := dst.data, a.data[:len(dst.data)]
	if p == 2 {
		simd.Mul(d, x, x)
		return dst
	}
	for i := range d {
		d[i] = T(math.Pow(float64(x[i]), float64(p)))
	}
	return dst
}

// Apply writes f(a) elementwise into dst and returns dst. dst must have a's
// shape (a nil dst is allocated) and may be a itself. f is called once per
// element in row-major order.
func Apply[T Float](dst, a *Tensor[T], f func(T) T) *Tensor[T] {
	dst = prepDst("Apply", dst, a.shape)
	d, x := dst.data, a.data[:len(dst.data)]
	for i := range d {
		d[i] = f(x[i])
	}
	return dst
}

// Axpy computes y += alpha*x in place; x and y must have the same shape.
// It is the update of most optimizers and of gradient accumulation.
func Axpy[T Float](alpha T, x, y *Tensor[T]) {
	if !shapeEqual(x.shape, y.shape) {
		panic("tensor.Axpy: shapes " + shapeStr(x.shape) + " and " + shapeStr(y.shape) + " differ")
	}
	simd.Axpy(alpha, x.data, y.data)
}

// Dot returns the sum of the elementwise products of a and b, which must
// have the same shape (the Frobenius inner product for matrices).
func Dot[T Float](a, b *Tensor[T]) T {
	if !shapeEqual(a.shape, b.shape) {
		panic("tensor.Dot: shapes " + shapeStr(a.shape) + " and " + shapeStr(b.shape) + " differ")
	}
	return simd.Dot(a.data, b.data)
}

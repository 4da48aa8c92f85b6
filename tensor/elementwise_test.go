package tensor

import (
	"math"
	"testing"
)

func TestBinaryHandValues(t *testing.T) {
	nan := math.NaN()
	a := FromSlice([]float64{1, -2, 3, 4, 0, -6}, 2, 3)
	b := FromSlice([]float64{2, 4, -1, 8, 5, 3}, 2, 3)
	checkData(t, "Add", Add(a, b), []int{2, 3}, []float64{3, 2, 2, 12, 5, -3})
	checkData(t, "Sub", Sub(a, b), []int{2, 3}, []float64{-1, -6, 4, -4, -5, -9})
	checkData(t, "Mul", Mul(a, b), []int{2, 3}, []float64{2, -8, -3, 32, 0, -18})
	checkData(t, "Div", Div(a, b), []int{2, 3}, []float64{0.5, -0.5, -3, 0.5, 0, -2})
	checkData(t, "Maximum", Maximum(a, b), []int{2, 3}, []float64{2, 4, 3, 8, 5, 3})
	checkData(t, "Minimum", Minimum(a, b), []int{2, 3}, []float64{1, -2, -1, 4, 0, -6})

	// Row vector [3] broadcast over [2 3].
	row := FromSlice([]float64{10, 20, 30})
	checkData(t, "Add row", Add(a, row), []int{2, 3}, []float64{11, 18, 33, 14, 20, 24})
	checkData(t, "Sub row (row first)", Sub(row, a), []int{2, 3}, []float64{9, 22, 27, 6, 20, 36})
	// Column vector [2 1] broadcast over [2 3].
	col := FromSlice([]float64{2, -1}, 2, 1)
	checkData(t, "Mul col", Mul(a, col), []int{2, 3}, []float64{2, -4, 6, -4, 0, 6})
	checkData(t, "Div col (col first)", Div(col, FromSlice([]float64{1, 2, 4})), []int{2, 3},
		[]float64{2, 1, 0.5, -1, -0.5, -0.25})
	// Outer product [2 1] x [1 3].
	checkData(t, "outer", Mul(col, FromSlice([]float64{1, 2, 3}, 1, 3)), []int{2, 3}, []float64{2, 4, 6, -1, -2, -3})
	// Scalar tensors.
	checkData(t, "Sub scalar", Sub(a, Scalar(1.0)), []int{2, 3}, []float64{0, -3, 2, 3, -1, -7})
	checkData(t, "Max scalar left", Maximum(Scalar(0.0), a), []int{2, 3}, []float64{1, 0, 3, 4, 0, 0})
	checkData(t, "Min scalar,scalar", Minimum(Scalar(2.0), Scalar(-1.0)), []int{}, []float64{-1})

	// IEEE special values: no panics; NaN propagates through max/min.
	x := FromSlice([]float64{1, nan, -1, 0})
	y := FromSlice([]float64{0, 1, nan, 0})
	checkData(t, "Div by zero", Div(x, y), []int{4}, []float64{math.Inf(1), nan, nan, nan})
	checkData(t, "Maximum NaN", Maximum(x, y), []int{4}, []float64{1, nan, nan, 0})
	checkData(t, "Minimum NaN", Minimum(x, y), []int{4}, []float64{0, nan, nan, 0})
	checkData(t, "Maximum NaN broadcast", Maximum(x, Scalar(nan)), []int{4}, []float64{nan, nan, nan, nan})

	// float32 follows the same paths.
	f := FromSlice([]float32{1, 2, 3, 4}, 2, 2)
	checkData(t, "float32 Add row", Add(f, FromSlice([]float32{0.5, -1})), []int{2, 2}, []float32{1.5, 1, 3.5, 3})
}

func TestBinaryInPlace(t *testing.T) {
	a := FromSlice([]float64{1, 2, 3, 4}, 2, 2)
	b := FromSlice([]float64{10, 20})
	if AddInto(a, a, b) != a {
		t.Fatal("AddInto does not return dst")
	}
	checkData(t, "in-place broadcast Add", a, []int{2, 2}, []float64{11, 22, 13, 24})
	MulInto(a, a, a)
	checkData(t, "in-place square", a, []int{2, 2}, []float64{121, 484, 169, 576})
}

func TestUnaryHandValues(t *testing.T) {
	x := FromSlice([]float64{0, 1, -1, 2})
	// Exp, Log, Tanh and Sigmoid come from the SIMD tier's polynomial
	// approximations, documented in internal/simd to a few ulp; 16 ulp
	// (16 * 2^-52 relative) leaves margin while still catching a wrong
	// formula or a lane mix-up, which would be off by far more.
	const tol64 = 16 * 0x1p-52
	checkClose(t, "Exp", Exp(x).Data(), []float64{1, math.E, 1 / math.E, math.E * math.E}, tol64, 0)
	checkClose(t, "Log", Log(FromSlice([]float64{1, math.E, 0.5, 100})).Data(),
		[]float64{0, 1, -math.Ln2, 2 * math.Ln10}, tol64, tol64)
	checkClose(t, "Tanh", TanhInto(nil, x).Data(), []float64{0, 0.7615941559557649, -0.7615941559557649, 0.9640275800758169}, tol64, tol64)
	checkClose(t, "Sigmoid", SigmoidInto(nil, x).Data(), []float64{0.5, 0.7310585786300049, 0.2689414213699951, 0.8807970779778823}, tol64, 0)
	const tol32 = 16 * 0x1p-23
	x32 := FromSlice([]float32{0, 1, -1, 2})
	checkClose(t, "Exp32", Exp(x32).Data(), []float64{1, math.E, 1 / math.E, math.E * math.E}, tol32, 0)
	checkClose(t, "Sigmoid32", SigmoidInto(nil, x32).Data(), []float64{0.5, 0.7310585786300049, 0.2689414213699951, 0.8807970779778823}, tol32, 0)

	special := FromSlice([]float64{math.Inf(-1), -3, 0, 4, math.NaN()})
	checkData(t, "Relu", Relu(special), []int{5}, []float64{0, 0, 0, 4, math.NaN()})
	checkData(t, "Abs", Abs(special), []int{5}, []float64{math.Inf(1), 3, 0, 4, math.NaN()})
	checkData(t, "Neg", Neg(special), []int{5}, []float64{math.Inf(1), 3, 0, -4, math.NaN()})
	checkData(t, "Sqrt", Sqrt(FromSlice([]float64{4, 2, 0, -1})), []int{4}, []float64{2, math.Sqrt2, 0, math.NaN()})
	checkData(t, "Sqrt32", Sqrt(FromSlice([]float32{9, 2})), []int{2}, []float32{3, float32(math.Sqrt2)})
	checkData(t, "Log special", Log(FromSlice([]float64{0, -1})), []int{2}, []float64{math.Inf(-1), math.NaN()})
	checkData(t, "Exp special", Exp(FromSlice([]float64{math.Inf(-1), math.Inf(1), -1000, 1000})), []int{4},
		[]float64{0, math.Inf(1), 0, math.Inf(1)})

	checkData(t, "Scale", Scale(x, 3), []int{4}, []float64{0, 3, -3, 6})
	checkData(t, "AddScalar", AddScalar(x, 0.5), []int{4}, []float64{0.5, 1.5, -0.5, 2.5})
	checkData(t, "Pow 2", Pow(x, 2), []int{4}, []float64{0, 1, 1, 4})
	checkData(t, "Pow 3", Pow(x, 3), []int{4}, []float64{0, 1, -1, 8})
	checkData(t, "Pow -1", Pow(FromSlice([]float64{2, 4}), -1), []int{2}, []float64{0.5, 0.25})
	checkData(t, "Pow 0.5", Pow(FromSlice([]float64{9, 0.25}), 0.5), []int{2}, []float64{3, 0.5})
	checkData(t, "Apply", Apply(nil, x, func(v float64) float64 { return 2*v + 1 }), []int{4}, []float64{1, 3, -1, 5})

	// Into forms write into dst, in place too, and refuse other shapes.
	y := x.Clone()
	if ExpInto(y, y) != y {
		t.Fatal("ExpInto does not return dst")
	}
	checkClose(t, "ExpInto in place", y.Data(), []float64{1, math.E, 1 / math.E, math.E * math.E}, tol64, 0)
	mustPanic(t, func() { ExpInto(New[float64](3), x) }, "tensor.ExpInto", "[3]", "[4]")
	mustPanic(t, func() { ScaleInto(New[float64](2, 2), x, 2) }, "tensor.ScaleInto", "[2 2]", "[4]")
	mustPanic(t, func() { Apply(New[float64](1), x, math.Abs) }, "tensor.Apply", "[1]", "[4]")
}

func TestAxpyDot(t *testing.T) {
	x := FromSlice([]float64{1, 2, 3, 4}, 2, 2)
	y := FromSlice([]float64{1, 1, 1, 1}, 2, 2)
	Axpy(2, x, y)
	checkData(t, "Axpy", y, []int{2, 2}, []float64{3, 5, 7, 9})
	if d := Dot(x, y); d != 1*3+2*5+3*7+4*9 {
		t.Fatalf("Dot = %v, want 70", d)
	}
	mustPanic(t, func() { Axpy(1, x, New[float64](4)) }, "tensor.Axpy", "[2 2]", "[4]")
	mustPanic(t, func() { Dot(x, New[float64](4)) }, "tensor.Dot", "[2 2]", "[4]")
}

// TestIntoMatchesAllocating checks that every Into form, writing into a
// dirty buffer, gives exactly what the allocating form gives.
func TestIntoMatchesAllocating(t *testing.T) {
	a := FromSlice([]float64{0.5, -2, 3, 4, math.NaN(), 0.25}, 2, 3)
	b := FromSlice([]float64{2, 4, -1})
	dirty := func() *Tensor[float64] { return Full(99.0, 2, 3) }
	for _, c := range []struct {
		name       string
		into, want *Tensor[float64]
	}{
		{"AddInto", AddInto(dirty(), a, b), Add(a, b)},
		{"SubInto", SubInto(dirty(), a, b), Sub(a, b)},
		{"MulInto", MulInto(dirty(), a, b), Mul(a, b)},
		{"DivInto", DivInto(dirty(), a, b), Div(a, b)},
		{"MaximumInto", MaximumInto(dirty(), a, b), Maximum(a, b)},
		{"MinimumInto", MinimumInto(dirty(), a, b), Minimum(a, b)},
		{"ExpInto", ExpInto(dirty(), a), Exp(a)},
		{"LogInto", LogInto(dirty(), a), Log(a)},
		{"TanhInto", TanhInto(dirty(), a), TanhInto(nil, a)},
		{"SigmoidInto", SigmoidInto(dirty(), a), SigmoidInto(nil, a)},
		{"ReluInto", ReluInto(dirty(), a), Relu(a)},
		{"SqrtInto", SqrtInto(dirty(), a), Sqrt(a)},
		{"AbsInto", AbsInto(dirty(), a), Abs(a)},
		{"NegInto", NegInto(dirty(), a), Neg(a)},
		{"ScaleInto", ScaleInto(dirty(), a, -3), Scale(a, -3)},
		{"AddScalarInto", AddScalarInto(dirty(), a, 1), AddScalar(a, 1)},
		{"PowInto", PowInto(dirty(), a, 3), Pow(a, 3)},
	} {
		checkData(t, c.name, c.into, c.want.Shape(), c.want.Data())
	}
}

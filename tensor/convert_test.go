package tensor

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func TestGonumRoundTrip(t *testing.T) {
	x := seq[float64](2, 3)
	d := ToDense(x)
	if r, c := d.Dims(); r != 2 || c != 3 || d.At(1, 0) != 4 {
		t.Fatalf("ToDense: dims %dx%d, At(1,0) = %v", r, c, d.At(1, 0))
	}
	// ToDense shares data both ways.
	d.Set(0, 2, -7)
	if x.At(0, 2) != -7 {
		t.Fatal("ToDense copied instead of sharing")
	}
	x.Set(9, 1, 1)
	if d.At(1, 1) != 9 {
		t.Fatal("ToDense does not see writes to the tensor")
	}
	// FromDense copies.
	y := FromDense(d)
	if !Equal(y, x) {
		t.Fatalf("round trip: %v != %v", y, x)
	}
	y.Set(100, 0, 0)
	if x.At(0, 0) == 100 {
		t.Fatal("FromDense shares data")
	}
	// A transposed view (no RawMatrix) and a strided sub-matrix.
	checkData(t, "FromDense(T)", FromDense(d.T()), []int{3, 2}, []float64{1, 4, 2, 9, -7, 6})
	big := mat.NewDense(3, 4, []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	sub := big.Slice(1, 3, 1, 3) // rows 1-2, cols 1-2, stride 4
	checkData(t, "FromDense(slice)", FromDense(sub), []int{2, 2}, []float64{6, 7, 10, 11})

	// gonum agrees with MatMul on a product.
	a, b := seq[float64](3, 4), seq[float64](4, 2)
	var want mat.Dense
	want.Mul(ToDense(a), ToDense(b))
	if got := MatMul(a, b, false, false); !Equal(got, FromDense(&want)) {
		t.Fatalf("MatMul %v != gonum %v", got, FromDense(&want))
	}
	mustPanic(t, func() { ToDense(New[float64](2, 0)) }, "tensor.ToDense", "[2 0]")
	mustPanic(t, func() { ToDense(New[float64](2)) }, "tensor.ToDense", "[2]")
}

func TestConvert(t *testing.T) {
	x := FromSlice([]float64{1, 0.1, 1e40, -2.5}, 2, 2)
	f := Convert[float32](x)
	checkData(t, "Convert f64->f32", f, []int{2, 2}, []float32{1, float32(0.1), float32(math.Inf(1)), -2.5})
	back := Convert[float64](f)
	checkData(t, "Convert f32->f64", back, []int{2, 2}, []float64{1, float64(float32(0.1)), math.Inf(1), -2.5})
	same := Convert[float64](x)
	same.Set(5, 0, 0)
	if x.At(0, 0) != 1 {
		t.Fatal("Convert to the same type shares data")
	}
	mustPanic(t, func() { ConvertInto(New[float32](4), x) }, "tensor.ConvertInto", "[4]", "[2 2]")
}

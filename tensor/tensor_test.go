package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestNewAndAccessors(t *testing.T) {
	x := New[float64](2, 3, 4)
	if x.NDim() != 3 || x.Len() != 24 || x.Dim(0) != 2 || x.Dim(1) != 3 || x.Dim(-1) != 4 || x.Dim(-3) != 2 {
		t.Fatalf("shape accessors wrong: shape %v len %d", x.Shape(), x.Len())
	}
	for _, v := range x.Data() {
		if v != 0 {
			t.Fatal("New is not zero-filled")
		}
	}
	x.Set(7, 1, 2, 3)
	if x.Data()[1*12+2*4+3] != 7 || x.At(1, 2, 3) != 7 {
		t.Fatalf("Set/At do not address row-major offset 23: data %v", x.Data())
	}
	mustPanic(t, func() { x.Dim(3) }, "tensor.Dim", "3", "[2 3 4]")
	mustPanic(t, func() { x.Dim(-4) }, "tensor.Dim", "[2 3 4]")
	mustPanic(t, func() { x.At(1, 3, 0) }, "tensor.At", "[1 3 0]", "[2 3 4]")
	mustPanic(t, func() { x.At(0, 0) }, "tensor.At", "2 indices", "[2 3 4]")
	mustPanic(t, func() { x.Set(1, -1, 0, 0) }, "tensor.Set", "[-1 0 0]")

	s := New[float32]()
	if s.NDim() != 0 || s.Len() != 1 || s.At() != 0 {
		t.Fatalf("scalar: ndim %d len %d", s.NDim(), s.Len())
	}
	s.Set(2.5)
	if s.Item() != 2.5 || Scalar[float32](2.5).Item() != 2.5 {
		t.Fatal("scalar Set/Item")
	}
	mustPanic(t, func() { x.Item() }, "tensor.Item", "[2 3 4]", "24 elements")

	e := New[float64](3, 0)
	if e.Len() != 0 || e.Dim(0) != 3 {
		t.Fatalf("empty tensor: len %d", e.Len())
	}
	mustPanic(t, func() { New[float64](2, -1) }, "tensor.New", "negative", "[2 -1]")
	mustPanic(t, func() { New[float64](1, 1, 1, 1, 1, 1, 1, 1, 1) }, "tensor.New", "MaxRank", "rank 9")
}

func TestShapeIsCopied(t *testing.T) {
	shape := []int{2, 3}
	x := New[float64](shape...)
	shape[0] = 5
	if x.Dim(0) != 2 {
		t.Fatal("New kept the caller's shape slice")
	}
	y := FromSlice(make([]float64, 6), shape[1], 2)
	shape[1] = 9
	if y.Dim(0) != 3 {
		t.Fatal("FromSlice kept the caller's shape slice")
	}
}

func TestConstructors(t *testing.T) {
	checkData(t, "Zeros", Zeros[float64](2), []int{2}, []float64{0, 0})
	checkData(t, "Ones", Ones[float32](2, 2), []int{2, 2}, []float32{1, 1, 1, 1})
	checkData(t, "Full", Full(2.5, 3), []int{3}, []float64{2.5, 2.5, 2.5})
	checkData(t, "ZerosLike", ZerosLike(Ones[float64](1, 2)), []int{1, 2}, []float64{0, 0})
	checkData(t, "Eye", Eye[float64](3), []int{3, 3}, []float64{1, 0, 0, 0, 1, 0, 0, 0, 1})
	checkData(t, "Eye0", Eye[float64](0), []int{0, 0}, []float64{})

	checkData(t, "Arange int", Arange[float64](0, 5, 1), []int{5}, []float64{0, 1, 2, 3, 4})
	checkData(t, "Arange frac", Arange[float64](1, 2, 0.25), []int{4}, []float64{1, 1.25, 1.5, 1.75})
	checkData(t, "Arange down", Arange[float64](5, 0, -2), []int{3}, []float64{5, 3, 1})
	checkData(t, "Arange empty", Arange[float64](0, 0, 1), []int{0}, []float64{})
	checkData(t, "Arange wrong way", Arange[float64](0, 3, -1), []int{0}, []float64{})
	// 10 float32 steps of 0.1 from 0 stay below 1: element i is i*step,
	// never a running sum, so element 9 is float32(9)*float32(0.1).
	a32 := Arange[float32](0, 1, 0.1)
	if a32.Len() != 10 || a32.At(9) != float32(9)*float32(0.1) {
		t.Fatalf("Arange float32 0..1 by 0.1: %v", a32.Data())
	}
	mustPanic(t, func() { Arange[float64](0, 1, 0) }, "tensor.Arange", "step=0")
	mustPanic(t, func() { Arange(0, math.Inf(1), 1) }, "tensor.Arange", "+Inf")

	checkData(t, "Linspace", Linspace[float64](0, 1, 5), []int{5}, []float64{0, 0.25, 0.5, 0.75, 1})
	checkData(t, "Linspace1", Linspace[float64](3, 7, 1), []int{1}, []float64{3})
	checkData(t, "Linspace0", Linspace[float64](3, 7, 0), []int{0}, []float64{})
}

func TestFromSlice(t *testing.T) {
	data := []float64{1, 2, 3, 4, 5, 6}
	x := FromSlice(data, 2, 3)
	if x.At(1, 0) != 4 {
		t.Fatalf("At(1,0) = %v, want 4", x.At(1, 0))
	}
	data[5] = 60
	if x.At(1, 2) != 60 {
		t.Fatal("FromSlice copied its data instead of sharing it")
	}
	x.Set(-1, 0, 0)
	if data[0] != -1 {
		t.Fatal("writes through the tensor do not reach the slice")
	}
	if cap(x.Data()) != 6 {
		t.Fatalf("cap(Data) = %d; an append could overwrite the caller's memory", cap(x.Data()))
	}
	checkData(t, "FromSlice 1-D", FromSlice([]float32{1, 2}), []int{2}, []float32{1, 2})
	mustPanic(t, func() { FromSlice([]float64{1, 2, 3, 4, 5}, 2, 3) }, "tensor.FromSlice", "len(data) = 5", "[2 3]")
	mustPanic(t, func() { FromSlice([]float64{1}, 1, -1) }, "tensor.FromSlice", "[1 -1]")
}

func TestCloneCopyFillZero(t *testing.T) {
	x := seq[float64](2, 2)
	c := x.Clone()
	c.Set(10, 0, 0)
	if x.At(0, 0) != 1 {
		t.Fatal("Clone shares data")
	}
	c.shape[0] = 7
	if x.Dim(0) != 2 {
		t.Fatal("Clone shares shape")
	}
	y := New[float64](2, 2)
	y.CopyFrom(x)
	checkData(t, "CopyFrom", y, []int{2, 2}, []float64{1, 2, 3, 4})
	mustPanic(t, func() { y.CopyFrom(New[float64](4)) }, "tensor.CopyFrom", "[2 2]", "[4]")
	y.Fill(3)
	checkData(t, "Fill", y, []int{2, 2}, []float64{3, 3, 3, 3})
	y.Zero()
	checkData(t, "Zero", y, []int{2, 2}, []float64{0, 0, 0, 0})
	if !SameShape(x, y) || SameShape(x, New[float64](4)) {
		t.Fatal("SameShape")
	}
}

func TestReshape(t *testing.T) {
	x := seq[float64](2, 3)
	r := x.Reshape(3, 2)
	checkData(t, "Reshape", r, []int{3, 2}, []float64{1, 2, 3, 4, 5, 6})
	r.Set(-5, 2, 1)
	if x.At(1, 2) != -5 {
		t.Fatal("Reshape copied instead of viewing")
	}
	checkData(t, "Reshape -1", x.Reshape(-1), []int{6}, x.Data())
	checkData(t, "Reshape 3,-1,1", x.Reshape(3, -1, 1), []int{3, 2, 1}, x.Data())
	checkData(t, "Reshape scalar", FromSlice([]float64{4}).Reshape(), []int{}, []float64{4})
	mustPanic(t, func() { x.Reshape(4, 2) }, "tensor.Reshape", "[2 3]", "[4 2]")
	mustPanic(t, func() { x.Reshape(4, -1) }, "tensor.Reshape", "[2 3]", "[4 -1]")
	mustPanic(t, func() { x.Reshape(-1, -1) }, "tensor.Reshape", "[-1 -1]")
	mustPanic(t, func() { x.Reshape(-2, -3) }, "tensor.Reshape", "[-2 -3]")
}

func TestRows(t *testing.T) {
	x := seq[float64](4, 2, 2)
	r := x.Rows(1, 3)
	checkData(t, "Rows", r, []int{2, 2, 2}, []float64{5, 6, 7, 8, 9, 10, 11, 12})
	r.Set(0, 0, 0, 0)
	if x.At(1, 0, 0) != 0 {
		t.Fatal("Rows copied instead of viewing")
	}
	_ = append(r.Data(), 99) // must not overwrite x's row 3
	if x.At(3, 0, 0) != 13 {
		t.Fatal("appending to a Rows view overwrote the next row")
	}
	checkData(t, "Rows empty", x.Rows(2, 2), []int{0, 2, 2}, []float64{})
	mustPanic(t, func() { x.Rows(3, 5) }, "tensor.Rows", "[3,5)", "[4 2 2]")
	mustPanic(t, func() { x.Rows(2, 1) }, "tensor.Rows")
	mustPanic(t, func() { Scalar(1.0).Rows(0, 1) }, "tensor.Rows", "scalar")
}

func TestTranspose(t *testing.T) {
	x := seq[float64](2, 3)
	checkData(t, "Transpose 2-D", Transpose(x), []int{3, 2}, []float64{1, 4, 2, 5, 3, 6})
	y := seq[float32](2, 2, 3)
	checkData(t, "Transpose 3-D", Transpose(y), []int{2, 3, 2}, []float32{1, 4, 2, 5, 3, 6, 7, 10, 8, 11, 9, 12})

	// Sizes that are not multiples of the 32-element tile.
	big := seq[float64](45, 70)
	bt := Transpose(big)
	for i := 0; i < 45; i++ {
		for j := 0; j < 70; j++ {
			if bt.At(j, i) != big.At(i, j) {
				t.Fatalf("Transpose(45x70)[%d,%d] = %v, want %v", j, i, bt.At(j, i), big.At(i, j))
			}
		}
	}
	mustPanic(t, func() { TransposeInto(New[float64](2, 3), x) }, "tensor.TransposeInto", "[2 3]")
	mustPanic(t, func() { Transpose(New[float64](2)) }, "tensor.Transpose", "[2]")
	mustPanic(t, func() { TransposeInto(New[float32](3, 3, 2), y.Reshape(2, 2, 3)) }, "tensor.TransposeInto", "[3 3 2]", "[2 2 3]")
}

func TestRandomDeterministic(t *testing.T) {
	a := RandN(rand.New(rand.NewPCG(1, 2)), 0.5, 2.0, 3, 4)
	b := RandN(rand.New(rand.NewPCG(1, 2)), 0.5, 2.0, 3, 4)
	if !Equal(a, b) {
		t.Fatal("RandN differs for the same seed")
	}
	// The documented stream: one NormFloat64 per element in row-major order.
	ref := rand.New(rand.NewPCG(1, 2))
	for i, v := range a.Data() {
		if want := 0.5 + 2.0*ref.NormFloat64(); v != want {
			t.Fatalf("RandN[%d] = %v, want %v", i, v, want)
		}
	}
	c := RandN(rand.New(rand.NewPCG(1, 3)), 0.5, 2.0, 3, 4)
	if Equal(a, c) {
		t.Fatal("RandN identical for different seeds")
	}
	u1 := RandU(rand.New(rand.NewPCG(9, 9)), float32(-1), 1, 50)
	u2 := RandU(rand.New(rand.NewPCG(9, 9)), float32(-1), 1, 50)
	if !Equal(u1, u2) {
		t.Fatal("RandU differs for the same seed")
	}
}

func TestRandomMoments(t *testing.T) {
	const n = 200000
	rng := rand.New(rand.NewPCG(42, 7))
	x := RandN(rng, 3.0, 2.0, n)
	mean := Mean(x)
	var ss float64
	for _, v := range x.Data() {
		ss += (v - mean) * (v - mean)
	}
	std := math.Sqrt(ss / n)
	// The sample mean has standard error std/sqrt(n) = 0.0045 and the
	// sample std about std/sqrt(2n) = 0.0032; 5 standard errors make a
	// false failure astronomically unlikely (and the seed is fixed anyway).
	if math.Abs(mean-3) > 5*2/math.Sqrt(n) || math.Abs(std-2) > 5*2/math.Sqrt(2*n) {
		t.Fatalf("RandN(3, 2): mean %v std %v", mean, std)
	}

	u := RandU(rng, float32(-2), float32(6), n)
	lo, hi := u.Data()[0], u.Data()[0]
	for _, v := range u.Data() {
		lo, hi = min(lo, v), max(hi, v)
	}
	if lo < -2 || hi >= 6 {
		t.Fatalf("RandU(-2, 6) out of range: min %v max %v", lo, hi)
	}
	// Uniform on [-2, 6): mean 2, std 8/sqrt(12) = 2.31.
	if um := float64(Mean(Convert[float64](u))); math.Abs(um-2) > 5*2.31/math.Sqrt(n) {
		t.Fatalf("RandU(-2, 6) mean %v", um)
	}
	mustPanic(t, func() { RandU(rng, 1.0, 1.0, 2) }, "tensor.RandU", "lo < hi")

	// FillRandU on a narrow float32 interval, where rounding the float64
	// draw to float32 often lands on hi: the documented redraw keeps it out.
	w := New[float32](10000)
	FillRandU(w, rng, 1, 1.0000002)
	for _, v := range w.Data() {
		if v < 1 || v >= 1.0000002 {
			t.Fatalf("FillRandU narrow interval produced %v", v)
		}
	}
}

package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// cube returns the [2 3 4] tensor x[i][j][k] = 100i + 10j + k, whose
// reductions have closed forms.
func cube[T Float]() *Tensor[T] {
	x := New[T](2, 3, 4)
	for i := 0; i < 2; i++ {
		for j := 0; j < 3; j++ {
			for k := 0; k < 4; k++ {
				x.Set(T(100*i+10*j+k), i, j, k)
			}
		}
	}
	return x
}

func TestReduceOverall(t *testing.T) {
	x := cube[float64]()
	// Sum = 100*12 (the i = 1 block) + 10*8*(0+1+2) + 6*(0+1+2+3) = 1200+240+36.
	if s := Sum(x); s != 1476 {
		t.Fatalf("Sum = %v, want 1476", s)
	}
	if m := Mean(x); m != 1476.0/24 {
		t.Fatalf("Mean = %v, want 61.5", m)
	}
	if m := MaxAll(x); m != 123 {
		t.Fatalf("MaxAll = %v, want 123", m)
	}
	if i := ArgMax(x); i != 23 {
		t.Fatalf("ArgMax = %v, want 23", i)
	}
	if i := ArgMax(FromSlice([]float32{3, 7, 7, 1})); i != 1 {
		t.Fatalf("ArgMax with tie = %d, want the first, 1", i)
	}
	if i := ArgMax(FromSlice([]float64{3, math.NaN(), 9, math.NaN()})); i != 1 {
		t.Fatalf("ArgMax with NaN = %d, want the first NaN, 1", i)
	}
	if m := MaxAll(FromSlice([]float64{3, math.NaN(), 9})); !math.IsNaN(m) {
		t.Fatalf("MaxAll with NaN = %v, want NaN", m)
	}
	if s := Sum(New[float64](0)); s != 0 {
		t.Fatal("Sum of empty tensor is not 0")
	}
	if m := Mean(New[float64](0)); !math.IsNaN(m) {
		t.Fatal("Mean of empty tensor is not NaN")
	}
	mustPanic(t, func() { MaxAll(New[float64](2, 0)) }, "tensor.MaxAll", "[2 0]")
	mustPanic(t, func() { ArgMax(New[float64](0)) }, "tensor.ArgMax", "[0]")
}

func TestLogSumExpOverall(t *testing.T) {
	inf := math.Inf(1)
	for _, c := range []struct {
		x    []float64
		want float64
	}{
		{[]float64{0, 0}, math.Ln2},
		{[]float64{1000, 1000}, 1000 + math.Ln2},    // naive exp overflows
		{[]float64{-1000, -1000}, -1000 + math.Ln2}, // naive exp underflows to log(0)
		{[]float64{1, 2, 3}, 3 + math.Log(1+math.Exp(-1)+math.Exp(-2))},
		{[]float64{5}, 5},
		{[]float64{}, -inf},
		{[]float64{-inf, -inf}, -inf},
		{[]float64{-inf, 0}, 0},
		{[]float64{inf, 0}, inf},
		{[]float64{math.NaN(), 0}, math.NaN()},
	} {
		got := LogSumExp(FromSlice(c.x))
		if !(got == c.want || math.IsNaN(got) && math.IsNaN(c.want) || math.Abs(got-c.want) <= 1e-14*math.Abs(c.want)) {
			t.Errorf("LogSumExp(%v) = %v, want %v", c.x, got, c.want)
		}
	}
	// Longer than the 256-element chunk, in float32: log(600 e^2) = 2 + log 600.
	x := Full[float32](2, 600)
	if got := LogSumExp(x); math.Abs(float64(got)-(2+math.Log(600))) > 1e-6*8.4 {
		t.Fatalf("LogSumExp(600 x 2) = %v, want %v", got, 2+math.Log(600))
	}
}

func TestReduceAxisHandValues(t *testing.T) {
	x := cube[float64]()
	cases := []struct {
		name  string
		f     func(*Tensor[float64], int, bool) *Tensor[float64]
		axis  int
		shape []int
		want  []float64
	}{
		{"SumAxis 0", SumAxis[float64], 0, []int{3, 4}, []float64{100, 102, 104, 106, 120, 122, 124, 126, 140, 142, 144, 146}},
		{"SumAxis 1", SumAxis[float64], 1, []int{2, 4}, []float64{30, 33, 36, 39, 330, 333, 336, 339}},
		{"SumAxis 2", SumAxis[float64], 2, []int{2, 3}, []float64{6, 46, 86, 406, 446, 486}},
		{"SumAxis -1", SumAxis[float64], -1, []int{2, 3}, []float64{6, 46, 86, 406, 446, 486}},
		{"MeanAxis 0", MeanAxis[float64], 0, []int{3, 4}, []float64{50, 51, 52, 53, 60, 61, 62, 63, 70, 71, 72, 73}},
		{"MeanAxis 1", MeanAxis[float64], 1, []int{2, 4}, []float64{10, 11, 12, 13, 110, 111, 112, 113}},
		{"MeanAxis 2", MeanAxis[float64], 2, []int{2, 3}, []float64{1.5, 11.5, 21.5, 101.5, 111.5, 121.5}},
		{"MaxAxis 0", MaxAxis[float64], 0, []int{3, 4}, []float64{100, 101, 102, 103, 110, 111, 112, 113, 120, 121, 122, 123}},
		{"MaxAxis 1", MaxAxis[float64], 1, []int{2, 4}, []float64{20, 21, 22, 23, 120, 121, 122, 123}},
		{"MaxAxis -2", MaxAxis[float64], -2, []int{2, 4}, []float64{20, 21, 22, 23, 120, 121, 122, 123}},
		{"MaxAxis 2", MaxAxis[float64], 2, []int{2, 3}, []float64{3, 13, 23, 103, 113, 123}},
	}
	for _, c := range cases {
		checkData(t, c.name, c.f(x, c.axis, false), c.shape, c.want)
		// keepDim puts a 1 in place of the reduced axis; same data.
		ax := c.axis
		if ax < 0 {
			ax += 3
		}
		kept := append([]int{}, x.Shape()...)
		kept[ax] = 1
		checkData(t, c.name+" keepDim", c.f(x, c.axis, true), kept, c.want)
	}
	// The same values in float32 (exact: small integers and halves).
	x32 := cube[float32]()
	checkData(t, "SumAxis float32", SumAxis(x32, 1, false), []int{2, 4}, []float32{30, 33, 36, 39, 330, 333, 336, 339})

	// A 1-D reduction gives a scalar tensor.
	checkData(t, "SumAxis 1-D", SumAxis(FromSlice([]float64{1, 2, 3}), 0, false), []int{}, []float64{6})

	mustPanic(t, func() { SumAxis(x, 3, false) }, "tensor.SumAxis", "axis 3", "[2 3 4]")
	mustPanic(t, func() { MeanAxis(x, -4, false) }, "tensor.MeanAxis", "axis -4", "[2 3 4]")
	mustPanic(t, func() { SumAxisInto(New[float64](2, 4), x, 0) }, "tensor.SumAxisInto", "[2 4]", "[2 3 4]", "axis 0")
	mustPanic(t, func() { MaxAxisInto(New[float64](2, 2, 4), x, 1) }, "tensor.MaxAxisInto", "[2 2 4]", "[2 3 4]")
	mustPanic(t, func() { MaxAxis(New[float64](2, 0), 1, false) }, "tensor.MaxAxisInto", "empty")
	checkData(t, "SumAxis empty", SumAxis(New[float64](2, 0, 3), 1, false), []int{2, 3}, []float64{0, 0, 0, 0, 0, 0})
}

func TestArgMaxAxis(t *testing.T) {
	x := cube[float64]()
	for _, c := range []struct {
		axis int
		want []int
	}{
		{0, []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}},
		{1, []int{2, 2, 2, 2, 2, 2, 2, 2}},
		{2, []int{3, 3, 3, 3, 3, 3}},
	} {
		got := ArgMaxAxis(x, c.axis)
		if len(got) != len(c.want) {
			t.Fatalf("ArgMaxAxis(cube, %d) = %v, want %v", c.axis, got, c.want)
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Fatalf("ArgMaxAxis(cube, %d) = %v, want %v", c.axis, got, c.want)
			}
		}
	}
	nan := math.NaN()
	m := FromSlice([]float64{
		1, 5, 5, // tie: first
		nan, 9, 0, // NaN wins
		-1, -3, -2,
	}, 3, 3)
	want1 := []int{1, 0, 0} // rows: tie -> first; NaN first; -1 largest
	want0 := []int{1, 1, 0} // columns: NaN at row 1; 9 at row 1; 5 at row 0
	for axis, want := range [][]int{want0, want1} {
		got := ArgMaxAxisInto(make([]int, 3), m, axis)
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("ArgMaxAxis(m, %d) = %v, want %v", axis, got, want)
			}
		}
	}
	mustPanic(t, func() { ArgMaxAxisInto(make([]int, 2), m, 0) }, "tensor.ArgMaxAxisInto", "len(dst) = 2", "[3 3]")
	mustPanic(t, func() { ArgMaxAxis(New[float64](2, 0), 1) }, "tensor.ArgMaxAxisInto", "empty")
}

// naiveReduce reduces a 3-D float64 tensor along axis with f applied to the
// fibre of values, for comparison with the fast paths.
func naiveReduce(x *Tensor[float64], axis int, f func([]float64) float64) []float64 {
	s := x.Shape()
	var out []float64
	fibre := make([]float64, s[axis])
	idx := make([]int, 3)
	for i := 0; i < s[0]; i++ {
		for j := 0; j < s[1]; j++ {
			for k := 0; k < s[2]; k++ {
				idx[0], idx[1], idx[2] = i, j, k
				if idx[axis] != 0 {
					continue
				}
				for p := range fibre {
					idx[axis] = p
					fibre[p] = x.At(idx...)
				}
				out = append(out, f(fibre))
			}
		}
	}
	return out
}

func naiveLSE(v []float64) float64 {
	m := math.Inf(-1)
	for _, x := range v {
		m = math.Max(m, x)
	}
	var s float64
	for _, x := range v {
		s += math.Exp(x - m)
	}
	return m + math.Log(s)
}

func TestReduceAxisRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	// [3 300 5] makes axis 2's fibres short and axis 0's inner block longer
	// than the 256-element chunk of the log-sum-exp loop.
	for _, shape := range [][]int{{2, 3, 4}, {3, 300, 5}, {5, 2, 301}, {1, 1, 7}} {
		x := RandN(rng, 0.0, 10.0, shape...)
		for axis := 0; axis < 3; axis++ {
			sum := naiveReduce(x, axis, func(v []float64) float64 {
				var s float64
				for _, e := range v {
					s += e
				}
				return s
			})
			// Different summation orders: error below n*eps*sum|x|, with
			// |x| ~ 10 and n <= 301, so 1e-10 absolute is comfortable.
			checkClose(t, "SumAxis", SumAxis(x, axis, false).Data(), sum, 0, 1e-10)
			mx := naiveReduce(x, axis, func(v []float64) float64 {
				m := v[0]
				for _, e := range v {
					m = math.Max(m, e)
				}
				return m
			})
			checkClose(t, "MaxAxis", MaxAxis(x, axis, false).Data(), mx, 0, 0)
			lse := naiveReduce(x, axis, naiveLSE)
			// exp and log from the SIMD tier (a few ulp) on values of size
			// ~30: 1e-13 relative is ample and far below any formula error.
			checkClose(t, "LogSumExpAxis", LogSumExpAxis(x, axis, false).Data(), lse, 1e-13, 1e-13)
			arg := naiveReduce(x, axis, func(v []float64) float64 {
				best := 0
				for p, e := range v {
					if e > v[best] {
						best = p
					}
				}
				return float64(best)
			})
			am := ArgMaxAxis(x, axis)
			got := make([]float64, len(am))
			for i, k := range am {
				got[i] = float64(k)
			}
			checkClose(t, "ArgMaxAxis", got, arg, 0, 0)
		}
	}
}

func TestLogSumExpAxisSpecial(t *testing.T) {
	inf := math.Inf(1)
	// Columns: ordinary, all -Inf, contains +Inf, contains NaN, huge.
	x := FromSlice([]float64{
		0, -inf, inf, math.NaN(), 1000,
		0, -inf, 1, 0, 1000,
	}, 2, 5)
	want := []float64{math.Ln2, -inf, inf, math.NaN(), 1000 + math.Ln2}
	checkClose(t, "LogSumExpAxis 0", LogSumExpAxis(x, 0, false).Data(), want, 1e-15, 0)
	checkClose(t, "LogSumExpAxis 1 (last)", LogSumExpAxis(Transpose(x), 1, true).Data(), want, 1e-15, 0)
	checkData(t, "LogSumExpAxis empty", LogSumExpAxis(New[float64](0, 3), 0, false), []int{3}, []float64{-inf, -inf, -inf})
}

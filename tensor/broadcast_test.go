package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestBroadcastShapes(t *testing.T) {
	for _, c := range []struct{ a, b, want []int }{
		{[]int{2, 3}, []int{2, 3}, []int{2, 3}},
		{[]int{2, 3}, []int{3}, []int{2, 3}},
		{[]int{3}, []int{2, 3}, []int{2, 3}},
		{[]int{2, 1}, []int{1, 3}, []int{2, 3}},
		{[]int{2, 3}, []int{2, 1}, []int{2, 3}},
		{[]int{}, []int{2}, []int{2}},
		{[]int{}, []int{}, []int{}},
		{[]int{4, 1, 3}, []int{2, 1}, []int{4, 2, 3}},
		{[]int{5, 1, 4, 1}, []int{3, 1, 6}, []int{5, 3, 4, 6}},
		{[]int{0}, []int{1}, []int{0}},
		{[]int{2, 0}, []int{2, 1}, []int{2, 0}},
	} {
		got, err := BroadcastShapes(c.a, c.b)
		if err != nil || !shapeEqual(got, c.want) {
			t.Errorf("BroadcastShapes(%v, %v) = %v, %v; want %v", c.a, c.b, got, err, c.want)
		}
	}
	for _, c := range []struct{ a, b []int }{
		{[]int{2, 3}, []int{4}},
		{[]int{2, 3}, []int{3, 2}},
		{[]int{2, 1}, []int{3, 1}},
		{[]int{0}, []int{2}},
	} {
		_, err := BroadcastShapes(c.a, c.b)
		if err == nil {
			t.Errorf("BroadcastShapes(%v, %v) succeeded", c.a, c.b)
			continue
		}
		for _, s := range [][]int{c.a, c.b} {
			if !strings.Contains(err.Error(), fmt.Sprint(s)) {
				t.Errorf("error %q does not name shape %v", err, s)
			}
		}
	}
	if _, err := BroadcastShapes(make([]int, 9), []int{1}); err == nil || !strings.Contains(err.Error(), "MaxRank") {
		t.Errorf("rank 9: err = %v, want a MaxRank error", err)
	}
}

func TestBroadcastPanics(t *testing.T) {
	a, b := New[float64](2, 3), New[float64](4)
	mustPanic(t, func() { Add(a, b) }, "tensor.Add: shapes [2 3] and [4] do not broadcast")
	mustPanic(t, func() { MulInto(New[float64](2, 3), a, b) }, "tensor.MulInto: shapes [2 3] and [4] do not broadcast")
	mustPanic(t, func() { AddInto(New[float64](3, 2), a, New[float64](3)) },
		"tensor.AddInto", "dst shape [3 2]", "[2 3]", "[3]")
	mustPanic(t, func() { SubInto(New[float64](3), a, a) }, "tensor.SubInto", "[3]", "[2 3]")
	mustPanic(t, func() { BroadcastTo(New[float64](3), a) }, "tensor.BroadcastTo", "[2 3]", "[3]")
	// [2 1] broadcasts with [3] to [2 3], which is not [2 1]: SumTo must
	// refuse rather than silently reduce.
	mustPanic(t, func() { SumTo(New[float64](2, 1), New[float64](3)) }, "tensor.SumTo", "[3]", "[2 1]")
	mustPanic(t, func() { SumTo(New[float64](2), a) }, "tensor.SumTo", "[2 3]", "[2]")
}

// naiveBinary is the reference: the textbook broadcasting rule applied one
// output element at a time.
func naiveBinary(op binOp, a, b *Tensor[float64]) *Tensor[float64] {
	shape, err := BroadcastShapes(a.shape, b.shape)
	if err != nil {
		panic(err)
	}
	out := New[float64](shape...)
	idx := make([]int, len(shape))
	for f := range out.data {
		unravel(f, shape, idx)
		out.data[f] = binScalar(op, a.data[broadcastIndex(a.shape, idx)], b.data[broadcastIndex(b.shape, idx)])
	}
	return out
}

func randShape(rng *rand.Rand, rank int) []int {
	s := make([]int, rank)
	for i := range s {
		s[i] = 1 + rng.IntN(3)
	}
	return s
}

// dropTo returns a copy of s with some dimensions set to 1 and some leading
// dimensions removed, so it broadcasts to s.
func dropTo(rng *rand.Rand, s []int) []int {
	out := append([]int{}, s[rng.IntN(len(s)+1):]...)
	for i := range out {
		if rng.IntN(2) == 0 {
			out[i] = 1
		}
	}
	return out
}

// TestBroadcastGeneral checks every binary op against the naive rule on
// random shape pairs up to rank 6, both ways round, including scalars.
// Elementwise IEEE operations are exact, so the comparison is exact.
func TestBroadcastGeneral(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for trial := 0; trial < 400; trial++ {
		full := randShape(rng, rng.IntN(7))
		sa, sb := dropTo(rng, full), dropTo(rng, full)
		if rng.IntN(2) == 0 {
			sa = full
		}
		a, b := RandN(rng, 0.0, 1.0, sa...), RandN(rng, 0.0, 1.0, sb...)
		// Sprinkle NaNs so propagation through every path is checked.
		if a.Len() > 2 && trial%5 == 0 {
			a.data[rng.IntN(a.Len())] = math.NaN()
		}
		for op := opAdd; op <= opMinimum; op++ {
			want := naiveBinary(op, a, b)
			got := binary(op, nil, a, b)
			if !shapeEqual(got.shape, want.shape) || !eqData(got.data, want.data) {
				t.Fatalf("%s(%v, %v):\n got %v\nwant %v", binNames[op], sa, sb, got, want)
			}
			// Into form into a dirty buffer.
			dst := Full(123.0, want.shape...)
			if binary(op, dst, a, b) != dst || !eqData(dst.data, want.data) {
				t.Fatalf("%sInto(%v, %v) wrong", binNames[op], sa, sb)
			}
		}
	}
}

func TestBroadcastZeroSize(t *testing.T) {
	a := New[float64](2, 0)
	r := Add(a, New[float64](2, 1))
	checkData(t, "[2 0]+[2 1]", r, []int{2, 0}, []float64{})
	r = Add(New[float64](0, 3), New[float64](3))
	checkData(t, "[0 3]+[3]", r, []int{0, 3}, []float64{})
	checkData(t, "SumTo [0 3]->[3]", SumTo(Full(5.0, 3), New[float64](0, 3)), []int{3}, []float64{0, 0, 0})
}

func TestSumToBroadcastTo(t *testing.T) {
	x := seq[float64](2, 3) // [[1 2 3] [4 5 6]]
	checkData(t, "SumTo [3]", SumTo(New[float64](3), x), []int{3}, []float64{5, 7, 9})
	checkData(t, "SumTo [1 3]", SumTo(New[float64](1, 3), x), []int{1, 3}, []float64{5, 7, 9})
	checkData(t, "SumTo [2 1]", SumTo(New[float64](2, 1), x), []int{2, 1}, []float64{6, 15})
	checkData(t, "SumTo []", SumTo(New[float64](), x), []int{}, []float64{21})
	checkData(t, "SumTo same", SumTo(New[float64](2, 3), x), []int{2, 3}, x.data)
	y := seq[float64](2, 2, 3)
	// [[[1 2 3] [4 5 6]] [[7 8 9] [10 11 12]]]
	checkData(t, "SumTo [2 1 1]", SumTo(New[float64](2, 1, 1), y), []int{2, 1, 1}, []float64{21, 57})
	checkData(t, "SumTo [2 1]", SumTo(New[float64](2, 1), y), []int{2, 1}, []float64{1 + 2 + 3 + 7 + 8 + 9, 4 + 5 + 6 + 10 + 11 + 12})
	checkData(t, "SumTo [1 2 1]", SumTo(New[float64](1, 2, 1), y), []int{1, 2, 1}, []float64{30, 48})

	b := FromSlice([]float64{10, 20, 30})
	checkData(t, "BroadcastTo [2 3]", BroadcastTo(New[float64](2, 3), b), []int{2, 3}, []float64{10, 20, 30, 10, 20, 30})
	col := FromSlice([]float64{1, 2}, 2, 1)
	checkData(t, "BroadcastTo col", BroadcastTo(New[float64](2, 3), col), []int{2, 3}, []float64{1, 1, 1, 2, 2, 2})
	checkData(t, "BroadcastTo scalar", BroadcastTo(New[float64](2), Scalar(4.0)), []int{2}, []float64{4, 4})

	// SumTo is the adjoint of BroadcastTo: <BroadcastTo(u), v> = <u, SumTo(v)>
	// for random shapes. Both sides sum the same products in different
	// orders; with |u|,|v| ~ 1 and at most 729 terms, 1e-12 is ample.
	rng := rand.New(rand.NewPCG(8, 1))
	for trial := 0; trial < 200; trial++ {
		full := randShape(rng, 1+rng.IntN(6))
		small := dropTo(rng, full)
		u, v := RandN(rng, 0.0, 1.0, small...), RandN(rng, 0.0, 1.0, full...)
		lhs := Dot(BroadcastTo(New[float64](full...), u), v)
		rhs := Dot(u, SumTo(New[float64](small...), v))
		if math.Abs(lhs-rhs) > 1e-12*(1+math.Abs(lhs)) {
			t.Fatalf("adjoint %v -> %v: %v != %v", small, full, lhs, rhs)
		}
		// And against the naive definition of SumTo.
		want := New[float64](small...)
		idx := make([]int, len(full))
		for f, x := range v.data {
			unravel(f, full, idx)
			want.data[broadcastIndex(small, idx)] += x
		}
		if got := SumTo(Full(7.0, small...), v); !AllClose(got, want, 1e-13, 1e-13) {
			t.Fatalf("SumTo %v -> %v:\n got %v\nwant %v", full, small, got, want)
		}
	}
}

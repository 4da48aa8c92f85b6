package tensor

import (
	"math/rand/v2"
	"testing"
)

// TestIntoAllocatesNothing pins the package's central promise: the Into
// forms (and the accessors used in hot loops) make no heap allocation, so a
// training step that reuses its buffers produces no garbage.
func TestIntoAllocatesNothing(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := RandN(rng, float32(0), 1, 64, 100)
	y := RandN(rng, float32(0), 1, 64, 100)
	row := RandN(rng, float32(0), 1, 100)
	col := RandN(rng, float32(0), 1, 64, 1)
	dst := New[float32](64, 100)
	g3 := RandN(rng, float32(0), 1, 4, 1, 100)
	g2 := RandN(rng, float32(0), 1, 64, 1)
	dst3 := New[float32](4, 64, 100)
	w := RandN(rng, float32(0), 1, 100, 30)
	wt := RandN(rng, float32(0), 1, 30, 100)
	bias := RandN(rng, float32(0), 1, 30)
	out := New[float32](64, 30)
	xb := RandN(rng, float32(0), 1, 3, 64, 100)
	outb := New[float32](3, 64, 30)
	big := RandN(rng, float32(0), 1, 300, 300)
	bigOut := New[float32](300, 300)
	sum0, sum1 := New[float32](100), New[float32](64, 1)
	lse0 := New[float32](1, 100)
	arg := make([]int, 64)
	xt := New[float32](100, 64)
	x64 := New[float64](64, 100)
	ep := Epilogue[float32]{Bias: bias, Act: ReLU}

	for _, c := range []struct {
		name string
		f    func()
	}{
		{"AddInto same shape", func() { AddInto(dst, x, y) }},
		{"AddInto row broadcast", func() { AddInto(dst, x, row) }},
		{"SubInto column broadcast", func() { SubInto(dst, x, col) }},
		{"MulInto general broadcast", func() { MulInto(dst3, g3, g2) }},
		{"MaximumInto in place", func() { MaximumInto(x, x, y) }},
		{"BroadcastTo", func() { BroadcastTo(dst, row) }},
		{"ExpInto", func() { ExpInto(dst, x) }},
		{"SigmoidInto", func() { SigmoidInto(dst, x) }},
		{"ScaleInto", func() { ScaleInto(dst, x, 2) }},
		{"PowInto", func() { PowInto(dst, x, 2) }},
		{"MatMulInto", func() { MatMulInto(out, x, w, false, false, 1, 0, ep) }},
		{"MatMulInto transB", func() { MatMulInto(out, x, wt, false, true, 1, 0, ep) }},
		{"MatMulInto batched", func() { MatMulInto(outb, xb, w, false, false, 1, 0, ep) }},
		{"MatMulInto large", func() { MatMulInto(bigOut, big, big, true, false, 1, 0, Epilogue[float32]{}) }},
		{"SumAxisInto axis 0", func() { SumAxisInto(sum0, x, 0) }},
		{"SumAxisInto last axis", func() { SumAxisInto(sum1, x, -1) }},
		{"MeanAxisInto", func() { MeanAxisInto(sum0, x, 0) }},
		{"MaxAxisInto", func() { MaxAxisInto(sum1, x, 1) }},
		{"LogSumExpAxisInto axis 0", func() { LogSumExpAxisInto(lse0, x, 0) }},
		{"LogSumExpAxisInto last axis", func() { LogSumExpAxisInto(sum1, x, 1) }},
		{"ArgMaxAxisInto", func() { ArgMaxAxisInto(arg, x, 1) }},
		{"SumTo row", func() { SumTo(sum0, x) }},
		{"SumTo column", func() { SumTo(sum1, x) }},
		{"TransposeInto", func() { TransposeInto(xt, x) }},
		{"ConvertInto", func() { ConvertInto(x64, x) }},
		{"Sum, LogSumExp, At, Set", func() {
			x.Set(Sum(x)+LogSumExp(x)+x.At(3, 4), 3, 4)
		}},
	} {
		if n := testing.AllocsPerRun(20, c.f); n != 0 {
			t.Errorf("%s: %v allocations per call, want 0", c.name, n)
		}
	}
}

package autograd

import (
	"math"
	"testing"

	"github.com/gradflow/gradflow/tensor"
)

func TestCrossEntropyGrad(t *testing.T) {
	rng := newRNG(11)
	labels := []int32{2, 0, 4, 4}
	f := func(tp *Tape[float64], x []*Var[float64]) *Var[float64] {
		return CrossEntropy(x[0], labels)
	}
	checkOp(t, f, randAway(rng, 4, 5))
}

// TestCrossEntropyMatchesComposition compares the fused op with the
// composition it replaces, in value and gradient, including logits large
// enough to overflow an unshifted exponential.
func TestCrossEntropyMatchesComposition(t *testing.T) {
	z := tensor.FromSlice([]float64{1, 2, 3, 1000, 1001, 999, -5, 0, 5}, 3, 3)
	labels := []int32{0, 1, 2}
	run := func(fused bool) (float64, []float64) {
		tp := NewTape[float64]()
		g := tensor.New[float64](3, 3)
		x := tp.Leaf(z, g)
		var loss *Var[float64]
		if fused {
			loss = CrossEntropy(x, labels)
		} else {
			loss = Neg(Mean(Pick(LogSoftmax(x, 1), []int{0, 1, 2})))
		}
		tp.Backward(loss)
		return loss.Item(), g.Data()
	}
	l1, g1 := run(true)
	l2, g2 := run(false)
	// Both are a few roundings from the exact value; 1e-14 relative is far
	// below any error a wrong formula would make.
	if math.Abs(l1-l2) > 1e-14*math.Abs(l2) {
		t.Errorf("loss %v, composition gives %v", l1, l2)
	}
	for i := range g1 {
		if math.Abs(g1[i]-g2[i]) > 1e-15 {
			t.Errorf("grad[%d] = %v, composition gives %v", i, g1[i], g2[i])
		}
	}
}

func TestCrossEntropyPanics(t *testing.T) {
	tp := NewTape[float64]()
	a := tp.Const(tensor.New[float64](2, 3))
	mustPanic(t, func() { CrossEntropy(a, []int32{0}) }, "CrossEntropy", "[2 3]")
	mustPanic(t, func() { CrossEntropy(a, []int32{0, 3}) }, "CrossEntropy", "out of range")
}

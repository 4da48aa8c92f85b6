package autograd

import (
	"math"
	"testing"

	"github.com/gradflow/gradflow/tensor"
)

func TestLogSumExpGrad(t *testing.T) {
	rng := newRNG(16)
	for _, axis := range []int{0, 1} {
		for _, keep := range []bool{false, true} {
			f := func(tp *Tape[float64], x []*Var[float64]) *Var[float64] {
				l := LogSumExp(x[0], axis, keep)
				return Mul(l, l)
			}
			t.Run(itoa(axis)+boolStr(keep), func(t *testing.T) { checkOp(t, f, randAway(rng, 3, 4)) })
		}
	}
}

// TestLogSoftmaxStable checks that huge logits neither overflow nor lose
// the log-probabilities.
func TestLogSoftmaxStable(t *testing.T) {
	tp := NewTape[float64]()
	x := tp.Const(tensor.FromSlice([]float64{1000, 1001, -1000}, 1, 3))
	y := LogSoftmax(x, 1).Value().Data()
	want := []float64{-1 - math.Log1p(math.Exp(-1)), -math.Log1p(math.Exp(-1)), -2001 - math.Log1p(math.Exp(-1))}
	for i := range y {
		if math.Abs(y[i]-want[i]) > 1e-12*math.Max(1, math.Abs(want[i])) {
			t.Errorf("LogSoftmax[%d] = %v, want %v", i, y[i], want[i])
		}
	}
}

package nn

import (
	"math"
	"testing"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/tensor"
)

type lossFn = func(tp *autograd.Tape[float64], xs []*autograd.Var[float64]) *autograd.Var[float64]

// TestLossGrads gradchecks every loss in float64 (error < 1e-6, see
// autograd.GradCheckOptions for the measure).
func TestLossGrads(t *testing.T) {
	rng := newRNG(1)
	labels := []int32{2, 0, 1, 2}
	probs := tensor.RandU(rng, 0.1, 1.0, 4, 3)
	for i := 0; i < 4; i++ {
		row := probs.Data()[i*3 : i*3+3]
		s := row[0] + row[1] + row[2]
		for j := range row {
			row[j] /= s
		}
	}
	cases := map[string]lossFn{
		"MSE": func(tp *autograd.Tape[float64], x []*autograd.Var[float64]) *autograd.Var[float64] {
			return MSE(x[0], x[1])
		},
		"HalfMSE": func(tp *autograd.Tape[float64], x []*autograd.Var[float64]) *autograd.Var[float64] {
			return HalfMSE(x[0], x[1])
		},
		"CrossEntropy": func(tp *autograd.Tape[float64], x []*autograd.Var[float64]) *autograd.Var[float64] {
			return Add2(autograd.CrossEntropy(x[0], labels), x[1])
		},
		"SoftCrossEntropy": func(tp *autograd.Tape[float64], x []*autograd.Var[float64]) *autograd.Var[float64] {
			return Add2(SoftCrossEntropy(x[0], tp.Const(probs)), x[1])
		},
		"BCEWithLogits": func(tp *autograd.Tape[float64], x []*autograd.Var[float64]) *autograd.Var[float64] {
			return BCEWithLogits(x[0], autograd.Sigmoid(x[1]))
		},
		"Huber": func(tp *autograd.Tape[float64], x []*autograd.Var[float64]) *autograd.Var[float64] {
			return Huber(x[0], x[1], 0.8)
		},
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			a := tensor.RandN(rng, 0.0, 1.5, 4, 3)
			b := tensor.RandN(rng, 0.0, 1.5, 4, 3)
			if _, err := autograd.GradCheck(f, []*tensor.Tensor[float64]{a, b}, autograd.GradCheckOptions{}); err != nil {
				t.Error(err)
			}
		})
	}
}

// Add2 adds a zero multiple of the sum of b to a, so that every gradcheck
// input is used.
func Add2(a, b *autograd.Var[float64]) *autograd.Var[float64] {
	return autograd.Add(a, autograd.Scale(autograd.Sum(b), 0))
}

// TestLossValues checks each loss on inputs with a known value.
func TestLossValues(t *testing.T) {
	tp := autograd.NewTape[float64]()
	c := func(d []float64, s ...int) *autograd.Var[float64] { return tp.Const(tensor.FromSlice(d, s...)) }
	p, y := c([]float64{1, 2, 3, 4}, 2, 2), c([]float64{1, 0, 3, 0}, 2, 2)
	check := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-14*math.Max(1, math.Abs(want)) {
			t.Errorf("%s = %.17g, want %.17g", name, got, want)
		}
	}
	check("MSE", MSE(p, y).Item(), (4.0+16)/4)
	check("HalfMSE", HalfMSE(p, y).Item(), 0.5*(4.0+16)/4)
	// Huber with delta 1: residuals 0, 2, 0, 4 -> 0, 1.5, 0, 3.5.
	check("Huber", Huber(p, y, 1).Item(), (1.5+3.5)/4)
	// Uniform logits: cross-entropy log c, even at a huge offset.
	z := c([]float64{1e4, 1e4, 1e4, -5, -5, -5}, 2, 3)
	check("CrossEntropy", autograd.CrossEntropy(z, []int32{0, 2}).Item(), math.Log(3))
	check("SoftCrossEntropy", SoftCrossEntropy(z, c([]float64{0.5, 0.5, 0, 0, 0, 1}, 2, 3)).Item(), math.Log(3))
	// BCE with logit 0 is log 2 whatever the target; at logit 40 with
	// target 1 it is log(1+e^-40), which a naive form rounds to 0 or NaN.
	check("BCEWithLogits", BCEWithLogits(c([]float64{0, 40}, 2), c([]float64{0.3, 1}, 2)).Item(),
		(math.Log(2)+math.Log1p(math.Exp(-40)))/2)
	check("Accuracy", Accuracy(tensor.FromSlice([]float64{1, 2, 0, 3, 1, 2}, 2, 3), []int32{1, 2}), 0.5)
}

func TestLossShapePanics(t *testing.T) {
	tp := autograd.NewTape[float64]()
	a, b := tp.Const(tensor.New[float64](2, 3)), tp.Const(tensor.New[float64](3, 2))
	mustPanic(t, func() { MSE(a, b) }, "MSE", "[2 3]", "[3 2]")
	mustPanic(t, func() { Huber(a, a, 0) }, "delta")
	mustPanic(t, func() { autograd.CrossEntropy(a, []int32{0}) }, "CrossEntropy", "[2 3]")
}

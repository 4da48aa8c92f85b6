package autograd

import (
	"testing"

	"github.com/gradflow/gradflow/tensor"
)

func TestMaximumGrad(t *testing.T) {
	rng := newRNG(14)
	f := func(tp *Tape[float64], x []*Var[float64]) *Var[float64] {
		return Mul(Maximum(x[0], x[1]), Minimum(x[0], x[1]))
	}
	checkOp(t, f, randAway(rng, 3, 4), randAway(rng, 4))
}

// TestMaximumTie checks the PyTorch convention that a tie splits the
// gradient evenly (finite differences cannot see it: the kink).
func TestMaximumTie(t *testing.T) {
	tp := NewTape[float64]()
	a, b := tp.Leaf(tensor.FromSlice([]float64{1, 2}), nil), tp.Leaf(tensor.FromSlice([]float64{1, 3}), nil)
	g := tp.Grad(Sum(Maximum(a, b)), []*Var[float64]{a, b}, GradOptions[float64]{})
	if ga, gb := g[0].Value().Data(), g[1].Value().Data(); ga[0] != 0.5 || gb[0] != 0.5 || ga[1] != 0 || gb[1] != 1 {
		t.Errorf("grads %v %v, want [0.5 0] [0.5 1]", ga, gb)
	}
}

func TestMaxAxisGrad(t *testing.T) {
	rng := newRNG(15)
	for _, axis := range []int{0, 1, 2} {
		f := func(tp *Tape[float64], x []*Var[float64]) *Var[float64] {
			m := Add(MaxAxis(x[0], axis, false), MinAxis(x[0], axis, false))
			return Mul(m, m)
		}
		t.Run(itoa(axis), func(t *testing.T) { checkOp(t, f, randAway(rng, 2, 3, 4)) })
	}
}

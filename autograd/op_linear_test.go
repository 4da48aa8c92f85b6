package autograd

import (
	"testing"

	"github.com/gradflow/gradflow/tensor"
)

func TestLinearGrad(t *testing.T) {
	rng := newRNG(5)
	for _, act := range []Activation{ActIdentity, ActReLU} {
		for _, alpha := range []float64{1, 0.5} {
			f := func(tp *Tape[float64], x []*Var[float64]) *Var[float64] {
				y := Linear(x[0], x[1], x[2], alpha, act)
				return Mul(y, y)
			}
			t.Run(act.String(), func(t *testing.T) {
				checkOp(t, f, randAway(rng, 5, 4), randAway(rng, 3, 4), randAway(rng, 3))
			})
		}
	}
	t.Run("nobias", func(t *testing.T) {
		f := func(tp *Tape[float64], x []*Var[float64]) *Var[float64] {
			y := Linear(x[0], x[1], nil, 1, ActIdentity)
			return Mul(y, y)
		}
		checkOp(t, f, randAway(rng, 5, 4), randAway(rng, 3, 4))
	})
}

// TestLinearMatchesComposition checks the fused op's value against
// MatMul + Add + Relu.
func TestLinearMatchesComposition(t *testing.T) {
	rng := newRNG(6)
	tp := NewTape[float64]()
	x, w, b := tp.Const(randAway(rng, 7, 5)), tp.Const(randAway(rng, 3, 5)), tp.Const(randAway(rng, 3))
	got := Linear(x, w, b, 0.5, ActReLU).Value()
	want := Relu(Add(Scale(MatMul(x, w, false, true), 0.5), b)).Value()
	if !tensor.AllClose(got, want, 1e-14, 1e-14) {
		t.Errorf("Linear = %v, want %v", got, want)
	}
}

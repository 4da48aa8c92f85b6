package autograd

import (
	"math"
	"testing"

	"github.com/gradflow/gradflow/tensor"
)

// TestActivateMatchesEval checks, for every activation of the vocabulary,
// that the op Activate records computes tensor.Activation.Eval's value in
// its forward pass and Eval's derivative in its backward pass (the
// gradient of sum(act(x)) is act'(x)), in float64, at points that include
// the kinks (0) and large |z|. The ops use the vector kernels (documented
// to a few ulp in internal/simd) and other but equivalent formulas (GELU
// through 1 + erf rather than erfc, the backward rules through tape ops),
// so they may differ from Eval in the last bits: the tolerance 1e-13
// max(1, |want|), a few hundred ulp, allows that and still catches a
// different convention (ReLU'(0) = 1, another LeakySlope, GELU's tanh
// approximation), each off by 1e-4 or more.
func TestActivateMatchesEval(t *testing.T) {
	z := []float64{-30, -6, -2.5, -1, -0.3, 0, 0.4, 1.7, 5, 30}
	for _, a := range []Activation{tensor.Identity, tensor.ReLU, tensor.LeakyReLU, tensor.Tanh, tensor.Sigmoid,
		tensor.GELU, tensor.SiLU, tensor.Softplus, tensor.Erf} {
		tp := NewTape[float64]()
		grad := tensor.New[float64](len(z))
		x := tp.Leaf(tensor.FromSlice(append([]float64(nil), z...)), grad)
		y := Activate(a, x)
		tp.Backward(Sum(y))
		for i, zi := range z {
			v, dv := a.Eval(zi)
			gotV, gotDV := y.Value().Data()[i], grad.Data()[i]
			if math.Abs(gotV-v) > 1e-13*math.Max(1, math.Abs(v)) {
				t.Errorf("Activate(%s) at %v = %v, Eval %v", a, zi, gotV, v)
			}
			if math.Abs(gotDV-dv) > 1e-13*math.Max(1, math.Abs(dv)) {
				t.Errorf("Activate(%s)' at %v = %v, Eval %v", a, zi, gotDV, dv)
			}
		}
	}
	tp := NewTape[float64]()
	mustPanic(t, func() { Activate("swish", tp.Const(tensor.New[float64](2))) }, "autograd.Activate", `unknown activation "swish"`)
	mustPanic(t, func() { Activate("", tp.Const(tensor.New[float64](2))) }, "autograd.Activate", `unknown activation ""`)
}

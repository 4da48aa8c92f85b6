package nn

import (
	"math"
	"testing"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/tensor"
)

// naiveJacobian builds J row by row: one batch-of-one forward and backward
// per example and output, the definition itself.
func naiveJacobian(m *MLP[float64], x *tensor.Tensor[float64]) *tensor.Tensor[float64] {
	n, k, P := x.Dim(0), m.Config.Dims[len(m.Config.Dims)-1], NumParams[float64](m)
	J := tensor.New[float64](n*k, P)
	tp := autograd.NewTape[float64]()
	for i := 0; i < n; i++ {
		for c := 0; c < k; c++ {
			tp.Reset()
			out := m.Forward(tp, tp.Const(x.Rows(i, i+1)))
			yc := autograd.Narrow(out, 1, c, 1)
			g := flatten(tp.Grad(yc, ParamVars(nil, tp, m), autograd.GradOptions[float64]{}), P)
			copy(J.Data()[(i*k+c)*P:], g.Data())
		}
	}
	return J
}

func jacModel(t *testing.T, p Parameterization) *MLP[float64] {
	m, err := NewMLP[float64](MLPConfig{Dims: []int{3, 5, 4, 2}, Activation: Tanh, Activations: []Activation{ReLU, ""},
		Parameterization: p, BStd: 0.4}, newRNG(11))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestJacobianMatchesNaive compares the structured Jacobian, in chunks of
// 2 and whole, with the row-by-row definition; both are the same sums of
// products in float64, so they agree to rounding (1e-13).
func TestJacobianMatchesNaive(t *testing.T) {
	for _, p := range []Parameterization{Standard, NTK, MuP} {
		m := jacModel(t, p)
		x := tensor.RandN(newRNG(12), 0.0, 1.0, 5, 3)
		want := naiveJacobian(m, x)
		for _, chunk := range []int{0, 2} {
			if got := Jacobian(m, x, chunk); !tensor.AllClose(got, want, 1e-13, 1e-13) {
				t.Errorf("%s chunk %d: Jacobian differs from the naive one", p, chunk)
			}
		}
	}
}

// TestPerExampleGradsMean checks that per-example loss gradients (seeded
// by dl/df) average to the batch gradient from Backward.
func TestPerExampleGradsMean(t *testing.T) {
	m := jacModel(t, Standard)
	x := tensor.RandN(newRNG(13), 0.0, 1.0, 6, 3)
	y := tensor.RandN(newRNG(14), 0.0, 1.0, 6, 2)
	tp := autograd.NewTape[float64]()
	out := m.Forward(tp, tp.Const(x))
	tp.Backward(HalfMSE(out, tp.Const(y)))
	// For 0.5*mean over n*k entries, dl_i/df = (f_i - y_i)/k per example
	// and the batch loss is the mean over examples.
	seed := tensor.Scale(tensor.Sub(out.Value(), y), 0.5)
	G := PerExampleGrads(m, x, seed)
	mean := tensor.MeanAxis(G, 0, false)
	off := 0
	for _, p := range m.Params() {
		for j, g := range p.Grad.Data() {
			if got := mean.Data()[off+j]; math.Abs(got-g) > 1e-13*math.Max(1, math.Abs(g)) {
				t.Fatalf("%s[%d]: mean per-example grad %v, batch grad %v", p.Name, j, got, g)
			}
		}
		off += p.Value.Len()
	}
}

// TestJVPAndVJP checks J v and J^T u against products with the explicit J.
func TestJVPAndVJP(t *testing.T) {
	m := jacModel(t, MeanField)
	x := tensor.RandN(newRNG(15), 0.0, 1.0, 4, 3)
	J := Jacobian(m, x, 0)
	v := tensor.RandN(newRNG(16), 0.0, 1.0, J.Dim(1))
	u := tensor.RandN(newRNG(17), 0.0, 1.0, 4, 2)
	jv := tensor.MatMul(J, v.Reshape(-1, 1), false, false).Reshape(4, 2)
	if got := JVP(m, x, v); !tensor.AllClose(got, jv, 1e-12, 1e-12) {
		t.Errorf("JVP = %v, want %v", got, jv)
	}
	jtu := tensor.MatMul(J, u.Reshape(-1, 1), true, false).Reshape(-1)
	if got := VJP(m, x, u); !tensor.AllClose(got, jtu, 1e-12, 1e-12) {
		t.Errorf("VJP differs from J^T u")
	}
}

package ntk

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/tensor"
)

func TestSpectrumAndAlignment(t *testing.T) {
	k := mat.NewSymDense(3, []float64{2, 0, 0, 0, 5, 0, 0, 0, 1})
	ev, err := Spectrum(k)
	if err != nil {
		t.Fatal(err)
	}
	if ev[0] != 1 || ev[1] != 2 || ev[2] != 5 {
		t.Errorf("Spectrum = %v, want [1 2 5]", ev)
	}
	if l, _ := LambdaMin(k); l != 1 {
		t.Errorf("LambdaMin = %v", l)
	}
	// K = Y Y^T gives alignment 1; the identity against a rank-one
	// target y y^T with y = (1, 1) gives <I, yy^T> / (sqrt(2) * 2) = 1/sqrt(2).
	y := mat.NewDense(2, 1, []float64{1, 1})
	var yy mat.Dense
	yy.Mul(y, y.T())
	if a, err := KernelAlignment(&yy, y); err != nil || math.Abs(a-1) > 1e-15 {
		t.Errorf("alignment(YY^T) = %v, %v", a, err)
	}
	if a, err := KernelAlignment(mat.NewDiagDense(2, []float64{1, 1}), y); err != nil || math.Abs(a-1/math.Sqrt2) > 1e-15 {
		t.Errorf("alignment(I) = %v, %v; want 1/sqrt(2)", a, err)
	}
	if _, err := KernelAlignment(k, y); err == nil {
		t.Error("mismatched alignment: no error")
	}
	d, err := KernelDrift(mat.NewDense(1, 2, []float64{3, 4}), mat.NewDense(1, 2, []float64{3, 5}))
	if err != nil || math.Abs(d-0.2) > 1e-15 {
		t.Errorf("KernelDrift = %v, %v; want 1/5", d, err)
	}
	if _, err := KernelDrift(mat.NewDense(1, 2, nil), mat.NewDense(1, 2, nil)); err == nil {
		t.Error("zero initial kernel: no error")
	}
	dt, err := KernelDriftTensor(tensor.FromSlice([]float64{3, 4}), tensor.FromSlice([]float64{3, 5}))
	if err != nil || math.Abs(dt-0.2) > 1e-15 {
		t.Errorf("KernelDriftTensor = %v, %v", dt, err)
	}
}

func TestRelativeChange(t *testing.T) {
	m := newMLP(t, nn.MLPConfig{Dims: []int{2, 3, 1}, BStd: 1}, 5)
	s := TakeSnapshot[float64](m)
	w := m.Params()[0].Value
	n0 := math.Sqrt(tensor.Dot(w, w))
	tensor.ScaleInto(w, w, 1.5) // relative change 0.5 for this tensor
	per, total, err := s.RelativeChange(m)
	if err != nil {
		t.Fatal(err)
	}
	if per[0].Name != "0.weight" || math.Abs(per[0].Relative-0.5) > 1e-15 || math.Abs(per[0].Abs-0.5*n0) > 1e-14 {
		t.Errorf("per-param change %+v, want 0.5 relative", per[0])
	}
	if per[1].Relative != 0 {
		t.Errorf("unchanged bias moved: %+v", per[1])
	}
	var all float64
	for _, p := range s.values {
		all += tensor.Dot(p, p)
	}
	if want := 0.5 * n0 / math.Sqrt(all); math.Abs(total-want) > 1e-15 {
		t.Errorf("total change %v, want %v", total, want)
	}
	other := newMLP(t, nn.MLPConfig{Dims: []int{2, 4, 1}}, 5)
	if _, _, err := s.RelativeChange(other); err == nil {
		t.Error("mismatched model: no error")
	}
}

// LinearizationGap is zero at theta0 and equals |f - f_lin| after a move.
func TestLinearizationGap(t *testing.T) {
	m := newMLP(t, nn.MLPConfig{Dims: []int{3, 16, 2}, Activation: nn.Tanh, Parameterization: nn.NTK, BStd: 0.2}, 9)
	x := randTensor(10, 5, 3)
	lin, err := Linearize[float64](m)
	if err != nil {
		t.Fatal(err)
	}
	if rms, mx, err := LinearizationGap[float64](m, lin, x); err != nil || rms > 1e-15 || mx > 1e-15 {
		t.Errorf("gap at theta0 = %v, %v, %v", rms, mx, err)
	}
	// A small move eps u: the gap is second order, O(eps^2).
	u := tangent(m, 11)
	var gaps []float64
	for _, eps := range []float64{1e-2, 1e-3} {
		mm := newMLP(t, nn.MLPConfig{Dims: []int{3, 16, 2}, Activation: nn.Tanh, Parameterization: nn.NTK, BStd: 0.2}, 9)
		for i, p := range mm.Params() {
			tensor.Axpy(eps, u[i], p.Value)
		}
		rms, _, err := LinearizationGap[float64](mm, lin, x)
		if err != nil {
			t.Fatal(err)
		}
		gaps = append(gaps, rms)
	}
	// Ratio 100 for a 10x smaller step, up to the O(eps^3) term: [70, 130].
	if r := gaps[0] / gaps[1]; r < 70 || r > 130 {
		t.Errorf("gap ratio for 10x smaller move = %v (gaps %v), want ~100", r, gaps)
	}
}

package landscape

import (
	"math"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/train"
)

func tinyProblem(t *testing.T) (*nn.MLP[float64], *data.Dataset[float64]) {
	t.Helper()
	rng := newRand(9)
	ds, _, err := data.GaussianMixture[float64](rng, 12, 3, 3, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	m, err := nn.NewMLP[float64](nn.MLPConfig{Dims: []int{3, 5, 3}, Activation: nn.Tanh, BStd: 0.5}, rng)
	if err != nil {
		t.Fatal(err)
	}
	return m, ds
}

// Gradient and Hessian-vector product of the model objective against
// central differences of Value and Grad. Central differences at h = 1e-5
// have truncation error O(h^2) ~ 1e-10 times third derivatives of order
// one, and rounding error ~ 1e-16/h = 1e-11: tolerance 1e-6.
func TestModelObjectiveDerivatives(t *testing.T) {
	m, ds := tinyProblem(t)
	for _, tc := range []struct {
		name   string
		loss   train.Loss[float64]
		oneHot bool
	}{
		{"cross_entropy", &train.CrossEntropy[float64]{}, false},
		{"mse", &train.MSE[float64]{}, true},
	} {
		b, err := BatchOf(ds, nil, tc.oneHot)
		if err != nil {
			t.Fatal(err)
		}
		obj, err := NewModelObjective[float64](m, tc.loss, b)
		if err != nil {
			t.Fatal(err)
		}
		x := obj.Point(nil)
		before := append([]float64(nil), x...)
		n := obj.Dim()
		g := make([]float64, n)
		obj.Grad(x, g)
		rng := newRand(10)
		v := make([]float64, n)
		for i := range v {
			v[i] = rng.NormFloat64()
		}
		hv := make([]float64, n)
		obj.HVP(x, v, hv)
		const h = 1e-5
		xp, xm := append([]float64(nil), x...), append([]float64(nil), x...)
		axpy(h, v, xp)
		axpy(-h, v, xm)
		dirDeriv := (obj.Value(xp) - obj.Value(xm)) / (2 * h)
		if math.Abs(dirDeriv-dot(g, v)) > 1e-6 {
			t.Errorf("%s: <grad, v> = %v, central difference %v", tc.name, dot(g, v), dirDeriv)
		}
		gp, gm := make([]float64, n), make([]float64, n)
		obj.Grad(xp, gp)
		obj.Grad(xm, gm)
		for i := range hv {
			fd := (gp[i] - gm[i]) / (2 * h)
			if math.Abs(fd-hv[i]) > 1e-6 {
				t.Fatalf("%s: HVP[%d] = %v, central difference of the gradient %v", tc.name, i, hv[i], fd)
			}
		}
		// GradHVP gives the same gradient and product in one pass, and
		// with v = nil the product with the gradient itself.
		g2, hv2, hg := make([]float64, n), make([]float64, n), make([]float64, n)
		obj.GradHVP(x, v, g2, hv2)
		obj.GradHVP(x, nil, g2, hg)
		want := make([]float64, n)
		obj.HVP(x, g, want)
		for i := range g {
			if math.Abs(g2[i]-g[i]) > 1e-14 || math.Abs(hv2[i]-hv[i]) > 1e-14 || math.Abs(hg[i]-want[i]) > 1e-14 {
				t.Fatalf("%s: GradHVP[%d] = (%v, %v, %v), want (%v, %v, %v)", tc.name, i, g2[i], hv2[i], hg[i], g[i], hv[i], want[i])
			}
		}
		// The model is left as it was.
		after := obj.Point(nil)
		for i := range after {
			if after[i] != before[i] {
				t.Fatalf("%s: parameters changed by the objective", tc.name)
			}
		}
		// Per-example gradients: the MLP fast path equals one backward
		// pass per example (the path of any other Module), and they
		// average to the gradient.
		fast := obj.PerExampleGrads(x)
		seq := nn.NewSequential[float64](m)
		slow, err := NewModelObjective[float64](seq, tc.loss, b)
		if err != nil {
			t.Fatal(err)
		}
		ref := slow.PerExampleGrads(x)
		if !mat.EqualApprox(fast, ref, 1e-12) {
			t.Errorf("%s: per-example gradients of the MLP path and the generic path differ", tc.name)
		}
		r, _ := fast.Dims()
		mean := make([]float64, n)
		for i := range r {
			axpy(1/float64(r), fast.RawRowView(i), mean)
		}
		for i := range mean {
			if math.Abs(mean[i]-g[i]) > 1e-12 {
				t.Fatalf("%s: mean per-example gradient differs from the gradient at %d: %v vs %v", tc.name, i, mean[i], g[i])
			}
		}
	}
}

// PL* is a lower bound of the PL ratio with f* = 0 at the point where it
// is computed: |grad L|^2 / (2 L) >= s lambda_min(J J^T).
func TestPLStarMLPBound(t *testing.T) {
	rng := newRand(11)
	ds, _, err := data.LinearRegression[float64](rng, 8, 5, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	// 8 examples, 1 output, 449 parameters: overparameterized.
	m, err := nn.NewMLP[float64](nn.MLPConfig{Dims: []int{5, 64, 1}, Activation: nn.Tanh, BStd: 1}, rng)
	if err != nil {
		t.Fatal(err)
	}
	for _, half := range []bool{false, true} {
		b, _ := BatchOf(ds, nil, false)
		obj, err := NewModelObjective[float64](m, &train.MSE[float64]{Half: half}, b)
		if err != nil {
			t.Fatal(err)
		}
		x := obj.Point(nil)
		g := make([]float64, len(x))
		f := obj.Grad(x, g)
		star, err := PLStarMLP(m, b.X, half)
		if err != nil {
			t.Fatal(err)
		}
		ratio := PLRatio(dot(g, g), f, 0)
		t.Logf("half %v: PL ratio %.5g >= PL* %.5g", half, ratio, star)
		if !(star > 0) || ratio < star*(1-1e-9) {
			t.Errorf("half %v: PL ratio %v, PL* %v: bound violated or PL* not positive", half, ratio, star)
		}
	}
}

func TestModelObjectiveErrors(t *testing.T) {
	m, ds := tinyProblem(t)
	if _, err := NewModelObjective[float64](nil, &train.MSE[float64]{}, nil); err == nil {
		t.Error("nil model: no error")
	}
	var nilMLP *nn.MLP[float64]
	var nilMSE *train.MSE[float64]
	if _, err := NewModelObjective[float64](nilMLP, &train.MSE[float64]{}, nil); err == nil || !strings.Contains(err.Error(), "model is nil") {
		t.Errorf("nil *nn.MLP: error %v, want one saying the model is nil", err)
	}
	if _, err := NewModelObjective[float64](m, nilMSE, nil); err == nil || !strings.Contains(err.Error(), "loss is nil") {
		t.Errorf("nil *train.MSE: error %v, want one saying the loss is nil", err)
	}
	if _, err := NewModelObjective[float64](m, &train.MSE[float64]{}, &data.Batch[float64]{}); err == nil {
		t.Error("empty batch: no error")
	}
	if _, err := BatchOf(ds, []int{0, 99}, false); err == nil {
		t.Error("row out of range: no error")
	}
	if _, err := PLStar(mat.NewDense(2, 3, nil), 0); err == nil {
		t.Error("scale 0: no error")
	}
}

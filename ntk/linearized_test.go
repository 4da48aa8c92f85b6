package ntk

import (
	"math"
	"testing"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/tensor"
)

// tangent returns random tensors shaped like m's parameters.
func tangent(m nn.Module[float64], seed uint64) []*tensor.Tensor[float64] {
	var u []*tensor.Tensor[float64]
	for i, p := range m.Params() {
		u = append(u, randTensor(seed+uint64(i), p.Value.Shape()...))
	}
	return u
}

// jacTimes returns J u from an explicit Jacobian [n, k, P].
func jacTimes(jac *tensor.Tensor[float64], u []*tensor.Tensor[float64]) *tensor.Tensor[float64] {
	var flat []float64
	for _, t := range u {
		flat = append(flat, t.Data()...)
	}
	n, k, p := jac.Dim(0), jac.Dim(1), jac.Dim(2)
	return tensor.MatMul(jac.Reshape(n*k, p), tensor.FromSlice(flat, p, 1), false, false).Reshape(n, k)
}

// JVP (forward mode for MLPs, double backward for other modules) and VJP
// agree with the explicit Jacobian; NTKVP agrees with the kernel times v.
// Tolerance 1e-10 relative, as for the kernels.
func TestJVPAndNTKVP(t *testing.T) {
	x1, x2 := randTensor(21, 5, 4), randTensor(22, 3, 4)
	for ci, cfg := range testConfigs[:5] {
		m := newMLP(t, cfg, uint64(30+ci))
		mods := make([]nn.Module[float64], len(m.Layers))
		for i, l := range m.Layers {
			mods[i] = l
		}
		seq := nn.NewSequential(mods...)
		jac, err := Jacobian[float64](m, x1, nil)
		if err != nil {
			t.Fatal(err)
		}
		u := tangent(m, 40)
		want := jacTimes(jac, u)
		for _, mod := range []nn.Module[float64]{m, seq} {
			got, err := JVP(mod, x1, u)
			if err != nil {
				t.Fatal(err)
			}
			if d := maxRelDiff(got, want); d > 1e-10 {
				t.Errorf("config %d %T: JVP differs from J u by %g", ci, mod, d)
			}
		}
		k := cfg.Dims[len(cfg.Dims)-1]
		full, err := Empirical[float64](m, x1, x2, Options{Full: true})
		if err != nil {
			t.Fatal(err)
		}
		traced, err := Empirical[float64](m, x1, x2, Options{})
		if err != nil {
			t.Fatal(err)
		}
		vf, vt := randTensor(50, 3, k), randTensor(51, 3)
		wantF := tensor.New[float64](5, k)
		wantT := tensor.New[float64](5)
		for i := 0; i < 5; i++ {
			for j := 0; j < 3; j++ {
				wantT.Set(wantT.At(i)+traced.At(i, j)*vt.At(j), i)
				for a := 0; a < k; a++ {
					for b := 0; b < k; b++ {
						wantF.Set(wantF.At(i, a)+full.At(i, j, a, b)*vf.At(j, b), i, a)
					}
				}
			}
		}
		for _, mod := range []nn.Module[float64]{m, seq} {
			gotF, err := NTKVP(mod, x1, x2, vf, Options{Full: true})
			if err != nil {
				t.Fatal(err)
			}
			gotT, err := NTKVP(mod, x1, x2, vt, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if d := maxRelDiff(gotF, wantF); d > 1e-10 {
				t.Errorf("config %d %T: full NTKVP off by %g", ci, mod, d)
			}
			if d := maxRelDiff(gotT, wantT); d > 1e-10 {
				t.Errorf("config %d %T: traced NTKVP off by %g", ci, mod, d)
			}
		}
	}
}

// f_lin(theta0 + u) = f(theta0) + J u exactly (the linearization is linear
// in theta), and its gradient is J^T g.
func TestLinearizedForwardAndGradient(t *testing.T) {
	m := newMLP(t, testConfigs[1], 60)
	x := randTensor(61, 4, 4)
	lin, err := Linearize[float64](m)
	if err != nil {
		t.Fatal(err)
	}
	tape := autograd.NewTape[float64]()
	tape.SetGradEnabled(false)
	f0 := m.Forward(tape, tape.Const(x)).Value().Clone()
	got0, err := lin.Eval(x, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxRelDiff(got0, f0); d > 1e-15 {
		t.Errorf("f_lin(theta0) != f(theta0): %g", d)
	}
	u := tangent(m, 62)
	for i, p := range lin.Params() {
		tensor.Axpy(1, u[i], p.Value)
	}
	jac, err := Jacobian[float64](m, x, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := tensor.Add(f0, jacTimes(jac, u))
	tp := autograd.NewTape[float64]()
	y := lin.Forward(tp, tp.Const(x))
	if d := maxRelDiff(y.Value(), want); d > 1e-12 {
		t.Errorf("Forward: f_lin differs from f0 + J u by %g", d)
	}
	ev, err := lin.Eval(x, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxRelDiff(ev, want); d > 1e-12 {
		t.Errorf("Eval: f_lin differs from f0 + J u by %g", d)
	}
	// Gradient of sum(g * f_lin) is J^T g.
	g := randTensor(63, 4, 2)
	nn.ZeroGrad[float64](lin)
	tp.Backward(autograd.Sum(autograd.Mul(y, tp.Const(g))))
	jtg := tensor.MatMul(jac.Reshape(8, -1), g.Reshape(8, 1), true, false)
	off := 0
	for _, p := range lin.Params() {
		for q, v := range p.Grad.Data() {
			if w := jtg.Data()[off+q]; math.Abs(v-w) > 1e-12*math.Max(1, math.Abs(w)) {
				t.Fatalf("%s[%d]: gradient %v, J^T g %v", p.Name, q, v, w)
			}
		}
		off += p.Value.Len()
	}
	if _, err := Linearize[float64](nn.NewSequential[float64](m.Layers[0])); err == nil {
		t.Error("Linearize(Sequential): no error")
	}
}

// Gradient descent on the linearized model with 0.5*mean squared error is
// exactly the kernel prediction Predictor.GD with the empirical NTK at
// theta0 (one output, so the traced and full kernels coincide). This ties
// Linearized, Empirical and Predictor together; tolerance 1e-9 for 30
// steps of O(P) rounding.
func TestLinearizedTrainingFollowsPredictor(t *testing.T) {
	m := newMLP(t, nn.MLPConfig{Dims: []int{3, 32, 1}, Parameterization: nn.NTK, BStd: 0.5}, 70)
	x, y := randTensor(71, 6, 3), randTensor(72, 6, 1)
	lin, err := Linearize[float64](m)
	if err != nil {
		t.Fatal(err)
	}
	kt, err := EmpiricalGram(nil, m, x, Options{})
	if err != nil {
		t.Fatal(err)
	}
	f0, err := lin.Eval(x, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPredictor(kt, tensor.ToDense(y), PredictOptions{})
	if err != nil {
		t.Fatal(err)
	}
	etaMax, err := MaxLearningRate(kt, 6, 0)
	if err != nil {
		t.Fatal(err)
	}
	eta := 0.5 * etaMax
	const steps = 30
	tape := autograd.NewTape[float64]()
	for s := 0; s < steps; s++ {
		tape.Reset()
		nn.ZeroGrad[float64](lin)
		loss := nn.HalfMSE(lin.Forward(tape, tape.Const(x)), tape.Const(y))
		tape.Backward(loss)
		for _, q := range lin.Params() {
			tensor.Axpy(-eta, q.Grad, q.Value)
		}
	}
	got, err := lin.Eval(x, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := p.GD(eta, steps, tensor.ToDense(f0), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxRelDiff(got, tensor.FromDense(want)); d > 1e-9 {
		t.Errorf("trained linearized model differs from Predictor.GD by %g", d)
	}
}

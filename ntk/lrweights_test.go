package ntk

import (
	"math"
	"strings"
	"testing"

	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/optim"
	"github.com/gradflow/gradflow/tensor"
)

// testWeight gives parameter tensor i (in Params order) the weight
// 0.3 + 0.7 i, and 0 to the second one, so every block is scaled
// differently and one is dropped.
func testWeight[T tensor.Float](m nn.Module[T]) func(string) float64 {
	w := map[string]float64{}
	for i, p := range m.Params() {
		w[p.Name] = 0.3 + 0.7*float64(i)
		if i == 1 {
			w[p.Name] = 0
		}
	}
	return func(name string) float64 { return w[name] }
}

// A weighted kernel is the weighted sum of the kernels of the single
// parameter tensors (Options.Params selecting one), for every
// configuration of the empirical tests, traced and full, by both methods,
// with NTKVP giving the weighted kernel times a vector. Tolerance 1e-10
// relative, as TestStructuredMatchesJacobian: sums of O(P) float64
// products in different orders.
func TestParamWeightIsSumOfBlocks(t *testing.T) {
	x1, x2 := randTensor(3, 5, 4), randTensor(4, 3, 4)
	for ci, cfg := range testConfigs {
		m := newMLP(t, cfg, uint64(30+ci))
		w := testWeight[float64](m)
		for _, full := range []bool{false, true} {
			var want *tensor.Tensor[float64]
			for _, p := range m.Params() {
				name := p.Name
				kp, err := Empirical[float64](m, x1, x2, Options{Full: full, Params: func(s string) bool { return s == name }})
				if err != nil {
					t.Fatal(err)
				}
				tensor.ScaleInto(kp, kp, w(name))
				if want == nil {
					want = kp
				} else {
					tensor.AddInto(want, want, kp)
				}
			}
			for _, method := range []Method{Structured, Contraction} {
				got, err := Empirical[float64](m, x1, x2, Options{Full: full, Method: method, ParamWeight: w})
				if err != nil {
					t.Fatal(err)
				}
				if d := maxRelDiff(got, want); d > 1e-10 {
					t.Errorf("config %d full %v method %d: weighted kernel off the weighted block sum by %.3g", ci, full, method, d)
				}
			}
			if full {
				continue
			}
			v := randTensor(5, 3)
			got, err := NTKVP[float64](m, x1, x2, v, Options{ParamWeight: w})
			if err != nil {
				t.Fatal(err)
			}
			if d := maxRelDiff(got, tensor.MatMul(want, v.Reshape(3, 1), false, false).Reshape(5)); d > 1e-10 {
				t.Errorf("config %d: NTKVP with weights off the weighted kernel times v by %.3g", ci, d)
			}
		}
	}
}

// The learning-rate-weighted kernel is the one that drives the outputs:
// after one step of optim's SGD (learning rate eta, the parameterization's
// per-parameter LRScale) on the loss <g, f(X)>, f(X) moved by -eta Theta_w
// g up to O(eta^2). With eta = 1e-5 the remainder is ~1e-5 relative, so
// the tolerance is 1e-3; the plain J J^T is off by far more (checked > 0.3
// under muP and mean field, whose multipliers are the width 16), so the
// test tells the two kernels apart.
func TestLRWeightsDriveSGD(t *testing.T) {
	const eta = 1e-5
	x := randTensor(6, 7, 4)
	g := randTensor(7, 7)
	for _, p := range []nn.Parameterization{nn.MuP, nn.MeanField, nn.NTK, nn.Standard} {
		m := newMLP(t, nn.MLPConfig{Dims: []int{4, 16, 16, 1}, Activation: nn.Tanh, Parameterization: p, BStd: 0.5}, 8)
		f0, err := outputs[float64](m, x)
		if err != nil {
			t.Fatal(err)
		}
		kw, err := Empirical[float64](m, x, nil, Options{ParamWeight: LRWeights[float64](m)})
		if err != nil {
			t.Fatal(err)
		}
		kPlain, err := Empirical[float64](m, x, nil, Options{})
		if err != nil {
			t.Fatal(err)
		}
		u, err := VJP[float64](m, x, g.Reshape(7, 1), nil)
		if err != nil {
			t.Fatal(err)
		}
		for i, q := range m.Params() {
			q.Grad.CopyFrom(u[i])
		}
		spec, err := optim.DefaultSpec("sgd")
		if err != nil {
			t.Fatal(err)
		}
		spec.LR = eta
		opt, err := optim.New(m.Params(), spec)
		if err != nil {
			t.Fatal(err)
		}
		opt.Step()
		f1, err := outputs[float64](m, x)
		if err != nil {
			t.Fatal(err)
		}
		df := tensor.Scale(tensor.Sub(f1, f0).Reshape(7), -1/eta)
		predW := tensor.MatMul(kw, g.Reshape(7, 1), false, false).Reshape(7)
		predPlain := tensor.MatMul(kPlain, g.Reshape(7, 1), false, false).Reshape(7)
		if d := maxRelDiff(predW, df); d > 1e-3 {
			t.Errorf("%s: -Delta f / eta off Theta_w g by %.3g relative", p, d)
		}
		dPlain := maxRelDiff(predPlain, df)
		t.Logf("%s: relative error of the prediction by Theta_w %.2g, by J J^T %.2g", p, maxRelDiff(predW, df), dPlain)
		if weighted := p == nn.MuP || p == nn.MeanField; weighted && dPlain < 0.3 {
			t.Errorf("%s: plain J J^T g within %.3g of the step; the weights should matter", p, dPlain)
		} else if !weighted && dPlain > 1e-3 {
			t.Errorf("%s: multipliers are 1, yet plain J J^T g is off by %.3g", p, dPlain)
		}
	}
}

// LRWeights reads Param.LRScale, except for an MLP built for Adam, whose
// weights are the SGD multipliers of its parameterization; weights that
// are negative or not finite are an error naming the parameter.
func TestLRWeights(t *testing.T) {
	for _, p := range []nn.Parameterization{nn.MuP, nn.MeanField, nn.NTK, nn.Standard} {
		cfg := nn.MLPConfig{Dims: []int{3, 8, 8, 2}, Parameterization: p}
		sgd := newMLP(t, cfg, 1)
		cfg.AdaptiveLR = true
		adam := newMLP(t, cfg, 1)
		ws, wa := LRWeights[float64](sgd), LRWeights[float64](adam)
		for i, q := range sgd.Params() {
			if ws(q.Name) != q.LRScale || wa(q.Name) != q.LRScale {
				t.Errorf("%s %s: weights %v (sgd) %v (adam), want the SGD LRScale %v", p, q.Name, ws(q.Name), wa(q.Name), q.LRScale)
			}
			if p == nn.MuP && i == 2 && adam.Params()[i].LRScale == q.LRScale {
				t.Errorf("muP hidden weight: Adam and SGD multipliers agree (%v); the test checks nothing", q.LRScale)
			}
		}
	}
	m := newMLP(t, testConfigs[0], 2)
	for _, bad := range []float64{-1, math.NaN(), math.Inf(1)} {
		w := func(name string) float64 {
			if name == "2.bias" {
				return bad
			}
			return 1
		}
		_, err := Empirical[float64](m, randTensor(1, 3, 4), nil, Options{ParamWeight: w})
		if err == nil || !strings.Contains(err.Error(), `"2.bias"`) {
			t.Errorf("weight %v: error %v, want one naming 2.bias", bad, err)
		}
		_, err = NTKVP[float64](m, randTensor(1, 3, 4), randTensor(1, 3, 4), randTensor(2, 3), Options{ParamWeight: w})
		if err == nil || !strings.Contains(err.Error(), `"2.bias"`) {
			t.Errorf("NTKVP weight %v: error %v, want one naming 2.bias", bad, err)
		}
	}
}

// LazyProbe measures the drift of the learning-rate-weighted kernel by
// default (exactly KernelDriftTensor of the two LRWeights kernels), and of
// J J^T when Kernel.ParamWeight says 1 for every parameter; under muP the
// two differ (asserted: by more than a factor 2; measured 0.124 against
// 0.0088, the output bias' constant diluting the plain kernel's drift).
// An MLP built for Adam gets the same (SGD) weights, hence the same drift.
func TestLazyProbeWeightedDrift(t *testing.T) {
	for _, adaptive := range []bool{false, true} {
		m := newMLP(t, nn.MLPConfig{Dims: []int{3, 32, 1}, Activation: nn.Tanh, Parameterization: nn.MuP, BStd: 0.5, AdaptiveLR: adaptive}, 9)
		x := randTensor(10, 6, 3)
		weighted, err := NewLazyProbe(LazyConfig[float64]{Model: m, Probe: x})
		if err != nil {
			t.Fatal(err)
		}
		plain, err := NewLazyProbe(LazyConfig[float64]{Model: m, Probe: x, Kernel: Options{ParamWeight: func(string) float64 { return 1 }}})
		if err != nil {
			t.Fatal(err)
		}
		w := LRWeights[float64](m)
		k0w, _ := Empirical[float64](m, x, nil, Options{ParamWeight: w})
		k0, _ := Empirical[float64](m, x, nil, Options{})
		u := tangent(m, 11)
		for i, q := range m.Params() {
			tensor.Axpy(0.3, u[i], q.Value)
		}
		a, err := weighted.Measure(1, 0)
		if err != nil {
			t.Fatal(err)
		}
		b, err := plain.Measure(1, 0)
		if err != nil {
			t.Fatal(err)
		}
		ktw, _ := Empirical[float64](m, x, nil, Options{ParamWeight: w})
		kt, _ := Empirical[float64](m, x, nil, Options{})
		wantW, _ := KernelDriftTensor(k0w, ktw)
		want, _ := KernelDriftTensor(k0, kt)
		t.Logf("adaptive %v: drift %.4g weighted, %.4g plain", adaptive, a.KernelDrift, b.KernelDrift)
		if a.KernelDrift != wantW || b.KernelDrift != want {
			t.Errorf("adaptive %v: drift %v (default), %v (weights 1); want %v, %v", adaptive, a.KernelDrift, b.KernelDrift, wantW, want)
		}
		if !(a.KernelDrift > 2*b.KernelDrift) {
			t.Errorf("adaptive %v: weighted drift %v not above twice the plain %v", adaptive, a.KernelDrift, b.KernelDrift)
		}
	}
}

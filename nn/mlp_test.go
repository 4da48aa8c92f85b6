package nn

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/tensor"
)

func TestMLPNamesAndShapes(t *testing.T) {
	m, err := NewMLP[float32](MLPConfig{Dims: []int{5, 7, 6, 3}}, newRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name  string
		shape []int
	}{{"0.weight", []int{7, 5}}, {"0.bias", []int{7}}, {"2.weight", []int{6, 7}}, {"2.bias", []int{6}},
		{"4.weight", []int{3, 6}}, {"4.bias", []int{3}}}
	ps := m.Params()
	if len(ps) != len(want) {
		t.Fatalf("%d params, want %d", len(ps), len(want))
	}
	for i, p := range ps {
		if p.Name != want[i].name || !sameShape(p.Value.Shape(), want[i].shape) || !sameShape(p.Grad.Shape(), want[i].shape) {
			t.Errorf("param %d: %s %v, want %s %v", i, p.Name, p.Value.Shape(), want[i].name, want[i].shape)
		}
	}
	if n := NumParams[float32](m); n != 7*5+7+6*7+6+3*6+3 {
		t.Errorf("NumParams = %d", n)
	}
}

// TestParseParameterization: every name and short form, and an unknown
// name refused with the name in the error.
func TestParseParameterization(t *testing.T) {
	for s, want := range map[string]Parameterization{"sp": Standard, "standard": Standard, "ntk": NTK,
		"mf": MeanField, "meanfield": MeanField, "mup": MuP} {
		if p, err := ParseParameterization(s); err != nil || p != want {
			t.Errorf("ParseParameterization(%q) = %q, %v; want %q", s, p, err, want)
		}
	}
	for _, s := range []string{"xl", "", "SP", " mup"} {
		if p, err := ParseParameterization(s); err == nil || !strings.Contains(err.Error(), strconv.Quote(s)) {
			t.Errorf("ParseParameterization(%q) = %q, %v; want an error naming it", s, p, err)
		}
	}
}

func TestMLPConfigErrors(t *testing.T) {
	bad := map[string]MLPConfig{
		"Dims":             {Dims: []int{3}},
		"Dims[1]":          {Dims: []int{3, 0, 2}},
		"Activation":       {Dims: []int{3, 2}, Activation: "swishy"},
		"Activations":      {Dims: []int{3, 4, 2}, Activations: []Activation{ReLU, Tanh}},
		"Parameterization": {Dims: []int{3, 2}, Parameterization: "xyz"},
		"WStd":             {Dims: []int{3, 2}, WStd: -1},
		"Init":             {Dims: []int{3, 2}, Init: "magic"},
	}
	for field, c := range bad {
		if _, err := NewMLP[float64](c, newRNG(1)); err == nil || !containsStr(err.Error(), field) {
			t.Errorf("config with bad %s: error %v, want one naming the field", field, err)
		}
	}
}

func containsStr(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// TestMLPForwardFormula checks each parameterization's forward pass
// against the formula written out by hand: z_l = alpha_l W_l h + beta_l b_l.
func TestMLPForwardFormula(t *testing.T) {
	dims := []int{4, 6, 5, 3}
	x := tensor.RandN(newRNG(2), 0.0, 1.0, 2, 4)
	for _, p := range []Parameterization{Standard, NTK, MeanField, MuP} {
		c := MLPConfig{Dims: dims, Activation: Tanh, Parameterization: p, WStd: 1.3, BStd: 0.2}
		m, err := NewMLP[float64](c, newRNG(3))
		if err != nil {
			t.Fatal(err)
		}
		tp := autograd.NewTape[float64]()
		got := m.Forward(tp, tp.Const(x)).Value()
		h := x
		for l := 0; l < 3; l++ {
			w, b := m.Layers[l].Weight.Value, m.Layers[l].Bias.Value
			fin := float64(dims[l])
			var alpha, beta float64 = 1, 1
			switch p {
			case NTK:
				alpha, beta = 1.3/math.Sqrt(fin), 0.2
			case MeanField:
				alpha = 1 / math.Sqrt(fin)
				if l == 2 {
					alpha = 1 / fin
				}
			case MuP:
				if l == 2 {
					alpha = 1 / fin
				}
			}
			z := tensor.Add(tensor.Scale(tensor.MatMul(h, w, false, true), alpha), tensor.Scale(b, beta))
			if l < 2 {
				z = tensor.TanhInto(nil, z)
			}
			h = z
		}
		if !tensor.AllClose(got, h, 1e-13, 1e-13) {
			t.Errorf("%s: forward %v, want %v", p, got, h)
		}
	}
}

// TestMLPInitScales checks the init standard deviations and learning-rate
// multipliers of each parameterization on a wide net, where the sample
// standard deviation of a layer is within 3% of its target (relative
// standard error 1/sqrt(2N) < 0.5% for N >= 20000 draws).
func TestMLPInitScales(t *testing.T) {
	const d, n, k = 100, 400, 50
	type want struct{ std, lr [3]float64 }
	cases := map[Parameterization]want{
		Standard:  {[3]float64{1 / math.Sqrt(d), 1 / math.Sqrt(n), 1 / math.Sqrt(n)}, [3]float64{1, 1, 1}},
		NTK:       {[3]float64{1, 1, 1}, [3]float64{1, 1, 1}},
		MuP:       {[3]float64{1 / math.Sqrt(d), 1 / math.Sqrt(n), 1}, [3]float64{n, 1, n}},
		MeanField: {[3]float64{1, 1, 1}, [3]float64{n, n, n}},
	}
	for p, w := range cases {
		m, err := NewMLP[float64](MLPConfig{Dims: []int{d, n, n, k}, Parameterization: p, BStd: 0.1}, newRNG(4))
		if err != nil {
			t.Fatal(err)
		}
		for l, layer := range m.Layers {
			v := layer.Weight.Value
			s := math.Sqrt(tensor.Dot(v, v) / float64(v.Len()))
			if math.Abs(s/w.std[l]-1) > 0.03 {
				t.Errorf("%s layer %d: weight std %.4g, want %.4g", p, l, s, w.std[l])
			}
			if layer.Weight.LRScale != w.lr[l] {
				t.Errorf("%s layer %d: LRScale %v, want %v", p, l, layer.Weight.LRScale, w.lr[l])
			}
		}
	}
	// Adam-style muP multipliers: input 1, hidden 1/n, output 1.
	m, _ := NewMLP[float64](MLPConfig{Dims: []int{d, n, n, k}, Parameterization: MuP, AdaptiveLR: true}, newRNG(4))
	for l, want := range []float64{1, 1.0 / n, 1} {
		if got := m.Layers[l].Weight.LRScale; got != want {
			t.Errorf("muP Adam layer %d: LRScale %v, want %v", l, got, want)
		}
	}
}

// TestMuPOutputShrinks checks the muP signature at init: the output
// coordinates are Theta(n^-1/2), so quadrupling the width halves their RMS
// (within 25%, over 4 seeds and 64 inputs), while SP keeps them Theta(1).
func TestMuPOutputShrinks(t *testing.T) {
	rms := func(p Parameterization, width int) float64 {
		var s float64
		x := tensor.RandN(newRNG(5), 0.0, 1.0, 64, 16)
		for seed := uint64(0); seed < 4; seed++ {
			m, _ := NewMLP[float64](MLPConfig{Dims: []int{16, width, width, 4}, Parameterization: p, Activation: Tanh}, newRNG(seed))
			tp := autograd.NewTape[float64]()
			y := m.Forward(tp, tp.Const(x)).Value()
			s += tensor.Dot(y, y) / float64(y.Len())
		}
		return math.Sqrt(s / 4)
	}
	if r := rms(MuP, 1024) / rms(MuP, 256); math.Abs(r-0.5) > 0.125 {
		t.Errorf("muP output RMS ratio for 4x width = %.3f, want 0.5", r)
	}
	if r := rms(Standard, 1024) / rms(Standard, 256); math.Abs(r-1) > 0.25 {
		t.Errorf("SP output RMS ratio for 4x width = %.3f, want 1", r)
	}
}

// TestMLPGradCheck gradchecks the whole MLP (every activation, every
// parameterization) through Param.Var leaves.
func TestMLPGradCheck(t *testing.T) {
	acts := []Activation{ReLU, Tanh, GELU, SiLU, Softplus, Sigmoid, LeakyReLU, Erf, Identity}
	for i, p := range []Parameterization{Standard, NTK, MeanField, MuP} {
		for j, a := range acts {
			m, err := NewMLP[float64](MLPConfig{Dims: []int{3, 5, 4, 2}, Activation: a,
				Activations: []Activation{"", acts[(j+1+i)%len(acts)]}, Parameterization: p, BStd: 0.5}, newRNG(uint64(j)))
			if err != nil {
				t.Fatal(err)
			}
			x := tensor.RandN(newRNG(9), 0.0, 1.0, 6, 3)
			inputs := []*tensor.Tensor[float64]{x}
			for _, q := range m.Params() {
				inputs = append(inputs, q.Value)
			}
			f := func(tp *autograd.Tape[float64], xs []*autograd.Var[float64]) *autograd.Var[float64] {
				// Bind the gradcheck leaves as the parameters' leaves.
				for k, q := range m.Params() {
					q.tape, q.epoch, q.v = tp, tp.Epoch(), xs[k+1]
				}
				return autograd.CrossEntropy(m.Forward(tp, xs[0]), []int32{0, 1, 1, 0, 1, 0})
			}
			if _, err := autograd.GradCheck(f, inputs, autograd.GradCheckOptions{}); err != nil {
				t.Errorf("%s/%s: %v", p, a, err)
			}
		}
	}
}

// TestParamVarShared checks that a parameter used twice in a step is one
// leaf, and a new step gets a new leaf.
func TestParamVarShared(t *testing.T) {
	p := NewParam("w", tensor.FromSlice([]float64{2}))
	tp := autograd.NewTape[float64]()
	a, b := p.Var(tp), p.Var(tp)
	if a != b {
		t.Fatal("two leaves for one parameter in one step")
	}
	tp.Backward(autograd.Sum(autograd.Mul(a, b))) // d(w^2)/dw = 2w = 4
	if p.Grad.Data()[0] != 4 {
		t.Errorf("grad %v, want 4", p.Grad.Data()[0])
	}
	tp.Reset()
	if c := p.Var(tp); c.Value() != p.Value || !c.RequiresGrad() {
		t.Error("new step did not bind a fresh leaf")
	}
}

func TestWeightDenseShares(t *testing.T) {
	m, _ := NewMLP[float64](MLPConfig{Dims: []int{3, 2}}, newRNG(1))
	d := WeightDense(m.Layers[0])
	if r, c := d.Dims(); r != 2 || c != 3 || d.At(1, 2) != m.Layers[0].Weight.Value.At(1, 2) {
		t.Fatal("WeightDense does not view the weight")
	}
	d.Set(0, 0, 42)
	if m.Layers[0].Weight.Value.At(0, 0) != 42 {
		t.Error("WeightDense does not share storage")
	}
	GradDense(m.Layers[0]).Set(1, 1, 7)
	if m.Layers[0].Weight.Grad.At(1, 1) != 7 {
		t.Error("GradDense does not share storage")
	}
}

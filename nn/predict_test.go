package nn

import (
	"strings"
	"testing"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/tensor"
)

// TestPredictMatchesForward: Predict computes exactly what Forward records
// on a tape, in float32 and float64, leaves the gradients alone, and
// returns a tensor of the caller's that later calls do not overwrite.
func TestPredictMatchesForward(t *testing.T) {
	predictMatches[float32](t)
	predictMatches[float64](t)
}

func predictMatches[T Float](t *testing.T) {
	m, err := NewMLP[T](MLPConfig{Dims: []int{5, 9, 3}, Activation: GELU, Parameterization: MuP}, newRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Params() {
		for i := range p.Grad.Data() {
			p.Grad.Data()[i] = 7
		}
	}
	x := tensor.RandN(newRNG(2), T(0), 1, 6, 5)
	tp := autograd.NewTape[T]()
	want := m.Forward(tp, tp.Const(x)).Value().Clone()
	got, err := Predict[T](m, x)
	if err != nil {
		t.Fatal(err)
	}
	if !tensor.Equal(got, want) {
		t.Fatalf("Predict %v, Forward %v", got.Data(), want.Data())
	}
	if _, err := Predict[T](m, tensor.RandN(newRNG(3), T(0), 1, 2, 5)); err != nil {
		t.Fatal(err)
	}
	if !tensor.Equal(got, want) {
		t.Error("a second Predict overwrote the first one's result")
	}
	for _, p := range m.Params() {
		for _, g := range p.Grad.Data() {
			if g != 7 {
				t.Fatalf("Predict changed the gradient of %s", p.Name)
			}
		}
	}
}

// TestPredictErrors: inputs the model cannot take are errors that name
// the argument and the shapes, not panics.
func TestPredictErrors(t *testing.T) {
	m, err := NewMLP[float64](MLPConfig{Dims: []int{3, 4, 2}}, newRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	lin, err := NewLinear[float64](newRNG(1), "0.", 3, 2, true)
	if err != nil {
		t.Fatal(err)
	}
	seq := NewSequential[float64](Act[float64](Tanh), lin)
	var nilMLP *MLP[float64]
	cases := []struct {
		name string
		m    Module[float64]
		x    *tensor.Tensor[float64]
		want string
	}{
		{"nil model", nil, tensor.New[float64](2, 3), "nn.Predict: the model is nil"},
		{"nil *MLP", nilMLP, tensor.New[float64](2, 3), "nn.Predict: the model is nil"},
		{"nil x", m, nil, "nn.Predict: x is nil"},
		{"1-D x", m, tensor.New[float64](3), "nn.Predict: x has shape [3], want [n 3]"},
		{"3-D x", m, tensor.New[float64](1, 2, 3), "nn.Predict: x has shape [1 2 3], want [n 3]"},
		{"width", m, tensor.New[float64](2, 4), "nn.Predict: x has 4 columns, but the model takes 3 inputs"},
		{"linear width", lin, tensor.New[float64](2, 5), "nn.Predict: x has 5 columns, but the model takes 3 inputs"},
		{"sequential width", seq, tensor.New[float64](2, 5), "nn.Predict: the model rejects x of shape [2 5]: "},
	}
	for _, c := range cases {
		out, err := Predict(c.m, c.x)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
		if out != nil {
			t.Errorf("%s: an output with the error", c.name)
		}
	}
	// After a rejected input the next call works (the pooled tape was not
	// left in a bad state).
	if _, err := Predict[float64](seq, tensor.New[float64](2, 3)); err != nil {
		t.Errorf("Predict after a rejected input: %v", err)
	}
}

// TestInputWidth: the input width of the modules that state one.
func TestInputWidth(t *testing.T) {
	m, _ := NewMLP[float32](MLPConfig{Dims: []int{7, 4, 2}}, newRNG(1))
	lin, _ := NewLinear[float32](newRNG(1), "0.", 5, 2, false)
	for _, c := range []struct {
		m  Module[float32]
		d  int
		ok bool
	}{
		{m, 7, true},
		{lin, 5, true},
		{NewSequential[float32](lin, Act[float32](ReLU)), 5, true},
		{NewSequential[float32](Act[float32](ReLU), lin), 0, false},
		{NewSequential[float32](), 0, false},
		{Act[float32](ReLU), 0, false},
	} {
		if d, ok := InputWidth(c.m); d != c.d || ok != c.ok {
			t.Errorf("InputWidth(%T) = %d, %v, want %d, %v", c.m, d, ok, c.d, c.ok)
		}
	}
}

package tensor

import (
	"math"
	"strings"
	"testing"
)

// TestParseActivation checks that every name parses to itself, that the
// names are the strings model files store (a change would orphan saved
// models), and that a bad name is rejected with the list of good ones.
func TestParseActivation(t *testing.T) {
	stored := []string{"identity", "relu", "leaky_relu", "tanh", "sigmoid", "gelu", "silu", "softplus", "erf"}
	if len(stored) != len(activations) {
		t.Fatalf("%d activations, want %d", len(activations), len(stored))
	}
	for i, name := range stored {
		a, err := ParseActivation(name)
		if err != nil || a != activations[i] || string(a) != name || !a.Valid() {
			t.Errorf("ParseActivation(%q) = %q, %v; want %q", name, a, err, activations[i])
		}
	}
	for _, bad := range []string{"", "swish", "ReLU", " relu"} {
		a, err := ParseActivation(bad)
		if err == nil || a != "" || Activation(bad).Valid() {
			t.Errorf("ParseActivation(%q) = %q, %v; want an error", bad, a, err)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, `unknown activation "`+bad+`"`) || !strings.Contains(msg, "identity, relu, leaky_relu, tanh, sigmoid, gelu, silu, softplus or erf") {
			t.Errorf("ParseActivation(%q) error %q does not name the input and list the activations", bad, msg)
		}
	}
}

func TestActivationFusable(t *testing.T) {
	for _, a := range activations {
		if want := a == Identity || a == ReLU; a.Fusable() != want {
			t.Errorf("%s.Fusable() = %v, want %v", a, a.Fusable(), want)
		}
	}
}

// TestActivationEvalDerivative checks the derivative Eval returns against
// a central difference of the value it returns, for every activation at
// points on both sides of zero (off the kinks of ReLU and LeakyReLU by far
// more than the step). With step h = 1e-5 the difference is off by the
// truncation h^2/6 |f”'| (about 2e-11, f”' being O(1) here) plus the
// rounding u|f|/h (about 1e-11 |f|); the tolerance 1e-8 max(1, |f|) leaves
// a wide margin and still catches any wrong formula, which misses by far
// more (a wrong LeakySlope by 1e-2, GELU's tanh approximation by 1e-4).
func TestActivationEvalDerivative(t *testing.T) {
	const h = 1e-5
	points := []float64{-7, -2.5, -1, -0.3, 0.2, 0.9, 2, 6}
	for _, a := range activations {
		for _, z := range points {
			v, dv := a.Eval(z)
			vp, _ := a.Eval(z + h)
			vm, _ := a.Eval(z - h)
			fd := (vp - vm) / (2 * h)
			if tol := 1e-8 * math.Max(1, math.Abs(v)); math.Abs(fd-dv) > tol {
				t.Errorf("%s'(%v) = %v, central difference %v (tolerance %v)", a, z, dv, fd, tol)
			}
		}
	}
}

// TestActivationEvalValues checks the values that finite differences do
// not: PyTorch's conventions at the kinks, a few exact values, and that
// nothing overflows to NaN or Inf for large |z|.
func TestActivationEvalValues(t *testing.T) {
	phi1 := 0.5 * (1 + math.Erf(1/math.Sqrt2)) // Phi(1)
	cases := []struct {
		a         Activation
		z, v, dv  float64
		tolerance float64
	}{
		{Identity, -3, -3, 1, 0},
		{ReLU, 0, 0, 0, 0}, // ReLU'(0) = 0, as torch
		{ReLU, -2, 0, 0, 0},
		{ReLU, 2, 2, 1, 0},
		{LeakyReLU, 0, 0, LeakySlope, 0},
		{LeakyReLU, -2, -2 * LeakySlope, LeakySlope, 0},
		{Tanh, 0, 0, 1, 0},
		{Tanh, 800, 1, 0, 0},
		{Sigmoid, 0, 0.5, 0.25, 0},
		{Sigmoid, 800, 1, 0, 0},
		{Sigmoid, -800, 0, 0, 0},
		{Softplus, 0, math.Ln2, 0.5, 1e-15}, // log1p(1) to an ulp
		{Softplus, 800, 800, 1, 0},
		{Softplus, -800, 0, 0, 0},
		{SiLU, -800, 0, 0, 0},
		{SiLU, 800, 800, 1, 0},
		{GELU, 0, 0, 0.5, 0},
		// GELU(1) = Phi(1); PyTorch's erf form, not the tanh approximation
		// (0.8411920), which differs by 2e-4. 1e-15 allows the rounding
		// of erfc against erf.
		{GELU, 1, phi1, phi1 + math.Exp(-0.5)/math.Sqrt(2*math.Pi), 1e-15},
		{GELU, -40, 0, 0, 0},
		{GELU, 40, 40, 1, 0},
		{Erf, 0, 0, 2 / math.SqrtPi, 1e-15}, // math.Sqrt(math.Pi) may round apart from math.SqrtPi
		{Erf, -30, -1, 0, 0},
	}
	for _, c := range cases {
		v, dv := c.a.Eval(c.z)
		if math.Abs(v-c.v) > c.tolerance || math.Abs(dv-c.dv) > c.tolerance {
			t.Errorf("%s.Eval(%v) = %v, %v; want %v, %v", c.a, c.z, v, dv, c.v, c.dv)
		}
	}
	mustPanic(t, func() { Activation("").Eval(1) }, "tensor.Activation.Eval", `unknown activation ""`)
	mustPanic(t, func() { Activation("swish").Eval(1) }, "tensor.Activation.Eval", `unknown activation "swish"`)
}

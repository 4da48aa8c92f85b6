package tensor

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

// Activation names an elementwise nonlinearity. It is the one vocabulary of
// activations for every layer above the kernels: the fused epilogue of a
// matrix product (Epilogue.Act), the tape operations (autograd.Activate,
// autograd.Linear), the layers of package nn (which re-exports it), the
// teacher networks of package data and the particle systems of package
// meanfield all take the same values, so a configuration names an
// activation once and every part of a study means the same function by it.
//
// The values are the names stored in model files (safetensors metadata)
// and JSON configurations; they must never change.
type Activation string

// The activations, with the torch.nn module each one corresponds to.
const (
	Identity  Activation = "identity"   // torch.nn.Identity
	ReLU      Activation = "relu"       // torch.nn.ReLU
	LeakyReLU Activation = "leaky_relu" // torch.nn.LeakyReLU(LeakySlope)
	Tanh      Activation = "tanh"       // torch.nn.Tanh
	Sigmoid   Activation = "sigmoid"    // torch.nn.Sigmoid
	GELU      Activation = "gelu"       // torch.nn.GELU() (the exact, erf form)
	SiLU      Activation = "silu"       // torch.nn.SiLU
	Softplus  Activation = "softplus"   // torch.nn.Softplus (beta = 1)
	Erf       Activation = "erf"        // no torch module; neural-tangents' analytic kernels know it
)

// LeakySlope is the negative slope of LeakyReLU: PyTorch's default, so that
// a "leaky_relu" model file means the same function in both frameworks.
const LeakySlope = 0.01

// activations lists the vocabulary in the order error messages name it.
var activations = [...]Activation{Identity, ReLU, LeakyReLU, Tanh, Sigmoid, GELU, SiLU, Softplus, Erf}

// Valid reports whether a is one of the nine activations. The empty string
// is not: where a configuration accepts "" it stands for a default chosen
// by that configuration, not for an activation.
func (a Activation) Valid() bool {
	switch a {
	case Identity, ReLU, LeakyReLU, Tanh, Sigmoid, GELU, SiLU, Softplus, Erf:
		return true
	}
	return false
}

// Fusable reports whether a matrix product can apply a in its epilogue
// (Epilogue.Act): only the functions the GEMM kernels implement while the
// output tile is in registers, identity and ReLU. Other activations cost a
// pass over the output anyway, so they gain nothing from the kernel and
// are applied after the product (autograd.Linear does so).
func (a Activation) Fusable() bool { return a == Identity || a == ReLU }

// ParseActivation returns the activation named s, or an error listing the
// known names, for names that come from flags and configuration files.
func ParseActivation(s string) (Activation, error) {
	if a := Activation(s); a.Valid() {
		return a, nil
	}
	return "", errors.New("tensor: unknown activation " + strconv.Quote(s) + " (want " + nameList() + ")")
}

// nameList returns "identity, relu, ... or erf".
func nameList() string {
	var b strings.Builder
	for i, a := range activations {
		switch {
		case i == len(activations)-1:
			b.WriteString(" or ")
		case i > 0:
			b.WriteString(", ")
		}
		b.WriteString(string(a))
	}
	return b.String()
}

// Eval returns a(z) and its derivative a'(z) in float64. It is the scalar
// reference of the vocabulary, for code that needs an activation or its
// derivative as a plain function (closed-form tangent kernels, tape-free
// forward passes) and for tests of the vectorized operations, which may
// round differently.
//
// The conventions are PyTorch's: ReLU'(0) = 0 (and LeakyReLU'(0) =
// LeakySlope), GELU is the exact form z Phi(z) with Phi the standard normal
// CDF, and Softplus is log(1 + e^z) with beta = 1. Sigmoid and Softplus
// never overflow: for large |z| they exponentiate only -|z|. Eval panics
// if a is not Valid.
func (a Activation) Eval(z float64) (v, dv float64) {
	switch a {
	case Identity:
		return z, 1
	case ReLU:
		if z > 0 {
			return z, 1
		}
		return 0, 0
	case LeakyReLU:
		if z > 0 {
			return z, 1
		}
		return LeakySlope * z, LeakySlope
	case Tanh:
		t := math.Tanh(z)
		return t, 1 - t*t
	case Sigmoid:
		s := sigmoid(z)
		return s, s * (1 - s)
	case Softplus:
		// log(1 + e^z) = z + log(1 + e^-z) keeps the exponent negative.
		if z > 0 {
			return z + math.Log1p(math.Exp(-z)), sigmoid(z)
		}
		return math.Log1p(math.Exp(z)), sigmoid(z)
	case SiLU:
		s := sigmoid(z)
		return z * s, s + z*s*(1-s)
	case GELU:
		// Phi(z) = erfc(-z/sqrt2)/2 keeps its relative precision in the
		// left tail, where 1 + erf(z/sqrt2) cancels.
		cdf := 0.5 * math.Erfc(-z/math.Sqrt2)
		pdf := math.Exp(-0.5*z*z) / math.Sqrt(2*math.Pi)
		return z * cdf, cdf + z*pdf
	case Erf:
		return math.Erf(z), 2 / math.Sqrt(math.Pi) * math.Exp(-z*z)
	}
	panic("tensor.Activation.Eval: unknown activation " + strconv.Quote(string(a)))
}

// sigmoid is 1/(1 + e^-z) with the exponent kept at or below zero, so that
// it neither overflows nor returns NaN for large |z|.
func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

package nn

import (
	"fmt"

	"github.com/gradflow/gradflow/autograd"
)

// Activation names an elementwise nonlinearity. The names are those stored
// in model files.
type Activation string

// The activations an MLP can use, with the torch.nn module each one
// corresponds to.
const (
	Identity  Activation = "identity"   // nn.Identity
	ReLU      Activation = "relu"       // nn.ReLU
	LeakyReLU Activation = "leaky_relu" // nn.LeakyReLU(0.01)
	Tanh      Activation = "tanh"       // nn.Tanh
	Sigmoid   Activation = "sigmoid"    // nn.Sigmoid
	GELU      Activation = "gelu"       // nn.GELU() (erf form)
	SiLU      Activation = "silu"       // nn.SiLU
	Softplus  Activation = "softplus"   // nn.Softplus
	Erf       Activation = "erf"        // no torch module; the infinite-width kernels of neural-tangents know it
)

// LeakySlope is the negative slope of LeakyReLU, PyTorch's default.
const LeakySlope = 0.01

// Valid reports whether a is a known activation.
func (a Activation) Valid() bool {
	switch a {
	case Identity, ReLU, LeakyReLU, Tanh, Sigmoid, GELU, SiLU, Softplus, Erf:
		return true
	}
	return false
}

// ParseActivation returns the activation named s, or an error listing the
// known names.
func ParseActivation(s string) (Activation, error) {
	if a := Activation(s); a.Valid() {
		return a, nil
	}
	return "", fmt.Errorf("nn: unknown activation %q (want identity, relu, leaky_relu, tanh, sigmoid, gelu, silu, softplus or erf)", s)
}

// Apply records a applied to x.
func Apply[T Float](a Activation, x *autograd.Var[T]) *autograd.Var[T] {
	switch a {
	case Identity:
		return x
	case ReLU:
		return autograd.Relu(x)
	case LeakyReLU:
		return autograd.LeakyRelu(x, LeakySlope)
	case Tanh:
		return autograd.Tanh(x)
	case Sigmoid:
		return autograd.Sigmoid(x)
	case GELU:
		return autograd.Gelu(x)
	case SiLU:
		return autograd.Silu(x)
	case Softplus:
		return autograd.Softplus(x)
	case Erf:
		return autograd.Erf(x)
	}
	panic("nn.Apply: unknown activation " + string(a))
}

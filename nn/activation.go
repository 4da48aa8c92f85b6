package nn

import (
	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/tensor"
)

// Activation names an elementwise nonlinearity. It is tensor.Activation,
// the vocabulary every package above the kernels shares, under the name
// nn's users know: the values are the names stored in model files and
// configurations ("relu", "tanh", ...), and a value from any package
// (tensor.Tanh, nn.Tanh) is the same.
type Activation = tensor.Activation

// The activations an MLP can use, re-exported from package tensor so that
// nn.MLPConfig{Activation: nn.Tanh} reads as before; see tensor.Identity
// for the torch.nn module each one corresponds to.
const (
	Identity  = tensor.Identity
	ReLU      = tensor.ReLU
	LeakyReLU = tensor.LeakyReLU
	Tanh      = tensor.Tanh
	Sigmoid   = tensor.Sigmoid
	GELU      = tensor.GELU
	SiLU      = tensor.SiLU
	Softplus  = tensor.Softplus
	Erf       = tensor.Erf
)

// LeakySlope is the negative slope of LeakyReLU, PyTorch's default.
const LeakySlope = tensor.LeakySlope

// ParseActivation returns the activation named s, or an error listing the
// known names (tensor.ParseActivation).
func ParseActivation(s string) (Activation, error) { return tensor.ParseActivation(s) }

// Apply records a applied to x (autograd.Activate, the one mapping from
// activations to tape operations). It panics if a is not Valid.
func Apply[T Float](a Activation, x *autograd.Var[T]) *autograd.Var[T] {
	return autograd.Activate(a, x)
}

package autograd

import (
	"strconv"

	"github.com/gradflow/gradflow/tensor"
)

// Activation names an elementwise nonlinearity: the vocabulary of package
// tensor, which every layer above the kernels shares.
type Activation = tensor.Activation

// Activate records a applied to x, with the op of this package that
// implements it (LeakyReLU with slope tensor.LeakySlope). It is the one
// place that maps the activation vocabulary to tape operations: nn's
// layers, Linear's unfused activations and data's teacher networks all
// come through here, so they compute the same values. Identity returns x
// itself. Activate panics if a is not Valid.
func Activate[T Float](a Activation, x *Var[T]) *Var[T] {
	switch a {
	case tensor.Identity:
		return x
	case tensor.ReLU:
		return Relu(x)
	case tensor.LeakyReLU:
		return LeakyRelu(x, tensor.LeakySlope)
	case tensor.Tanh:
		return Tanh(x)
	case tensor.Sigmoid:
		return Sigmoid(x)
	case tensor.GELU:
		return Gelu(x)
	case tensor.SiLU:
		return Silu(x)
	case tensor.Softplus:
		return Softplus(x)
	case tensor.Erf:
		return Erf(x)
	}
	panic("autograd.Activate: unknown activation " + strconv.Quote(string(a)))
}

package meanfield

import (
	"math"

	"github.com/gradflow/gradflow/nn"
)

// activate returns act(z) and act'(z) for the nn activations, with the
// conventions of package nn (ReLU' = 0 at 0 as PyTorch; GELU in its erf form;
// LeakyReLU with slope nn.LeakySlope). The closed-form tangent kernel and the
// tape-free forward pass need the derivative as a plain function.
func activate(a nn.Activation, z float64) (v, dv float64) {
	switch a {
	case nn.Identity:
		return z, 1
	case nn.ReLU:
		if z > 0 {
			return z, 1
		}
		return 0, 0
	case nn.LeakyReLU:
		if z > 0 {
			return z, 1
		}
		return nn.LeakySlope * z, nn.LeakySlope
	case nn.Tanh:
		t := math.Tanh(z)
		return t, 1 - t*t
	case nn.Sigmoid:
		s := sigmoid(z)
		return s, s * (1 - s)
	case nn.Softplus:
		// log(1 + e^z) without overflow for large z.
		if z > 0 {
			return z + math.Log1p(math.Exp(-z)), sigmoid(z)
		}
		return math.Log1p(math.Exp(z)), sigmoid(z)
	case nn.SiLU:
		s := sigmoid(z)
		return z * s, s + z*s*(1-s)
	case nn.GELU:
		cdf := 0.5 * math.Erfc(-z/math.Sqrt2)
		pdf := math.Exp(-0.5*z*z) / math.Sqrt(2*math.Pi)
		return z * cdf, cdf + z*pdf
	case nn.Erf:
		return math.Erf(z), 2 / math.Sqrt(math.Pi) * math.Exp(-z*z)
	}
	panic("meanfield: unknown activation " + string(a))
}

func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

package ntk

import (
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/tensor"
)

// LRWeights returns the parameter weights (for Options.ParamWeight) of the
// learning-rate-weighted tangent kernel of m,
//
//	Theta = sum_p s_p J_p J_p^T,
//
// with s_p the learning-rate multiplier of parameter tensor p under
// gradient descent: each Param's LRScale (0 read as 1, as package optim
// reads it), except for an *nn.MLP built for Adam-like optimizers
// (Config.AdaptiveLR), whose weights are the SGD multipliers of its
// parameterization (nn.MLPConfig.LRScales with AdaptiveLR false). Adam's
// outputs do not follow a kernel flow, and its multipliers are sized for
// normalized steps, not for gradients: under muP they would weight the
// O(1/n) feature blocks by O(1) and leave the output bias' constant to
// dominate. The weights are read when LRWeights is called.
//
// Why this kernel: SGD with per-parameter rates eta s_p moves the outputs,
// to first order, by Delta f = -eta Theta grad_f L, so this Theta, not J
// J^T, is the kernel of the function-space dynamics (Yang and Hu 2021,
// Tensor Programs IV, for abc-parameterizations; package meanfield's
// LRScale is the same argument for two-layer nets). Under NTK scaling and
// SP every multiplier is 1 and Theta = J J^T. Under mean field and muP the
// hidden and readout blocks of J J^T are O(1/n) while an output bias adds
// a width-independent constant; the multipliers (n for those blocks, 1 for
// the output bias) bring every block to O(1), so that the relative drift
// of Theta measures the feature learning those parameterizations promise
// (Theta(1)) instead of the ratio O(1/n) of a moving O(1/n) part to a
// fixed constant.
func LRWeights[T tensor.Float](m nn.Module[T]) func(name string) float64 {
	w := map[string]float64{}
	if mlp, ok := m.(*nn.MLP[T]); ok && mlp.Config.AdaptiveLR {
		c := mlp.Config
		c.AdaptiveLR = false
		for l, layer := range mlp.Layers {
			sw, sb := c.LRScales(l)
			w[layer.Weight.Name] = sw
			if layer.Bias != nil {
				w[layer.Bias.Name] = sb
			}
		}
	} else {
		for _, p := range m.Params() {
			s := p.LRScale
			if s == 0 {
				s = 1
			}
			w[p.Name] = s
		}
	}
	return func(name string) float64 {
		if v, ok := w[name]; ok {
			return v
		}
		return 1
	}
}

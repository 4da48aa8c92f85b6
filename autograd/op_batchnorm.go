package autograd

import "github.com/gradflow/gradflow/tensor"

// BatchNorm normalizes each channel (axis 1) of x [N, C] or [N, C, H, W]
// and applies w * xhat + b with w, b [C] (either may be nil):
// torch.nn.functional.batch_norm.
//
// In training mode the statistics are those of the batch (biased variance)
// and, when runMean and runVar [C] are not nil, they are updated in place
// as running = (1 - momentum) running + momentum batch, with the unbiased
// batch variance, as PyTorch does. In evaluation mode (training false)
// runMean and runVar are the statistics, and the op is an affine map of x.
func BatchNorm[T Float](x, w, b *Var[T], runMean, runVar *tensor.Tensor[T], training bool, momentum, eps float64) *Var[T] {
	panic("autograd.BatchNorm: not implemented yet")
}

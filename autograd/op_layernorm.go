package autograd

// LayerNorm normalizes x over its last dims axes to zero mean and unit
// (biased) variance plus eps, then applies the elementwise affine map
// w * xhat + b, where w and b (either may be nil) have the shape of those
// axes: torch.nn.functional.layer_norm.
func LayerNorm[T Float](x, w, b *Var[T], dims int, eps float64) *Var[T] {
	panic("autograd.LayerNorm: not implemented yet")
}

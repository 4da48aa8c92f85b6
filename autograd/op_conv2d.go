package autograd

// ConvParams are the geometry of a 2-D convolution, as torch.nn.Conv2d
// takes them. The zero value of a field selects PyTorch's default: stride
// 1, padding 0, dilation 1, one group.
type ConvParams struct {
	Stride   [2]int // (height, width); 0 means 1
	Padding  [2]int // zeros added on both sides of each spatial axis
	Dilation [2]int // spacing of the kernel taps; 0 means 1
	Groups   int    // input and output channels are split into Groups; 0 means 1
}

// Conv2D returns act(alpha * conv(x, w) + b) for x [N, C, H, W] (NCHW, as
// PyTorch), w [Cout, C/Groups, kh, kw] and b [Cout] (or nil): the
// cross-correlation of torch.nn.functional.conv2d with an optional forward
// multiplier alpha (NTK and muP parameterizations) and activation (empty
// means identity). The output is [N, Cout, Ho, Wo] with
// Ho = (H + 2 pad - dil (kh - 1) - 1) / stride + 1.
func Conv2D[T Float](x, w, b *Var[T], alpha float64, act Activation, p ConvParams) *Var[T] {
	panic("autograd.Conv2D: not implemented yet")
}

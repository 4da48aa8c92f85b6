package autograd

// PoolParams are the geometry of a 2-D pooling window, as torch.nn.MaxPool2d
// and AvgPool2d take them.
type PoolParams struct {
	Kernel  [2]int // window (height, width)
	Stride  [2]int // 0 means the kernel size (PyTorch's default)
	Padding [2]int // implicit padding on both sides (at most half the kernel)
	// ExcludePad leaves padded positions out of an average's divisor
	// (count_include_pad=False); by default they count, as in PyTorch.
	ExcludePad bool
}

// MaxPool2D returns the maximum over each window of x [N, C, H, W]. The
// gradient goes to the first maximal element of each window (PyTorch's
// choice); padding is -Inf.
func MaxPool2D[T Float](x *Var[T], p PoolParams) *Var[T] {
	panic("autograd.MaxPool2D: not implemented yet")
}

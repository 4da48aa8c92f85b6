package autograd

// AvgPool2D returns the mean over each window of x [N, C, H, W].
func AvgPool2D[T Float](x *Var[T], p PoolParams) *Var[T] {
	panic("autograd.AvgPool2D: not implemented yet")
}

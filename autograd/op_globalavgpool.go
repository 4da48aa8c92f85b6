package autograd

// GlobalAvgPool returns the mean over the spatial axes of x [N, C, H, W]:
// shape [N, C].
func GlobalAvgPool[T Float](x *Var[T]) *Var[T] {
	panic("autograd.GlobalAvgPool: not implemented yet")
}

package autograd

// GlobalAvgPool returns the mean over the spatial axes of x [N, C, H, W]:
// shape [N, C].
//
// It is the mean of the rows of the view [N, C, H*W] (Reshape, MeanAxis),
// so its backward and double backward are theirs.
func GlobalAvgPool[T Float](x *Var[T]) *Var[T] {
	s := x.Shape()
	if len(s) != 4 {
		panic("autograd.GlobalAvgPool: need an [N, C, H, W] input, got shape " + shapeStr(s))
	}
	if s[2]*s[3] == 0 {
		panic("autograd.GlobalAvgPool: empty spatial axes in shape " + shapeStr(s))
	}
	return MeanAxis(Reshape(x, s[0], s[1], s[2]*s[3]), 2, false)
}

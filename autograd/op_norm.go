package autograd

// The helpers shared by LayerNorm and BatchNorm.
//
// Both normalize groups of elements of x to xhat = (x - mean) * rstd with
// rstd = 1/sqrt(var + eps) and then apply y = w*xhat + b. Both see x
// through a 3-D view [outer, mid, inner] in which the affine parameters
// index mid: LayerNorm views x as [rows, d, 1] and normalizes each outer
// slice; BatchNorm views it as [N, C, H*W] and normalizes each mid slice.
//
// With g' = w*g and means taken over a group of m elements, the gradients
// are
//
//	dx = rstd (g' - mean(g') - xhat mean(g' xhat))
//	dw = sum g xhat,  db = sum g   (sums over everything but mid)
//
// the first because xhat is invariant to shifting and scaling x, so the
// gradient of a group must be orthogonal to the constant vector and to
// xhat (Ioffe and Szegedy, "Batch normalization", ICML 2015, section 3).

// vecMinInner is the length of a contiguous piece of a BatchNorm channel
// below which its fast rules work row by row (bnLayout) rather than
// channel by channel: a vector-kernel call per piece costs more than it
// saves on a few elements, and walking a channel of [N, C] would read one
// element per cache line.
const vecMinInner = 16

// normView is the 3-D view of a normalization's input, for the recorded
// backward rule.
type normView struct {
	shape  [3]int
	perMid bool // statistics per mid index (BatchNorm), else per outer index (LayerNorm)
}

// reduceKeep sums a over the given axes of its 3-D view, keeping them with
// size 1; axes already of size 1 cost nothing.
func reduceKeep[T Float](a *Var[T], axes ...int) *Var[T] {
	for _, ax := range axes {
		if a.Shape()[ax] != 1 {
			a = SumAxis(a, ax, true)
		}
	}
	return a
}

// groupMean returns the means of a [outer, mid, inner] over each group of
// l, keeping the reduced axes with size 1 so that they broadcast back.
func groupMean[T Float](l normView, a *Var[T]) *Var[T] {
	if l.perMid {
		return Scale(reduceKeep(a, 0, 2), 1/float64(l.shape[0]*l.shape[2]))
	}
	return Scale(reduceKeep(a, 1, 2), 1/float64(l.shape[1]*l.shape[2]))
}

// paramSum returns the sums of a [outer, mid, inner] over everything but
// mid, reshaped to the parameters' shape.
func paramSum[T Float](a *Var[T], shape []int) *Var[T] {
	return Reshape(reduceKeep(a, 0, 2), shape...)
}

// normalizeGraph returns xhat and rstd of the view x3 of x with
// differentiable ops: the quantities of the forward pass, recomputed so
// that the recorded backward rule can be differentiated again.
func normalizeGraph[T Float](l normView, x3 *Var[T], eps float64) (xhat, rstd *Var[T]) {
	xc := Sub(x3, groupMean(l, x3))
	rstd = Pow(AddScalar(groupMean(l, Mul(xc, xc)), eps), -0.5)
	return Mul(xc, rstd), rstd
}

// normBackwardGraph is the backward rule of LayerNorm and BatchNorm when the
// backward pass is recorded: the formulas at the top of this file written
// with differentiable ops on the view l of x, so that the gradients are
// themselves differentiable in x, w, b and g. xhat and rstd are Vars of
// the view's shape and of the statistics' shape. centered is false for
// BatchNorm in evaluation mode, whose statistics are constants: dx is then
// rstd g' alone.
func normBackwardGraph[T Float](t *Tape[T], l normView, x, w, b, g, xhat, rstd *Var[T], centered bool) {
	s := l.shape[:]
	g3 := Reshape(g, s...)
	if t.wants(x) {
		gp := g3
		if w != nil {
			gp = Mul(g3, Reshape(w, 1, s[1], 1))
		}
		if centered {
			gp = Sub(Sub(gp, groupMean(l, gp)), Mul(xhat, groupMean(l, Mul(gp, xhat))))
		}
		t.accum(x, Reshape(Mul(gp, rstd), x.Shape()...))
	}
	if w != nil && t.wants(w) {
		t.accum(w, paramSum(Mul(g3, xhat), w.Shape()))
	}
	if b != nil && t.wants(b) {
		t.accum(b, paramSum(g3, b.Shape()))
	}
}

// paramGrad returns the buffer into which a fast backward rule adds the
// gradient of the parameter p, zeroed unless it is p's bound gradient
// tensor (directGrad), and the Var to hand to accum afterwards (nil in the
// direct case). It returns nils when p needs no gradient.
func paramGrad[T Float](t *Tape[T], p *Var[T]) ([]T, *Var[T]) {
	if p == nil || !t.wants(p) {
		return nil, nil
	}
	if pg, set := t.claimGrad(p); pg != nil {
		if set {
			pg.Zero() // the first contribution of a BackwardFresh: the rule adds
		}
		return pg.Data(), nil
	}
	v := t.constLike(p.Shape())
	v.value.Zero()
	return v.value.Data(), v
}

// dataOrNil returns p's data, or nil for a nil Var.
func dataOrNil[T Float](p *Var[T]) []T {
	if p == nil {
		return nil
	}
	return p.value.Data()
}

// checkParam panics unless p is nil or lives on x's tape with the given
// shape.
func checkParam[T Float](opName, what string, x, p *Var[T], shape []int) {
	if p == nil {
		return
	}
	sameTape(opName, x, p)
	if !sameShape(p.Shape(), shape) {
		panic("autograd." + opName + ": " + what + " shape " + shapeStr(p.Shape()) + " does not match " +
			shapeStr(shape) + " for input shape " + shapeStr(x.Shape()))
	}
}

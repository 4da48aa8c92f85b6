package autograd

import "math"

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

// moments returns the mean of the values x[off + s*j + k] for j < count,
// k < inner, and 1/sqrt(var + eps) with the biased variance var, together
// with var itself. Both passes accumulate in float64 with four partial sums:
// two passes (mean, then squared deviations) rather than sum and sum of
// squares, because the latter cancels catastrophically when the mean is
// large against the spread, and the partial sums break the dependency
// chain of the additions.
func moments[T Float](x []T, off, stride, count, inner int, eps float64) (mean, rstd, variance float64) {
	n := count * inner
	if n == 0 {
		return 0, 1 / math.Sqrt(eps), 0
	}
	var s0, s1, s2, s3 float64
	for j := 0; j < count; j++ {
		row := x[off+j*stride : off+j*stride+inner]
		k := 0
		for ; k+4 <= len(row); k += 4 {
			s0 += float64(row[k])
			s1 += float64(row[k+1])
			s2 += float64(row[k+2])
			s3 += float64(row[k+3])
		}
		for ; k < len(row); k++ {
			s0 += float64(row[k])
		}
	}
	mean = (s0 + s1 + s2 + s3) / float64(n)
	s0, s1, s2, s3 = 0, 0, 0, 0
	for j := 0; j < count; j++ {
		row := x[off+j*stride : off+j*stride+inner]
		k := 0
		for ; k+4 <= len(row); k += 4 {
			d0, d1 := float64(row[k])-mean, float64(row[k+1])-mean
			d2, d3 := float64(row[k+2])-mean, float64(row[k+3])-mean
			s0 += d0 * d0
			s1 += d1 * d1
			s2 += d2 * d2
			s3 += d3 * d3
		}
		for ; k < len(row); k++ {
			d := float64(row[k]) - mean
			s0 += d * d
		}
	}
	variance = (s0 + s1 + s2 + s3) / float64(n)
	return mean, 1 / math.Sqrt(variance+eps), variance
}

// vecMinInner is the length of a contiguous piece below which the fast
// rules use scalar loops rather than the vector kernels, whose call costs
// more than they save on a few elements (BatchNorm on [N, C] has pieces of
// one element).
const vecMinInner = 16

// affineInto writes x*a + c into dst (which may be x).
func affineInto[T Float](dst, x []T, a, c T) {
	x = x[:len(dst)]
	for i, xi := range x {
		dst[i] = xi*a + c
	}
}

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
// backward pass is recorded: the formulas of the comment above written
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
	if pg := t.directGrad(p); pg != nil {
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

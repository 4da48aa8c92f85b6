package autograd

import (
	"math"

	"github.com/gradflow/gradflow/internal/simd"
	"github.com/gradflow/gradflow/tensor"
)

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
	t := x.tape
	xs := x.Shape()
	if len(xs) != 2 && len(xs) != 4 {
		panic("autograd.BatchNorm: input shape " + shapeStr(xs) + " is not [N, C] or [N, C, H, W]")
	}
	n, c := xs[0], xs[1]
	inner := 1
	for _, d := range xs[2:] {
		inner *= d
	}
	cs := xs[1:2]
	checkParam("BatchNorm", "weight", x, w, cs)
	checkParam("BatchNorm", "bias", x, b, cs)
	for _, r := range [2]*tensor.Tensor[T]{runMean, runVar} {
		if r != nil && !sameShape(r.Shape(), cs) {
			panic("autograd.BatchNorm: running statistics of shape " + shapeStr(r.Shape()) + " for input shape " + shapeStr(xs))
		}
	}
	if (runMean == nil) != (runVar == nil) {
		panic("autograd.BatchNorm: give both running statistics or neither (input shape " + shapeStr(xs) + ")")
	}
	if !training && runMean == nil {
		panic("autograd.BatchNorm: evaluation mode needs the running statistics (input shape " + shapeStr(xs) + ")")
	}
	m := n * inner
	if training && m < 2 {
		// As PyTorch: one value per channel has no variance to normalize by
		// and an undefined unbiased variance.
		panic("autograd.BatchNorm: training needs more than one value per channel, input shape " + shapeStr(xs))
	}
	v := t.newVar()
	out := v.out(xs...)
	// The scratch keeps each channel's mean and 1/std for the backward
	// pass (in evaluation mode a copy of the running statistics, so that
	// the backward pass is right even if the caller changes them between),
	// then the workspace of the layout in use (bnLayout).
	l := bnLayout[T]{n: n, c: c, inner: inner}
	st := v.aux(2*c + l.workLen()).Data()
	if l.vec() {
		l.forwardChannels(st, out.Data(), x.value.Data(), dataOrNil(w), dataOrNil(b), runMean, runVar, training, momentum, eps)
	} else {
		l.forwardRows(st, out.Data(), x.value.Data(), dataOrNil(w), dataOrNil(b), runMean, runVar, training, momentum, eps)
	}
	if t.record(v, batchNormOp[T]{}, x, w) || b != nil && t.record(v, batchNormOp[T]{}, b, nil) {
		v.in = [2]*Var[T]{x, w}
		v.ins = append(v.ins[:0], b)
		v.f, v.flag = eps, training
	}
	return v
}

// bnLayout is the geometry of a BatchNorm input viewed as [n, c, inner],
// and the choice between its two fast implementations. With long
// contiguous pieces (images: inner = H*W >= vecMinInner) each channel is
// processed in turn, its pieces through the vector kernels. With short
// ones ([N, C] in particular) walking a channel would read one element per
// cache line, so the statistics are accumulated row by row over the
// columns k = ch*inner + j of the matrix [n, c*inner], like a column sum,
// and reduced per channel at the end.
type bnLayout[T Float] struct{ n, c, inner int }

func (l bnLayout[T]) vec() bool { return l.inner >= vecMinInner }

// workLen is the length of the workspace after the statistics: a row of
// ones (the channel layout: the vector kernel Axpy adds a scalar to a
// piece with it, there being no kernel for x + c), or five rows of
// c*inner per-column values (the row layout).
func (l bnLayout[T]) workLen() int {
	if l.vec() {
		return l.inner
	}
	return 5 * l.c * l.inner
}

// updateRunning applies PyTorch's update of the running statistics of
// channel ch, in float64, with the unbiased variance.
func updateRunning[T Float](runMean, runVar *tensor.Tensor[T], ch int, mu, vr float64, m int, momentum float64) {
	if runMean == nil {
		return
	}
	rm, rv := runMean.Data(), runVar.Data()
	unbiased := vr * float64(m) / float64(m-1)
	rm[ch] = T(momentum*mu + (1-momentum)*float64(rm[ch]))
	rv[ch] = T(momentum*unbiased + (1-momentum)*float64(rv[ch]))
}

// scaleShift returns the per-channel affine map y = x*scale + shift of
// normalizing by mu and rs then applying w and b (PyTorch's formulation,
// one multiply-add per element); from x - mu already formed, the shift is
// b alone.
func scaleShift[T Float](wd, bd []T, ch int, mu, rs T, centered bool) (scale, shift T) {
	scale = rs
	if wd != nil {
		scale *= wd[ch]
	}
	if !centered {
		shift = -mu * scale
	}
	if bd != nil {
		shift += bd[ch]
	}
	return scale, shift
}

func (l bnLayout[T]) forwardChannels(st, yd, xd, wd, bd []T, runMean, runVar *tensor.Tensor[T], training bool, momentum, eps float64) {
	n, c, inner := l.n, l.c, l.inner
	m := n * inner
	mean, rstd, ones := st[:c], st[c:2*c], st[2*c:]
	for i := range ones {
		ones[i] = 1
	}
	for ch := 0; ch < c; ch++ {
		var mu, rs float64
		if training {
			// Two passes with the reductions in vector kernels; the
			// second leaves x - mean in y for the output pass.
			var s, ss float64
			for j := 0; j < n; j++ {
				o := (j*c + ch) * inner
				s += float64(simd.Sum(xd[o : o+inner]))
			}
			mu = s / float64(m)
			for j := 0; j < n; j++ {
				o := (j*c + ch) * inner
				yr := yd[o : o+inner]
				copy(yr, xd[o:o+inner])
				simd.Axpy(-T(mu), ones, yr)
				ss += float64(simd.Dot(yr, yr))
			}
			vr := ss / float64(m)
			rs = 1 / math.Sqrt(vr+eps)
			updateRunning(runMean, runVar, ch, mu, vr, m, momentum)
		} else {
			mu = float64(runMean.Data()[ch])
			rs = 1 / math.Sqrt(float64(runVar.Data()[ch])+eps)
		}
		mean[ch], rstd[ch] = T(mu), T(rs)
		scale, shift := scaleShift(wd, bd, ch, T(mu), T(rs), training)
		for j := 0; j < n; j++ {
			o := (j*c + ch) * inner
			yr := yd[o : o+inner]
			if training {
				simd.Scale(scale, yr, yr)
			} else {
				simd.Scale(scale, yr, xd[o:o+inner])
			}
			simd.Axpy(shift, ones, yr)
		}
	}
}

func (l bnLayout[T]) forwardRows(st, yd, xd, wd, bd []T, runMean, runVar *tensor.Tensor[T], training bool, momentum, eps float64) {
	n, c, inner := l.n, l.c, l.inner
	k, m := c*inner, n*inner
	mean, rstd := st[:c], st[c:2*c]
	acc, e1, e2 := st[2*c:2*c+k], st[2*c+k:2*c+2*k], st[2*c+2*k:2*c+3*k]
	if training {
		clear(acc)
		for r := 0; r < n; r++ {
			simd.Add(acc, acc, xd[r*k:(r+1)*k])
		}
		for ch := 0; ch < c; ch++ {
			mean[ch] = T(sumF64(acc[ch*inner:(ch+1)*inner]) / float64(m))
			fill(e1[ch*inner:(ch+1)*inner], mean[ch])
		}
		// The squared deviations, column by column; y keeps x - mean.
		clear(acc)
		for r := 0; r < n; r++ {
			yr := yd[r*k : (r+1)*k]
			simd.Sub(yr, xd[r*k:(r+1)*k], e1)
			simd.Mul(e2, yr, yr)
			simd.Add(acc, acc, e2)
		}
	}
	for ch := 0; ch < c; ch++ {
		var mu, rs float64
		if training {
			mu = float64(mean[ch])
			vr := sumF64(acc[ch*inner:(ch+1)*inner]) / float64(m)
			rs = 1 / math.Sqrt(vr+eps)
			updateRunning(runMean, runVar, ch, mu, vr, m, momentum)
		} else {
			mu = float64(runMean.Data()[ch])
			rs = 1 / math.Sqrt(float64(runVar.Data()[ch])+eps)
		}
		mean[ch], rstd[ch] = T(mu), T(rs)
		scale, shift := scaleShift(wd, bd, ch, T(mu), T(rs), training)
		fill(e1[ch*inner:(ch+1)*inner], scale)
		fill(e2[ch*inner:(ch+1)*inner], shift)
	}
	for r := 0; r < n; r++ {
		src, yr := xd[r*k:(r+1)*k], yd[r*k:(r+1)*k]
		if training {
			src = yr
		}
		simd.Mul(yr, src, e1)
		simd.Add(yr, yr, e2)
	}
}

// sumF64 returns the sum of x accumulated in float64.
func sumF64[T Float](x []T) float64 {
	var s float64
	for _, v := range x {
		s += float64(v)
	}
	return s
}

// fill sets every element of x to v.
func fill[T Float](x []T, v T) {
	for i := range x {
		x[i] = v
	}
}

type batchNormOp[T Float] struct{}

func (batchNormOp[T]) name() string { return "BatchNorm" }

// See op_norm.go for the formulas; the groups are the channels. In
// evaluation mode the statistics do not depend on x, so dx = rstd w g.
func (batchNormOp[T]) backward(t *Tape[T], v, g *Var[T]) {
	x, w, b := v.in[0], v.in[1], v.ins[0]
	xs := x.Shape()
	n, c := xs[0], xs[1]
	inner := x.value.Len() / max(n*c, 1)
	if !t.recording {
		batchNormBackwardFast(t, v, g, bnLayout[T]{n: n, c: c, inner: inner})
		return
	}
	l := normView{shape: [3]int{n, c, inner}, perMid: true}
	x3 := Reshape(x, n, c, inner)
	if v.flag {
		xhat, rstd := normalizeGraph(l, x3, v.f)
		normBackwardGraph(t, l, x, w, b, g, xhat, rstd, true)
		return
	}
	// The statistics, constants of shape [1, C, 1] from the scratch.
	st := v.scratch.Data()
	mean, rstd := t.constLike([]int{1, c, 1}), t.constLike([]int{1, c, 1})
	copy(mean.value.Data(), st[:c])
	copy(rstd.value.Data(), st[c:2*c])
	normBackwardGraph(t, l, x, w, b, g, Mul(Sub(x3, mean), rstd), rstd, false)
}

// batchNormBackwardFast is the backward rule when the backward pass is not
// recorded. Per channel it needs sum g and sum g xhat (the parameter
// gradients, and the means of the training-mode dx), then writes
// dx = rstd w (g - sum g/m - xhat sum g xhat/m), or rstd w g in
// evaluation mode.
func batchNormBackwardFast[T Float](t *Tape[T], v, g *Var[T], l bnLayout[T]) {
	x, w, b := v.in[0], v.in[1], v.ins[0]
	dw, dwVar := paramGrad(t, w)
	db, dbVar := paramGrad(t, b)
	var dx []T
	var dxVar *Var[T]
	if t.wants(x) {
		dxVar = t.constLike(x.Shape())
		dx = dxVar.value.Data()
	}
	args := bnBackArgs[T]{st: v.scratch.Data(), dx: dx, g: g.value.Data(), x: x.value.Data(), wd: dataOrNil(w),
		dw: dw, db: db, training: v.flag}
	if l.vec() {
		l.backwardChannels(&args)
	} else {
		l.backwardRows(&args)
	}
	if dxVar != nil {
		t.accum(x, dxVar)
	}
	if dwVar != nil {
		t.accum(w, dwVar)
	}
	if dbVar != nil {
		t.accum(b, dbVar)
	}
}

// bnBackArgs are the slices of one fast backward pass; dx, dw and db are
// nil when not wanted.
type bnBackArgs[T Float] struct {
	st, dx, g, x, wd, dw, db []T
	training                 bool
}

// finishChannel adds the parameter gradients of channel ch from its sums
// sg = sum g and sgx = sum g (x - mean), and returns the coefficients of
// dx = scale (g - a) - (x - mean) k.
func (a *bnBackArgs[T]) finishChannel(ch int, sg, sgx float64, m float64, rs T) (scale, am, k T) {
	sgx *= float64(rs) // sum g xhat
	if a.dw != nil {
		a.dw[ch] += T(sgx)
	}
	if a.db != nil {
		a.db[ch] += T(sg)
	}
	scale = rs
	if a.wd != nil {
		scale *= a.wd[ch]
	}
	if a.training {
		am, k = T(sg/m), scale*T(sgx/m)*rs
	}
	return scale, am, k
}

func (l bnLayout[T]) backwardChannels(a *bnBackArgs[T]) {
	n, c, inner := l.n, l.c, l.inner
	m := float64(n * inner)
	mean, rstd, ones := a.st[:c], a.st[c:2*c], a.st[2*c:]
	for ch := 0; ch < c; ch++ {
		mu, rs := mean[ch], rstd[ch]
		var sg, sgx float64
		if a.dw != nil || a.db != nil || a.training && a.dx != nil {
			for j := 0; j < n; j++ {
				o := (j*c + ch) * inner
				gr := a.g[o : o+inner]
				sg += float64(simd.Sum(gr))
				if a.dx != nil {
					dr := a.dx[o : o+inner]
					copy(dr, a.x[o:o+inner])
					simd.Axpy(-mu, ones, dr)
					sgx += float64(simd.Dot(gr, dr))
				} else {
					// No dx to hold x - mean (x is a constant, only dw
					// is wanted): sum g (x - mean) = sum g x - mean sum g,
					// which loses digits when the mean is large against
					// the spread, a price paid only off the training path.
					sgx += float64(simd.Dot(gr, a.x[o:o+inner])) - float64(mu)*float64(simd.Sum(gr))
				}
			}
		}
		scale, am, k := a.finishChannel(ch, sg, sgx, m, rs)
		if a.dx == nil {
			continue
		}
		for j := 0; j < n; j++ {
			o := (j*c + ch) * inner
			dr, gr := a.dx[o:o+inner], a.g[o:o+inner]
			if !a.training {
				simd.Scale(scale, dr, gr)
				continue
			}
			// dr holds x - mean: dr = -k dr + scale g - scale a.
			simd.Scale(-k, dr, dr)
			simd.Axpy(scale, gr, dr)
			simd.Axpy(-scale*am, ones, dr)
		}
	}
}

func (l bnLayout[T]) backwardRows(a *bnBackArgs[T]) {
	n, c, inner := l.n, l.c, l.inner
	k, m := c*inner, float64(n*inner)
	mean, rstd := a.st[:c], a.st[c:2*c]
	w := a.st[2*c:]
	sg, sgx, me, ke, tmp := w[:k], w[k:2*k], w[2*k:3*k], w[3*k:4*k], w[4*k:5*k]
	for ch := 0; ch < c; ch++ {
		fill(me[ch*inner:(ch+1)*inner], mean[ch])
	}
	// Per-column sums of g and g (x - mean), row by row.
	clear(sg)
	clear(sgx)
	for r := 0; r < n; r++ {
		gr := a.g[r*k : (r+1)*k]
		simd.Add(sg, sg, gr)
		simd.Sub(tmp, a.x[r*k:(r+1)*k], me)
		simd.Mul(tmp, tmp, gr)
		simd.Add(sgx, sgx, tmp)
	}
	// Per channel: the parameter gradients, then the coefficients of dx
	// spread over the columns (scale in sg, scale*a in sgx, k in ke).
	for ch := 0; ch < c; ch++ {
		lo, hi := ch*inner, (ch+1)*inner
		scale, am, kk := a.finishChannel(ch, sumF64(sg[lo:hi]), sumF64(sgx[lo:hi]), m, rstd[ch])
		fill(sg[lo:hi], scale)
		fill(sgx[lo:hi], scale*am)
		fill(ke[lo:hi], kk)
	}
	if a.dx == nil {
		return
	}
	for r := 0; r < n; r++ {
		dr, gr, xr := a.dx[r*k:(r+1)*k], a.g[r*k:(r+1)*k], a.x[r*k:(r+1)*k]
		if !a.training {
			simd.Mul(dr, gr, sg)
			continue
		}
		// dr = scale g - scale a - (x - mean) k, in vector passes.
		simd.Sub(dr, xr, me)
		simd.Mul(dr, dr, ke)
		simd.Mul(tmp, gr, sg)
		simd.Sub(dr, tmp, dr)
		simd.Sub(dr, dr, sgx)
	}
}

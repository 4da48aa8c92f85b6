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
	// pass; in evaluation mode a copy of the running statistics, so that
	// the backward pass is right even if the caller changes them between.
	// A row of ones follows: with it the vector kernel Axpy adds a scalar
	// to a piece of a channel (there is no kernel for x + c).
	st := v.aux(2*c + inner).Data()
	mean, rstd, ones := st[:c], st[c:2*c], st[2*c:]
	for i := range ones {
		ones[i] = 1
	}
	xd, yd, wd, bd := x.value.Data(), out.Data(), dataOrNil(w), dataOrNil(b)
	vec := inner >= vecMinInner
	for ch := 0; ch < c; ch++ {
		var mu, rs, vr float64
		centered := false // y holds x - mean already
		switch {
		case training && vec:
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
			vr = ss / float64(m)
			rs = 1 / math.Sqrt(vr+eps)
			centered = true
		case training:
			mu, rs, vr = moments(xd, ch*inner, c*inner, n, inner, eps)
		default:
			mu = float64(runMean.Data()[ch])
			rs = 1 / math.Sqrt(float64(runVar.Data()[ch])+eps)
		}
		if training && runMean != nil {
			// The expressions of PyTorch's CPU kernel, in float64.
			rm, rv := runMean.Data(), runVar.Data()
			unbiased := vr * float64(m) / float64(m-1)
			rm[ch] = T(momentum*mu + (1-momentum)*float64(rm[ch]))
			rv[ch] = T(momentum*unbiased + (1-momentum)*float64(rv[ch]))
		}
		mean[ch], rstd[ch] = T(mu), T(rs)
		// y = x*scale + shift with scale = rs w and shift = b - mean*scale:
		// one multiply-add per element, PyTorch's formulation; from x -
		// mean the shift is b alone.
		scale := T(rs)
		if wd != nil {
			scale *= wd[ch]
		}
		shift := -T(mu) * scale
		if centered {
			shift = 0
		}
		if bd != nil {
			shift += bd[ch]
		}
		for j := 0; j < n; j++ {
			o := (j*c + ch) * inner
			yr, xr := yd[o:o+inner], xd[o:o+inner]
			switch {
			case !vec:
				affineInto(yr, xr, scale, shift)
			case centered:
				simd.Scale(scale, yr, yr)
				simd.Axpy(shift, ones, yr)
			default:
				simd.Scale(scale, yr, xr)
				simd.Axpy(shift, ones, yr)
			}
		}
	}
	if t.record(v, batchNormOp[T]{}, x, w) || b != nil && t.record(v, batchNormOp[T]{}, b, nil) {
		v.in = [2]*Var[T]{x, w}
		v.ins = append(v.ins[:0], b)
		v.f, v.flag = eps, training
	}
	return v
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
		batchNormBackwardFast(t, v, g, n, c, inner)
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
// recorded. Per channel, one pass accumulates sum g and sum g xhat (the
// parameter gradients, and the means the training-mode dx needs), and a
// second writes dx = rstd w (g - sum g/m - xhat sum g xhat/m), or
// rstd w g in evaluation mode.
func batchNormBackwardFast[T Float](t *Tape[T], v, g *Var[T], n, c, inner int) {
	x, w, b := v.in[0], v.in[1], v.ins[0]
	st := v.scratch.Data()
	mean, rstd, ones := st[:c], st[c:2*c], st[2*c:]
	gd, xd, wd := g.value.Data(), x.value.Data(), dataOrNil(w)
	dw, dwVar := paramGrad(t, w)
	db, dbVar := paramGrad(t, b)
	var dx []T
	var dxVar *Var[T]
	if t.wants(x) {
		dxVar = t.constLike(x.Shape())
		dx = dxVar.value.Data()
	}
	m := float64(n * inner)
	// With a dx to write and long contiguous pieces, the reductions run
	// in vector kernels on x - mean written into dx first; otherwise
	// scalar loops.
	vec := dx != nil && inner >= vecMinInner
	for ch := 0; ch < c; ch++ {
		mu, rs := mean[ch], rstd[ch]
		var sg, sgx float64
		if dw != nil || db != nil || v.flag && dx != nil {
			for j := 0; j < n; j++ {
				o := (j*c + ch) * inner
				if vec {
					gr, dr := gd[o:o+inner], dx[o:o+inner]
					copy(dr, xd[o:o+inner])
					simd.Axpy(-mu, ones, dr)
					sg += float64(simd.Sum(gr))
					sgx += float64(simd.Dot(gr, dr))
					continue
				}
				s, sx := gradMoments(gd[o:o+inner], xd[o:o+inner], mu)
				sg += s
				sgx += sx
			}
			// sum g xhat = rstd sum g (x - mean).
			sgx *= float64(rs)
			if dw != nil {
				dw[ch] += T(sgx)
			}
			if db != nil {
				db[ch] += T(sg)
			}
		}
		if dx == nil {
			continue
		}
		scale := rs
		if wd != nil {
			scale *= wd[ch]
		}
		if !v.flag {
			for j := 0; j < n; j++ {
				o := (j*c + ch) * inner
				simd.Scale(scale, dx[o:o+inner], gd[o:o+inner])
			}
			continue
		}
		a, k := T(sg/m), T(sgx/m)*rs
		for j := 0; j < n; j++ {
			o := (j*c + ch) * inner
			dr, gr := dx[o:o+inner], gd[o:o+inner]
			if vec {
				// dr holds x - mean: dr = -scale k dr + scale g - scale a.
				simd.Scale(-scale*k, dr, dr)
				simd.Axpy(scale, gr, dr)
				simd.Axpy(-scale*a, ones, dr)
				continue
			}
			xr := xd[o : o+inner]
			for i, gi := range gr {
				dr[i] = scale * (gi - a - (xr[i]-mu)*k)
			}
		}
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

// gradMoments returns sum g and sum g (x - m) over a contiguous piece of a
// channel, in float64 with two partial sums each to shorten the dependency
// chains.
func gradMoments[T Float](g, x []T, m T) (sg, sgx float64) {
	x = x[:len(g)]
	var s0, s1, t0, t1 float64
	k := 0
	for ; k+2 <= len(g); k += 2 {
		g0, g1 := float64(g[k]), float64(g[k+1])
		s0 += g0
		s1 += g1
		t0 += g0 * float64(x[k]-m)
		t1 += g1 * float64(x[k+1]-m)
	}
	for ; k < len(g); k++ {
		s0 += float64(g[k])
		t0 += float64(g[k]) * float64(x[k]-m)
	}
	return s0 + s1, t0 + t1
}

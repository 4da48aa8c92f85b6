package autograd

import "math"

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
//
// The position of each maximum is kept (in the Var's integer scratch), so
// the backward pass is a scatter of g to those positions (maxPoolScatter),
// whose own derivative is the gather from them (maxPoolGather): both are
// linear, so double backward works. A NaN in a window is its maximum, as
// in PyTorch.
func MaxPool2D[T Float](x *Var[T], p PoolParams) *Var[T] {
	t := x.tape
	g := newPoolGeom("MaxPool2D", x.Shape(), p)
	v := t.newVar()
	out := v.out(g.n, g.c, g.ho, g.wo).Data()
	nOut := len(out)
	if cap(v.ints) < nOut+13 {
		v.ints = make([]int, 0, nOut+13)
	}
	idx := v.ints[13 : 13+nOut]
	maxPoolForward(out, idx, x.value.Data(), &g)
	setPool(v, g) // keeps idx: ints has the capacity
	v.ints = v.ints[:13+nOut]
	if t.record(v, maxPoolOp[T]{}, x, nil) {
		v.idx = v.ints[13:]
	}
	return v
}

type maxPoolOp[T Float] struct{}

func (maxPoolOp[T]) name() string { return "MaxPool2D" }

func (maxPoolOp[T]) backward(t *Tape[T], v, g *Var[T]) {
	if x := v.in[0]; t.wants(x) {
		t.accum(x, maxPoolScatter(g, v.idx, x.Shape()))
	}
}

// maxPoolScatter returns zeros shaped like the pooled input with each
// g[i] added at position idx[i] (windows may overlap): the adjoint of
// maxPoolGather.
func maxPoolScatter[T Float](g *Var[T], idx []int, shape []int) *Var[T] {
	t := g.tape
	v := t.newVar()
	out := v.out(shape...)
	out.Zero()
	d, s := out.Data(), g.value.Data()
	for i, k := range idx {
		d[k] += s[i]
	}
	if t.record(v, maxPoolScatterOp[T]{}, g, nil) {
		v.idx = idx
	}
	return v
}

type maxPoolScatterOp[T Float] struct{}

func (maxPoolScatterOp[T]) name() string { return "maxPoolScatter" }

func (maxPoolScatterOp[T]) backward(t *Tape[T], v, u *Var[T]) {
	if g := v.in[0]; t.wants(g) {
		t.accum(g, maxPoolGather(u, v.idx, g.Shape()))
	}
}

// maxPoolGather returns out[i] = u[idx[i]], shaped like the pooled output.
func maxPoolGather[T Float](u *Var[T], idx []int, shape []int) *Var[T] {
	t := u.tape
	v := t.newVar()
	d, s := v.out(shape...).Data(), u.value.Data()
	for i, k := range idx {
		d[i] = s[k]
	}
	if t.record(v, maxPoolGatherOp[T]{}, u, nil) {
		v.idx = idx
	}
	return v
}

type maxPoolGatherOp[T Float] struct{}

func (maxPoolGatherOp[T]) name() string { return "maxPoolGather" }

func (maxPoolGatherOp[T]) backward(t *Tape[T], v, g *Var[T]) {
	if u := v.in[0]; t.wants(u) {
		t.accum(u, maxPoolScatter(g, v.idx, u.Shape()))
	}
}

// maxPoolForward writes the window maxima of x into out and their
// positions in x into idx.
func maxPoolForward[T Float](out []T, idx []int, xd []T, g *poolGeom) {
	hw, howo := g.h*g.w, g.ho*g.wo
	fast2x2 := g.kh == 2 && g.kw == 2 && g.ph == 0 && g.pw == 0
	for pl := 0; pl < g.n*g.c; pl++ {
		xp := xd[pl*hw : (pl+1)*hw]
		o := pl * howo
		for oh := 0; oh < g.ho; oh++ {
			ow := 0
			if fast2x2 {
				// LeNet's pooling: four comparisons in window order with
				// no loops; a window holding a NaN takes the general path.
				ih := oh * g.sh
				r0, r1 := xp[ih*g.w:(ih+1)*g.w], xp[(ih+1)*g.w:(ih+2)*g.w]
				for ; ow < g.wo; ow++ {
					iw := ow * g.sw
					a, b, c, d := r0[iw], r0[iw+1], r1[iw], r1[iw+1]
					if a != a || b != b || c != c || d != d {
						break
					}
					// max and the conditional moves below compile without
					// branches, which random data would mispredict.
					m := max(max(a, b), max(c, d))
					k := g.w + 1
					if c == m {
						k = g.w
					}
					if b == m {
						k = 1
					}
					if a == m {
						k = 0
					}
					// (A window whose maximum is a zero of both signs gives
					// +0 where PyTorch gives the first one; the gradient
					// goes to the first, as in PyTorch. Loading the chosen
					// element instead made the loop branch again: 3x
					// slower.)
					out[o+ow] = m
					idx[o+ow] = pl*hw + ih*g.w + iw + k
				}
			}
			for ; ow < g.wo; ow++ {
				h0, h1, w0, w1 := g.window(oh, ow)
				best, bi := T(math.Inf(-1)), h0*g.w+w0
			window:
				for ih := h0; ih < h1; ih++ {
					row := xp[ih*g.w : ih*g.w+w1]
					for iw := w0; iw < w1; iw++ {
						if e := row[iw]; e > best || e != e {
							best, bi = e, ih*g.w+iw
							if e != e {
								break window // NaN is the maximum, as in PyTorch
							}
						}
					}
				}
				out[o+ow] = best
				idx[o+ow] = pl*hw + bi
			}
			o += g.wo
		}
	}
}

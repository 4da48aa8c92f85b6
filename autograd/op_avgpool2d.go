package autograd

// AvgPool2D returns the mean over each window of x [N, C, H, W].
//
// Padded positions count in the divisor (count_include_pad=True, PyTorch's
// default) unless p.ExcludePad is set. AvgPool2D is linear; its backward
// rule is its adjoint (avgPoolAdjoint), whose own backward rule is
// AvgPool2D again.
func AvgPool2D[T Float](x *Var[T], p PoolParams) *Var[T] {
	t := x.tape
	g := newPoolGeom("AvgPool2D", x.Shape(), p)
	return avgPool(t, x, g)
}

// divisor returns the number an output's window sum is divided by.
func (g *poolGeom) divisor(h0, h1, w0, w1 int) int {
	if g.excludePad {
		return (h1 - h0) * (w1 - w0)
	}
	// ceil_mode=False keeps every window inside the padded input, so the
	// padded window is always the full kernel.
	return g.kh * g.kw
}

func avgPool[T Float](t *Tape[T], x *Var[T], g poolGeom) *Var[T] {
	v := t.newVar()
	out := v.out(g.n, g.c, g.ho, g.wo).Data()
	xd := x.value.Data()
	hw, howo := g.h*g.w, g.ho*g.wo
	for pl := 0; pl < g.n*g.c; pl++ {
		xp := xd[pl*hw : (pl+1)*hw]
		o := pl * howo
		for oh := 0; oh < g.ho; oh++ {
			for ow := 0; ow < g.wo; ow++ {
				h0, h1, w0, w1 := g.window(oh, ow)
				var s T
				for ih := h0; ih < h1; ih++ {
					for _, e := range xp[ih*g.w+w0 : ih*g.w+w1] {
						s += e
					}
				}
				out[o] = s / T(g.divisor(h0, h1, w0, w1))
				o++
			}
		}
	}
	if t.record(v, avgPoolOp[T]{}, x, nil) {
		setPool(v, g)
	}
	return v
}

type avgPoolOp[T Float] struct{}

func (avgPoolOp[T]) name() string { return "AvgPool2D" }

func (avgPoolOp[T]) backward(t *Tape[T], v, g *Var[T]) {
	if x := v.in[0]; t.wants(x) {
		t.accum(x, avgPoolAdjoint(t, g, poolOf(v)))
	}
}

// avgPoolAdjoint returns the gradient of <g, AvgPool2D(x)> with respect to
// x: each g spread evenly, g/divisor, over its window's input elements.
func avgPoolAdjoint[T Float](t *Tape[T], g *Var[T], geo poolGeom) *Var[T] {
	v := t.newVar()
	dx := v.out(geo.n, geo.c, geo.h, geo.w)
	dx.Zero()
	d, s := dx.Data(), g.value.Data()
	hw, howo := geo.h*geo.w, geo.ho*geo.wo
	for pl := 0; pl < geo.n*geo.c; pl++ {
		dp := d[pl*hw : (pl+1)*hw]
		o := pl * howo
		for oh := 0; oh < geo.ho; oh++ {
			for ow := 0; ow < geo.wo; ow++ {
				h0, h1, w0, w1 := geo.window(oh, ow)
				e := s[o] / T(geo.divisor(h0, h1, w0, w1))
				o++
				for ih := h0; ih < h1; ih++ {
					row := dp[ih*geo.w+w0 : ih*geo.w+w1]
					for i := range row {
						row[i] += e
					}
				}
			}
		}
	}
	if t.record(v, avgPoolAdjointOp[T]{}, g, nil) {
		setPool(v, geo)
	}
	return v
}

type avgPoolAdjointOp[T Float] struct{}

func (avgPoolAdjointOp[T]) name() string { return "avgPoolAdjoint" }

func (avgPoolAdjointOp[T]) backward(t *Tape[T], v, u *Var[T]) {
	if g := v.in[0]; t.wants(g) {
		t.accum(g, avgPool(t, u, poolOf(v)))
	}
}

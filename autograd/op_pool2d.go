package autograd

import "strconv"

// poolGeom is the geometry of a pooling window over x [N, C, H, W], with
// PyTorch's defaults filled in (stride = kernel) and the output size
// (ceil_mode=False: windows that would start in the right or bottom
// padding are dropped).
type poolGeom struct {
	n, c, h, w     int
	kh, kw, sh, sw int
	ph, pw         int
	ho, wo         int
	excludePad     bool
}

// newPoolGeom checks p against x's shape and panics, naming both, when
// they do not fit; op names the calling function.
func newPoolGeom(op string, xs []int, p PoolParams) poolGeom {
	// where is a function so that the success path builds no string.
	where := func() string {
		return " (input shape " + shapeStr(xs) + ", kernel " + pairStr(p.Kernel) + ", stride " + pairStr(p.Stride) +
			", padding " + pairStr(p.Padding) + ")"
	}
	if len(xs) != 4 {
		panic("autograd." + op + ": need an [N, C, H, W] input" + where())
	}
	g := poolGeom{n: xs[0], c: xs[1], h: xs[2], w: xs[3], kh: p.Kernel[0], kw: p.Kernel[1],
		sh: p.Stride[0], sw: p.Stride[1], ph: p.Padding[0], pw: p.Padding[1], excludePad: p.ExcludePad}
	if g.sh == 0 {
		g.sh = g.kh
	}
	if g.sw == 0 {
		g.sw = g.kw
	}
	if g.kh < 1 || g.kw < 1 || g.sh < 1 || g.sw < 1 {
		panic("autograd." + op + ": kernel and stride must be positive" + where())
	}
	// PyTorch's limit: a window must always hold an input element.
	if g.ph < 0 || g.pw < 0 || 2*g.ph > g.kh || 2*g.pw > g.kw {
		panic("autograd." + op + ": padding must be between 0 and half the kernel" + where())
	}
	eh, ew := g.h+2*g.ph-g.kh, g.w+2*g.pw-g.kw
	if eh < 0 || ew < 0 {
		panic("autograd." + op + ": window larger than the padded input" + where())
	}
	g.ho, g.wo = eh/g.sh+1, ew/g.sw+1
	return g
}

func pairStr(p [2]int) string { return "(" + strconv.Itoa(p[0]) + ", " + strconv.Itoa(p[1]) + ")" }

// setPool stores g in v's integer scratch for the backward rule.
func setPool[T Float](v *Var[T], g poolGeom) {
	ex := 0
	if g.excludePad {
		ex = 1
	}
	v.ints = append(v.ints[:0], g.n, g.c, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.ho, g.wo, ex)
}

// poolOf returns the geometry setPool stored in v.
func poolOf[T Float](v *Var[T]) poolGeom {
	s := v.ints[:13]
	return poolGeom{n: s[0], c: s[1], h: s[2], w: s[3], kh: s[4], kw: s[5], sh: s[6], sw: s[7], ph: s[8], pw: s[9],
		ho: s[10], wo: s[11], excludePad: s[12] == 1}
}

// window returns the input rows [h0, h1) and columns [w0, w1) of output
// position (oh, ow), clipped to the input.
func (g *poolGeom) window(oh, ow int) (h0, h1, w0, w1 int) {
	h0, w0 = oh*g.sh-g.ph, ow*g.sw-g.pw
	h1, w1 = min(h0+g.kh, g.h), min(w0+g.kw, g.w)
	return max(h0, 0), h1, max(w0, 0), w1
}

package autograd

import (
	"strconv"
	"unsafe"

	"github.com/gradflow/gradflow/internal/simd"
	"github.com/gradflow/gradflow/tensor"
)

// ConvParams are the geometry of a 2-D convolution, as torch.nn.Conv2d
// takes them. The zero value of a field selects PyTorch's default: stride
// 1, padding 0, dilation 1, one group.
type ConvParams struct {
	Stride   [2]int // (height, width); 0 means 1
	Padding  [2]int // zeros added on both sides of each spatial axis
	Dilation [2]int // spacing of the kernel taps; 0 means 1
	Groups   int    // input and output channels are split into Groups; 0 means 1
}

// Conv2D returns act(alpha * conv(x, w) + b) for x [N, C, H, W] (NCHW, as
// PyTorch), w [Cout, C/Groups, kh, kw] and b [Cout] (or nil): the
// cross-correlation of torch.nn.functional.conv2d with an optional forward
// multiplier alpha (NTK and muP parameterizations) and activation (empty
// means identity). The output is [N, Cout, Ho, Wo] with
// Ho = (H + 2 pad - dil (kh - 1) - 1) / stride + 1.
//
// The convolution is lowered to the packed GEMM (tensor.Conv2DInto): the
// filters times the im2col matrices of a chunk of images (none for 1x1
// stride-1 kernels), the chunks divided among cores. The bias enters the
// output before the product and ReLU is fused into the product's
// epilogue; other activations are recorded after it (Activate). Small
// im2col matrices are kept in the Var's scratch when the weight needs a
// gradient, so the weight gradient of a training step does not build
// them again.
func Conv2D[T Float](x, w, b *Var[T], alpha float64, act Activation, p ConvParams) *Var[T] {
	t := sameTape("Conv2D", x, w)
	g, err := tensor.NewConvGeom(x.Shape(), w.Shape(), p.Stride, p.Padding, p.Dilation, p.Groups)
	if err != nil {
		panic("autograd.Conv2D: " + err.Error())
	}
	if act != "" && !act.Valid() {
		panic("autograd.Conv2D: unknown activation " + strconv.Quote(string(act)))
	}
	if b != nil {
		sameTape("Conv2D", x, b)
		if bs := b.Shape(); len(bs) != 1 || bs[0] != g.Cout {
			panic("autograd.Conv2D: bias shape " + shapeStr(bs) + " does not match weight shape " + shapeStr(w.Shape()))
		}
	}
	fused := act
	if !act.Fusable() {
		fused = ""
	}
	v := conv2d(t, x, w, b, alpha, fused, g)
	if fused != act {
		return Activate(act, v)
	}
	return v
}

// conv2d is Conv2D after validation, with a fusable activation; the
// backward rules of the gradient ops call it too.
func conv2d[T Float](t *Tape[T], x, w, b *Var[T], alpha float64, act Activation, g tensor.ConvGeom) *Var[T] {
	v := t.newVar()
	os := g.OutShape()
	out := v.out(os[:]...)
	ep := tensor.Epilogue[T]{Act: act}
	if b != nil {
		ep.Bias = b.value
	}
	// Keep the im2col matrices for the weight gradient of an unrecorded
	// backward pass (a recorded one rebuilds them inside its own op), when
	// they are small enough to be worth it and the geometry uses them
	// (tensor.ConvGeom.SavesCol: not for 1x1 kernels, nor for valid
	// stride-1 convolutions, whose weight gradient builds its im2col
	// matrices in the wide layout, in cache, from long copies).
	var col []T
	willRecord := t.recording && !t.gradOff && (x.needsGrad || w.needsGrad || b != nil && b.needsGrad)
	colBytes := g.N * g.ColLen() * int(unsafe.Sizeof(T(0)))
	if willRecord && w.needsGrad && g.SavesCol() && colBytes <= maxSavedCol {
		col = v.aux(g.N * g.ColLen()).Data()
	}
	tensor.Conv2DInto(out, x.value, w.value, T(alpha), ep, g, col)
	if t.record(v, conv2DOp[T]{}, x, w) || b != nil && t.record(v, conv2DOp[T]{}, b, nil) {
		v.in = [2]*Var[T]{x, w}
		v.ins = append(v.ins[:0], b)
		v.f, v.flag, v.flag2 = alpha, act == tensor.ReLU, col != nil
		setGeom(v, g)
	}
	return v
}

// setGeom stores g in v's integer scratch, where the backward rule finds it.
func setGeom[T Float](v *Var[T], g tensor.ConvGeom) {
	v.ints = append(v.ints[:0], g.N, g.C, g.H, g.W, g.Cout, g.KH, g.KW, g.StrideH, g.StrideW,
		g.PadH, g.PadW, g.DilH, g.DilW, g.Groups, g.Ho, g.Wo)
}

// geomOf returns the geometry setGeom stored in v.
func geomOf[T Float](v *Var[T]) tensor.ConvGeom {
	s := v.ints[:16]
	return tensor.ConvGeom{N: s[0], C: s[1], H: s[2], W: s[3], Cout: s[4], KH: s[5], KW: s[6],
		StrideH: s[7], StrideW: s[8], PadH: s[9], PadW: s[10], DilH: s[11], DilW: s[12], Groups: s[13],
		Ho: s[14], Wo: s[15]}
}

type conv2DOp[T Float] struct{}

func (conv2DOp[T]) name() string { return "Conv2D" }

// With z = alpha conv(x, w) + b and y = act(z): dz = g act'(z) (for ReLU
// the mask y > 0), dx = alpha convT(dz, w) (conv2DInputGrad),
// dw = alpha sum_n dz[n] col(x[n])^T (conv2DWeightGrad), db = the sums of
// dz over the batch and the spatial axes. The two gradient ops are linear
// and differentiable, so double backward works.
func (conv2DOp[T]) backward(t *Tape[T], v, g *Var[T]) {
	if !t.recording {
		conv2DBackwardFast(t, v, g)
		return
	}
	x, w, b := v.in[0], v.in[1], v.ins[0]
	geo := geomOf(v)
	dz := g
	if v.flag {
		dz = Mul(g, stepMask(v))
	}
	if t.wants(x) {
		t.accum(x, conv2DInputGrad(dz, w, v.f, geo))
	}
	if t.wants(w) {
		t.accum(w, conv2DWeightGrad(x, dz, v.f, geo))
	}
	if b != nil && t.wants(b) {
		r := Reshape(dz, geo.N, geo.Cout, geo.Ho*geo.Wo)
		t.accum(b, SumAxis(SumAxis(r, 2, false), 0, false))
	}
}

// conv2DBackwardFast computes the values of the recorded rule when the
// backward pass is not recorded (a training step): the ReLU mask and the
// bias gradient in one pass over g, the weight gradient from the im2col
// matrices the forward pass kept and straight into the parameter's
// gradient tensor when Backward allows it, and no input gradient at all
// when x needs none (the first layer).
func conv2DBackwardFast[T Float](t *Tape[T], v, g *Var[T]) {
	x, w, b := v.in[0], v.in[1], v.ins[0]
	geo := geomOf(v)
	wantB := b != nil && t.wants(b)
	howo := geo.Ho * geo.Wo

	var bsum []T
	var bVar *Var[T]
	bDirect := wantB && t.directGrad(b) != nil
	if wantB {
		bVar = t.constLike([]int{geo.Cout})
		bsum = bVar.value.Data()
		clear(bsum)
	}
	dz := g
	if v.flag {
		dz = t.constLike(g.Shape())
		simd.MaskPositive(dz.value.Data(), g.value.Data(), v.value.Data())
	}
	if wantB {
		// Per channel, image by image, each plane summed by the vector
		// kernel (a fixed order: the same for any GOMAXPROCS).
		zd := dz.value.Data()
		for n := 0; n < geo.N; n++ {
			for co := 0; co < geo.Cout; co++ {
				o := (n*geo.Cout + co) * howo
				bsum[co] += simd.Sum(zd[o : o+howo])
			}
		}
	}
	if t.wants(x) {
		dx := t.constLike(x.Shape())
		tensor.Conv2DInputGradInto(dx.value, dz.value, w.value, T(v.f), geo)
		t.accum(x, dx)
	}
	if t.wants(w) {
		var col []T
		if v.flag2 {
			col = v.scratch.Data()
		}
		if pg, set := t.claimGrad(w); pg != nil {
			beta := T(1)
			if set {
				beta = 0 // the first contribution of a BackwardFresh
			}
			tensor.Conv2DWeightGradInto(pg, x.value, dz.value, T(v.f), beta, geo, col)
		} else {
			dw := t.constLike(w.Shape())
			tensor.Conv2DWeightGradInto(dw.value, x.value, dz.value, T(v.f), 0, geo, col)
			t.accum(w, dw)
		}
	}
	if wantB {
		if bDirect {
			if pg, set := t.claimGrad(b); set {
				pg.CopyFrom(bVar.value)
			} else {
				tensor.AddInto(pg, pg, bVar.value)
			}
		} else {
			t.accum(b, bVar)
		}
	}
}

// conv2DInputGrad returns alpha convT(g, w): the gradient with respect to
// x [N, C, H, W] of <g, alpha conv(x, w)>, for g [N, Cout, Ho, Wo]. It is
// linear in g and in w.
func conv2DInputGrad[T Float](g, w *Var[T], alpha float64, geo tensor.ConvGeom) *Var[T] {
	t := sameTape("Conv2D", g, w)
	v := t.newVar()
	tensor.Conv2DInputGradInto(v.out(geo.N, geo.C, geo.H, geo.W), g.value, w.value, T(alpha), geo)
	if t.record(v, conv2DInputGradOp[T]{}, g, w) {
		v.f = alpha
		setGeom(v, geo)
	}
	return v
}

type conv2DInputGradOp[T Float] struct{}

func (conv2DInputGradOp[T]) name() string { return "Conv2DInputGrad" }

// For d = alpha convT(g, w) and upstream u: <u, convT(g, w)> =
// <conv(u, w), g> = <WG(u, g), w>, so dg = alpha conv(u, w) and
// dw = alpha conv2DWeightGrad(u, g).
func (conv2DInputGradOp[T]) backward(t *Tape[T], v, u *Var[T]) {
	g, w := v.in[0], v.in[1]
	geo := geomOf(v)
	if t.wants(g) {
		t.accum(g, conv2d(t, u, w, nil, v.f, "", geo))
	}
	if t.wants(w) {
		t.accum(w, conv2DWeightGrad(u, g, v.f, geo))
	}
}

// conv2DWeightGrad returns alpha sum_n g[n] col(x[n])^T: the gradient with
// respect to w [Cout, C/Groups, kh, kw] of <g, alpha conv(x, w)>. It is
// linear in x and in g.
func conv2DWeightGrad[T Float](x, g *Var[T], alpha float64, geo tensor.ConvGeom) *Var[T] {
	t := sameTape("Conv2D", x, g)
	v := t.newVar()
	tensor.Conv2DWeightGradInto(v.out(geo.Cout, geo.C/geo.Groups, geo.KH, geo.KW), x.value, g.value, T(alpha), 0, geo, nil)
	if t.record(v, conv2DWeightGradOp[T]{}, x, g) {
		v.f = alpha
		setGeom(v, geo)
	}
	return v
}

type conv2DWeightGradOp[T Float] struct{}

func (conv2DWeightGradOp[T]) name() string { return "Conv2DWeightGrad" }

// For d = alpha WG(x, g) and upstream u: <u, WG(x, g)> = <g, conv(x, u)> =
// <convT(g, u), x>, so dx = alpha conv2DInputGrad(g, u) and
// dg = alpha conv(x, u).
func (conv2DWeightGradOp[T]) backward(t *Tape[T], v, u *Var[T]) {
	x, g := v.in[0], v.in[1]
	geo := geomOf(v)
	if t.wants(x) {
		t.accum(x, conv2DInputGrad(g, u, v.f, geo))
	}
	if t.wants(g) {
		t.accum(g, conv2d(t, x, u, nil, v.f, "", geo))
	}
}

// maxSavedCol is the largest size in bytes of a batch's im2col matrices
// that Conv2D keeps for the weight gradient. Larger ones cost more to
// write to memory and read back than to build again, chunk by chunk, in a
// buffer that stays in cache (measured, one thread, batch 64, one product
// per image: keeping them made LeNet's 5 MB and 3.8 MB layers 5-15%
// faster and a 3x3 16->16 layer on 28x28, 29 MB, 10% slower; with the
// chunked products LeNet's layers run at the same speed either way).
// LeNet's second layer (valid, stride 1) no longer keeps them at all.
const maxSavedCol = 8 << 20

package tensor

import (
	"errors"
	"strconv"

	"github.com/gradflow/gradflow/internal/parallel"
	"github.com/gradflow/gradflow/internal/simd"
)

// ConvGeom is the geometry of a 2-D convolution of a batch of images
// x [N, C, H, W] (NCHW) with filters w [Cout, C/Groups, KH, KW], giving
// [N, Cout, Ho, Wo]. Build it with NewConvGeom, which checks the shapes and
// fills in Ho and Wo.
type ConvGeom struct {
	N, C, H, W       int // input
	Cout, KH, KW     int // filters
	StrideH, StrideW int
	PadH, PadW       int
	DilH, DilW       int
	Groups           int
	Ho, Wo           int // output spatial size
}

// NewConvGeom returns the geometry of convolving an input of shape x with
// filters of shape w (PyTorch's conv2d semantics). Zero strides,
// dilations and groups mean 1. The error names the shapes when they do
// not fit together.
func NewConvGeom(x, w []int, stride, pad, dil [2]int, groups int) (ConvGeom, error) {
	if len(x) != 4 || len(w) != 4 {
		return ConvGeom{}, errors.New("input shape " + shapeStr(x) + " and weight shape " + shapeStr(w) +
			" are not [N, C, H, W] and [Cout, C/groups, kh, kw]")
	}
	g := ConvGeom{N: x[0], C: x[1], H: x[2], W: x[3], Cout: w[0], KH: w[2], KW: w[3],
		StrideH: or1(stride[0]), StrideW: or1(stride[1]), PadH: pad[0], PadW: pad[1],
		DilH: or1(dil[0]), DilW: or1(dil[1]), Groups: or1(groups)}
	where := " (input " + shapeStr(x) + ", weight " + shapeStr(w) + ")"
	if g.StrideH < 0 || g.StrideW < 0 || g.DilH < 0 || g.DilW < 0 || g.PadH < 0 || g.PadW < 0 || g.Groups < 0 {
		return ConvGeom{}, errors.New("negative stride, padding, dilation or groups" + where)
	}
	if g.C%g.Groups != 0 || g.Cout%g.Groups != 0 || w[1]*g.Groups != g.C {
		return ConvGeom{}, errors.New("channels do not match with groups=" + strconv.Itoa(g.Groups) + where)
	}
	if g.KH < 1 || g.KW < 1 {
		return ConvGeom{}, errors.New("empty kernel" + where)
	}
	eh := g.H + 2*g.PadH - g.DilH*(g.KH-1) - 1
	ew := g.W + 2*g.PadW - g.DilW*(g.KW-1) - 1
	if eh < 0 || ew < 0 {
		return ConvGeom{}, errors.New("kernel larger than the padded input" + where)
	}
	g.Ho, g.Wo = eh/g.StrideH+1, ew/g.StrideW+1
	return g, nil
}

func or1(v int) int {
	if v == 0 {
		return 1
	}
	return v
}

// ColRows returns the rows of one image's im2col matrix: C*KH*KW.
func (g ConvGeom) ColRows() int { return g.C * g.KH * g.KW }

// ColLen returns the length of one image's im2col matrix, [C*KH*KW, Ho*Wo].
func (g ConvGeom) ColLen() int { return g.ColRows() * g.Ho * g.Wo }

// Direct reports whether the image itself is its im2col matrix: a 1x1
// kernel with stride 1 and no padding, where [C, H*W] is already [C, Ho*Wo].
func (g ConvGeom) Direct() bool {
	return g.KH == 1 && g.KW == 1 && g.StrideH == 1 && g.StrideW == 1 && g.PadH == 0 && g.PadW == 0
}

// OutShape returns [N, Cout, Ho, Wo].
func (g ConvGeom) OutShape() [4]int { return [4]int{g.N, g.Cout, g.Ho, g.Wo} }

// colRange returns the output columns [lo, hi) whose input column
// o*stride + off lies inside [0, size): the rest read padding. Computing
// the range once per kernel tap keeps the copy loop free of bounds tests.
func colRange(off, stride, size, out int) (lo, hi int) {
	if off < 0 {
		lo = (-off + stride - 1) / stride
	}
	if size-1-off < 0 {
		return 0, 0
	}
	hi = min(out, (size-1-off)/stride+1)
	if lo > hi {
		lo = hi
	}
	return lo, hi
}

// Im2Col writes the im2col matrix of one image x [C, H, W] into col
// [C*KH*KW, Ho*Wo]: row (c, i, j) holds the input values that kernel tap
// (i, j) of channel c meets at each output position, zero where it meets
// padding. The convolution is then the product w [Cout, C*KH*KW] col
// (per group: rows of col and w split into Groups blocks).
func Im2Col[T Float](col, x []T, g ConvGeom) {
	hw, howo := g.H*g.W, g.Ho*g.Wo
	_ = x[g.C*hw-1]
	_ = col[g.ColLen()-1]
	r := 0
	for c := 0; c < g.C; c++ {
		xc := x[c*hw : (c+1)*hw]
		for ki := 0; ki < g.KH; ki++ {
			offH := ki*g.DilH - g.PadH
			for kj := 0; kj < g.KW; kj++ {
				row := col[r*howo : (r+1)*howo]
				r++
				off := kj*g.DilW - g.PadW
				lo, hi := colRange(off, g.StrideW, g.W, g.Wo)
				for oh := 0; oh < g.Ho; oh++ {
					dst := row[oh*g.Wo : (oh+1)*g.Wo]
					ih := oh*g.StrideH + offH
					if ih < 0 || ih >= g.H {
						clear(dst)
						continue
					}
					src := xc[ih*g.W : (ih+1)*g.W]
					clear(dst[:lo])
					clear(dst[hi:])
					if g.StrideW == 1 {
						copy(dst[lo:hi], src[lo+off:hi+off])
						continue
					}
					for ow := lo; ow < hi; ow++ {
						dst[ow] = src[ow*g.StrideW+off]
					}
				}
			}
		}
	}
}

// Col2Im is the adjoint of Im2Col: it sets x [C, H, W] to the sum, over
// the entries of col [C*KH*KW, Ho*Wo], of each entry added at the input
// position Im2Col read it from (padding entries are dropped). It turns the
// gradient of an im2col matrix into the gradient of the image.
func Col2Im[T Float](x, col []T, g ConvGeom) {
	hw, howo := g.H*g.W, g.Ho*g.Wo
	_ = x[g.C*hw-1]
	_ = col[g.ColLen()-1]
	clear(x[:g.C*hw])
	r := 0
	for c := 0; c < g.C; c++ {
		xc := x[c*hw : (c+1)*hw]
		for ki := 0; ki < g.KH; ki++ {
			offH := ki*g.DilH - g.PadH
			for kj := 0; kj < g.KW; kj++ {
				row := col[r*howo : (r+1)*howo]
				r++
				off := kj*g.DilW - g.PadW
				lo, hi := colRange(off, g.StrideW, g.W, g.Wo)
				if lo == hi {
					continue
				}
				for oh := 0; oh < g.Ho; oh++ {
					ih := oh*g.StrideH + offH
					if ih < 0 || ih >= g.H {
						continue
					}
					src := row[oh*g.Wo : (oh+1)*g.Wo]
					dst := xc[ih*g.W : (ih+1)*g.W]
					if g.StrideW == 1 {
						d := dst[lo+off : hi+off]
						s := src[lo:hi]
						for i := range d {
							d[i] += s[i]
						}
						continue
					}
					for ow := lo; ow < hi; ow++ {
						dst[ow*g.StrideW+off] += src[ow]
					}
				}
			}
		}
	}
}

// convParts is the number of parts the batch of a weight gradient is cut
// into, each summed into its own partial gradient. It is a constant, not
// the number of cores, so the order of the additions, and the result, is
// the same for any GOMAXPROCS.
const convParts = 4

const (
	convForward = iota
	convInputGrad
	convWeightGrad
)

// convJob is one call of the convolution kernels, run by parallel.Run
// over the images of the batch (forward and input gradient) or over
// convParts parts of the batch (weight gradient). It owns per-worker
// im2col scratch and the partial weight gradients; jobs are recycled
// through a FreeList so a training step allocates nothing.
type convJob[T Float] struct {
	kind          int
	g             ConvGeom
	dst, x, w, gy []T
	alpha         T
	bias          []T
	act           simd.Activation
	col           []T // the batch's im2col matrices, or nil
	scratch       []T // one ColLen per worker
	partial       []T // one weight-sized block per part
	parts         int
}

var (
	convJobs32 parallel.FreeList[convJob[float32]]
	convJobs64 parallel.FreeList[convJob[float64]]
)

func getConvJob[T Float]() *convJob[T] {
	var j any
	switch any(T(0)).(type) {
	case float32:
		j = convJobs32.Get()
	default:
		j = convJobs64.Get()
	}
	return j.(*convJob[T])
}

func putConvJob[T Float](j *convJob[T]) {
	scratch, partial := j.scratch, j.partial
	*j = convJob[T]{scratch: scratch, partial: partial}
	switch jj := any(j).(type) {
	case *convJob[float32]:
		convJobs32.Put(jj)
	case *convJob[float64]:
		convJobs64.Put(jj)
	}
}

// grow returns s with length n, reallocating only when its capacity is
// too small.
func grow[T Float](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// imageCol returns the im2col matrix of image n: x's own slice for a
// Direct geometry, the saved matrix when the job has one, else Im2Col into
// the worker's scratch.
func (j *convJob[T]) imageCol(worker, n int) []T {
	g := j.g
	if g.Direct() {
		chw := g.C * g.H * g.W
		return j.x[n*chw : (n+1)*chw]
	}
	cl := g.ColLen()
	if j.col != nil {
		return j.col[n*cl : (n+1)*cl]
	}
	return j.scratch[worker*cl : (worker+1)*cl]
}

// Do runs task t: image t for the forward pass and the input gradient,
// part t of the batch for the weight gradient.
func (j *convJob[T]) Do(worker, t int) {
	g := j.g
	howo := g.Ho * g.Wo
	cog, kg := g.Cout/g.Groups, g.ColRows()/g.Groups
	outLen := g.Cout * howo
	switch j.kind {
	case convForward:
		col := j.imageCol(worker, t)
		if !g.Direct() {
			Im2Col(col, j.x[t*g.C*g.H*g.W:(t+1)*g.C*g.H*g.W], g)
		}
		out := j.dst[t*outLen : (t+1)*outLen]
		var beta T
		if j.bias != nil {
			// The bias enters C before the product accumulates onto it:
			// it is per row here, which the epilogue's column bias
			// cannot express.
			for co, b := range j.bias[:g.Cout] {
				row := out[co*howo : (co+1)*howo]
				for i := range row {
					row[i] = b
				}
			}
			beta = 1
		}
		for gi := 0; gi < g.Groups; gi++ {
			simd.Gemm(false, false, cog, howo, kg, j.alpha, j.w[gi*cog*kg:], kg, col[gi*kg*howo:], howo,
				beta, out[gi*cog*howo:], howo, simd.Epilogue[T]{Act: j.act})
		}
	case convInputGrad:
		chw := g.C * g.H * g.W
		dx := j.dst[t*chw : (t+1)*chw]
		gy := j.gy[t*outLen : (t+1)*outLen]
		col := dx
		if !g.Direct() {
			col = j.scratch[worker*g.ColLen() : (worker+1)*g.ColLen()]
		}
		for gi := 0; gi < g.Groups; gi++ {
			simd.Gemm(true, false, kg, howo, cog, j.alpha, j.w[gi*cog*kg:], kg, gy[gi*cog*howo:], howo,
				0, col[gi*kg*howo:], howo, simd.Epilogue[T]{})
		}
		if !g.Direct() {
			Col2Im(dx, col, g)
		}
	case convWeightGrad:
		wl := g.Cout * kg
		dw := j.partial[t*wl : (t+1)*wl]
		lo, hi := t*g.N/j.parts, (t+1)*g.N/j.parts
		if lo == hi {
			clear(dw)
			return
		}
		chw := g.C * g.H * g.W
		for n := lo; n < hi; n++ {
			col := j.imageCol(worker, n)
			if !g.Direct() && j.col == nil {
				Im2Col(col, j.x[n*chw:(n+1)*chw], g)
			}
			var beta T
			if n > lo {
				beta = 1
			}
			gy := j.gy[n*outLen : (n+1)*outLen]
			for gi := 0; gi < g.Groups; gi++ {
				simd.Gemm(false, true, cog, kg, howo, j.alpha, gy[gi*cog*howo:], howo, col[gi*kg*howo:], howo,
					beta, dw[gi*cog*kg:], kg, simd.Epilogue[T]{})
			}
		}
	}
}

func checkConvLen[T Float](fn, what string, s []T, want int, g ConvGeom) {
	if len(s) != want {
		panic("tensor." + fn + ": " + what + " has " + strconv.Itoa(len(s)) + " elements, want " + strconv.Itoa(want) +
			" for input [" + strconv.Itoa(g.N) + " " + strconv.Itoa(g.C) + " " + strconv.Itoa(g.H) + " " + strconv.Itoa(g.W) +
			"] and weight [" + strconv.Itoa(g.Cout) + " " + strconv.Itoa(g.C/g.Groups) + " " + strconv.Itoa(g.KH) + " " +
			strconv.Itoa(g.KW) + "]")
	}
}

// Conv2DInto sets dst [N, Cout, Ho, Wo] to act(alpha conv(x, w) + bias)
// for x [N, C, H, W] and w [Cout, C/Groups, KH, KW]: per image an im2col
// matrix and one GEMM per group, the images divided among cores. The bias
// (ep.Bias, [Cout] or nil) is written into dst before the product
// accumulates onto it; ep.Act must be identity or ReLU and is fused into
// the product. col, when not nil, receives the N im2col matrices
// (N*ColLen elements) for a later Conv2DWeightGradInto; it is not used for
// a Direct geometry. The result does not depend on GOMAXPROCS.
func Conv2DInto[T Float](dst, x, w *Tensor[T], alpha T, ep Epilogue[T], g ConvGeom, col []T) {
	checkConvLen("Conv2DInto", "input", x.data, g.N*g.C*g.H*g.W, g)
	checkConvLen("Conv2DInto", "weight", w.data, g.Cout*g.ColRows()/g.Groups, g)
	checkConvLen("Conv2DInto", "output", dst.data, g.N*g.Cout*g.Ho*g.Wo, g)
	j := getConvJob[T]()
	j.kind, j.g, j.dst, j.x, j.w, j.alpha, j.act = convForward, g, dst.data, x.data, w.data, alpha, ep.simdAct()
	if ep.Bias != nil {
		checkConvLen("Conv2DInto", "bias", ep.Bias.data, g.Cout, g)
		j.bias = ep.Bias.data
	}
	if !g.Direct() {
		if col != nil {
			checkConvLen("Conv2DInto", "col", col, g.N*g.ColLen(), g)
			j.col = col
		} else {
			j.scratch = grow(j.scratch, parallel.MaxWorkers(0)*g.ColLen())
		}
	}
	parallel.Run(j, g.N, 0)
	putConvJob(j)
}

// Conv2DInputGradInto sets dx [N, C, H, W] to alpha times the transposed
// convolution of gy [N, Cout, Ho, Wo] with w: the gradient of
// <gy, alpha conv(x, w)> with respect to x. Per image, one GEMM w^T gy per
// group gives the gradient of the im2col matrix, and Col2Im folds it back.
func Conv2DInputGradInto[T Float](dx, gy, w *Tensor[T], alpha T, g ConvGeom) {
	checkConvLen("Conv2DInputGradInto", "input gradient", dx.data, g.N*g.C*g.H*g.W, g)
	checkConvLen("Conv2DInputGradInto", "weight", w.data, g.Cout*g.ColRows()/g.Groups, g)
	checkConvLen("Conv2DInputGradInto", "output gradient", gy.data, g.N*g.Cout*g.Ho*g.Wo, g)
	j := getConvJob[T]()
	j.kind, j.g, j.dst, j.gy, j.w, j.alpha = convInputGrad, g, dx.data, gy.data, w.data, alpha
	if !g.Direct() {
		j.scratch = grow(j.scratch, parallel.MaxWorkers(0)*g.ColLen())
	}
	parallel.Run(j, g.N, 0)
	putConvJob(j)
}

// Conv2DWeightGradInto sets dw [Cout, C/Groups, KH, KW] to
// alpha * sum over images of gy[n] col[n]^T + beta dw: the gradient of
// <gy, alpha conv(x, w)> with respect to w, added to beta times dw. col
// holds the batch's im2col matrices from Conv2DInto, or is nil to compute
// them again from x. The batch is cut into a fixed number of parts summed
// separately and then in order, so the result is the same for any
// GOMAXPROCS.
func Conv2DWeightGradInto[T Float](dw, x, gy *Tensor[T], alpha, beta T, g ConvGeom, col []T) {
	checkConvLen("Conv2DWeightGradInto", "input", x.data, g.N*g.C*g.H*g.W, g)
	checkConvLen("Conv2DWeightGradInto", "weight gradient", dw.data, g.Cout*g.ColRows()/g.Groups, g)
	checkConvLen("Conv2DWeightGradInto", "output gradient", gy.data, g.N*g.Cout*g.Ho*g.Wo, g)
	j := getConvJob[T]()
	parts := max(1, min(g.N, convParts))
	wl := len(dw.data)
	j.kind, j.g, j.x, j.gy, j.alpha, j.parts = convWeightGrad, g, x.data, gy.data, alpha, parts
	j.partial = grow(j.partial, parts*wl)
	if !g.Direct() {
		if col != nil {
			checkConvLen("Conv2DWeightGradInto", "col", col, g.N*g.ColLen(), g)
			j.col = col
		} else {
			j.scratch = grow(j.scratch, parallel.MaxWorkers(0)*g.ColLen())
		}
	}
	parallel.Run(j, parts, 0)
	d := dw.data
	switch {
	case beta == 0:
		copy(d, j.partial[:wl])
	case beta == 1:
		p := j.partial[:wl]
		for i := range d {
			d[i] += p[i]
		}
	default:
		p := j.partial[:wl]
		for i := range d {
			d[i] = beta*d[i] + p[i]
		}
	}
	for p := 1; p < parts; p++ {
		q := j.partial[p*wl : (p+1)*wl]
		for i := range d {
			d[i] += q[i]
		}
	}
	putConvJob(j)
}

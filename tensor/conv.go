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
	// where is a function so that the success path builds no string.
	where := func() string { return " (input " + shapeStr(x) + ", weight " + shapeStr(w) + ")" }
	if g.StrideH < 0 || g.StrideW < 0 || g.DilH < 0 || g.DilW < 0 || g.PadH < 0 || g.PadW < 0 || g.Groups < 0 {
		return ConvGeom{}, errors.New("negative stride, padding, dilation or groups" + where())
	}
	if g.C%g.Groups != 0 || g.Cout%g.Groups != 0 || w[1]*g.Groups != g.C {
		return ConvGeom{}, errors.New("channels do not match with groups=" + strconv.Itoa(g.Groups) + where())
	}
	if g.KH < 1 || g.KW < 1 {
		return ConvGeom{}, errors.New("empty kernel" + where())
	}
	eh := g.H + 2*g.PadH - g.DilH*(g.KH-1) - 1
	ew := g.W + 2*g.PadW - g.DilW*(g.KW-1) - 1
	if eh < 0 || ew < 0 {
		return ConvGeom{}, errors.New("kernel larger than the padded input" + where())
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
	if g.shifted() {
		im2colShifted(col, x, g)
		return
	}
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
				ohLo, ohHi := colRange(offH, g.StrideH, g.H, g.Ho)
				// Rows that meet top or bottom padding are contiguous.
				clear(row[:ohLo*g.Wo])
				clear(row[ohHi*g.Wo:])
				if g.StrideW == 1 {
					im2colRows(row, xc, ohLo, ohHi, lo, hi, (ohLo*g.StrideH+offH)*g.W+off, g.Wo, g.StrideH*g.W)
					continue
				}
				for oh := ohLo; oh < ohHi; oh++ {
					dst := row[oh*g.Wo : (oh+1)*g.Wo]
					src := xc[(oh*g.StrideH+offH)*g.W:]
					clear(dst[:lo])
					clear(dst[hi:])
					for ow := lo; ow < hi; ow++ {
						dst[ow] = src[ow*g.StrideW+off]
					}
				}
			}
		}
	}
}

// im2colRows fills rows [ohLo, ohHi) of one tap's im2col row (width wo)
// for unit horizontal stride: columns [lo, hi) from the input at
// xi + lo, advancing by step per row, the rest zero. Indices advance
// instead of being recomputed, and short rows (LeNet's are 10 wide) use
// plain loops, which cost less than calls to memmove and memclr.
func im2colRows[T Float](row, xc []T, ohLo, ohHi, lo, hi, xi, wo, step int) {
	n := hi - lo
	ri := ohLo * wo
	for oh := ohLo; oh < ohHi; oh++ {
		dst := row[ri : ri+wo]
		for i := range dst[:lo] {
			dst[i] = 0
		}
		for i := hi; i < wo; i++ {
			dst[i] = 0
		}
		d := dst[lo:hi]
		src := xc[xi+lo : xi+lo+n]
		if n >= 32 {
			copy(d, src)
		} else {
			src = src[:len(d)]
			for i := range d {
				d[i] = src[i]
			}
		}
		ri += wo
		xi += step
	}
}

// Col2Im is the adjoint of Im2Col: it sets x [C, H, W] to the sum, over
// the entries of col [C*KH*KW, Ho*Wo], of each entry added at the input
// position Im2Col read it from (padding entries are dropped). It turns the
// gradient of an im2col matrix into the gradient of the image. Entries of
// col that fall on padding may be overwritten with zeros.
func Col2Im[T Float](x, col []T, g ConvGeom) {
	hw, howo := g.H*g.W, g.Ho*g.Wo
	_ = x[g.C*hw-1]
	_ = col[g.ColLen()-1]
	clear(x[:g.C*hw])
	if g.shifted() {
		col2imShifted(x, col, g)
		return
	}
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
				ohLo, ohHi := colRange(offH, g.StrideH, g.H, g.Ho)
				if g.StrideW == 1 {
					col2imRows(xc, row, ohLo, ohHi, lo, hi, (ohLo*g.StrideH+offH)*g.W+off, g.Wo, g.StrideH*g.W)
					continue
				}
				for oh := ohLo; oh < ohHi; oh++ {
					src := row[oh*g.Wo : (oh+1)*g.Wo]
					dst := xc[(oh*g.StrideH+offH)*g.W:]
					for ow := lo; ow < hi; ow++ {
						dst[ow*g.StrideW+off] += src[ow]
					}
				}
			}
		}
	}
}

// col2imRows is the adjoint of im2colRows: it adds columns [lo, hi) of
// rows [ohLo, ohHi) of one tap's row into the input.
func col2imRows[T Float](xc, row []T, ohLo, ohHi, lo, hi, xi, wo, step int) {
	n := hi - lo
	ri := ohLo*wo + lo
	xi += lo
	for oh := ohLo; oh < ohHi; oh++ {
		d := xc[xi : xi+n]
		s := row[ri : ri+n]
		s = s[:len(d)]
		for i := range d {
			d[i] += s[i]
		}
		ri += wo
		xi += step
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
		if cog <= smallCout {
			axpyForward(out, j.w, col, j.alpha, beta, j.act, g)
			return
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
			if cog <= smallCout {
				dotWeightGrad(dw, gy, col, j.alpha, beta, g)
				continue
			}
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

// smallCout is the largest number of output channels per group for which
// the forward product and the weight gradient skip the packed GEMM. With
// so few rows of w, each element of the im2col matrix is used at most
// smallCout times, and packing it (a transposing copy, for the weight
// gradient) costs more than the product; axpys and dot products read it
// in place. Measured on LeNet's first layer (6 filters of 1x5x5).
const smallCout = 8

// axpyForward sets out [Cout, Ho*Wo] of one image to
// act(alpha w col + beta out) by rows: each output row is built from
// axpys of the im2col rows, which stay in cache.
func axpyForward[T Float](out, w, col []T, alpha, beta T, act simd.Activation, g ConvGeom) {
	howo := g.Ho * g.Wo
	cog, kg := g.Cout/g.Groups, g.ColRows()/g.Groups
	for co := 0; co < g.Cout; co++ {
		row := out[co*howo : (co+1)*howo]
		if beta == 0 {
			clear(row)
		}
		wr := w[co*kg : (co+1)*kg]
		c0 := (co / cog) * kg
		for p, wp := range wr {
			simd.Axpy(alpha*wp, col[(c0+p)*howo:(c0+p+1)*howo], row)
		}
		if act == simd.ActReLU {
			simd.Relu(row, row)
		}
	}
}

// dotWeightGrad sets dw [Cout, C/Groups*KH*KW] to
// alpha gy col^T + beta dw for one image, one dot product per element.
func dotWeightGrad[T Float](dw, gy, col []T, alpha, beta T, g ConvGeom) {
	howo := g.Ho * g.Wo
	cog, kg := g.Cout/g.Groups, g.ColRows()/g.Groups
	for co := 0; co < g.Cout; co++ {
		gr := gy[co*howo : (co+1)*howo]
		dr := dw[co*kg : (co+1)*kg]
		c0 := (co / cog) * kg
		for p := range dr {
			d := alpha * simd.Dot(gr, col[(c0+p)*howo:(c0+p+1)*howo])
			if beta != 0 {
				d += beta * dr[p]
			}
			dr[p] = d
		}
	}
}

// shifted reports whether every kernel tap's im2col row is the image
// plane shifted by a constant offset, apart from the entries that fall on
// padding: stride 1 and an output as wide as the input (a "same"
// convolution, such as 3x3 with padding 1). Then a tap is one long copy
// (or addition) and a fix-up of its padding columns, instead of a short
// copy per output row.
func (g ConvGeom) shifted() bool {
	return g.StrideH == 1 && g.StrideW == 1 && g.Wo == g.W
}

// tapRows returns the output rows [lo, hi) whose input row
// oh + offH lies inside the image.
func (g ConvGeom) tapRows(offH int) (lo, hi int) {
	return colRange(offH, 1, g.H, g.Ho)
}

// shiftSpan returns the range [a, b) of positions i of an output plane
// (rows [ohLo, ohHi)) whose source i + shift lies inside the input plane.
func shiftSpan(ohLo, ohHi, wo, shift, hw int) (a, b int) {
	a, b = ohLo*wo, ohHi*wo
	a = max(a, -shift)
	b = min(b, hw-shift)
	return a, max(a, b)
}

func im2colShifted[T Float](col, x []T, g ConvGeom) {
	hw, howo := g.H*g.W, g.Ho*g.Wo
	r := 0
	for c := 0; c < g.C; c++ {
		xc := x[c*hw : (c+1)*hw]
		for ki := 0; ki < g.KH; ki++ {
			offH := ki*g.DilH - g.PadH
			ohLo, ohHi := g.tapRows(offH)
			for kj := 0; kj < g.KW; kj++ {
				row := col[r*howo : (r+1)*howo]
				r++
				off := kj*g.DilW - g.PadW
				lo, hi := colRange(off, 1, g.W, g.Wo)
				shift := offH*g.W + off
				clear(row[:ohLo*g.Wo])
				clear(row[ohHi*g.Wo:])
				a, b := shiftSpan(ohLo, ohHi, g.Wo, shift, hw)
				copy(row[a:b], xc[a+shift:b+shift])
				// The columns that meet padding got values of the
				// neighbouring input row (or none, at the plane's ends).
				for oh := ohLo; oh < ohHi; oh++ {
					pr := row[oh*g.Wo : (oh+1)*g.Wo]
					clear(pr[:lo])
					clear(pr[hi:])
				}
			}
		}
	}
}

func col2imShifted[T Float](x, col []T, g ConvGeom) {
	hw, howo := g.H*g.W, g.Ho*g.Wo
	r := 0
	for c := 0; c < g.C; c++ {
		xc := x[c*hw : (c+1)*hw]
		for ki := 0; ki < g.KH; ki++ {
			offH := ki*g.DilH - g.PadH
			ohLo, ohHi := g.tapRows(offH)
			for kj := 0; kj < g.KW; kj++ {
				row := col[r*howo : (r+1)*howo]
				r++
				off := kj*g.DilW - g.PadW
				lo, hi := colRange(off, 1, g.W, g.Wo)
				shift := offH*g.W + off
				// Zero the entries that fall on padding columns, which
				// the shifted addition would add to the neighbouring row.
				for oh := ohLo; oh < ohHi; oh++ {
					pr := row[oh*g.Wo : (oh+1)*g.Wo]
					clear(pr[:lo])
					clear(pr[hi:])
				}
				a, b := shiftSpan(ohLo, ohHi, g.Wo, shift, hw)
				if a < b {
					simd.Add(xc[a+shift:b+shift], xc[a+shift:b+shift], row[a:b])
				}
			}
		}
	}
}

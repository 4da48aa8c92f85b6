package tensor

import (
	"errors"
	"strconv"
	"unsafe"

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
func Im2Col[T Float](col, x []T, g ConvGeom) { im2col(col, g.Ho*g.Wo, x, g) }

// im2col is Im2Col with the rows of col ld apart (ld >= Ho*Wo), so that
// the matrices of several images can sit side by side in one matrix.
func im2col[T Float](col []T, ld int, x []T, g ConvGeom) {
	hw, howo := g.H*g.W, g.Ho*g.Wo
	_ = x[g.C*hw-1]
	_ = col[(g.ColRows()-1)*ld+howo-1]
	if g.shifted() {
		im2colShifted(col, ld, x, g)
		return
	}
	r := 0
	for c := 0; c < g.C; c++ {
		xc := x[c*hw : (c+1)*hw]
		for ki := 0; ki < g.KH; ki++ {
			offH := ki*g.DilH - g.PadH
			for kj := 0; kj < g.KW; kj++ {
				row := col[r*ld : r*ld+howo]
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
	if n == wo {
		// No padding columns (a valid convolution): one move per row.
		for oh := ohLo; oh < ohHi; oh++ {
			copyShort(row[ri:ri+n], xc[xi:xi+n])
			ri += wo
			xi += step
		}
		return
	}
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
		copyShort(d, src)
		ri += wo
		xi += step
	}
}

// Col2Im is the adjoint of Im2Col: it sets x [C, H, W] to the sum, over
// the entries of col [C*KH*KW, Ho*Wo], of each entry added at the input
// position Im2Col read it from (padding entries are dropped). It turns the
// gradient of an im2col matrix into the gradient of the image. Entries of
// col that fall on padding may be overwritten with zeros.
func Col2Im[T Float](x, col []T, g ConvGeom) { col2im(x, col, g.Ho*g.Wo, g) }

// col2im is Col2Im with the rows of col ld apart.
func col2im[T Float](x, col []T, ld int, g ConvGeom) {
	hw, howo := g.H*g.W, g.Ho*g.Wo
	_ = x[g.C*hw-1]
	_ = col[(g.ColRows()-1)*ld+howo-1]
	clear(x[:g.C*hw])
	if g.shifted() {
		col2imShifted(x, col, ld, g)
		return
	}
	r := 0
	for c := 0; c < g.C; c++ {
		xc := x[c*hw : (c+1)*hw]
		for ki := 0; ki < g.KH; ki++ {
			offH := ki*g.DilH - g.PadH
			for kj := 0; kj < g.KW; kj++ {
				row := col[r*ld : r*ld+howo]
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

// colChunkElems is about the number of im2col elements built for one
// product: the images of the batch are taken in chunks of this many
// elements' worth (at least one image), side by side in one matrix, so
// that each GEMM has enough columns to amortize its packing and calls
// while its operands stay in the L2 cache. The chunking depends only on
// the shape, never on the number of cores.
const colChunkElems = 1 << 17

// chunk returns the number of images per chunk.
func (g ConvGeom) chunk() int {
	if g.Direct() {
		// The image is its own im2col matrix: no copy to batch it.
		return 1
	}
	return max(1, min(g.N, colChunkElems/max(1, g.ColLen())))
}

// chunks returns the number of chunks of the batch.
func (g ConvGeom) chunks() int { return (g.N + g.chunk() - 1) / g.chunk() }

// convJob is one call of the convolution kernels, run by parallel.Run
// over the chunks of the batch (forward and input gradient) or over
// convParts parts of the chunks (weight gradient). It owns per-worker
// scratch (a chunk's im2col matrix and its output or output gradient)
// and the partial weight gradients; jobs are recycled through a FreeList
// so that a training step allocates nothing.
type convJob[T Float] struct {
	kind          int
	g             ConvGeom
	dst, x, w, gy []T
	alpha         T
	bias          []T
	act           simd.Activation
	col           []T // the batch's im2col matrices, chunk by chunk, or nil
	scratch       []T // a chunk's im2col matrix per worker
	scratch2      []T // a chunk's output (gradient) per worker
	partial       []T // one weight-sized block per part
	parts         int
}

var (
	convJobs32 parallel.FreeList[convJob[float32]]
	convJobs64 parallel.FreeList[convJob[float64]]
)

func getConvJob[T Float](g ConvGeom) *convJob[T] {
	var j *convJob[T]
	switch any(T(0)).(type) {
	case float32:
		j = any(convJobs32.Get()).(*convJob[T])
	default:
		j = any(convJobs64.Get()).(*convJob[T])
	}
	w := parallel.MaxWorkers(0)
	j.g = g
	j.scratch = grow(j.scratch, w*g.colScratch())
	j.scratch2 = grow(j.scratch2, w*g.outScratch())
	return j
}

func putConvJob[T Float](j *convJob[T]) {
	scratch, scratch2, partial := j.scratch, j.scratch2, j.partial
	*j = convJob[T]{scratch: scratch, scratch2: scratch2, partial: partial}
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

// chunkImages returns the images [n0, n0+pc) of chunk c and the row
// length ld = pc*Ho*Wo of its matrices.
func (j *convJob[T]) chunkImages(c int) (n0, pc, ld int) {
	p := j.g.chunk()
	n0 = c * p
	pc = min(p, j.g.N-n0)
	return n0, pc, pc * j.g.Ho * j.g.Wo
}

// chunkCol returns chunk c's im2col matrix [C*KH*KW, ld]: x's own image
// for a Direct geometry, the saved matrix when the job has one (build
// says whether the forward pass must fill it), else the worker's scratch
// filled from x.
func (j *convJob[T]) chunkCol(worker, c int, build bool) []T {
	g := j.g
	n0, pc, ld := j.chunkImages(c)
	chw := g.C * g.H * g.W
	if g.Direct() {
		return j.x[n0*chw : (n0+1)*chw]
	}
	var col []T
	if j.col != nil {
		size := g.ColLen() * g.chunk()
		col = j.col[c*size : c*size+pc*g.ColLen()]
		if !build {
			return col
		}
	} else {
		size := g.colScratch()
		col = j.scratch[worker*size : worker*size+pc*g.ColLen()]
	}
	howo := g.Ho * g.Wo
	for i := 0; i < pc; i++ {
		im2col(col[i*howo:], ld, j.x[(n0+i)*chw:(n0+i+1)*chw], g)
	}
	return col
}

// chunkOut returns a [Cout, ld] matrix for chunk c's output (or output
// gradient): the image's own slice of out when the chunk has one image,
// else the worker's scratch. gather copies the chunk's images of out into
// the scratch.
func (j *convJob[T]) chunkOut(worker, c int, out []T, gather bool) []T {
	g := j.g
	n0, pc, ld := j.chunkImages(c)
	howo, outLen := g.Ho*g.Wo, g.Cout*g.Ho*g.Wo
	if pc == 1 {
		return out[n0*outLen : (n0+1)*outLen]
	}
	size := g.outScratch()
	m := j.scratch2[worker*size : worker*size+pc*outLen]
	if gather {
		for i := 0; i < pc; i++ {
			img := out[(n0+i)*outLen:]
			for co := 0; co < g.Cout; co++ {
				copy(m[co*ld+i*howo:co*ld+(i+1)*howo], img[co*howo:(co+1)*howo])
			}
		}
	}
	return m
}

// scatterOut copies chunk c's output matrix m [Cout, ld] to its images in
// out, unless m is already there (one image).
func (j *convJob[T]) scatterOut(c int, m, out []T) {
	g := j.g
	n0, pc, ld := j.chunkImages(c)
	if pc == 1 {
		return
	}
	howo, outLen := g.Ho*g.Wo, g.Cout*g.Ho*g.Wo
	for i := 0; i < pc; i++ {
		img := out[(n0+i)*outLen:]
		for co := 0; co < g.Cout; co++ {
			copy(img[co*howo:(co+1)*howo], m[co*ld+i*howo:co*ld+(i+1)*howo])
		}
	}
}

// Do runs task t: chunk t for the forward pass and the input gradient,
// part t of the chunks for the weight gradient.
func (j *convJob[T]) Do(worker, t int) {
	g := j.g
	cog, kg := g.Cout/g.Groups, g.ColRows()/g.Groups
	switch j.kind {
	case convForward:
		wide := g.wide() && j.col == nil
		var col, out []T
		var ld int
		if wide {
			col, out, ld = j.wideCol(worker, t), j.wideOut(worker, t, nil), j.wideLd(t)
		} else {
			col = j.chunkCol(worker, t, true)
			out = j.chunkOut(worker, t, j.dst, false)
			_, _, ld = j.chunkImages(t)
		}
		var beta T
		if j.bias != nil {
			// The bias enters C before the product accumulates onto it:
			// it is per row here, which the epilogue's column bias
			// cannot express.
			for co, b := range j.bias[:g.Cout] {
				row := out[co*ld : (co+1)*ld]
				for i := range row {
					row[i] = b
				}
			}
			beta = 1
		}
		if cog <= smallCout {
			axpyForward(out, j.w, col, ld, j.alpha, beta, j.act, g)
		} else {
			for gi := 0; gi < g.Groups; gi++ {
				simd.Gemm(false, false, cog, ld, kg, j.alpha, j.w[gi*cog*kg:], kg, col[gi*kg*ld:], ld,
					beta, out[gi*cog*ld:], ld, simd.Epilogue[T]{Act: j.act})
			}
		}
		if wide {
			j.scatterWide(t, out)
		} else {
			j.scatterOut(t, out, j.dst)
		}
	case convInputGrad:
		if g.wide() {
			j.inputGradWide(worker, t)
			return
		}
		n0, pc, ld := j.chunkImages(t)
		gy := j.chunkOut(worker, t, j.gy, true)
		chw := g.C * g.H * g.W
		dcol := j.dst[n0*chw : (n0+1)*chw]
		if !g.Direct() {
			size := g.colScratch()
			dcol = j.scratch[worker*size : worker*size+pc*g.ColLen()]
		}
		for gi := 0; gi < g.Groups; gi++ {
			simd.Gemm(true, false, kg, ld, cog, j.alpha, j.w[gi*cog*kg:], kg, gy[gi*cog*ld:], ld,
				0, dcol[gi*kg*ld:], ld, simd.Epilogue[T]{})
		}
		if !g.Direct() {
			howo := g.Ho * g.Wo
			for i := 0; i < pc; i++ {
				col2im(j.dst[(n0+i)*chw:(n0+i+1)*chw], dcol[i*howo:], ld, g)
			}
		}
	case convWeightGrad:
		wl := g.Cout * kg
		dw := j.partial[t*wl : (t+1)*wl]
		nc := g.chunks()
		lo, hi := t*nc/j.parts, (t+1)*nc/j.parts
		if lo == hi {
			clear(dw)
			return
		}
		for c := lo; c < hi; c++ {
			var col, gy []T
			var ld int
			if g.wide() && j.col == nil {
				col, gy, ld = j.wideCol(worker, c), j.wideOut(worker, c, j.gy), j.wideLd(c)
			} else {
				col = j.chunkCol(worker, c, false)
				gy = j.chunkOut(worker, c, j.gy, true)
				_, _, ld = j.chunkImages(c)
			}
			var beta T
			if c > lo {
				beta = 1
			}
			if cog <= smallCout {
				dotWeightGrad(dw, gy, col, ld, j.alpha, beta, g)
				continue
			}
			for gi := 0; gi < g.Groups; gi++ {
				simd.Gemm(false, true, cog, kg, ld, j.alpha, gy[gi*cog*ld:], ld, col[gi*kg*ld:], ld,
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
// for x [N, C, H, W] and w [Cout, C/Groups, KH, KW]: the batch is taken
// in chunks of images whose im2col matrices sit side by side, one GEMM
// per chunk and group (axpys for few filters), the chunks divided among
// cores. The bias
// (ep.Bias, [Cout] or nil) is written into dst before the product
// accumulates onto it; ep.Act must be identity or ReLU and is fused into
// the product. col, when not nil, receives the N im2col matrices
// (N*ColLen elements) for a later Conv2DWeightGradInto; it is not used for
// a Direct geometry. The result does not depend on GOMAXPROCS.
func Conv2DInto[T Float](dst, x, w *Tensor[T], alpha T, ep Epilogue[T], g ConvGeom, col []T) {
	checkConvLen("Conv2DInto", "input", x.data, g.N*g.C*g.H*g.W, g)
	checkConvLen("Conv2DInto", "weight", w.data, g.Cout*g.ColRows()/g.Groups, g)
	checkConvLen("Conv2DInto", "output", dst.data, g.N*g.Cout*g.Ho*g.Wo, g)
	j := getConvJob[T](g)
	j.kind, j.dst, j.x, j.w, j.alpha, j.act = convForward, dst.data, x.data, w.data, alpha, ep.simdAct()
	if ep.Bias != nil {
		checkConvLen("Conv2DInto", "bias", ep.Bias.data, g.Cout, g)
		j.bias = ep.Bias.data
	}
	if col != nil && !g.Direct() {
		checkConvLen("Conv2DInto", "col", col, g.N*g.ColLen(), g)
		j.col = col
	}
	parallel.Run(j, g.chunks(), 0)
	putConvJob(j)
}

// Conv2DInputGradInto sets dx [N, C, H, W] to alpha times the transposed
// convolution of gy [N, Cout, Ho, Wo] with w: the gradient of
// <gy, alpha conv(x, w)> with respect to x. Per chunk of images, one GEMM
// w^T gy per group gives the gradient of the im2col matrices, and Col2Im
// folds each back.
func Conv2DInputGradInto[T Float](dx, gy, w *Tensor[T], alpha T, g ConvGeom) {
	checkConvLen("Conv2DInputGradInto", "input gradient", dx.data, g.N*g.C*g.H*g.W, g)
	checkConvLen("Conv2DInputGradInto", "weight", w.data, g.Cout*g.ColRows()/g.Groups, g)
	checkConvLen("Conv2DInputGradInto", "output gradient", gy.data, g.N*g.Cout*g.Ho*g.Wo, g)
	j := getConvJob[T](g)
	j.kind, j.dst, j.gy, j.w, j.alpha = convInputGrad, dx.data, gy.data, w.data, alpha
	parallel.Run(j, g.chunks(), 0)
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
	j := getConvJob[T](g)
	parts := max(1, min(g.chunks(), convParts))
	wl := len(dw.data)
	j.kind, j.x, j.gy, j.alpha, j.parts = convWeightGrad, x.data, gy.data, alpha, parts
	j.partial = grow(j.partial, parts*wl)
	if col != nil && !g.Direct() {
		checkConvLen("Conv2DWeightGradInto", "col", col, g.N*g.ColLen(), g)
		j.col = col
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

// axpyForward sets out [Cout, ld] of a chunk to act(alpha w col + beta
// out) for col [C*KH*KW, ld], by rows: each output row is built from
// axpys of the im2col rows, which stay in cache.
func axpyForward[T Float](out, w, col []T, ld int, alpha, beta T, act simd.Activation, g ConvGeom) {
	cog, kg := g.Cout/g.Groups, g.ColRows()/g.Groups
	for co := 0; co < g.Cout; co++ {
		row := out[co*ld : (co+1)*ld]
		if beta == 0 {
			clear(row)
		}
		wr := w[co*kg : (co+1)*kg]
		c0 := (co / cog) * kg
		for p, wp := range wr {
			simd.Axpy(alpha*wp, col[(c0+p)*ld:(c0+p+1)*ld], row)
		}
		if act == simd.ActReLU {
			simd.Relu(row, row)
		}
	}
}

// dotWeightGrad sets dw [Cout, C/Groups*KH*KW] to alpha gy col^T + beta
// dw for a chunk's gy [Cout, ld] and col [C*KH*KW, ld], one dot product
// per element.
func dotWeightGrad[T Float](dw, gy, col []T, ld int, alpha, beta T, g ConvGeom) {
	cog, kg := g.Cout/g.Groups, g.ColRows()/g.Groups
	for co := 0; co < g.Cout; co++ {
		gr := gy[co*ld : (co+1)*ld]
		dr := dw[co*kg : (co+1)*kg]
		c0 := (co / cog) * kg
		for p := range dr {
			d := alpha * simd.Dot(gr, col[(c0+p)*ld:(c0+p+1)*ld])
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
	if b <= a {
		// Nothing of the tap lies in the image (an image smaller than
		// the kernel): an empty range inside the rows.
		return ohLo * wo, ohLo * wo
	}
	return a, b
}

func im2colShifted[T Float](col []T, ld int, x []T, g ConvGeom) {
	hw, howo := g.H*g.W, g.Ho*g.Wo
	r := 0
	for c := 0; c < g.C; c++ {
		xc := x[c*hw : (c+1)*hw]
		for ki := 0; ki < g.KH; ki++ {
			offH := ki*g.DilH - g.PadH
			ohLo, ohHi := g.tapRows(offH)
			for kj := 0; kj < g.KW; kj++ {
				row := col[r*ld : r*ld+howo]
				r++
				off := kj*g.DilW - g.PadW
				lo, hi := colRange(off, 1, g.W, g.Wo)
				shift := offH*g.W + off
				clear(row[:ohLo*g.Wo])
				clear(row[ohHi*g.Wo:])
				if a, b := shiftSpan(ohLo, ohHi, g.Wo, shift, hw); a < b {
					copy(row[a:b], xc[a+shift:b+shift])
				}
				// The columns that meet padding got values of the
				// neighbouring input row (or none, at the plane's ends).
				zeroPadCols(row, ohLo, ohHi, lo, hi, g.Wo)
			}
		}
	}
}

func col2imShifted[T Float](x, col []T, ld int, g ConvGeom) {
	hw, howo := g.H*g.W, g.Ho*g.Wo
	r := 0
	for c := 0; c < g.C; c++ {
		xc := x[c*hw : (c+1)*hw]
		for ki := 0; ki < g.KH; ki++ {
			offH := ki*g.DilH - g.PadH
			ohLo, ohHi := g.tapRows(offH)
			for kj := 0; kj < g.KW; kj++ {
				row := col[r*ld : r*ld+howo]
				r++
				off := kj*g.DilW - g.PadW
				lo, hi := colRange(off, 1, g.W, g.Wo)
				shift := offH*g.W + off
				// Zero the entries that fall on padding columns, which
				// the shifted addition would add to the neighbouring row.
				zeroPadCols(row, ohLo, ohHi, lo, hi, g.Wo)
				a, b := shiftSpan(ohLo, ohHi, g.Wo, shift, hw)
				if a < b {
					simd.Add(xc[a+shift:b+shift], xc[a+shift:b+shift], row[a:b])
				}
			}
		}
	}
}

// wide reports whether the input gradient uses the wide layout: a valid
// (unpadded) convolution with unit strides whose output is narrower than
// its input. Output position (oh, ow) is then placed at oh*W + ow, in rows
// as wide as the input's, and every kernel tap's im2col row becomes the
// input plane shifted by a constant, so that Col2Im is one long addition
// per tap instead of one short one per output row (LeNet's second layer
// has rows of 10). The columns ow >= Wo of the output gradient are zero,
// so the extra columns of the im2col gradient are zero too and add
// nothing; they cost (W-Wo)/Wo more work in the product, which has few
// rows (K = Cout).
func (g ConvGeom) wide() bool {
	return g.StrideH == 1 && g.StrideW == 1 && g.PadH == 0 && g.PadW == 0 && g.Wo < g.W && !g.Direct()
}

// SavesCol reports whether Conv2DInto's col argument is worth passing for
// a later Conv2DWeightGradInto: false for a Direct geometry (there is no
// im2col matrix) and for a wide one (see ConvGeom.wide: the weight
// gradient builds its wide im2col matrices chunk by chunk in cache, long
// copies that cost less than writing the compact matrices to memory and
// reading them back).
func (g ConvGeom) SavesCol() bool { return !g.Direct() && !g.wide() }

// colScratch is the size of a worker's im2col scratch: a chunk's im2col
// matrix, in the wide layout when the input gradient uses it.
func (g ConvGeom) colScratch() int {
	n := g.ColLen() * g.chunk()
	if g.wide() {
		n = max(n, g.ColRows()*g.Ho*g.W*g.chunk())
	}
	return n
}

// outScratch is the size of a worker's output (gradient) scratch.
func (g ConvGeom) outScratch() int {
	n := g.Cout * g.Ho * g.Wo * g.chunk()
	if g.wide() {
		n = max(n, g.Cout*g.Ho*g.W*g.chunk())
	}
	return n
}

// inputGradWide computes the input gradient of chunk c in the wide layout
// (see ConvGeom.wide): gather the chunk's output gradient into rows W
// wide with zeros in the extra columns, one product per group for the
// im2col gradient, and per image and tap one addition of a shifted plane.
// Every element of dx receives the same terms in the same order as in the
// compact layout (plus exact zeros), so the results are the same.
func (j *convJob[T]) inputGradWide(worker, c int) {
	g := j.g
	n0, pc, _ := j.chunkImages(c)
	plane := g.Ho * g.W
	ld := pc * plane
	gy := j.wideOut(worker, c, j.gy)
	csize := g.colScratch()
	dcol := j.scratch[worker*csize : worker*csize+g.ColRows()*ld]
	cog, kg := g.Cout/g.Groups, g.ColRows()/g.Groups
	for gi := 0; gi < g.Groups; gi++ {
		simd.Gemm(true, false, kg, ld, cog, j.alpha, j.w[gi*cog*kg:], kg, gy[gi*cog*ld:], ld,
			0, dcol[gi*kg*ld:], ld, simd.Epilogue[T]{})
	}
	hw, chw := g.H*g.W, g.C*g.H*g.W
	for i := 0; i < pc; i++ {
		x := j.dst[(n0+i)*chw : (n0+i+1)*chw]
		clear(x)
		r := 0
		for ch := 0; ch < g.C; ch++ {
			xc := x[ch*hw : (ch+1)*hw]
			for ki := 0; ki < g.KH; ki++ {
				for kj := 0; kj < g.KW; kj++ {
					shift := ki*g.DilH*g.W + kj*g.DilW
					// Positions past the plane's end are extra columns
					// of the last row: zero.
					b := min(plane, hw-shift)
					row := dcol[r*ld+i*plane : r*ld+i*plane+b]
					r++
					simd.Add(xc[shift:shift+b], xc[shift:shift+b], row)
				}
			}
		}
	}
}

// wideLd returns the row length of chunk c's matrices in the wide layout.
func (j *convJob[T]) wideLd(c int) int {
	_, pc, _ := j.chunkImages(c)
	return pc * j.g.Ho * j.g.W
}

// wideOut returns the worker's [Cout, ld] scratch for chunk c's output
// (gradient) in the wide layout; when src is not nil, it is filled with
// chunk c's images of src, zeros in the extra columns.
func (j *convJob[T]) wideOut(worker, c int, src []T) []T {
	g := j.g
	n0, pc, _ := j.chunkImages(c)
	howo, plane := g.Ho*g.Wo, g.Ho*g.W
	ld, outLen := pc*plane, g.Cout*howo
	size := g.outScratch()
	m := j.scratch2[worker*size : worker*size+g.Cout*ld]
	if src == nil {
		return m
	}
	for i := 0; i < pc; i++ {
		img := src[(n0+i)*outLen : (n0+i+1)*outLen]
		for co := 0; co < g.Cout; co++ {
			s := img[co*howo : (co+1)*howo]
			dst := m[co*ld+i*plane : co*ld+(i+1)*plane]
			for oh := 0; oh < g.Ho; oh++ {
				d := dst[oh*g.W : (oh+1)*g.W]
				copyShort(d[:g.Wo], s[oh*g.Wo:(oh+1)*g.Wo])
				clear(d[g.Wo:])
			}
		}
	}
	return m
}

// scatterWide copies the valid columns of chunk c's output m [Cout, ld]
// (wide layout) to its images in dst.
func (j *convJob[T]) scatterWide(c int, m []T) {
	g := j.g
	n0, pc, _ := j.chunkImages(c)
	howo, plane := g.Ho*g.Wo, g.Ho*g.W
	ld, outLen := pc*plane, g.Cout*howo
	for i := 0; i < pc; i++ {
		img := j.dst[(n0+i)*outLen : (n0+i+1)*outLen]
		for co := 0; co < g.Cout; co++ {
			d := img[co*howo : (co+1)*howo]
			src := m[co*ld+i*plane : co*ld+(i+1)*plane]
			for oh := 0; oh < g.Ho; oh++ {
				copyShort(d[oh*g.Wo:(oh+1)*g.Wo], src[oh*g.W:oh*g.W+g.Wo])
			}
		}
	}
}

// wideCol builds chunk c's im2col matrix [C*KH*KW, ld] in the worker's
// scratch in the wide layout: each tap's row of an image is the input
// plane shifted by the tap's offset, one copy, zero past the plane's end.
// Its extra columns hold input values (or zeros) that meet only the zero
// columns of a wide output gradient.
func (j *convJob[T]) wideCol(worker, c int) []T {
	g := j.g
	n0, pc, _ := j.chunkImages(c)
	plane, hw, chw := g.Ho*g.W, g.H*g.W, g.C*g.H*g.W
	ld := pc * plane
	size := g.colScratch()
	col := j.scratch[worker*size : worker*size+g.ColRows()*ld]
	for i := 0; i < pc; i++ {
		x := j.x[(n0+i)*chw : (n0+i+1)*chw]
		r := 0
		for ch := 0; ch < g.C; ch++ {
			xc := x[ch*hw : (ch+1)*hw]
			for ki := 0; ki < g.KH; ki++ {
				for kj := 0; kj < g.KW; kj++ {
					shift := ki*g.DilH*g.W + kj*g.DilW
					b := min(plane, hw-shift)
					row := col[r*ld+i*plane : r*ld+(i+1)*plane]
					r++
					copy(row[:b], xc[shift:shift+b])
					clear(row[b:])
				}
			}
		}
	}
	return col
}

// copyShort copies src into dst (len(src) >= len(dst), no overlap), with
// two overlapping fixed-size moves for rows of 32 to 128 bytes, where a
// call to memmove per row (LeNet's rows are 40 bytes) costs more than the
// copy.
func copyShort[T Float](dst, src []T) {
	n := len(dst) * int(unsafe.Sizeof(T(0)))
	if n < 32 || n > 128 {
		if n > 128 {
			copy(dst, src)
			return
		}
		src = src[:len(dst)]
		for i := range dst {
			dst[i] = src[i]
		}
		return
	}
	_ = src[len(dst)-1]
	d, s := unsafe.Pointer(unsafe.SliceData(dst)), unsafe.Pointer(unsafe.SliceData(src))
	// Loads into locals first: a direct array assignment through unsafe
	// pointers may overlap and compiles to a call to memmove.
	if n <= 64 {
		a, b := *(*[32]byte)(s), *(*[32]byte)(unsafe.Add(s, n-32))
		*(*[32]byte)(d), *(*[32]byte)(unsafe.Add(d, n-32)) = a, b
		return
	}
	a, b := *(*[64]byte)(s), *(*[64]byte)(unsafe.Add(s, n-64))
	*(*[64]byte)(d), *(*[64]byte)(unsafe.Add(d, n-64)) = a, b
}

// zeroPadCols zeroes columns [0, lo) and [hi, wo) of rows [ohLo, ohHi) of
// a tap's row (width wo). Padding is a column or two: stores in a loop
// cost less than two calls to memclr per row.
func zeroPadCols[T Float](row []T, ohLo, ohHi, lo, hi, wo int) {
	if lo == 0 && hi == wo {
		return
	}
	for oh := ohLo; oh < ohHi; oh++ {
		pr := row[oh*wo : (oh+1)*wo]
		for i := range pr[:lo] {
			pr[i] = 0
		}
		for i := hi; i < len(pr); i++ {
			pr[i] = 0
		}
	}
}

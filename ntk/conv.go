package ntk

import (
	"fmt"
	"math"
	"strings"

	"github.com/gradflow/gradflow/nn"
)

// Padding is the padding of a convolution or pooling window, named as in
// neural-tangents (and XLA). The zero value is Valid, neural-tangents'
// default for Conv and AvgPool.
type Padding string

const (
	// Valid uses only windows that lie inside the image: the output
	// shrinks by the window size minus one (divided by the stride).
	Valid Padding = "VALID"
	// Same pads with zeros so that the output has ceil(size/stride)
	// pixels per axis; of an odd total padding the extra pixel goes at
	// the end (high side), as in XLA.
	Same Padding = "SAME"
)

// LayerOp names the operation of a ConvLayer.
type LayerOp uint8

const (
	// OpConv is a convolution of stride 1 (neural-tangents' stax.Conv).
	OpConv LayerOp = iota + 1
	// OpAct is an elementwise activation (stax.Relu, stax.Erf, ...).
	OpAct
	// OpAvgPool is average pooling (stax.AvgPool, normalize_edges=False).
	OpAvgPool
	// OpGlobalAvgPool averages over all pixels (stax.GlobalAvgPool); a
	// readout.
	OpGlobalAvgPool
	// OpFlatten flattens channels and pixels into features (stax.Flatten);
	// a readout.
	OpFlatten
	// OpDense is a fully connected layer (stax.Dense); on images it acts
	// on the channels of every pixel, a 1x1 convolution.
	OpDense
	// OpLayerNorm is layer normalization (stax.LayerNorm) over the
	// channels, or over channels and pixels.
	OpLayerNorm
	// OpResidual is FanOut(2), parallel(Branch, Shortcut), FanInSum.
	OpResidual
)

var opNames = [...]string{"", "Conv", "Act", "AvgPool", "GlobalAvgPool", "Flatten", "Dense", "LayerNorm", "Residual"}

// String returns the name of the operation as in neural-tangents' stax.
func (o LayerOp) String() string {
	if int(o) < len(opNames) && o != 0 {
		return opNames[o]
	}
	return fmt.Sprintf("LayerOp(%d)", uint8(o))
}

// ConvLayer is one layer of a ConvArch. The constructors Conv, Act,
// AvgPool, GlobalAvgPool, Flatten, Dense, LayerNorm and Residual fill in
// the fields their operation reads; the others are ignored. The numbers of
// channels do not appear: the kernels are those of the limit of infinitely
// many channels, which they do not depend on.
type ConvLayer struct {
	Op LayerOp
	// Size is the filter (OpConv) or window (OpAvgPool) as rows x columns.
	Size [2]int
	// Stride is the stride of OpAvgPool; zero entries select
	// neural-tangents' default 1. Convolutions have stride 1.
	Stride [2]int
	// Padding of OpConv and OpAvgPool ("" is Valid).
	Padding Padding
	// WStd and BStd are sigma_w (0 selects 1) and sigma_b of OpConv and
	// OpDense, in the NTK parameterization: the weights are N(0, 1) and
	// multiplied by WStd / sqrt(fanIn), fanIn = channels x filter area.
	WStd, BStd float64
	// Act is the activation of OpAct: any name the closed-form kernel
	// maps of this package take (see Arch.Act).
	Act nn.Activation
	// Spatial makes OpLayerNorm normalize over the pixels as well as the
	// channels of an image (stax.LayerNorm(axis=(1, 2, 3)) in NHWC);
	// false normalizes every pixel over its channels (axis=-1).
	Spatial bool
	// Eps is the variance offset of OpLayerNorm (0 selects
	// neural-tangents' 1e-12).
	Eps float64
	// Branch and Shortcut are the two paths of OpResidual, whose outputs
	// are summed; an empty path is the identity.
	Branch, Shortcut []ConvLayer
}

// Conv returns a size x size convolution of stride 1 with the given
// padding, weight scale wStd and bias scale bStd.
func Conv(size int, padding Padding, wStd, bStd float64) ConvLayer {
	return ConvLayer{Op: OpConv, Size: [2]int{size, size}, Padding: padding, WStd: wStd, BStd: bStd}
}

// Act returns the elementwise activation a.
func Act(a nn.Activation) ConvLayer { return ConvLayer{Op: OpAct, Act: a} }

// AvgPool returns average pooling over size x size windows with the given
// stride (0 selects neural-tangents' default 1) and padding. Windows that
// overlap the zero padding are divided by the full window size
// (neural-tangents' normalize_edges=False).
func AvgPool(size, stride int, padding Padding) ConvLayer {
	return ConvLayer{Op: OpAvgPool, Size: [2]int{size, size}, Stride: [2]int{stride, stride}, Padding: padding}
}

// GlobalAvgPool returns the readout that averages every channel over the
// pixels.
func GlobalAvgPool() ConvLayer { return ConvLayer{Op: OpGlobalAvgPool} }

// Flatten returns the readout that flattens an image into C*H*W features.
func Flatten() ConvLayer { return ConvLayer{Op: OpFlatten} }

// Dense returns a fully connected layer with weight scale wStd and bias
// scale bStd.
func Dense(wStd, bStd float64) ConvLayer { return ConvLayer{Op: OpDense, WStd: wStd, BStd: bStd} }

// LayerNorm returns layer normalization over the channels of every pixel,
// or with spatial over the channels and pixels of the image.
func LayerNorm(spatial bool) ConvLayer { return ConvLayer{Op: OpLayerNorm, Spatial: spatial} }

// Residual returns the block that sums the outputs of branch and shortcut
// applied to the same input (an empty shortcut is the identity).
func Residual(branch, shortcut []ConvLayer) ConvLayer {
	return ConvLayer{Op: OpResidual, Branch: branch, Shortcut: shortcut}
}

// ConvArch describes an infinitely wide convolutional network, in
// neural-tangents' terms the stax network serial(Layers...), whose inputs
// are images of C channels and H x W pixels. Its NNGP kernel and NTK are
// evaluated by Kernels and Gram; the package documentation states the rule
// of every layer.
//
// The layers must contain exactly one readout, OpGlobalAvgPool or
// OpFlatten, outside residual blocks; after it only OpDense, OpAct,
// OpLayerNorm and residual blocks of those may follow. A network usually
// ends with Dense.
type ConvArch struct {
	Layers []ConvLayer
}

// kmode is the form of the per-pair kernel state: all pixel pairs, only
// same-pixel pairs, or one number after the readout.
type kmode uint8

const (
	modeFull   kmode = iota // [H*W, H*W]: K(x, x', p, p')
	modeDiag                // [H*W]: K(x, x', p, p)
	modeScalar              // [1]
)

// String names the mode as the cost report and the errors print it.
func (m kmode) String() string { return [...]string{"full", "diagonal", "scalar"}[m] }

// opDiag is the internal step that keeps the diagonal of a full state,
// inserted after the last pooling layer when a Flatten readout follows.
const opDiag LayerOp = 100

// cnode is a layer compiled for one input shape.
type cnode struct {
	op       LayerOp
	mode     kmode // form of the state the node receives
	ih, iw   int   // input spatial shape
	oh, ow   int   // output spatial shape
	fh, fw   int   // filter or window
	sh, sw   int   // strides
	ph, pw   int   // padding before the first pixel
	w2, b2   float64
	act      kernelMap
	eps      float64
	spatial  bool
	varID    int // index of the variance record (OpAct, OpLayerNorm), else -1
	branch   []cnode
	shortcut []cnode
}

// convPlan is a ConvArch compiled for one input shape.
type convPlan struct {
	c, h, w  int
	nodes    []cnode
	mode0    kmode // form of the input kernel
	varLen   []int // length of every variance record
	varOff   []int // offset of every record in an image's variance vector
	varTotal int
	maxLen   int // largest state, in float64s
	// flops estimates the multiply-adds of one pair (for Cost).
	flops float64
}

// compiler carries what compile needs across nested blocks.
type compiler struct {
	plan *convPlan
}

// layerName returns "layer 3 (Conv)" with the path of nested blocks.
func layerName(path []int, op LayerOp) string {
	s := make([]string, len(path))
	for i, p := range path {
		s[i] = fmt.Sprint(p)
	}
	return fmt.Sprintf("ConvArch layer %s (%v)", strings.Join(s, "."), op)
}

// plan validates the architecture for input shape (c, h, w) and chooses
// the form of the state layer by layer: full pixel-pair covariances up to
// the last pooling layer (AvgPool, GlobalAvgPool, or one inside a
// residual block), which mixes pixels, and the same-pixel diagonal from
// there to a Flatten readout, since a stride-1 convolution, an activation,
// a layer norm and a residual sum map same-pixel covariances to
// same-pixel covariances.
func (a ConvArch) plan(shape [3]int) (*convPlan, error) {
	c, h, w := shape[0], shape[1], shape[2]
	if c <= 0 || h <= 0 || w <= 0 {
		return nil, fmt.Errorf("ntk: image shape %v (channels, height, width) must be positive", shape)
	}
	if len(a.Layers) == 0 {
		return nil, fmt.Errorf("ntk: ConvArch has no layers; end it with GlobalAvgPool or Flatten and Dense")
	}
	p := &convPlan{c: c, h: h, w: w}
	lastPool := -1
	readout := -1
	for i, l := range a.Layers {
		if hasPool(l) {
			lastPool = i
		}
		if l.Op == OpGlobalAvgPool || l.Op == OpFlatten {
			if readout >= 0 {
				return nil, fmt.Errorf("ntk: %s is a second readout after layer %d; a ConvArch has one", layerName([]int{i}, l.Op), readout)
			}
			readout = i
		}
	}
	for i, l := range a.Layers {
		if l.Op == OpResidual && hasReadout(l) {
			return nil, fmt.Errorf("ntk: %s has a readout inside a residual block; put the readout after the block", layerName([]int{i}, l.Op))
		}
	}
	if readout < 0 {
		return nil, fmt.Errorf("ntk: ConvArch has no readout; add GlobalAvgPool or Flatten after the spatial layers so that every pair has one kernel value")
	}
	p.mode0 = modeDiag
	if lastPool >= 0 {
		p.mode0 = modeFull
	}
	cp := &compiler{plan: p}
	st := shapeState{mode: p.mode0, h: h, w: w}
	p.maxLen = st.size()
	var nodes []cnode
	for i, l := range a.Layers {
		if st.mode == modeFull && i > lastPool && i <= readout {
			// No layer ahead mixes pixels: keep the diagonal only.
			nodes = append(nodes, cnode{op: opDiag, mode: modeFull, ih: st.h, iw: st.w, oh: st.h, ow: st.w, varID: -1})
			p.flops += float64(st.h * st.w)
			st.mode = modeDiag
		}
		n, err := cp.compile(l, []int{i}, &st)
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
	}
	p.nodes = nodes
	for _, n := range p.varLen {
		p.varOff = append(p.varOff, p.varTotal)
		p.varTotal += n
	}
	return p, nil
}

// hasPool reports whether l is or contains a layer that mixes pixels.
func hasPool(l ConvLayer) bool {
	switch l.Op {
	case OpAvgPool, OpGlobalAvgPool:
		return true
	case OpResidual:
		for _, b := range [][]ConvLayer{l.Branch, l.Shortcut} {
			for _, s := range b {
				if hasPool(s) {
					return true
				}
			}
		}
	}
	return false
}

// hasReadout reports whether a residual block contains a readout.
func hasReadout(l ConvLayer) bool {
	for _, b := range [][]ConvLayer{l.Branch, l.Shortcut} {
		for _, s := range b {
			if s.Op == OpGlobalAvgPool || s.Op == OpFlatten || (s.Op == OpResidual && hasReadout(s)) {
				return true
			}
		}
	}
	return false
}

// shapeState is the form and shape of the kernel state during compile,
// and whether the layer outputs are centred Gaussian (neural-tangents'
// is_gaussian), which LayerNorm and residual sums require.
type shapeState struct {
	mode     kmode
	h, w     int
	gaussian bool
	linear   bool // a Conv or Dense occurred (in the current residual path)
}

func (s shapeState) size() int {
	switch s.mode {
	case modeFull:
		return s.h * s.w * s.h * s.w
	case modeDiag:
		return s.h * s.w
	}
	return 1
}

// outSize returns the output length of an axis of n pixels under a window
// f with stride s, and the padding before the first pixel.
func outSize(n, f, s int, pad Padding) (out, lo int) {
	if pad == Same {
		out = (n + s - 1) / s
		total := max((out-1)*s+f-n, 0)
		return out, total / 2
	}
	return (n-f)/s + 1, 0
}

// compile compiles layer l at path for the state st, which it updates.
func (cp *compiler) compile(l ConvLayer, path []int, st *shapeState) (cnode, error) {
	p := cp.plan
	name := layerName(path, l.Op)
	n := cnode{op: l.Op, mode: st.mode, ih: st.h, iw: st.w, oh: st.h, ow: st.w, varID: -1}
	spatial := st.mode != modeScalar
	switch l.Op {
	case OpConv, OpDense:
		wstd := l.WStd
		if wstd == 0 {
			wstd = 1
		}
		if wstd < 0 || l.BStd < 0 || math.IsNaN(wstd+l.BStd) || math.IsInf(wstd+l.BStd, 0) {
			return n, fmt.Errorf("ntk: %s: WStd %v and BStd %v must be finite and non-negative", name, l.WStd, l.BStd)
		}
		n.w2, n.b2 = wstd*wstd, l.BStd*l.BStd
		n.fh, n.fw, n.sh, n.sw = 1, 1, 1, 1
		if l.Op == OpConv {
			if !spatial {
				return n, fmt.Errorf("ntk: %s follows the readout; convolutions need images (use Dense after GlobalAvgPool or Flatten)", name)
			}
			if l.Size[0] <= 0 || l.Size[1] <= 0 {
				return n, fmt.Errorf("ntk: %s: filter size %v must be positive", name, l.Size)
			}
			if l.Stride[0] > 1 || l.Stride[1] > 1 {
				return n, fmt.Errorf("ntk: %s: stride %v is not implemented (convolutions have stride 1; downsample with AvgPool)", name, l.Stride)
			}
			if l.Padding != "" && l.Padding != Same && l.Padding != Valid {
				return n, fmt.Errorf("ntk: %s: padding %q (want SAME or VALID)", name, l.Padding)
			}
			if l.Padding != Same && (l.Size[0] > st.h || l.Size[1] > st.w) {
				return n, fmt.Errorf("ntk: %s: filter %dx%d exceeds the %dx%d image with VALID padding; use a smaller filter or SAME padding", name, l.Size[0], l.Size[1], st.h, st.w)
			}
			n.fh, n.fw = l.Size[0], l.Size[1]
			n.oh, n.ph = outSize(st.h, n.fh, 1, l.Padding)
			n.ow, n.pw = outSize(st.w, n.fw, 1, l.Padding)
		}
		p.flops += float64(st.size()) * float64(n.fh+n.fw) * 2
		st.gaussian, st.linear = true, true
	case OpAct:
		act, err := kernelMapOf(l.Act)
		if err != nil {
			return n, fmt.Errorf("%w (%s)", err, name)
		}
		n.act = act
		n.varID = cp.newVar(st)
		p.flops += float64(st.size()) * 20
		st.gaussian = false
	case OpAvgPool:
		if !spatial {
			return n, fmt.Errorf("ntk: %s follows the readout; pooling needs images", name)
		}
		if l.Size[0] <= 0 || l.Size[1] <= 0 || l.Stride[0] < 0 || l.Stride[1] < 0 {
			return n, fmt.Errorf("ntk: %s: window %v must be positive and stride %v non-negative", name, l.Size, l.Stride)
		}
		if l.Padding != "" && l.Padding != Same && l.Padding != Valid {
			return n, fmt.Errorf("ntk: %s: padding %q (want SAME or VALID)", name, l.Padding)
		}
		if l.Padding != Same && (l.Size[0] > st.h || l.Size[1] > st.w) {
			return n, fmt.Errorf("ntk: %s: window %dx%d exceeds the %dx%d image with VALID padding; use a smaller window or SAME padding", name, l.Size[0], l.Size[1], st.h, st.w)
		}
		n.fh, n.fw = l.Size[0], l.Size[1]
		n.sh, n.sw = max(l.Stride[0], 1), max(l.Stride[1], 1)
		n.oh, n.ph = outSize(st.h, n.fh, n.sh, l.Padding)
		n.ow, n.pw = outSize(st.w, n.fw, n.sw, l.Padding)
		p.flops += float64(st.size()) * float64(n.fh+n.fw)
	case OpGlobalAvgPool, OpFlatten:
		if !spatial {
			return n, fmt.Errorf("ntk: %s follows the readout", name)
		}
		if len(path) > 1 {
			return n, fmt.Errorf("ntk: %s is inside a residual block; put the readout after it", name)
		}
		n.oh, n.ow = 0, 0
		p.flops += float64(st.size())
		st.mode, st.h, st.w = modeScalar, 0, 0
		if l.Op == OpFlatten {
			st.gaussian = false // as neural-tangents' Flatten
		}
	case OpLayerNorm:
		if !st.gaussian {
			return n, fmt.Errorf("ntk: %s: the closed form needs centred Gaussian inputs (neural-tangents' is_gaussian); put it right after a Conv, Dense, pooling or residual sum, not after an activation, the input or Flatten", name)
		}
		n.spatial = l.Spatial && spatial
		n.eps = l.Eps
		if n.eps == 0 {
			n.eps = 1e-12
		}
		if n.eps < 0 || math.IsNaN(n.eps) || math.IsInf(n.eps, 0) {
			return n, fmt.Errorf("ntk: %s: Eps %v must be finite and non-negative", name, l.Eps)
		}
		n.varID = cp.newVar(st)
		p.flops += float64(st.size()) * 2
	case OpResidual:
		var outs [2]shapeState
		for b, layers := range [][]ConvLayer{l.Branch, l.Shortcut} {
			s := *st
			s.linear = false
			var nodes []cnode
			for j, sl := range layers {
				sub, err := cp.compile(sl, append(append([]int(nil), path...), b, j), &s)
				if err != nil {
					return n, err
				}
				nodes = append(nodes, sub)
			}
			if b == 0 {
				n.branch = nodes
			} else {
				n.shortcut = nodes
			}
			outs[b] = s
		}
		if outs[0].h != outs[1].h || outs[0].w != outs[1].w || outs[0].mode != outs[1].mode {
			return n, fmt.Errorf("ntk: %s: the branch gives %dx%d images and the shortcut %dx%d; make them agree (a pooling or VALID convolution in one path only changes the size)", name, outs[0].h, outs[0].w, outs[1].h, outs[1].w)
		}
		if !outs[0].gaussian || !outs[1].gaussian {
			return n, fmt.Errorf("ntk: %s: FanInSum has a closed form only for centred Gaussian paths (neural-tangents' is_gaussian); end both paths with Conv, Dense or pooling of them, or give the block a Gaussian input for an identity shortcut", name)
		}
		if !outs[0].linear && !outs[1].linear {
			return n, fmt.Errorf("ntk: %s: neither path has a Conv or Dense of its own, so the two outputs are correlated and their kernels do not add; give one path a Conv or Dense", name)
		}
		n.oh, n.ow = outs[0].h, outs[0].w
		st.h, st.w = n.oh, n.ow
		st.gaussian = true
		st.linear = st.linear || outs[0].linear || outs[1].linear
		p.flops += 2 * float64(st.size())
	default:
		return n, fmt.Errorf("ntk: %s: unknown operation; build layers with Conv, Act, AvgPool, GlobalAvgPool, Flatten, Dense, LayerNorm or Residual", name)
	}
	if st.mode != modeScalar {
		st.h, st.w = n.oh, n.ow
		if st.h <= 0 || st.w <= 0 {
			return n, fmt.Errorf("ntk: %s leaves no pixels", name)
		}
	}
	p.maxLen = max(p.maxLen, st.size())
	return n, nil
}

// newVar allocates a variance record of the current state's diagonal.
func (cp *compiler) newVar(st *shapeState) int {
	n := 1
	if st.mode != modeScalar {
		n = st.h * st.w
	}
	cp.plan.varLen = append(cp.plan.varLen, n)
	return len(cp.plan.varLen) - 1
}

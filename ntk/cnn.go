package ntk

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/tensor"
)

// Convolutional networks (issues 19 and 20).
//
// The empirical NTK of an nn.Net is Empirical (or EmpiricalGram and
// EmpiricalCross) with Method Contraction, the default for any module that
// is not an MLP: one forward pass per example and one backward pass per
// output give the rows of J, and Theta = J J^T. Examples must not
// interact: a BatchNorm in training mode normalizes each example by the
// statistics of its batch, which couples them (and Contraction's batches
// of one example would normalize every example by itself). CheckNet
// reports such layers; switch the net to eval mode first
// (net.SetTraining(false)), where BatchNorm is a fixed affine map of its
// running statistics and Dropout the identity.
//
// The infinite-width limit of a Net is a ConvArch when every layer has a
// closed-form kernel: ConvArchOf maps the net, and NewNTKNet builds the
// net in neural-tangents' NTK parameterization, the one ConvArch assumes.

// walkLayers calls f on every module of m in the order of their
// parameters, descending into Sequentials and residual blocks (body, then
// shortcut).
func walkLayers[T tensor.Float](m nn.Module[T], f func(nn.Module[T])) {
	switch s := m.(type) {
	case *nn.Sequential[T]:
		for _, sub := range s.Modules {
			walkLayers(sub, f)
		}
	case *nn.Residual[T]:
		walkLayers(s.Body, f)
		if s.Shortcut != nil {
			walkLayers(s.Shortcut, f)
		}
	default:
		f(m)
	}
}

// CheckNet returns an error naming the first layer of m that couples the
// examples of a batch or draws random numbers in its forward pass: a
// BatchNorm or Dropout in training mode. The empirical NTK treats every
// example as an independent input, so such layers must be in eval mode
// (SetTraining(false)). It returns nil for every other module.
func CheckNet[T tensor.Float](m nn.Module[T]) error {
	if n, ok := m.(*nn.Net[T]); ok {
		m = n.Body
	}
	var bad string
	walkLayers(m, func(l nn.Module[T]) {
		switch l := l.(type) {
		case *nn.BatchNorm[T]:
			if l.Training && bad == "" {
				bad = fmt.Sprintf("BatchNorm %q is in training mode, where it normalizes each example by its batch's statistics", l.Weight.Name)
			}
		case *nn.Dropout[T]:
			if l.Training && bad == "" {
				bad = "a Dropout layer is in training mode, where it draws a random mask"
			}
		}
	})
	if bad != "" {
		return fmt.Errorf("ntk: %s; the NTK of independent examples needs eval mode (call SetTraining(false) on the net)", bad)
	}
	return nil
}

// ConvArchOf returns the infinite-width limit of net as a ConvArch: the
// network with the same layers and infinitely many channels, in the NTK
// parameterization with every convolution's and Linear layer's weight
// scale W_std = Alpha sqrt(fan_in) and bias scale b_std = BiasMult (0
// without a bias), read from the layers. For a net of NewNTKNet (or
// nn.NewNetWith with nn.NTK) they are its wStd and bStd, and the empirical
// NTK of net converges to the NTK of the result as the channels grow.
//
// The layers map as follows: conv (stride 1, dilation 1, one group,
// padding 0 as VALID or (k-1)/2 as SAME) to Conv, followed by Act when the
// convolution applies an activation; fc to Dense; activations to Act; an
// average pool whose padding is 0 (VALID) or XLA's SAME padding to
// AvgPool; gap to GlobalAvgPool; flatten of an image to Flatten (of flat
// features, after gap, to nothing); res(body,shortcut) to Residual.
// Layers without a closed-form kernel (maxpool, bn, ln with its learnable
// scale and shift, dropout, strided or dilated convolutions, pools that
// exclude the padding) are errors naming the layer by its index and spec
// token, e.g. `layer 4 "maxpool2"`; so are architectures ConvArch rejects
// (e.g. a residual block whose input is not Gaussian).
func ConvArchOf[T tensor.Float](net *nn.Net[T]) (ConvArch, error) {
	if net == nil || net.Body == nil {
		return ConvArch{}, errNil("ConvArchOf", "the net")
	}
	if len(net.InputShape) != 3 {
		return ConvArch{}, fmt.Errorf("ntk.ConvArchOf: the net takes examples of shape %v; ConvArch needs images [C H W] (for flat inputs use ArchOf on an MLP)", net.InputShape)
	}
	tokens, err := splitTop(net.Spec, '-')
	if err != nil {
		return ConvArch{}, fmt.Errorf("ntk.ConvArchOf: spec %q: %w", net.Spec, err)
	}
	m := convMapper[T]{spec: net.Spec}
	shape := [3]int{net.InputShape[0], net.InputShape[1], net.InputShape[2]}
	layers, _, err := m.sequence(net.Body, tokens, "", shape)
	if err != nil {
		return ConvArch{}, err
	}
	arch := ConvArch{Layers: layers}
	if _, err := arch.Cost(shape); err != nil {
		return ConvArch{}, fmt.Errorf("ntk.ConvArchOf: spec %q maps to a ConvArch that has no kernel: %w", net.Spec, err)
	}
	return arch, nil
}

// convMapper maps the modules of a Net to ConvLayers.
type convMapper[T tensor.Float] struct {
	spec string
}

// flatShape marks a state of flat features in the shape a mapper tracks.
var flatShape = [3]int{-1, -1, -1}

// sequence maps the modules of s, whose spec tokens are tokens, for inputs
// of shape in ([C H W], or flatShape after a readout); prefix is the path
// of s in the net ("" at the top, "3.body." in a residual block).
func (m convMapper[T]) sequence(s *nn.Sequential[T], tokens []string, prefix string, in [3]int) ([]ConvLayer, [3]int, error) {
	if len(tokens) != len(s.Modules) {
		return nil, in, fmt.Errorf("ntk.ConvArchOf: spec %q has %d layers at %q but the net %d; was the net built from this spec?", m.spec, len(tokens), prefix, len(s.Modules))
	}
	var out []ConvLayer
	shape := in
	for i, mod := range s.Modules {
		tok := tokens[i]
		fail := func(format string, args ...any) ([]ConvLayer, [3]int, error) {
			return nil, shape, fmt.Errorf("ntk.ConvArchOf: layer %s%d %q of %q: %s", prefix, i, tok, m.spec, fmt.Sprintf(format, args...))
		}
		switch l := mod.(type) {
		case *nn.Conv2D[T]:
			g, k := l.Geometry, l.Kernel()
			if g.Stride != [2]int{1, 1} {
				return fail("stride %dx%d has no analytic kernel in ConvArch (stride 1 only; downsample with avgpool)", g.Stride[0], g.Stride[1])
			}
			if g.Dilation != [2]int{1, 1} || g.Groups != 1 {
				return fail("dilation %v and groups %d: ConvArch has plain convolutions only", g.Dilation, g.Groups)
			}
			pad, err := convPadding(k, g.Padding)
			if err != nil {
				return fail("%v", err)
			}
			c := ConvLayer{Op: OpConv, Size: k, Padding: pad, WStd: l.Alpha * math.Sqrt(float64(l.In()*k[0]*k[1]))}
			if l.Bias != nil {
				c.BStd = l.BiasMult
			}
			out = append(out, c)
			if l.Act != "" && l.Act != nn.Identity {
				out = append(out, Act(l.Act))
			}
			if pad == Valid {
				shape = [3]int{l.Out(), shape[1] - k[0] + 1, shape[2] - k[1] + 1}
			} else {
				shape[0] = l.Out()
			}
		case *nn.Linear[T]:
			c := ConvLayer{Op: OpDense, WStd: l.Alpha * math.Sqrt(float64(l.In()))}
			if l.Bias != nil {
				c.BStd = l.BiasMult
			}
			out = append(out, c)
			if l.Act != "" && l.Act != nn.Identity {
				out = append(out, Act(l.Act))
			}
		case nn.Func[T]:
			act, err := nn.ParseActivation(tok)
			if err != nil {
				return fail("a function module whose token is not an activation")
			}
			if i > 0 && act == nn.ReLU && appliesReLU(s.Modules[i-1]) {
				continue // the layer before applied it (nn.Net fuses ReLU)
			}
			if act != nn.Identity {
				out = append(out, Act(act))
			}
		case *nn.AvgPool2D[T]:
			p := l.Pool
			if p.ExcludePad {
				return fail("average pooling that excludes the padding from the divisor has no ConvArch counterpart (neural-tangents' normalize_edges=False divides by the full window)")
			}
			stride := p.Stride
			if stride == [2]int{} {
				stride = p.Kernel
			}
			if stride[0] != stride[1] || p.Kernel[0] != p.Kernel[1] {
				return fail("ConvArch's AvgPool takes square windows and strides")
			}
			pad, oh, ow, err := poolPadding(p.Kernel, stride, p.Padding, shape[1], shape[2])
			if err != nil {
				return fail("%v", err)
			}
			out = append(out, AvgPool(p.Kernel[0], stride[0], pad))
			shape = [3]int{shape[0], oh, ow}
		case *nn.MaxPool2D[T]:
			return fail("max pooling has no closed-form kernel; use avgpool for an analytic one")
		case nn.GlobalAvgPool[T]:
			out = append(out, GlobalAvgPool())
			shape = flatShape
		case nn.Flatten[T]:
			if shape != flatShape {
				out = append(out, Flatten())
				shape = flatShape
			}
		case *nn.Residual[T]:
			body, short, err := residualTokens(tok)
			if err != nil {
				return fail("%v", err)
			}
			bs, ok := l.Body.(*nn.Sequential[T])
			if !ok {
				return fail("the residual body is a %T, not a Sequential", l.Body)
			}
			branch, bshape, err := m.sequence(bs, body, fmt.Sprintf("%s%d.body.", prefix, i), shape)
			if err != nil {
				return nil, shape, err
			}
			var shortcut []ConvLayer
			if l.Shortcut != nil {
				ss, ok := l.Shortcut.(*nn.Sequential[T])
				if !ok {
					return fail("the residual shortcut is a %T, not a Sequential", l.Shortcut)
				}
				if shortcut, _, err = m.sequence(ss, short, fmt.Sprintf("%s%d.shortcut.", prefix, i), shape); err != nil {
					return nil, shape, err
				}
			}
			out = append(out, Residual(branch, shortcut))
			shape = bshape
		case *nn.BatchNorm[T]:
			return fail("batch normalization has no infinite-width kernel in ConvArch; remove it (or use the empirical kernel only)")
		case *nn.LayerNorm[T]:
			return fail("layer norm has a learnable scale and shift, whose gradients ConvArch's LayerNorm does not include; remove it (or use the empirical kernel only)")
		case *nn.Dropout[T]:
			return fail("dropout has no kernel in ConvArch; remove it (in eval mode it is the identity)")
		default:
			return fail("module %T has no analytic kernel", mod)
		}
	}
	return out, shape, nil
}

// appliesReLU reports whether m is a layer that applies a ReLU itself.
func appliesReLU[T tensor.Float](m nn.Module[T]) bool {
	switch l := m.(type) {
	case *nn.Conv2D[T]:
		return l.Act == nn.ReLU
	case *nn.Linear[T]:
		return l.Act == nn.ReLU
	}
	return false
}

// convPadding maps PyTorch's symmetric padding of a stride-1 convolution
// to VALID (none) or SAME ((k-1)/2 on both sides, odd k).
func convPadding(k, pad [2]int) (Padding, error) {
	switch {
	case pad == [2]int{}:
		return Valid, nil
	case k[0]%2 == 1 && k[1]%2 == 1 && pad == [2]int{(k[0] - 1) / 2, (k[1] - 1) / 2}:
		return Same, nil
	}
	return "", fmt.Errorf("padding %v of a %dx%d filter is neither VALID (0) nor SAME ((k-1)/2 for odd k)", pad, k[0], k[1])
}

// poolPadding maps PyTorch's symmetric padding p of a pooling window k with
// stride s on an h x w image to ConvArch's padding, and returns the output
// size. Padding 0 is VALID. A padding p > 0 is XLA's SAME when both give
// the same output and SAME puts p pixels before the image: then the
// windows, and the zeros they cover, are the same, since SAME's padding
// after the image, total - p, is exactly what PyTorch's last window
// reaches past it.
func poolPadding(k, s, p [2]int, h, w int) (Padding, int, int, error) {
	if h <= 0 {
		return "", 0, 0, errors.New("pooling needs an image, not flat features")
	}
	oh, ow := (h+2*p[0]-k[0])/s[0]+1, (w+2*p[1]-k[1])/s[1]+1
	if p == [2]int{} {
		return Valid, oh, ow, nil
	}
	for i, n := range [2]int{h, w} {
		out, lo := outSize(n, k[i], s[i], Same)
		if torch := (n+2*p[i]-k[i])/s[i] + 1; torch != out || lo != p[i] {
			return "", 0, 0, fmt.Errorf("padding %v on a %dx%d image is neither VALID (0) nor XLA's SAME", p, h, w)
		}
	}
	return Same, oh, ow, nil
}

// splitTop splits s at the separators sep that are not inside
// parentheses.
func splitTop(s string, sep byte) ([]string, error) {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth < 0 {
				return nil, fmt.Errorf("unbalanced ')' at byte %d", i)
			}
		case sep:
			if depth == 0 {
				out = append(out, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	if depth != 0 {
		return nil, errors.New("unbalanced '('")
	}
	return append(out, strings.TrimSpace(s[start:])), nil
}

// residualTokens splits "res(body[,shortcut])" into the tokens of the body
// and of the shortcut (nil when absent).
func residualTokens(tok string) (body, short []string, err error) {
	inner, ok := strings.CutPrefix(tok, "res(")
	if !ok || !strings.HasSuffix(inner, ")") {
		return nil, nil, fmt.Errorf("a residual block whose token is not res(...)")
	}
	parts, err := splitTop(inner[:len(inner)-1], ',')
	if err != nil {
		return nil, nil, err
	}
	if body, err = splitTop(parts[0], '-'); err != nil {
		return nil, nil, err
	}
	if len(parts) > 1 {
		if short, err = splitTop(parts[1], '-'); err != nil {
			return nil, nil, err
		}
	}
	return body, short, nil
}

// NewNTKNet builds the net that spec describes for examples of shape
// inputShape ([C H W]) in neural-tangents' NTK parameterization
// (nn.NewNetWith with nn.NTK: weights and biases N(0, 1), forward
// multipliers wStd / sqrt(fan_in) and bStd, fan_in = C_in x kernel area
// for a convolution), initialized from a PCG stream of seed, and in eval
// mode, ready for Empirical and MonteCarlo. Its empirical NTK converges,
// as the channels grow, to the NTK of ConvArchOf(net).
func NewNTKNet[T tensor.Float](spec string, inputShape []int, wStd, bStd float64, seed uint64) (*nn.Net[T], error) {
	net, err := nn.NewNetWith[T](nn.NetConfig{
		Spec: spec, InputShape: inputShape, Parameterization: nn.NTK, WStd: wStd, BStd: bStd,
	}, rand.New(rand.NewPCG(seed, 0xc44)))
	if err != nil {
		return nil, err
	}
	net.SetTraining(false)
	return net, nil
}

// ReadoutFeatures returns the inputs of the last Linear layer of net for
// the rows of x: the features whose kernel, scaled as that layer scales
// them, is the net's NNGP kernel at its width. For a net whose last layer
// is a Linear one in the NTK parameterization, the NNGP kernel of one
// network is
//
//	K(x, x') = W_std^2 phi(x).phi(x') / fan_in + b_std^2,
//
// which ReadoutNNGP computes; its mean over initializations converges to
// ConvArch's NNGP kernel with the standard error of the NTK's, O(C^-1/2),
// while the outputs' own second moment f(x) f(x') stays O(1) noisy at any
// width.
func ReadoutFeatures[T tensor.Float](net *nn.Net[T], x *tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	mods := net.Body.Modules
	if len(mods) == 0 {
		return nil, errors.New("ntk: the net has no layers")
	}
	if _, ok := mods[len(mods)-1].(*nn.Linear[T]); !ok {
		return nil, fmt.Errorf("ntk: the last layer of %q is not a Linear layer (fc<N>), so the net has no readout features", net.Spec)
	}
	t := autograd.NewTape[T]()
	t.SetGradEnabled(false)
	h := t.Const(x)
	if len(net.InputShape) > 1 {
		h = (&nn.Unflatten[T]{Shape: net.InputShape}).Forward(t, h)
	}
	if err := catchShape(func() {
		for _, m := range mods[:len(mods)-1] {
			h = m.Forward(t, h)
		}
	}); err != nil {
		return nil, fmt.Errorf("ntk: the net does not accept inputs of shape %v: %w", x.Shape(), err)
	}
	return h.Value().Clone(), nil
}

// ReadoutNNGP returns one network's NNGP kernel between the rows of x1
// and x2 (nil: x1) from its readout features (see ReadoutFeatures):
// Alpha^2 phi(x1) phi(x2)^T + BiasMult^2, with Alpha and BiasMult those
// of the last Linear layer.
func ReadoutNNGP[T tensor.Float](net *nn.Net[T], x1, x2 *tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	f1, err := ReadoutFeatures(net, x1)
	if err != nil {
		return nil, err
	}
	f2 := f1
	if x2 != nil {
		if f2, err = ReadoutFeatures(net, x2); err != nil {
			return nil, err
		}
	}
	last := net.Body.Modules[len(net.Body.Modules)-1].(*nn.Linear[T])
	k := tensor.MatMul(f1.Reshape(f1.Dim(0), -1), f2.Reshape(f2.Dim(0), -1), false, true)
	a2, b2 := T(last.Alpha*last.Alpha), T(0)
	if last.Bias != nil {
		b2 = T(last.BiasMult * last.BiasMult)
	}
	d := k.Data()
	for i := range d {
		d[i] = a2*d[i] + b2
	}
	return k, nil
}

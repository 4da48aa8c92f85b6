package nn

import (
	"fmt"
	"math/rand/v2"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/tensor"
)

// Conv2D is the 2-D convolution y = act(Alpha * conv(x, W) + BiasMult * b)
// of a batch x [N, Cin, H, W] (NCHW, as PyTorch), with W [Cout, Cin/Groups,
// kh, kw] and b [Cout], the parameters of torch.nn.Conv2d; Geometry holds
// stride, padding, dilation and groups. Alpha and BiasMult are forward
// multipliers as in Linear (1 for PyTorch's module), and Act an activation
// applied by the convolution op itself ("" means identity). The output is
// [N, Cout, Ho, Wo] with Ho = (H + 2 pad - dil (kh - 1) - 1) / stride + 1.
type Conv2D[T Float] struct {
	Weight   *Param[T]
	Bias     *Param[T] // nil for no bias
	Alpha    float64
	BiasMult float64
	Act      Activation
	Geometry autograd.ConvParams
	params   []*Param[T]
}

// NewConv2D returns a convolution from in to out channels with a kernel
// of kh x kw and geometry g, initialized as torch.nn.Conv2d is by default
// (kaiming_uniform with a = sqrt 5): weight and bias uniform on
// +-1/sqrt(fan_in), fan_in = in/Groups * kh * kw. prefix names the
// parameters (prefix+"weight", prefix+"bias"). It returns an error for a
// nil rng, a size below 1, a negative padding, or channels that Groups
// does not divide.
func NewConv2D[T Float](rng *rand.Rand, prefix string, in, out int, kernel [2]int, g autograd.ConvParams, bias bool) (*Conv2D[T], error) {
	if rng == nil {
		return nil, errNilRNG("nn.NewConv2D")
	}
	g = convDefaults(g)
	if err := checkConv(in, out, kernel, g); err != nil {
		return nil, fmt.Errorf("nn.NewConv2D: %w", err)
	}
	w := tensor.New[T](out, in/g.Groups, kernel[0], kernel[1])
	TorchLinearWeight(w, rng)
	var b *tensor.Tensor[T]
	if bias {
		b = tensor.New[T](out)
		TorchLinearBias(b, in/g.Groups*kernel[0]*kernel[1], rng)
	}
	return NewConv2DFrom(prefix, w, b, g), nil
}

// convDefaults replaces the zero fields of g by PyTorch's defaults.
func convDefaults(g autograd.ConvParams) autograd.ConvParams {
	for i := range 2 {
		if g.Stride[i] == 0 {
			g.Stride[i] = 1
		}
		if g.Dilation[i] == 0 {
			g.Dilation[i] = 1
		}
	}
	if g.Groups == 0 {
		g.Groups = 1
	}
	return g
}

// checkConv reports a convolution torch.nn.Conv2d would refuse.
func checkConv(in, out int, kernel [2]int, g autograd.ConvParams) error {
	switch {
	case in < 1 || out < 1:
		return fmt.Errorf("channels in = %d, out = %d: want at least 1", in, out)
	case kernel[0] < 1 || kernel[1] < 1:
		return fmt.Errorf("kernel %dx%d: want sizes of at least 1", kernel[0], kernel[1])
	case g.Stride[0] < 1 || g.Stride[1] < 1 || g.Dilation[0] < 1 || g.Dilation[1] < 1:
		return fmt.Errorf("stride %v, dilation %v: want at least 1", g.Stride, g.Dilation)
	case g.Padding[0] < 0 || g.Padding[1] < 0:
		return fmt.Errorf("padding %v: want at least 0", g.Padding)
	case g.Groups < 1 || in%g.Groups != 0 || out%g.Groups != 0:
		return fmt.Errorf("groups %d must divide both channel counts in = %d and out = %d", g.Groups, in, out)
	}
	return nil
}

// NewConv2DFrom returns a convolution holding w [Cout, Cin/Groups, kh, kw]
// and b [Cout] (or nil) without copying them, with multipliers 1. It
// panics if the shapes do not form a layer (a programming error: file
// readers check shapes first).
func NewConv2DFrom[T Float](prefix string, w, b *tensor.Tensor[T], g autograd.ConvParams) *Conv2D[T] {
	if w.NDim() != 4 || b != nil && (b.NDim() != 1 || b.Dim(0) != w.Dim(0)) {
		bs := "none"
		if b != nil {
			bs = shapeStr(b.Shape())
		}
		panic("nn.NewConv2DFrom: weight shape " + shapeStr(w.Shape()) + " and bias shape " + bs + " do not form a convolution")
	}
	c := &Conv2D[T]{Weight: NewParam(prefix+"weight", w), Alpha: 1, BiasMult: 1, Geometry: convDefaults(g)}
	c.params = []*Param[T]{c.Weight}
	if b != nil {
		c.Bias = NewParam(prefix+"bias", b)
		c.params = append(c.params, c.Bias)
	}
	return c
}

// In returns the number of input channels.
func (c *Conv2D[T]) In() int { return c.Weight.Value.Dim(1) * c.Geometry.Groups }

// Out returns the number of output channels.
func (c *Conv2D[T]) Out() int { return c.Weight.Value.Dim(0) }

// Kernel returns the kernel size (height, width).
func (c *Conv2D[T]) Kernel() [2]int { return [2]int{c.Weight.Value.Dim(2), c.Weight.Value.Dim(3)} }

// Params returns the weight and, if present, the bias.
func (c *Conv2D[T]) Params() []*Param[T] { return c.params }

// Forward records the convolution of x [N, Cin, H, W].
func (c *Conv2D[T]) Forward(t *autograd.Tape[T], x *autograd.Var[T]) *autograd.Var[T] {
	var b *autograd.Var[T]
	if c.Bias != nil {
		b = c.Bias.Var(t)
		if c.BiasMult != 1 {
			b = autograd.Scale(b, c.BiasMult)
		}
	}
	return autograd.Conv2D(x, c.Weight.Var(t), b, c.Alpha, c.Act, c.Geometry)
}

// outShape maps the shape [C, H, W] of one example to the output's.
func (c *Conv2D[T]) outShape(in []int) ([]int, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("a convolution takes [C H W] examples, got %s", shapeStr(in))
	}
	if in[0] != c.In() {
		return nil, fmt.Errorf("%d input channels, the convolution takes %d", in[0], c.In())
	}
	return convOutShape(in, c.Out(), c.Kernel(), c.Geometry)
}

// convOutShape returns the shape of a convolution's output with cout
// channels for one example of shape in [C H W], or the error of a kernel
// that does not fit. It needs no weights, so a spec is checked before a
// layer is allocated (a typo such as k381 would otherwise allocate
// hundreds of millions of weights first). Zero stride and dilation mean 1.
func convOutShape(in []int, cout int, k [2]int, g autograd.ConvParams) ([]int, error) {
	out := []int{cout, 0, 0}
	for i := range 2 {
		dil, stride := max(g.Dilation[i], 1), max(g.Stride[i], 1)
		span := dil*(k[i]-1) + 1
		padded := in[1+i] + 2*g.Padding[i]
		if span > padded {
			if dil > 1 {
				return nil, fmt.Errorf("dilated kernel %d larger than the padded input %d", span, padded)
			}
			return nil, fmt.Errorf("kernel %d larger than the padded input %d", k[i], padded)
		}
		out[1+i] = (padded-span)/stride + 1
	}
	return out, nil
}

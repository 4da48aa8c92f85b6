package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/tensor"
)

// Parameterization selects how an MLP's weights are initialized, scaled in
// the forward pass and scaled in the learning rate as the width grows. See
// the package documentation for the table.
type Parameterization string

// The parameterizations of an MLP.
const (
	Standard  Parameterization = "standard"  // SP: PyTorch-style, multipliers 1
	NTK       Parameterization = "ntk"       // neural-tangents' NTK parameterization
	MeanField Parameterization = "meanfield" // all weights O(1), output 1/width
	MuP       Parameterization = "mup"       // maximal update (Yang-Hu TP5), MuReadout form
)

// Valid reports whether p is a known parameterization.
func (p Parameterization) Valid() bool {
	switch p {
	case Standard, NTK, MeanField, MuP:
		return true
	}
	return false
}

// ParseParameterization returns the parameterization named s: one of the
// names above or the short forms a command line uses, sp (standard) and mf
// (meanfield).
func ParseParameterization(s string) (Parameterization, error) {
	switch s {
	case "sp", "standard":
		return Standard, nil
	case "mf", "meanfield":
		return MeanField, nil
	case "ntk", "mup":
		return Parameterization(s), nil
	}
	return "", fmt.Errorf("nn: unknown parameterization %q (want sp, ntk, mf or mup)", s)
}

// Init names a weight initializer that overrides the parameterization's
// default weight distribution (the forward multipliers stay).
type Init string

// The weight initializers an MLPConfig can name.
const (
	InitDefault       Init = ""               // the parameterization's own (see package doc)
	InitTorch         Init = "torch"          // U(+-1/sqrt(fan_in)) for weights and biases, torch.nn.Linear's default
	InitLeCunNormal   Init = "lecun_normal"   // N(0, 1/fan_in)
	InitLeCunUniform  Init = "lecun_uniform"  // U(+-sqrt(3/fan_in))
	InitHeNormal      Init = "he_normal"      // N(0, 2/fan_in)
	InitHeUniform     Init = "he_uniform"     // U(+-sqrt(6/fan_in))
	InitGlorotNormal  Init = "glorot_normal"  // N(0, 2/(fan_in+fan_out))
	InitGlorotUniform Init = "glorot_uniform" // U(+-sqrt(6/(fan_in+fan_out)))
	InitOrthogonal    Init = "orthogonal"     // orthogonal with gain WStd
	InitZeros         Init = "zeros"          // all zero
)

// MLPConfig describes a multilayer perceptron: Linear layers of widths
// Dims[0] -> Dims[1] -> ... -> Dims[L] with an activation after every layer
// but the last. The zero values of the optional fields select the
// defaults.
type MLPConfig struct {
	Dims        []int        // input width, hidden widths, output width; at least 2 entries
	Activation  Activation   // hidden activation; default ReLU
	Activations []Activation // optional per-hidden-layer override (len(Dims)-2 entries; "" keeps Activation)
	// Parameterization; default Standard.
	Parameterization Parameterization
	// WStd is the weight scale sigma_w (default 1): the init standard
	// deviation times sqrt(fan_in) in SP and muP, the forward multiplier
	// numerator in NTK (neural-tangents' W_std).
	WStd float64
	// BStd is the bias scale sigma_b (default 0): the bias init standard
	// deviation in SP, muP and mean field (0 initializes biases to zero);
	// in NTK the bias multiplier (neural-tangents' b_std), where 0 means no
	// bias at all, as in neural-tangents.
	BStd float64
	// NoBias drops the biases of all layers.
	NoBias bool
	// Init overrides the weight initializer (and, for InitTorch, the bias
	// initializer).
	Init Init
	// ZeroReadout initializes the weight and bias of the last layer (the
	// readout) to zero, as the mup library's readout_zero_init (Yang et
	// al. 2021, "Tensor Programs V", recommend it for muP):
	// the network's output is then exactly 0 at init at every width, so
	// no width-dependent random function has to be unlearned. It only
	// changes the init, under any parameterization; the other layers
	// draw the same values from rng as without it (the readout is drawn
	// last). A model with one layer is all readout and starts at zero.
	ZeroReadout bool
	// AdaptiveLR selects the learning-rate multipliers (Param.LRScale) for
	// Adam-like optimizers rather than SGD ones; only muP and mean field
	// use them.
	AdaptiveLR bool
}

// withDefaults returns c with default values filled in, or an error naming
// the field that is wrong.
func (c MLPConfig) withDefaults() (MLPConfig, error) {
	if len(c.Dims) < 2 {
		return c, fmt.Errorf("nn: MLPConfig.Dims %v needs at least an input and an output width", c.Dims)
	}
	for i, d := range c.Dims {
		if d <= 0 {
			return c, fmt.Errorf("nn: MLPConfig.Dims[%d] = %d is not positive", i, d)
		}
	}
	if c.Activation == "" {
		c.Activation = ReLU
	}
	if !c.Activation.Valid() {
		return c, fmt.Errorf("nn: MLPConfig.Activation %q is unknown", c.Activation)
	}
	if len(c.Activations) != 0 && len(c.Activations) != len(c.Dims)-2 {
		return c, fmt.Errorf("nn: MLPConfig.Activations has %d entries for %d hidden layers", len(c.Activations), len(c.Dims)-2)
	}
	for i, a := range c.Activations {
		if a != "" && !a.Valid() {
			return c, fmt.Errorf("nn: MLPConfig.Activations[%d] %q is unknown", i, a)
		}
	}
	if c.Parameterization == "" {
		c.Parameterization = Standard
	}
	if !c.Parameterization.Valid() {
		return c, fmt.Errorf("nn: MLPConfig.Parameterization %q is unknown (want standard, ntk, meanfield or mup)", c.Parameterization)
	}
	if c.WStd == 0 {
		c.WStd = 1
	}
	if c.WStd < 0 || c.BStd < 0 || math.IsNaN(c.WStd+c.BStd) || math.IsInf(c.WStd+c.BStd, 0) {
		return c, fmt.Errorf("nn: MLPConfig.WStd %v and BStd %v must be finite and non-negative", c.WStd, c.BStd)
	}
	switch c.Init {
	case InitDefault, InitTorch, InitLeCunNormal, InitLeCunUniform, InitHeNormal, InitHeUniform, InitGlorotNormal,
		InitGlorotUniform, InitOrthogonal, InitZeros:
	default:
		return c, fmt.Errorf("nn: MLPConfig.Init %q is unknown", c.Init)
	}
	return c, nil
}

// HasBias reports whether the layers of an MLP with this configuration
// have biases.
func (c MLPConfig) HasBias() bool {
	return !c.NoBias && !(c.Parameterization == NTK && c.BStd == 0)
}

// LayerActivation returns the activation after layer l (0-based) of L =
// len(Dims)-1 layers: Identity for the last.
func (c MLPConfig) LayerActivation(l int) Activation {
	if l == len(c.Dims)-2 {
		return Identity
	}
	if len(c.Activations) > 0 && c.Activations[l] != "" {
		return c.Activations[l]
	}
	if c.Activation == "" {
		return ReLU
	}
	return c.Activation
}

// MLP is a multilayer perceptron built from an MLPConfig. Its parameters
// are named like the state dict of torch.nn.Sequential(Linear, act,
// Linear, act, ..., Linear): "0.weight", "0.bias", "2.weight", ...
type MLP[T Float] struct {
	Config MLPConfig // with defaults filled in
	Layers []*Linear[T]
	params []*Param[T]
}

// NewMLP builds and initializes an MLP from cfg, drawing from rng in layer
// order (weight then bias). It returns an error if cfg is invalid or rng
// is nil.
func NewMLP[T Float](cfg MLPConfig, rng *rand.Rand) (*MLP[T], error) {
	if rng == nil {
		return nil, errNilRNG("nn.NewMLP")
	}
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	m := newMLPShell[T](c)
	for l, layer := range m.Layers {
		initLayer(c, l, layer, rng)
	}
	return m, nil
}

// newMLPShell allocates the layers of c (zero weights) and sets their
// multipliers and learning-rate scales.
func newMLPShell[T Float](c MLPConfig) *MLP[T] {
	m := &MLP[T]{Config: c}
	L := len(c.Dims) - 1
	for l := 0; l < L; l++ {
		in, out := c.Dims[l], c.Dims[l+1]
		var b *tensor.Tensor[T]
		if c.HasBias() {
			b = tensor.New[T](out)
		}
		layer := NewLinearFrom(strconv.Itoa(2*l)+".", tensor.New[T](out, in), b)
		layer.Act = c.LayerActivation(l)
		s := scalings(c, l)
		layer.Alpha, layer.BiasMult = s.alpha, s.biasMult
		layer.Weight.LRScale = s.lrW
		if layer.Bias != nil {
			layer.Bias.LRScale = s.lrB
		}
		m.Layers = append(m.Layers, layer)
		m.params = append(m.params, layer.Params()...)
	}
	return m
}

// LRScales returns the learning-rate multipliers (Param.LRScale) that
// NewMLP gives the weight and the bias of layer l (0-based) under c's
// parameterization: those for Adam-like optimizers if c.AdaptiveLR, for
// SGD-like ones otherwise (the table in the package documentation). A
// caller that needs the SGD multipliers of a model built for Adam, such as
// the learning-rate-weighted tangent kernel of package ntk, sets
// AdaptiveLR to false on a copy of its Config. It panics if l is not a
// layer of c.
func (c MLPConfig) LRScales(l int) (weight, bias float64) {
	if l < 0 || l >= len(c.Dims)-1 {
		panic("nn.MLPConfig.LRScales: layer " + strconv.Itoa(l) + " of an MLP with " + strconv.Itoa(max(len(c.Dims)-1, 0)) + " layers")
	}
	if c.Parameterization == "" {
		c.Parameterization = Standard
	}
	s := scalings(c, l)
	return s.lrW, s.lrB
}

// layerScalings are the per-layer constants of a parameterization.
type layerScalings struct {
	wStd, bStd    float64 // init standard deviations
	alpha         float64 // weight multiplier in the forward pass
	biasMult      float64 // bias multiplier in the forward pass
	lrW, lrB      float64 // learning-rate multipliers
	role          string  // "input", "hidden", "output" (or "input+output" for one layer)
	fanIn, fanOut int
}

// scalings returns the constants of layer l under c's parameterization:
// the table in the package documentation, in code.
func scalings(c MLPConfig, l int) layerScalings {
	L := len(c.Dims) - 1
	return roleScalings(scalingRule{c.Parameterization, c.WStd, c.BStd, c.AdaptiveLR}, c.Dims[l], c.Dims[l+1], l == 0, l == L-1)
}

// scalingRule is what the per-layer constants depend on besides the
// layer's fans and role: shared by MLPs and nets (NetConfig).
type scalingRule struct {
	p          Parameterization
	wStd, bStd float64
	adaptive   bool
}

// roleScalings returns the constants of a weight layer with fan_in fanIn
// and fan_out fanOut (for a convolution in/groups x kernel area and the
// output channels) under r: the first layer (input) if first, the last
// (output, the readout) if last, a hidden layer otherwise; both for a
// network of one weight layer. It is the table of the package
// documentation, in code.
func roleScalings(r scalingRule, fanIn, fanOut int, first, last bool) layerScalings {
	fin, fout := float64(fanIn), float64(fanOut)
	s := layerScalings{alpha: 1, biasMult: 1, lrW: 1, lrB: 1, fanIn: fanIn, fanOut: fanOut}
	switch {
	case first && last:
		s.role = "input+output"
	case first:
		s.role = "input"
	case last:
		s.role = "output"
	default:
		s.role = "hidden"
	}
	switch r.p {
	case Standard:
		s.wStd, s.bStd = r.wStd/math.Sqrt(fin), r.bStd
	case NTK:
		s.wStd, s.bStd = 1, 1
		s.alpha, s.biasMult = r.wStd/math.Sqrt(fin), r.bStd
	case MuP:
		s.bStd = r.bStd
		switch {
		case last:
			// MuReadout: N(0, WStd^2) weights read out with multiplier 1/n.
			s.wStd, s.alpha = r.wStd, 1/fin
			if first {
				// A single layer has no width: muP is SP.
				s.wStd, s.alpha = r.wStd/math.Sqrt(fin), 1
			}
			if r.adaptive {
				s.lrW = 1
			} else if !first {
				s.lrW = fin
			}
		default:
			s.wStd = r.wStd / math.Sqrt(fin)
			switch {
			case r.adaptive && first:
				s.lrW = 1
			case r.adaptive:
				s.lrW = 1 / fin
			case first:
				s.lrW = fout
			default:
				s.lrW = 1
			}
			if !r.adaptive {
				s.lrB = fout
			}
		}
	case MeanField:
		s.wStd, s.bStd = r.wStd, r.bStd
		switch {
		case last && !first:
			s.alpha = 1 / fin
			if !r.adaptive {
				s.lrW = fin
			}
		case last:
			s.alpha = 1 / math.Sqrt(fin)
		default:
			s.alpha = 1 / math.Sqrt(fin)
			switch {
			case r.adaptive && !first:
				s.lrW = 1 / math.Sqrt(fin)
			case r.adaptive:
				s.lrW = 1
			case first:
				s.lrW = fout
			default:
				s.lrW = fin
			}
			if !r.adaptive {
				s.lrB = fout
			}
		}
	}
	return s
}

// initLayer draws layer l's weights and bias from rng.
func initLayer[T Float](c MLPConfig, l int, layer *Linear[T], rng *rand.Rand) {
	s := scalings(c, l)
	w := layer.Weight.Value
	if c.ZeroReadout && l == len(c.Dims)-2 {
		Zeros(w)
		if layer.Bias != nil {
			Zeros(layer.Bias.Value)
		}
		return
	}
	switch c.Init {
	case InitDefault:
		Normal(w, s.wStd, rng)
	case InitTorch:
		TorchLinearWeight(w, rng)
	case InitLeCunNormal:
		LeCunNormal(w, rng)
	case InitLeCunUniform:
		LeCunUniform(w, rng)
	case InitHeNormal:
		HeNormal(w, rng)
	case InitHeUniform:
		HeUniform(w, rng)
	case InitGlorotNormal:
		GlorotNormal(w, rng)
	case InitGlorotUniform:
		GlorotUniform(w, rng)
	case InitOrthogonal:
		Orthogonal(w, c.WStd, rng)
	case InitZeros:
		Zeros(w)
	}
	if layer.Bias == nil {
		return
	}
	if c.Init == InitTorch {
		TorchLinearBias(layer.Bias.Value, s.fanIn, rng)
		return
	}
	Normal(layer.Bias.Value, s.bStd, rng)
}

// Params returns the parameters in state-dict order: "0.weight", "0.bias",
// "2.weight", ...
func (m *MLP[T]) Params() []*Param[T] { return m.params }

// Forward records the MLP applied to x [n, Dims[0]]; the output is [n,
// Dims[L]] (no activation after the last layer).
func (m *MLP[T]) Forward(t *autograd.Tape[T], x *autograd.Var[T]) *autograd.Var[T] {
	if s := x.Shape(); len(s) != 2 || s[1] != m.Config.Dims[0] {
		panic("nn.MLP.Forward: input shape " + shapeStr(s) + ", want [n " + strconv.Itoa(m.Config.Dims[0]) + "]")
	}
	for _, l := range m.Layers {
		x = l.Forward(t, x)
	}
	return x
}

// ForwardLayers is Forward that also appends the output of every layer
// (after its activation) to dst[:0]: the coordinates a muP coordinate
// check watches.
func (m *MLP[T]) ForwardLayers(dst []*autograd.Var[T], t *autograd.Tape[T], x *autograd.Var[T]) []*autograd.Var[T] {
	dst = dst[:0]
	for _, l := range m.Layers {
		x = l.Forward(t, x)
		dst = append(dst, x)
	}
	return dst
}

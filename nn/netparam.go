package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

// NetConfig describes a Net (a spec on an input shape, see Net) under one
// of the four width parameterizations of package nn, applied to its weight
// layers (convolutions and Linear layers) as MLPConfig applies them to an
// MLP's: the first weight layer in parameter order is the input layer, the
// last the output layer (the readout), the others hidden. A convolution's
// fan_in is in_channels/groups x kernel area and its fan_out its output
// channels, as in the mup library (Yang et al. 2021) and neural-tangents'
// stax.Conv. The package documentation has the table. The zero values of
// the optional fields select the defaults.
type NetConfig struct {
	Spec       string // the layers, e.g. conv16k3p1-relu-flatten-fc10 (see Net)
	InputShape []int  // one example, e.g. [1 8 8]
	// Parameterization; default Standard.
	Parameterization Parameterization
	// WStd is the weight scale sigma_w (default 1), as in MLPConfig.
	WStd float64
	// BStd is the bias scale sigma_b (default 0), as in MLPConfig. Under
	// NTK it is the bias multiplier; neural-tangents drops the bias when
	// it is 0, and so does the function here: the biases stay in the
	// state dict (the spec's layout), set to 0 with multiplier 0, so they
	// never move. Write nb in the spec to leave them out.
	BStd float64
	// Init overrides the weight initializer as in MLPConfig; InitTorch
	// keeps PyTorch's default init of each layer, which NewNet draws (then
	// NewNetWith with Standard and InitTorch is NewNet). Orthogonal
	// flattens a convolution's kernel to [out, in/groups x kh x kw].
	Init Init
	// ZeroReadout initializes the weight and bias of the last weight layer
	// to zero (the mup library's readout_zero_init), as in MLPConfig.
	ZeroReadout bool
	// AdaptiveLR selects the learning-rate multipliers (Param.LRScale) for
	// Adam-like optimizers rather than SGD ones.
	AdaptiveLR bool
}

// LayerScaling is what a parameterization sets on one weight layer of a
// Net or an MLP.
type LayerScaling struct {
	Prefix string `json:"prefix"` // the parameters' name prefix, e.g. "3." or "4.body.0."
	// Role is input, hidden, output or input+output (a single weight
	// layer).
	Role   string `json:"role"`
	FanIn  int    `json:"fan_in"`
	FanOut int    `json:"fan_out"`
	// WeightStd and BiasStd are the standard deviations of the default
	// init (Init ""), Alpha and BiasMult the forward multipliers, LRWeight
	// and LRBias the learning-rate multipliers (Param.LRScale).
	WeightStd float64 `json:"weight_std"`
	BiasStd   float64 `json:"bias_std"`
	Alpha     float64 `json:"alpha"`
	BiasMult  float64 `json:"bias_mult"`
	LRWeight  float64 `json:"lr_weight"`
	LRBias    float64 `json:"lr_bias"`
}

// withDefaults returns c with default values filled in, or an error naming
// the field that is wrong.
func (c NetConfig) withDefaults() (NetConfig, error) {
	if c.Parameterization == "" {
		c.Parameterization = Standard
	}
	if !c.Parameterization.Valid() {
		return c, fmt.Errorf("nn: NetConfig.Parameterization %q is unknown (want standard, ntk, meanfield or mup)", c.Parameterization)
	}
	if c.WStd == 0 {
		c.WStd = 1
	}
	if c.WStd < 0 || c.BStd < 0 || math.IsNaN(c.WStd+c.BStd) || math.IsInf(c.WStd+c.BStd, 0) {
		return c, fmt.Errorf("nn: NetConfig.WStd %v and BStd %v must be finite and non-negative", c.WStd, c.BStd)
	}
	switch c.Init {
	case InitDefault, InitTorch, InitLeCunNormal, InitLeCunUniform, InitHeNormal, InitHeUniform, InitGlorotNormal,
		InitGlorotUniform, InitOrthogonal, InitZeros:
	default:
		return c, fmt.Errorf("nn: NetConfig.Init %q is unknown", c.Init)
	}
	return c, nil
}

// weightLayer is a Conv2D or a Linear layer of a net, in parameter order.
type weightLayer[T Float] struct {
	weight, bias    *Param[T]
	alpha, biasMult *float64
	fanIn, fanOut   int
}

// netParts lists the weight layers of m in parameter order and the
// parameters of its normalization layers (vector-like: one entry per
// channel), and reports whether m has a residual block.
func netParts[T Float](m Module[T], layers []weightLayer[T], norms []normParams[T], res bool) ([]weightLayer[T], []normParams[T], bool) {
	switch m := m.(type) {
	case *Sequential[T]:
		for _, sm := range m.Modules {
			layers, norms, res = netParts(sm, layers, norms, res)
		}
	case *Residual[T]:
		layers, norms, _ = netParts(m.Body, layers, norms, true)
		if m.Shortcut != nil {
			layers, norms, _ = netParts(m.Shortcut, layers, norms, true)
		}
		res = true
	case *Conv2D[T]:
		k := m.Kernel()
		layers = append(layers, weightLayer[T]{m.Weight, m.Bias, &m.Alpha, &m.BiasMult, m.Weight.Value.Dim(1) * k[0] * k[1], m.Out()})
	case *Linear[T]:
		layers = append(layers, weightLayer[T]{m.Weight, m.Bias, &m.Alpha, &m.BiasMult, m.In(), m.Out()})
	case *BatchNorm[T]:
		norms = append(norms, normParams[T]{m.Weight, m.Bias, m.Channels(), "bn"})
	case *LayerNorm[T]:
		norms = append(norms, normParams[T]{m.Weight, m.Bias, m.Shape[0], "ln"})
	}
	return layers, norms, res
}

// normParams are the affine parameters of a normalization layer over
// channels (BatchNorm) or an example's shape (LayerNorm, whose first axis
// is the channels or the width).
type normParams[T Float] struct {
	weight, bias *Param[T]
	channels     int
	kind         string
}

// NewNetWith builds the net cfg describes under its parameterization,
// drawing from rng: NewNet builds the layers (drawing PyTorch's init),
// then, unless cfg.Init is InitTorch, every weight layer in parameter
// order draws its weight and then its bias again as the parameterization
// says (the readout last, and not at all under ZeroReadout). The forward
// multipliers Alpha and BiasMult and the learning-rate multipliers
// Param.LRScale are those of the package documentation's table, by
// role. Normalization layers keep PyTorch's init (weight 1, bias 0); their
// affine parameters are vector-like in the mup library's sense, with
// LRScale as a hidden bias of width their channel count.
//
// Mean field is defined for nets with two weight layers and no
// normalization or residual blocks, f(x) = (1/fan_in) sum a . act(W x):
// the particle system of Mei, Montanari and Nguyen (2018) and Chizat and
// Bach (2018), with one particle per hidden channel; any other net is an
// error, as there is no single mean-field limit to follow (muP is its
// counterpart for deeper nets).
//
// A parameterized net keeps its multipliers in the forward pass; Save
// records a parameterization other than Standard (parameterization, wstd,
// bstd and adaptive_lr in the metadata) next to the spec and input shape, and
// LoadNet rebuilds the multipliers and learning-rate scales from them.
// (LoadTorchNet ignores them, as all metadata: give it a state dict of
// PyTorch's parameterization.)
func NewNetWith[T Float](cfg NetConfig, rng *rand.Rand) (*Net[T], error) {
	if rng == nil {
		return nil, errNilRNG("nn.NewNetWith")
	}
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	n, err := NewNet[T](c.Spec, c.InputShape, rng)
	if err != nil {
		// NewNet's message names the token and shape at fault.
		return nil, fmt.Errorf("nn.NewNetWith: NetConfig.Spec: %s", strings.TrimPrefix(err.Error(), "nn.NewNet: "))
	}
	layers, norms, res := netParts[T](n.Body, nil, nil, false)
	if len(layers) == 0 {
		return nil, fmt.Errorf("nn.NewNetWith: NetConfig.Spec %q has no conv or fc layer to parameterize", c.Spec)
	}
	if c.Parameterization == MeanField && (len(layers) != 2 || len(norms) > 0 || res) {
		return nil, fmt.Errorf("nn.NewNetWith: Parameterization meanfield applies to nets with two weight layers and no normalization or residual blocks (one hidden layer of channels and a readout, e.g. conv64k3p1-relu-flatten-fc10); spec %q has %d weight layers%s: use mup, its counterpart for deeper nets",
			c.Spec, len(layers), normNote(len(norms), res))
	}
	rule := scalingRule{c.Parameterization, c.WStd, c.BStd, c.AdaptiveLR}
	for i, l := range layers {
		s := roleScalings(rule, l.fanIn, l.fanOut, i == 0, i == len(layers)-1)
		*l.alpha, *l.biasMult = s.alpha, s.biasMult
		l.weight.LRScale = s.lrW
		if l.bias != nil {
			l.bias.LRScale = s.lrB
		}
		if c.Init != InitTorch {
			initWeightLayer(c, s, l.weight, l.bias, i == len(layers)-1, rng)
		} else if c.ZeroReadout && i == len(layers)-1 {
			zeroLayer(l.weight, l.bias)
		}
		if s.biasMult == 0 && l.bias != nil {
			// No bias under NTK with BStd 0: keep the stored value
			// equal to the function's.
			Zeros(l.bias.Value)
		}
	}
	for _, nm := range norms {
		lr := normLRScale(c, nm.channels)
		nm.weight.LRScale, nm.bias.LRScale = lr, lr
	}
	if c.Parameterization != Standard {
		// SP has NewNet's multipliers and rates: nothing to record, and
		// its files stay those of NewNet.
		n.param = &c
	}
	return n, nil
}

// loadNetWith is LoadNet for a file that records a parameterization
// (err: the metadata did not read): NewNetWith rebuilds the net, with its
// multipliers, and LoadState fills it.
func loadNetWith[T Float](s *Safetensors, c NetConfig, err error) (*Net[T], error) {
	if err != nil {
		return nil, fmt.Errorf("nn.LoadNet: %w", err)
	}
	// The values are overwritten: any seed will do.
	n, err := NewNetWith[T](c, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		return nil, fmt.Errorf("nn.LoadNet: %w", err)
	}
	if err := n.LoadState(s); err != nil {
		return nil, fmt.Errorf("nn.LoadNet: %w", err)
	}
	return n, nil
}

// normNote completes the mean-field error with what else the spec has.
func normNote(norms int, res bool) string {
	var parts []string
	if norms > 0 {
		parts = append(parts, strconv.Itoa(norms)+" normalization layers")
	}
	if res {
		parts = append(parts, "residual blocks")
	}
	if len(parts) == 0 {
		return ""
	}
	return " and " + strings.Join(parts, " and ")
}

// normLRScale is the learning-rate multiplier of the affine parameters of
// a normalization layer over c channels: vector-like parameters (one
// width-sized axis) as the mup library's MuSGD treats them, the width
// under SGD in muP and mean field, 1 otherwise (and under Adam, as
// MuAdam).
func normLRScale(c NetConfig, channels int) float64 {
	if !c.AdaptiveLR && (c.Parameterization == MuP || c.Parameterization == MeanField) {
		return float64(channels)
	}
	return 1
}

// zeroLayer sets a weight layer's parameters to zero.
func zeroLayer[T Float](w, b *Param[T]) {
	Zeros(w.Value)
	if b != nil {
		Zeros(b.Value)
	}
}

// initWeightLayer draws a weight layer's weight and bias as c.Init and the
// scalings s say: MLP's initLayer for any weight shape.
func initWeightLayer[T Float](c NetConfig, s layerScalings, w, b *Param[T], readout bool, rng *rand.Rand) {
	if c.ZeroReadout && readout {
		zeroLayer(w, b)
		return
	}
	v := w.Value
	switch c.Init {
	case InitDefault:
		Normal(v, s.wStd, rng)
	case InitLeCunNormal:
		LeCunNormal(v, rng)
	case InitLeCunUniform:
		LeCunUniform(v, rng)
	case InitHeNormal:
		HeNormal(v, rng)
	case InitHeUniform:
		HeUniform(v, rng)
	case InitGlorotNormal:
		GlorotNormal(v, rng)
	case InitGlorotUniform:
		GlorotUniform(v, rng)
	case InitOrthogonal:
		Orthogonal(v.Reshape(v.Dim(0), -1), c.WStd, rng)
	case InitZeros:
		Zeros(v)
	}
	if b != nil {
		Normal(b.Value, s.bStd, rng)
	}
}

// Scalings returns what NewNetWith sets on every weight layer of the net c
// describes, in parameter order, or the error NewNetWith would return. It
// builds the net (in float32, from a fixed seed) to learn its shapes.
func (c NetConfig) Scalings() ([]LayerScaling, error) {
	n, err := NewNetWith[float32](c, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		return nil, err
	}
	c, _ = c.withDefaults()
	layers, _, _ := netParts[float32](n.Body, nil, nil, false)
	rule := scalingRule{c.Parameterization, c.WStd, c.BStd, c.AdaptiveLR}
	out := make([]LayerScaling, len(layers))
	for i, l := range layers {
		s := roleScalings(rule, l.fanIn, l.fanOut, i == 0, i == len(layers)-1)
		out[i] = LayerScaling{Prefix: strings.TrimSuffix(l.weight.Name, "weight"), Role: s.role, FanIn: s.fanIn, FanOut: s.fanOut,
			WeightStd: s.wStd, BiasStd: s.bStd, Alpha: s.alpha, BiasMult: s.biasMult, LRWeight: s.lrW, LRBias: s.lrB}
	}
	return out, nil
}

// LRScales returns the learning-rate multiplier (Param.LRScale) that
// NewNetWith gives every parameter of the net c describes, by parameter
// name. A caller that needs the SGD multipliers of a net built for Adam,
// such as the learning-rate-weighted tangent kernel of package ntk, sets
// AdaptiveLR to false on a copy of c.
func (c NetConfig) LRScales() (map[string]float64, error) {
	n, err := NewNetWith[float32](c, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		return nil, err
	}
	out := make(map[string]float64, len(n.Params()))
	for _, p := range n.Params() {
		out[p.Name] = p.LRScale
	}
	return out, nil
}

// NetSpecWidth returns the net spec template with every width placeholder
// replaced: {w} by width and {Kw} (K a positive integer, e.g. {2w}) by K
// times width, so that one template describes a family of nets whose
// channels scale together, e.g. conv{w}k3p1-relu-conv{2w}k3s2p1-relu-gap-fc10.
// A template without placeholders is returned as it is. A brace that does
// not open a placeholder is an error naming it.
func NetSpecWidth(template string, width int) (string, error) {
	if width < 1 {
		return "", fmt.Errorf("nn.NetSpecWidth: width %d, want at least 1", width)
	}
	var b strings.Builder
	rest := template
	for {
		i := strings.IndexAny(rest, "{}")
		if i < 0 {
			b.WriteString(rest)
			return b.String(), nil
		}
		j := strings.IndexByte(rest[i:], '}')
		if rest[i] == '}' || j < 0 {
			return "", fmt.Errorf("nn.NetSpecWidth: template %q: unmatched %q (a width placeholder is {w} or {Kw}, e.g. {2w})", template, rest[i])
		}
		ph := rest[i+1 : i+j]
		k := 1
		if mult, ok := strings.CutSuffix(ph, "w"); !ok {
			return "", fmt.Errorf("nn.NetSpecWidth: template %q: placeholder {%s}: want {w} or {Kw}, e.g. {2w}", template, ph)
		} else if mult != "" {
			v, err := strconv.Atoi(mult)
			if err != nil || v < 1 {
				return "", fmt.Errorf("nn.NetSpecWidth: template %q: placeholder {%s}: the multiplier must be a positive integer, e.g. {2w}", template, ph)
			}
			k = v
		}
		b.WriteString(rest[:i])
		b.WriteString(strconv.Itoa(k * width))
		rest = rest[i+j+1:]
	}
}

// IsNetSpecTemplate reports whether s holds a width placeholder ({w} or
// {Kw}) for NetSpecWidth.
func IsNetSpecTemplate(s string) bool { return strings.Contains(s, "{") }

// The metadata keys under which Net.Save records the parameterization of
// a net built by NewNetWith, so that LoadNet rebuilds its forward
// multipliers (without them a muP or NTK net would reload as another
// function) and its learning-rate multipliers.
const (
	metaParameterization = "parameterization"
	metaWStd             = "wstd"
	metaBStd             = "bstd"
	metaAdaptiveLR       = "adaptive_lr"
)

// addMetadata records c's parameterization in md. The init is not
// recorded: a loaded net takes its values from the file.
func (c NetConfig) addMetadata(md map[string]string) {
	md[metaParameterization] = string(c.Parameterization)
	md[metaWStd] = strconv.FormatFloat(c.WStd, 'g', -1, 64)
	md[metaBStd] = strconv.FormatFloat(c.BStd, 'g', -1, 64)
	md[metaAdaptiveLR] = strconv.FormatBool(c.AdaptiveLR)
}

// netConfigFrom reads the configuration addMetadata recorded, for the net
// of spec on inputShape; ok is false when md records none (a net of
// PyTorch's parameterization, built by NewNet).
func netConfigFrom(md map[string]string, spec string, inputShape []int) (c NetConfig, ok bool, err error) {
	p, ok := md[metaParameterization]
	if !ok {
		return c, false, nil
	}
	c = NetConfig{Spec: spec, InputShape: inputShape, Parameterization: Parameterization(p)}
	if c.WStd, err = strconv.ParseFloat(md[metaWStd], 64); err == nil {
		if c.BStd, err = strconv.ParseFloat(md[metaBStd], 64); err == nil {
			c.AdaptiveLR, err = strconv.ParseBool(md[metaAdaptiveLR])
		}
	}
	if err != nil {
		return c, true, fmt.Errorf("metadata of a parameterized net (%s, %s, %s): %v", metaWStd, metaBStd, metaAdaptiveLR, err)
	}
	return c, true, nil
}

package meanfield

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/tensor"
)

// Regime names how the output scale alpha(m) of a two-layer network depends
// on its width m.
type Regime string

// The regimes of a two-layer network f(x) = alpha(m) sum_i a_i act(w_i . x + b_i).
const (
	// MeanField is alpha(m) = 1/m (Mei-Montanari-Nguyen 2018; Chizat-Bach
	// 2018; Rotskoff-Vanden-Eijnden 2018): the network is an average over
	// its neurons and each neuron moves O(1) during training.
	MeanField Regime = "meanfield"
	// NTK is alpha(m) = 1/sqrt(m) (Jacot et al. 2018): the lazy regime,
	// in which each neuron moves O(m^-1/2).
	NTK Regime = "ntk"
	// Lazy is alpha(m) = Alpha/m: mean field multiplied by Chizat and
	// Bach's lazy scale Alpha (Chizat-Oyallon-Bach 2019). Alpha = 1 is mean
	// field, Alpha = sqrt(m) the NTK scale; weights move O(1/Alpha).
	Lazy Regime = "lazy"
)

// Valid reports whether r is a known regime.
func (r Regime) Valid() bool { return r == MeanField || r == NTK || r == Lazy }

// Config describes a two-layer network
//
//	f(x) = alpha(m) sum_{i<m} a_i act(c w_i . x + b_i),  a_i in R^k, w_i in R^d, b_i in R,
//
// with c = InputScale. The zero values of the optional fields select the
// defaults.
type Config struct {
	InputDim int // d
	Width    int // m, the number of neurons (particles)
	Outputs  int // k; default 1

	Activation nn.Activation // default Tanh
	Regime     Regime        // default MeanField
	// Alpha is the lazy scale of the Lazy regime (alpha(m) = Alpha/m);
	// it must be positive there and zero otherwise.
	Alpha float64

	// InputScale is c, the multiplier of w_i . x; default 1/sqrt(d), so
	// that with O(1) weights the pre-activations are O(1) for inputs of
	// norm sqrt(d), as in nn's mean-field parameterization. Use 1 for
	// inputs on the unit sphere if w . x should be read literally.
	InputScale float64
	// AStd, WStd and BStd are the standard deviations of the i.i.d.
	// Gaussian initial a_i, w_i (per coordinate) and b_i. AStd and WStd
	// default to 1; BStd defaults to 0 (biases start at zero but train).
	AStd, WStd, BStd float64
	// NoBias removes the b_i.
	NoBias bool
	// Symmetric draws m/2 neurons and pairs each with a copy whose a_i has
	// the opposite sign, so that f = 0 at initialization exactly (up to the
	// rounding of the sum): the initialization of Chizat-Oyallon-Bach
	// 2019, without which alpha(m) f would blow up with the lazy scale.
	// Width must then be even.
	Symmetric bool
	// AdaptiveLR selects the learning-rate multipliers for Adam-like
	// optimizers (1/(m alpha)) instead of SGD's (1/(m alpha^2)); see the
	// package documentation.
	AdaptiveLR bool
}

// errNilRNG is the error of a function that draws and was given no random
// source.
func errNilRNG(fn string) error {
	return fmt.Errorf("%s: rng is nil (want a seeded *rand.Rand, e.g. meanfield.NewRNG(seed))", fn)
}

// withDefaults returns c with defaults filled in, or an error naming the
// field at fault.
func (c Config) withDefaults() (Config, error) {
	if c.InputDim <= 0 {
		return c, fmt.Errorf("meanfield: Config.InputDim = %d must be positive", c.InputDim)
	}
	if c.Width <= 0 {
		return c, fmt.Errorf("meanfield: Config.Width = %d must be positive", c.Width)
	}
	if c.Outputs == 0 {
		c.Outputs = 1
	}
	if c.Outputs < 0 {
		return c, fmt.Errorf("meanfield: Config.Outputs = %d must be positive", c.Outputs)
	}
	if c.Activation == "" {
		c.Activation = nn.Tanh
	}
	if !c.Activation.Valid() {
		return c, fmt.Errorf("meanfield: Config.Activation %q is unknown", c.Activation)
	}
	if c.Regime == "" {
		c.Regime = MeanField
	}
	if !c.Regime.Valid() {
		return c, fmt.Errorf("meanfield: Config.Regime %q is unknown (want meanfield, ntk or lazy)", c.Regime)
	}
	switch {
	case c.Regime == Lazy && !(c.Alpha > 0 && !math.IsInf(c.Alpha, 0)):
		return c, fmt.Errorf("meanfield: Config.Alpha = %v must be positive and finite in the lazy regime", c.Alpha)
	case c.Regime != Lazy && c.Alpha != 0:
		return c, fmt.Errorf("meanfield: Config.Alpha = %v is only used in the lazy regime", c.Alpha)
	}
	if c.InputScale == 0 {
		c.InputScale = 1 / math.Sqrt(float64(c.InputDim))
	}
	if c.AStd == 0 {
		c.AStd = 1
	}
	if c.WStd == 0 {
		c.WStd = 1
	}
	for _, v := range []struct {
		name string
		x    float64
	}{{"InputScale", c.InputScale}, {"AStd", c.AStd}, {"WStd", c.WStd}, {"BStd", c.BStd}} {
		if v.x < 0 || math.IsNaN(v.x) || math.IsInf(v.x, 0) {
			return c, fmt.Errorf("meanfield: Config.%s = %v must be finite and non-negative", v.name, v.x)
		}
	}
	if c.Symmetric && c.Width%2 != 0 {
		return c, fmt.Errorf("meanfield: Config.Width = %d must be even with Symmetric", c.Width)
	}
	return c, nil
}

// Scale returns alpha(m), the output multiplier of the configuration
// (defaults filled in).
func (c Config) Scale() float64 {
	m := float64(c.Width)
	switch c.Regime {
	case NTK:
		return 1 / math.Sqrt(m)
	case Lazy:
		return c.Alpha / m
	}
	return 1 / m
}

// LRScale returns the learning-rate multiplier every parameter of the
// network gets, so that the training dynamics in function space and the
// motion of the empirical measure of the neurons have a width-independent
// limit: 1/(m alpha^2) for SGD and 1/(m alpha) for adaptive optimizers (see
// the package documentation for the derivation). Under mean field with SGD
// it is m: the per-neuron rate eta*m of Mei, Montanari and Nguyen.
func (c Config) LRScale() float64 {
	m, s := float64(c.Width), c.Scale()
	if c.AdaptiveLR {
		return 1 / (m * s)
	}
	return 1 / (m * s * s)
}

// Net is a two-layer network built from a Config: an nn.Module whose
// parameters are named like an nn.MLP's state dict ("0.weight" [m, d] holding
// the w_i as rows, "0.bias" [m] the b_i, "2.weight" [k, m] the a_i as
// columns), so optimizers, training loops and safetensors files treat it like
// any model. There is no output bias: the formula has none, and a bias would
// add a width-independent constant to the tangent kernel that swamps the
// O(1/m) kernel of the raw parameters in the mean-field scale.
type Net struct {
	Config  Config              // with defaults filled in
	Hidden  *nn.Linear[float64] // act(c x W^T + b)
	Readout *nn.Linear[float64] // alpha(m) h A^T, no bias
	params  []*nn.Param[float64]
}

// New builds and initializes a Net from cfg, drawing from rng the w_i, then
// the b_i (if BStd > 0), then the a_i.
func New(cfg Config, rng *rand.Rand) (*Net, error) {
	if rng == nil {
		return nil, errNilRNG("meanfield.New")
	}
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	d, m, k := c.InputDim, c.Width, c.Outputs
	w := tensor.New[float64](m, d)
	var b *tensor.Tensor[float64]
	if !c.NoBias {
		b = tensor.New[float64](m)
	}
	a := tensor.New[float64](k, m)
	// Symmetric: draw the first half and mirror it, so the pairing does not
	// depend on the order of the draws.
	drawn := m
	if c.Symmetric {
		drawn = m / 2
	}
	wd, ad := w.Data(), a.Data()
	for i := 0; i < drawn*d; i++ {
		wd[i] = c.WStd * rng.NormFloat64()
	}
	if b != nil && c.BStd > 0 {
		bd := b.Data()
		for i := 0; i < drawn; i++ {
			bd[i] = c.BStd * rng.NormFloat64()
		}
	}
	for o := 0; o < k; o++ {
		for i := 0; i < drawn; i++ {
			ad[o*m+i] = c.AStd * rng.NormFloat64()
		}
	}
	if c.Symmetric {
		copy(wd[drawn*d:], wd[:drawn*d])
		if b != nil {
			copy(b.Data()[drawn:], b.Data()[:drawn])
		}
		for o := 0; o < k; o++ {
			for i := 0; i < drawn; i++ {
				ad[o*m+drawn+i] = -ad[o*m+i]
			}
		}
	}
	n := &Net{Config: c}
	n.Hidden = nn.NewLinearFrom("0.", w, b)
	n.Hidden.Alpha = c.InputScale
	n.Hidden.Act = c.Activation
	n.Readout = nn.NewLinearFrom("2.", a, nil)
	n.Readout.Alpha = c.Scale()
	n.params = append(append(n.params, n.Hidden.Params()...), n.Readout.Params()...)
	lr := c.LRScale()
	for _, p := range n.params {
		p.LRScale = lr
	}
	return n, nil
}

// Params returns the parameters: "0.weight", "0.bias" (unless NoBias),
// "2.weight".
func (n *Net) Params() []*nn.Param[float64] { return n.params }

// Forward records f(x) [batch, k] for x [batch, d] on t.
func (n *Net) Forward(t *autograd.Tape[float64], x *autograd.Var[float64]) *autograd.Var[float64] {
	return n.Readout.Forward(t, n.Hidden.Forward(t, x))
}

// Predict returns f(x) [batch, k] for x [batch, d], computed in float64
// without a tape.
func (n *Net) Predict(x *tensor.Tensor[float64]) *tensor.Tensor[float64] {
	n.checkInput("Predict", x)
	h, _ := n.features(x, false)
	m, k := n.Config.Width, n.Config.Outputs
	a := n.Readout.Weight.Value.Data()
	s := n.Readout.Alpha
	out := tensor.New[float64](x.Dim(0), k)
	od := out.Data()
	for r := 0; r < x.Dim(0); r++ {
		hr := h[r*m : (r+1)*m]
		for o := 0; o < k; o++ {
			ao := a[o*m : (o+1)*m]
			var sum float64
			for i, v := range hr {
				sum += ao[i] * v
			}
			od[r*k+o] = s * sum
		}
	}
	return out
}

// checkInput panics, naming the caller and the shapes, unless x is [batch, d].
func (n *Net) checkInput(op string, x *tensor.Tensor[float64]) {
	if x.NDim() != 2 || x.Dim(1) != n.Config.InputDim {
		panic(fmt.Sprintf("meanfield.%s: input shape %v does not match input dimension %d", op, x.Shape(), n.Config.InputDim))
	}
}

// features returns the hidden activations act(z) [batch*m] of x, z = c w_i
// . x + b_i, and, if deriv, act'(z). Both come from the vocabulary's
// scalar reference (tensor.Activation.Eval): the closed-form kernel needs
// act' as a function, which the tape does not provide, and one scalar
// routine for both keeps h and act' consistent.
func (n *Net) features(x *tensor.Tensor[float64], deriv bool) (h, dh []float64) {
	rows, d, m := x.Dim(0), n.Config.InputDim, n.Config.Width
	xd, w := x.Data(), n.Hidden.Weight.Value.Data()
	var b []float64
	if n.Hidden.Bias != nil {
		b = n.Hidden.Bias.Value.Data()
	}
	c := n.Hidden.Alpha
	h = make([]float64, rows*m)
	if deriv {
		dh = make([]float64, rows*m)
	}
	for r := 0; r < rows; r++ {
		xr := xd[r*d : (r+1)*d]
		for i := 0; i < m; i++ {
			wi := w[i*d : (i+1)*d]
			var z float64
			for j, v := range xr {
				z += wi[j] * v
			}
			z *= c
			if b != nil {
				z += b[i]
			}
			v, dv := n.Config.Activation.Eval(z)
			h[r*m+i] = v
			if deriv {
				dh[r*m+i] = dv
			}
		}
	}
	return h, dh
}

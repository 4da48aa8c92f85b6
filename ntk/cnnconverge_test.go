package ntk

import (
	"fmt"
	"strings"

	"github.com/gradflow/gradflow/nn"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gradflow/gradflow/tensor"
)

// convergenceTemplate has a convolution, an identity residual block (its
// input is the first convolution's Gaussian output, as ConvArch needs),
// average pooling and a flattening readout.
const convergenceTemplate = "conv{w}k3p1-res(relu-conv{w}k3p1)-relu-avgpool2-flatten-fc1"

// The Monte Carlo NTK and NNGP of CNNs in the NTK parameterization
// converge to ConvArch's analytic kernels at the rate width^-1/2 (issue
// 20): the least-squares slope of log relative error against log channels
// over five widths (8 to 128) is within 0.1 of -0.5, for the root mean
// square error of 4-seed Monte Carlo estimates (64 independent ones per
// width) and for single networks (mean of the 256 per-seed slopes). The
// widths, seeds and inputs are fixed, so the numbers are reproducible;
// they are logged. Three disjoint seed sets gave Monte Carlo slopes
// -0.53, -0.48, -0.49 (NTK) and -0.50, -0.45, -0.49 (NNGP), and per-seed
// slopes -0.50 to -0.52: the standard error of a slope is about 0.04, so
// the +-0.1 band is 2.5 standard errors wide. 6x6 images keep it at 1280
// networks in about 20 s on 2 cores.
func TestCNNConvergenceSlope(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 1280 CNNs (about 20 s)")
	}
	rng := rand.New(rand.NewPCG(2020, 5))
	x := tensor.New[float64](8, 36)
	for i := range x.Data() {
		x.Data()[i] = rng.NormFloat64()
	}
	res, err := CNNConvergence(x, ConvergenceConfig{
		Template: convergenceTemplate, InputShape: []int{1, 6, 6},
		Widths: []int{8, 16, 32, 64, 128}, Seeds: 4, Repeats: 64, FirstSeed: 1, WStd: math.Sqrt2, BStd: 0.1,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range res.Points {
		t.Logf("width %4d (%7d params): NTK MC %.4f (stderr %.4f, per seed %.4f)  NNGP MC %.4f (stderr %.4f, per seed %.4f)",
			p.Width, p.Params, p.NTKError, p.NTKStdErr, p.NTKSeedRMS, p.NNGPError, p.NNGPStdErr, p.NNGPSeedRMS)
	}
	for _, f := range []struct {
		name string
		fit  SlopeFit
	}{{"NTK Monte Carlo", res.NTK}, {"NTK per seed", res.NTKPerSeed}, {"NNGP Monte Carlo", res.NNGP}, {"NNGP per seed", res.NNGPPerSeed}} {
		t.Logf("%s slope %.3f, 95%% interval [%.3f, %.3f]", f.name, f.fit.Slope, f.fit.Lo, f.fit.Hi)
		if math.Abs(f.fit.Slope+0.5) > 0.1 {
			t.Errorf("%s: slope %.3f, want -0.5 +- 0.1", f.name, f.fit.Slope)
		}
	}
}

// ConvArchOf maps a net layer by layer (fused ReLUs once, SAME and VALID
// padding, pools, readouts, residual paths, the multipliers as W_std and
// b_std) and names the layer it cannot map.
func TestConvArchOf(t *testing.T) {
	net, err := NewNTKNet[float64]("conv4k3p1-res(relu-conv4k3p1-tanh-conv4k3p1)-relu-avgpool3s1p1-conv5k3-gap-flatten-fc8-relu-fc2", []int{1, 8, 8}, 1.5, 0.2, 1)
	if err != nil {
		t.Fatal(err)
	}
	arch, err := ConvArchOf(net)
	if err != nil {
		t.Fatal(err)
	}
	want := ConvArch{Layers: []ConvLayer{
		{Op: OpConv, Size: [2]int{3, 3}, Padding: Same, WStd: 1.5, BStd: 0.2},
		Residual([]ConvLayer{
			Act(nn.ReLU), {Op: OpConv, Size: [2]int{3, 3}, Padding: Same, WStd: 1.5, BStd: 0.2}, Act(nn.Tanh),
			{Op: OpConv, Size: [2]int{3, 3}, Padding: Same, WStd: 1.5, BStd: 0.2},
		}, nil),
		Act(nn.ReLU), AvgPool(3, 1, Same),
		{Op: OpConv, Size: [2]int{3, 3}, Padding: Valid, WStd: 1.5, BStd: 0.2},
		GlobalAvgPool(), Dense(1.5, 0.2), Act(nn.ReLU), Dense(1.5, 0.2),
	}}
	if got, exp := fmt.Sprintf("%+v", roundStd(arch)), fmt.Sprintf("%+v", want); got != exp {
		t.Errorf("ConvArchOf:\n got %s\nwant %s", got, exp)
	}
	for spec, msg := range map[string]string{
		"conv4k3p1-relu-maxpool2-flatten-fc2":      `layer 2 "maxpool2"`,
		"conv4k3s2p1-relu-flatten-fc2":             `stride 2x2 has no analytic kernel`,
		"conv4k3p1-relu-res(conv4k3p1-bn)-gap-fc2": `layer 2.body.1 "bn"`,
		"conv4k3p2-relu-flatten-fc2":               `padding [2 2] of a 3x3 filter`,
		"conv4k3p1-relu-res(conv4k3p1)-gap-fc2":    `no kernel`, // identity shortcut of a non-Gaussian input
	} {
		net, err := NewNTKNet[float64](spec, []int{1, 8, 8}, 1, 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ConvArchOf(net); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("ConvArchOf(%q) = %v, want an error containing %q", spec, err, msg)
		}
	}
}

// roundStd rounds the scales read back from the multipliers (sqrt of a
// product) to 12 digits, for comparison.
func roundStd(a ConvArch) ConvArch {
	var fix func([]ConvLayer) []ConvLayer
	fix = func(ls []ConvLayer) []ConvLayer {
		out := make([]ConvLayer, len(ls))
		for i, l := range ls {
			l.WStd = math.Round(l.WStd*1e12) / 1e12
			l.Branch, l.Shortcut = fix(l.Branch), fix(l.Shortcut)
			out[i] = l
		}
		return out
	}
	return ConvArch{Layers: fix(a.Layers)}
}

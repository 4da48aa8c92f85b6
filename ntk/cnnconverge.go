package ntk

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/gradflow/gradflow/internal/figure"
	"github.com/gradflow/gradflow/internal/powerlaw"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/tensor"
)

// ConvergenceConfig configures CNNConvergence: a family of nets whose
// channels scale with one width, in the NTK parameterization.
type ConvergenceConfig struct {
	// Template is a net spec with width placeholders {w} and {Kw}
	// (nn.NetSpecWidth), e.g. conv{w}k3p1-res(relu-conv{w}k3p1)-relu-
	// avgpool2-flatten-fc1. Its nets must map to a ConvArch (ConvArchOf)
	// and end with a Linear readout (fc<N>).
	Template string
	// InputShape is the shape of one example, [C H W].
	InputShape []int
	// Widths are the widths substituted for {w}; at least 3, for a slope
	// with an interval.
	Widths []int
	// Seeds networks of each width make one Monte Carlo estimate (at
	// least 2), and Repeats (0 selects 1) independent estimates are made:
	// seeds FirstSeed, FirstSeed+1, ..., FirstSeed+Repeats*Seeds-1.
	Seeds, Repeats int
	FirstSeed      uint64
	// WStd and BStd are the weight and bias scales (WStd 0 selects 1).
	WStd, BStd float64
	// Options configures the empirical NTKs (Empirical).
	Options Options
}

// ConvergencePoint is the distance of finite-width kernels from the
// infinite-width ones at one width, relative to the latter in Frobenius
// norm over the n x n Gram matrix (traced over the outputs).
type ConvergencePoint struct {
	Width  int    `json:"width"`
	Spec   string `json:"spec"`
	Params int    `json:"params"`
	// NTKError is the root mean square over the repeats of ||mean_s
	// Theta_s - Theta|| / ||Theta||, the error of a Monte Carlo estimate
	// over Seeds networks (MonteCarlo), and NTKSeedRMS the root mean
	// square over all networks of one network's ||Theta_s - Theta|| /
	// ||Theta||. NTKStdErr is the Frobenius norm of the Monte Carlo
	// standard errors of one estimate, relative to ||Theta|| (root mean
	// square over the repeats).
	NTKError   float64 `json:"ntk_rel_err"`
	NTKSeedRMS float64 `json:"ntk_seed_rms_rel_err"`
	NTKStdErr  float64 `json:"ntk_rel_stderr"`
	// The same for the NNGP kernel of the readout's features
	// (ReadoutNNGP).
	NNGPError   float64 `json:"nngp_rel_err"`
	NNGPSeedRMS float64 `json:"nngp_seed_rms_rel_err"`
	NNGPStdErr  float64 `json:"nngp_rel_stderr"`
}

// SlopeFit is a fitted exponent b of error ~ width^b with its 95%
// interval [Lo, Hi].
type SlopeFit struct {
	Slope float64 `json:"slope"`
	Lo    float64 `json:"lo"`
	Hi    float64 `json:"hi"`
}

// ConvergenceResult is what CNNConvergence measures.
type ConvergenceResult struct {
	Template string             `json:"template"`
	Seeds    int                `json:"seeds"`
	Repeats  int                `json:"repeats"`
	Points   []ConvergencePoint `json:"points"`
	// NTK is the slope of log NTKError against log width, a least-squares
	// line with its 95% Student-t interval from the residuals (widths - 2
	// degrees of freedom). NTKPerSeed is the mean over the seeds of each
	// seed's slope of log ||Theta_s - Theta|| against log width, with the
	// 95% t-interval over the seeds (powerlaw.TInterval). NNGP and
	// NNGPPerSeed are the same for the NNGP kernel.
	NTK, NTKPerSeed, NNGP, NNGPPerSeed SlopeFit
}

// CNNConvergence measures how fast the kernels of finite convolutional
// nets approach the infinite-width ones (issue 20): for every width it
// builds cfg.Seeds nets of the template in the NTK parameterization
// (NewNTKNet), estimates the NTK and the NNGP kernel on the rows of x by
// MonteCarlo, and compares them with ConvArchOf's analytic kernels.
//
// One network's NTK deviates from its limit by O(width^-1/2) (Hanin and
// Nica 2020; its fluctuations dominate its O(1/width) bias), and so does a
// mean over a fixed number of seeds, so both slopes should be near -0.5.
// The error of one estimate is a single draw dominated by a few directions
// of the kernel (its overall scale above all), so its logarithm scatters
// by O(1) from width to width; Repeats independent estimates per width
// give its root mean square, whose slope is stable.
// The NNGP kernel of one network is the readout features' kernel
// (ReadoutNNGP), which has the same rate; the output second moment f f'
// would not converge in width at all.
func CNNConvergence(x *tensor.Tensor[float64], cfg ConvergenceConfig) (*ConvergenceResult, error) {
	if err := nonNilTensors("CNNConvergence", []string{"x"}, x); err != nil {
		return nil, err
	}
	if len(cfg.Widths) < 3 || cfg.Seeds < 2 {
		return nil, fmt.Errorf("ntk: CNNConvergence needs at least 3 widths and 2 seeds for slopes with intervals, got %d widths and %d seeds", len(cfg.Widths), cfg.Seeds)
	}
	reps := max(cfg.Repeats, 1)
	var analytic Gram
	res := &ConvergenceResult{Template: cfg.Template, Seeds: cfg.Seeds, Repeats: reps}
	ntkSeed := make([][]float64, reps*cfg.Seeds) // [seed][width]
	nngpSeed := make([][]float64, reps*cfg.Seeds)
	for wi, width := range cfg.Widths {
		spec, err := nn.NetSpecWidth(cfg.Template, width)
		if err != nil {
			return nil, err
		}
		build := func(seed uint64) (nn.Module[float64], error) {
			return NewNTKNet[float64](spec, cfg.InputShape, cfg.WStd, cfg.BStd, seed)
		}
		first, err := NewNTKNet[float64](spec, cfg.InputShape, cfg.WStd, cfg.BStd, cfg.FirstSeed)
		if err != nil {
			return nil, err
		}
		if wi == 0 {
			arch, err := ConvArchOf(first)
			if err != nil {
				return nil, err
			}
			if analytic, err = arch.Gram(matrixOf64(x), imageShape(cfg.InputShape)); err != nil {
				return nil, err
			}
		}
		pt := ConvergencePoint{Width: width, Spec: spec, Params: selectedParams[float64](first, nil)}
		ntkNorm, nngpNorm := frobenius(analytic.NTK), frobenius(analytic.NNGP)
		var seedNTK, seedNNGP, mcNTK, mcNNGP, seNTK, seNNGP float64 // sums of squares
		s := 0
		for r := 0; r < reps; r++ {
			mc, err := MonteCarlo(build, x, nil, MonteCarloConfig[float64]{
				Seeds: cfg.Seeds, FirstSeed: cfg.FirstSeed + uint64(r*cfg.Seeds), Options: cfg.Options,
				NNGP: func(m nn.Module[float64], x1, x2 *tensor.Tensor[float64]) (*mat.Dense, error) {
					k, err := ReadoutNNGP(m.(*nn.Net[float64]), x1, x2)
					if err != nil {
						return nil, err
					}
					return mat.NewDense(k.Dim(0), k.Dim(1), k.Data()), nil
				},
				Each: func(_ uint64, th, k *mat.Dense) error {
					e, f := distance(th, analytic.NTK)/ntkNorm, distance(k, analytic.NNGP)/nngpNorm
					ntkSeed[s] = append(ntkSeed[s], e)
					nngpSeed[s] = append(nngpSeed[s], f)
					seedNTK, seedNNGP = seedNTK+e*e, seedNNGP+f*f
					s++
					return nil
				},
			})
			if err != nil {
				return nil, fmt.Errorf("ntk: CNNConvergence at width %d: %w", width, err)
			}
			e, f := distance(mc.NTK, analytic.NTK)/ntkNorm, distance(mc.NNGP, analytic.NNGP)/nngpNorm
			mcNTK, mcNNGP = mcNTK+e*e, mcNNGP+f*f
			e, f = frobenius(mc.NTKStdErr)/ntkNorm, frobenius(mc.NNGPStdErr)/nngpNorm
			seNTK, seNNGP = seNTK+e*e, seNNGP+f*f
		}
		rms := func(ss float64, n int) float64 { return math.Sqrt(ss / float64(n)) }
		pt.NTKError, pt.NNGPError = rms(mcNTK, reps), rms(mcNNGP, reps)
		pt.NTKStdErr, pt.NNGPStdErr = rms(seNTK, reps), rms(seNNGP, reps)
		pt.NTKSeedRMS, pt.NNGPSeedRMS = rms(seedNTK, s), rms(seedNNGP, s)
		res.Points = append(res.Points, pt)
	}
	widths := make([]float64, len(cfg.Widths))
	for i, w := range cfg.Widths {
		widths[i] = float64(w)
	}
	var ntkErr, nngpErr []float64
	for _, p := range res.Points {
		ntkErr, nngpErr = append(ntkErr, p.NTKError), append(nngpErr, p.NNGPError)
	}
	res.NTK, res.NNGP = regressionSlope(widths, ntkErr), regressionSlope(widths, nngpErr)
	res.NTKPerSeed, res.NNGPPerSeed = perSeedSlope(widths, ntkSeed), perSeedSlope(widths, nngpSeed)
	return res, nil
}

// imageShape returns a [C H W] shape as ConvArch takes it.
func imageShape(s []int) [3]int {
	if len(s) != 3 {
		return [3]int{}
	}
	return [3]int{s[0], s[1], s[2]}
}

// frobenius returns the Frobenius norm of a.
func frobenius(a mat.Matrix) float64 { return mat.Norm(a, 2) }

// distance returns ||a - b||_F.
func distance(a, b mat.Matrix) float64 {
	var d mat.Dense
	d.Sub(a, b)
	return mat.Norm(&d, 2)
}

// regressionSlope fits log y = a + b log x by least squares and returns b
// with its 95% interval b -+ t_{0.975, m-2} s / sqrt(Sxx), s^2 the
// residual variance (NaN bounds with fewer than 3 points).
func regressionSlope(x, y []float64) SlopeFit {
	b := powerlaw.Slope(x, y)
	m := float64(len(x))
	if len(x) < 3 || math.IsNaN(b) {
		return SlopeFit{Slope: b, Lo: math.NaN(), Hi: math.NaN()}
	}
	var mx, my float64
	for i := range x {
		mx += math.Log(x[i])
		my += math.Log(y[i])
	}
	mx, my = mx/m, my/m
	var sxx, ssr float64
	for i := range x {
		sxx += (math.Log(x[i]) - mx) * (math.Log(x[i]) - mx)
	}
	for i := range x {
		r := math.Log(y[i]) - my - b*(math.Log(x[i])-mx)
		ssr += r * r
	}
	se := math.Sqrt(ssr / (m - 2) / sxx)
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: m - 2}.Quantile(0.975)
	return SlopeFit{Slope: b, Lo: b - t*se, Hi: b + t*se}
}

// perSeedSlope fits each seed's errors over the widths and returns the
// mean slope with its t-interval over the seeds.
func perSeedSlope(widths []float64, perSeed [][]float64) SlopeFit {
	slopes := make([]float64, 0, len(perSeed))
	for _, e := range perSeed {
		slopes = append(slopes, powerlaw.Slope(widths, e))
	}
	mean, lo, hi := powerlaw.TInterval(slopes)
	return SlopeFit{Slope: mean, Lo: lo, Hi: hi}
}

// errNotImage is returned for a study of images without an image shape.
var errNotImage = errors.New("ntk: the data has no image shape ([C H W]); convolutional nets need images such as the digits or MNIST")

// SaveFigure writes dir/convergence.png and .svg: the relative errors of
// the Monte Carlo estimates and of single networks against the width, on
// log-log axes, with the slope -1/2 through the last Monte Carlo point.
func (r *ConvergenceResult) SaveFigure(dir string) error {
	var w, mcNTK, oneNTK, mcNNGP, oneNNGP []float64
	for _, p := range r.Points {
		w = append(w, float64(p.Width))
		mcNTK, oneNTK = append(mcNTK, p.NTKError), append(oneNTK, p.NTKSeedRMS)
		mcNNGP, oneNNGP = append(mcNNGP, p.NNGPError), append(oneNNGP, p.NNGPSeedRMS)
	}
	last := len(w) - 1
	ref := make([]float64, len(w))
	for i := range w {
		ref[i] = mcNTK[last] * math.Sqrt(w[last]/w[i])
	}
	p := figure.Plot{
		Title:  fmt.Sprintf("finite-width CNN kernels vs analytic (%s)", r.Template),
		XLabel: "channels (width)", YLabel: "relative Frobenius error", LogX: true, LogY: true, Markers: true,
		Series: []figure.Series{
			{Name: fmt.Sprintf("NTK, mean of %d nets (slope %.2f)", r.Seeds, r.NTK.Slope), X: w, Y: mcNTK},
			{Name: fmt.Sprintf("NTK, one net (slope %.2f)", r.NTKPerSeed.Slope), X: w, Y: oneNTK},
			{Name: fmt.Sprintf("NNGP, mean of %d nets (slope %.2f)", r.Seeds, r.NNGP.Slope), X: w, Y: mcNNGP},
			{Name: fmt.Sprintf("NNGP, one net (slope %.2f)", r.NNGPPerSeed.Slope), X: w, Y: oneNNGP},
			{Name: "width^-1/2", X: w, Y: ref, Dashed: true},
		},
	}
	return p.Save(dir, "convergence")
}

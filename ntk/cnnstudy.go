package ntk

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/mat"

	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/internal/figure"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/tensor"
)

// CNNStudyConfig configures CNNStudy.
type CNNStudyConfig struct {
	// Spec is the net (nn.Net's grammar); its output width must be the
	// number of classes.
	Spec string
	// N and NTest are the numbers of training and test points, a random
	// subset drawn with Seed (0 or more than available: all).
	N, NTest int
	// Seed seeds the subsets and the first network; the Monte Carlo
	// networks have seeds Seed, Seed+1, ...
	Seed uint64
	// WStd and BStd are neural-tangents' W_std (0 selects 1) and b_std
	// of every layer (NewNTKNet).
	WStd, BStd float64
	// MCSeeds is the number of networks of the Monte Carlo estimate (0:
	// none; otherwise at least 2).
	MCSeeds int
	// DiagReg is the ridge of the posteriors relative to the mean diagonal
	// of the training kernel (PredictOptions.DiagReg).
	DiagReg float64
	// MemoryBudget bounds the scratch memory of the empirical kernels
	// (Options.MemoryBudget).
	MemoryBudget int64
}

// CNNKernelResult compares one finite-width kernel with the analytic one:
// ||K - K_inf||_F / ||K_inf||_F over the Gram matrix of the training and
// test points together (nil, JSON null, without an analytic kernel).
type CNNKernelResult struct {
	Kind     string   `json:"kind"` // "kernel"
	Name     string   `json:"name"` // empirical (one network) or monte_carlo
	Networks int      `json:"networks"`
	NTKErr   *float64 `json:"ntk_rel_err"`
	NNGPErr  *float64 `json:"nngp_rel_err"`
	// NTKStdErr and NNGPStdErr are the Frobenius norms of the Monte Carlo
	// standard errors relative to the analytic kernels (0 for one
	// network): the part of the error the finite number of networks
	// explains.
	NTKStdErr  float64 `json:"ntk_rel_stderr"`
	NNGPStdErr float64 `json:"nngp_rel_stderr"`
	// MeanDiagNTK is the mean of the NTK's diagonal, a scale to read the
	// errors against.
	MeanDiagNTK float64 `json:"mean_diag_ntk"`
}

// CNNPosteriorResult is the test score of a Gaussian-process posterior
// with one kernel: NNGP (Bayesian inference, NNGPPosterior) or NTK-GP
// (an infinite ensemble trained to convergence on the MSE, NTKGP.At(Inf)).
type CNNPosteriorResult struct {
	Kind      string `json:"kind"`      // "posterior"
	Kernel    string `json:"kernel"`    // analytic, monte_carlo or empirical
	Posterior string `json:"posterior"` // nngp or ntk_gp
	TestScore
}

// CNNStudyResult is what CNNStudy computes. It marshals to the summary
// JSON line of "train ntk -arch <net spec> -json".
type CNNStudyResult struct {
	Kind       string  `json:"kind"` // "summary"
	Data       string  `json:"data"` // set by the caller
	Spec       string  `json:"spec"`
	InputShape []int   `json:"input_shape"`
	Params     int     `json:"params"`
	Seed       uint64  `json:"seed"`
	WStd       float64 `json:"w_std"`
	BStd       float64 `json:"b_std"`
	NTrain     int     `json:"n_train"`
	NTest      int     `json:"n_test"`
	Outputs    int     `json:"outputs"`
	DiagReg    float64 `json:"diag_reg"`
	// Analytic reports whether ConvArchOf maps the net; AnalyticSkipped
	// says why not.
	Analytic        bool                 `json:"analytic"`
	AnalyticSkipped string               `json:"analytic_skipped,omitempty"`
	Kernels         []CNNKernelResult    `json:"kernels"`
	Posteriors      []CNNPosteriorResult `json:"posteriors"`

	// points are (analytic, empirical, Monte Carlo) NTK entries for the
	// figure.
	points [3][]float64
}

// CNNStudy compares, on a subset of a labelled image dataset, the kernels
// of a convolutional net in the NTK parameterization (NewNTKNet) at its
// finite width with those of its infinite-width limit (issue 20):
//
//   - the empirical NTK and NNGP kernel of one network (seed Seed; the
//     NNGP kernel from the readout's features, ReadoutNNGP, or the
//     outputs' second moment when the net does not end with fc);
//   - their Monte Carlo means over MCSeeds networks (MonteCarlo);
//   - the analytic kernels of ConvArchOf(net), when the net maps to one;
//
// with the relative Frobenius distances of the finite kernels from the
// analytic ones, and the test accuracy of the NNGP posterior and of the
// NTK-GP at t = infinity (targets: one-hot minus 1/k, as Lee et al. 2018)
// for each kernel. Everything runs in float64 except the empirical
// kernels, computed in T. The nets are in eval mode. Errors name the input
// at fault (no labels, no image shape, a spec that does not fit, a
// posterior that needs a larger DiagReg) or ctx's error between stages.
func CNNStudy[T tensor.Float](ctx context.Context, train, test *data.Dataset[T], cfg CNNStudyConfig) (*CNNStudyResult, error) {
	if train == nil || test == nil {
		return nil, errors.New("ntk: CNNStudy needs a training and a test set")
	}
	if train.Labels == nil || test.Labels == nil {
		return nil, errors.New("ntk: CNNStudy needs labelled data (a classification dataset such as digits or MNIST)")
	}
	shape := train.ExampleShape()
	if len(shape) != 3 {
		return nil, errNotImage
	}
	if cfg.MCSeeds == 1 || cfg.MCSeeds < 0 {
		return nil, fmt.Errorf("ntk: CNNStudyConfig.MCSeeds = %d: want 0 (no Monte Carlo estimate) or at least 2", cfg.MCSeeds)
	}
	if cfg.WStd == 0 {
		cfg.WStd = 1
	}
	k := max(train.NumClasses, test.NumClasses)
	build := func(seed uint64) (*nn.Net[T], error) {
		return NewNTKNet[T](cfg.Spec, shape, cfg.WStd, cfg.BStd, seed)
	}
	net, err := build(cfg.Seed)
	if err != nil {
		return nil, err
	}
	if out := net.OutputShape(); len(out) != 1 || out[0] != k {
		return nil, fmt.Errorf("ntk: the net %q has outputs of shape %v, the data %d classes (end the spec with fc%d)", cfg.Spec, out, k, k)
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0xc22))
	tr := train.Subset(subsetRows(rng, train.Len(), cfg.N, train.Labels))
	te := test.Subset(subsetRows(rng, test.Len(), cfg.NTest, test.Labels))
	n, m := tr.Len(), te.Len()
	if n+m > MaxStudySide {
		return nil, fmt.Errorf("%w: %d training and %d test points, at most %d together", ErrKernelTooLarge, n, m, MaxStudySide)
	}
	// One Gram matrix of all points gives the training, test-training and
	// test-diagonal blocks at once, each row's Jacobian computed once.
	all := tensor.New[T](n+m, tr.Dim())
	copy(all.Data()[copy(all.Data(), tr.X.Data()):], te.X.Data())
	res := &CNNStudyResult{
		Kind: "summary", Spec: cfg.Spec, InputShape: shape, Params: selectedParams[T](net, nil), Seed: cfg.Seed,
		WStd: cfg.WStd, BStd: cfg.BStd, NTrain: n, NTest: m, Outputs: k, DiagReg: cfg.DiagReg,
	}
	kernels := map[string][2]*mat.SymDense{} // name -> NTK, NNGP over all points

	arch, err := ConvArchOf(net)
	if err != nil {
		res.AnalyticSkipped = err.Error()
	} else {
		g, err := arch.Gram(matrixOf64(all), imageShape(shape))
		if err != nil {
			return nil, err
		}
		res.Analytic = true
		kernels["analytic"] = [2]*mat.SymDense{squareSym(g.NTK), squareSym(g.NNGP)}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	nngp := func(mod nn.Module[T], x1, x2 *tensor.Tensor[T]) (*mat.Dense, error) {
		if kr, err := ReadoutNNGP(mod.(*nn.Net[T]), x1, x2); err == nil {
			return matrixOf64(kr), nil
		}
		return OutputKernel(mod, x1, x2)
	}
	opts := Options{MemoryBudget: cfg.MemoryBudget}
	var mc *MonteCarloResult
	if cfg.MCSeeds >= 2 {
		mc, err = MonteCarlo(func(seed uint64) (nn.Module[T], error) { return build(seed) }, all, nil, MonteCarloConfig[T]{
			Seeds: cfg.MCSeeds, FirstSeed: cfg.Seed, Options: opts, NNGP: nngp,
			Each: func(seed uint64, th, kk *mat.Dense) error {
				if seed == cfg.Seed {
					kernels["empirical"] = [2]*mat.SymDense{squareSym(th), squareSym(kk)}
				}
				return ctx.Err()
			},
		})
		if err != nil {
			return nil, err
		}
		kernels["monte_carlo"] = [2]*mat.SymDense{squareSym(mc.NTK), squareSym(mc.NNGP)}
	} else {
		th, err := EmpiricalGram(nil, net, all, opts)
		if err != nil {
			return nil, err
		}
		kk, err := nngp(net, all, nil)
		if err != nil {
			return nil, err
		}
		kernels["empirical"] = [2]*mat.SymDense{th, squareSym(kk)}
	}

	for _, name := range []string{"empirical", "monte_carlo"} {
		kr, ok := kernels[name]
		if !ok {
			continue
		}
		r := CNNKernelResult{Kind: "kernel", Name: name, Networks: 1, MeanDiagNTK: meanDiag(kr[0])}
		if a, ok := kernels["analytic"]; ok {
			e, f := distance(kr[0], a[0])/frobenius(a[0]), distance(kr[1], a[1])/frobenius(a[1])
			r.NTKErr, r.NNGPErr = &e, &f
			if name == "monte_carlo" {
				r.Networks = mc.Seeds
				r.NTKStdErr, r.NNGPStdErr = frobenius(mc.NTKStdErr)/frobenius(a[0]), frobenius(mc.NNGPStdErr)/frobenius(a[1])
			}
		}
		res.Kernels = append(res.Kernels, r)
	}

	y, ys := centredOneHot(tr.Labels, k), centredOneHot(te.Labels, k)
	popts := PredictOptions{DiagReg: cfg.DiagReg}
	for _, name := range []string{"analytic", "monte_carlo", "empirical"} {
		kr, ok := kernels[name]
		if !ok {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		gk := gpBlocks(kr[0], kr[1], n)
		post, err := NNGPPosterior(gk, y, popts)
		if err != nil {
			return nil, fmt.Errorf("ntk: NNGP posterior with the %s kernel: %w", name, err)
		}
		res.Posteriors = append(res.Posteriors, CNNPosteriorResult{Kind: "posterior", Kernel: name, Posterior: "nngp", TestScore: score(post.Mean, ys, te.Labels)})
		gp, err := NewNTKGP(gk, y, popts)
		if err != nil {
			return nil, fmt.Errorf("ntk: NTK-GP with the %s kernel: %w", name, err)
		}
		inf, err := gp.At(math.Inf(1))
		if err != nil {
			return nil, fmt.Errorf("ntk: NTK-GP with the %s kernel: %w", name, err)
		}
		res.Posteriors = append(res.Posteriors, CNNPosteriorResult{Kind: "posterior", Kernel: name, Posterior: "ntk_gp", TestScore: score(inf.Mean, ys, te.Labels)})
	}
	if a, ok := kernels["analytic"]; ok {
		res.points = scatterPoints(a[0], kernels["empirical"][0], kernels["monte_carlo"][0], n)
	}
	return res, nil
}

// gpBlocks cuts the kernels of n training points followed by test points
// into the blocks the posteriors read; the test-test block enters through
// its diagonal only (posterior variances).
func gpBlocks(ntk, nngp *mat.SymDense, n int) GPKernels {
	side := ntk.SymmetricDim()
	view := func(s *mat.SymDense) (*mat.SymDense, *mat.Dense, []float64) {
		train := mat.NewSymDense(n, nil)
		for i := 0; i < n; i++ {
			for j := i; j < n; j++ {
				train.SetSym(i, j, s.At(i, j))
			}
		}
		cross := mat.NewDense(side-n, n, nil)
		diag := make([]float64, side-n)
		for i := range diag {
			for j := 0; j < n; j++ {
				cross.Set(i, j, s.At(n+i, j))
			}
			diag[i] = s.At(n+i, n+i)
		}
		return train, cross, diag
	}
	tn, xn, _ := view(ntk)
	tk, xk, dk := view(nngp)
	return GPKernels{TrainNTK: tn, TestTrainNTK: xn, TrainNNGP: tk, TestTrainNNGP: xk, TestNNGPDiag: dk}
}

// squareSym returns the symmetric matrix whose upper triangle is that of
// the square a (the kernels here are symmetric).
func squareSym(a mat.Matrix) *mat.SymDense {
	r, _ := a.Dims()
	s := mat.NewSymDense(r, nil)
	for i := 0; i < r; i++ {
		for j := i; j < r; j++ {
			s.SetSym(i, j, a.At(i, j))
		}
	}
	return s
}

// meanDiag returns the mean of the diagonal of s.
func meanDiag(s *mat.SymDense) float64 {
	n := s.SymmetricDim()
	var d float64
	for i := 0; i < n; i++ {
		d += s.At(i, i)
	}
	return d / float64(n)
}

// maxScatter bounds the points of the kernel scatter figure.
const maxScatter = 3000

// scatterPoints returns the analytic, empirical and Monte Carlo NTK
// entries of the training block's upper triangle (every stride-th pair, at
// most maxScatter).
func scatterPoints(a, e, mc *mat.SymDense, n int) [3][]float64 {
	var pts [3][]float64
	stride := max(1, n*(n+1)/2/maxScatter)
	c := 0
	for i := 0; i < n; i++ {
		for j := i; j < n; j++ {
			if c%stride == 0 {
				pts[0] = append(pts[0], a.At(i, j))
				if e != nil {
					pts[1] = append(pts[1], e.At(i, j))
				}
				if mc != nil {
					pts[2] = append(pts[2], mc.At(i, j))
				}
			}
			c++
		}
	}
	return pts
}

// SaveFigure writes dir/cnn_ntk.png and .svg: the empirical and Monte
// Carlo NTK entries of training pairs against the analytic ones, with the
// diagonal on which they would lie at infinite width. It writes nothing
// and returns false without an analytic kernel.
func (r *CNNStudyResult) SaveFigure(dir string) (bool, error) {
	if len(r.points[0]) == 0 {
		return false, nil
	}
	lo, hi := slices.Min(r.points[0]), slices.Max(r.points[0])
	p := figure.Plot{
		Title:  "NTK entries of training pairs: finite width vs analytic",
		XLabel: "analytic NTK", YLabel: "finite-width NTK", LinearY: true,
		Series: []figure.Series{{Name: "y = x", X: []float64{lo, hi}, Y: []float64{lo, hi}, Dashed: true}},
	}
	if len(r.points[1]) > 0 {
		p.Series = append(p.Series, figure.Series{Name: "one network", X: r.points[0], Y: r.points[1], Points: true})
	}
	if len(r.points[2]) > 0 {
		nets := 0
		for _, k := range r.Kernels {
			if k.Name == "monte_carlo" {
				nets = k.Networks
			}
		}
		p.Series = append(p.Series, figure.Series{Name: fmt.Sprintf("mean of %d networks", nets), X: r.points[0], Y: r.points[2], Points: true})
	}
	return true, p.Save(dir, "cnn_ntk")
}

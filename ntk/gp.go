package ntk

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"

	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/tensor"
)

// GPKernels are the kernels of a Gaussian-process posterior between n
// training and m test inputs. Which are needed depends on the posterior:
// NNGPPosterior reads the NNGP kernels, NewNTKGP the NTKs for the mean and
// the NNGP kernels as well for the covariance. Arch.Gram and Arch.Kernels
// (or EmpiricalGram, EmpiricalCross and EmpiricalNNGP) give them.
type GPKernels struct {
	// TrainNNGP and TrainNTK are the n x n training kernels.
	TrainNNGP, TrainNTK mat.Symmetric
	// TestTrainNNGP and TestTrainNTK are the m x n kernels between the
	// test and the training inputs.
	TestTrainNNGP, TestTrainNTK mat.Matrix
	// TestNNGP is the m x m prior covariance of the test outputs. When
	// nil, TestNNGPDiag (its diagonal, m values) gives the variances
	// alone; when both are nil the posterior has a mean only.
	TestNNGP     mat.Symmetric
	TestNNGPDiag []float64
}

// Posterior is a Gaussian distribution of the outputs on m test inputs:
// the m x k mean and the m x m covariance that each of the k outputs has
// (the kernels are traced, so the outputs are independent and share it).
// It marshals to JSON as {"mean", "cov", "var"}, the matrices as arrays of
// rows and absent parts omitted.
type Posterior struct {
	// Mean is the m x k posterior mean.
	Mean *mat.Dense
	// Cov is the m x m covariance, nil when GPKernels.TestNNGP was nil.
	Cov *mat.SymDense
	// Var is the diagonal of the covariance (m values), nil when
	// GPKernels gave no test-test kernel.
	Var []float64
}

// MarshalJSON writes the posterior as {"mean", "cov", "var"}.
func (p *Posterior) MarshalJSON() ([]byte, error) {
	var cov [][]float64
	if p.Cov != nil {
		cov = denseRows(mat.DenseCopyOf(p.Cov))
	}
	return json.Marshal(struct {
		Mean [][]float64 `json:"mean"`
		Cov  [][]float64 `json:"cov,omitempty"`
		Var  []float64   `json:"var,omitempty"`
	}{denseRows(p.Mean), cov, p.Var})
}

// NNGPPosterior returns the posterior of Bayesian inference with the NNGP
// prior and Gaussian observation noise of variance reg (neural-tangents'
// predict.gp_inference; Lee et al. 2018, eq. 11 of Rasmussen and Williams
// 2006, ch. 2):
//
//	mean = K_*X (K + reg I)^-1 y,    cov = K_** - K_*X (K + reg I)^-1 K_X*
//
// with K = kern.TrainNNGP, K_*X = kern.TestTrainNNGP, K_** = kern.TestNNGP
// and reg = opts.DiagReg * trace(K)/n (opts.DiagRegAbsolute: DiagReg
// itself). y is n x k. A kernel that is not positive definite after the
// regularization gives an error with its smallest eigenvalue and a
// DiagReg that would make it so.
func NNGPPosterior(kern GPKernels, y mat.Matrix, opts PredictOptions) (*Posterior, error) {
	kern = kern.normalized()
	kern.TestTrainNTK, kern.TrainNTK = nil, nil
	n, m, err := kern.check("NNGPPosterior", y, true, false)
	if err != nil {
		return nil, err
	}
	kr, err := regularized("NNGP training kernel", kern.TrainNNGP, opts)
	if err != nil {
		return nil, err
	}
	chol, err := choleskyOf("NNGP training kernel", kr, kern.TrainNNGP, opts)
	if err != nil {
		return nil, err
	}
	// a = (K + reg)^-1 K_X*, n x m: the transpose of the map from training
	// targets to test means.
	var a mat.Dense
	if err := chol.SolveTo(&a, kern.TestTrainNNGP.T()); err != nil {
		return nil, fmt.Errorf("ntk: NNGP posterior solve: %w", err)
	}
	p := &Posterior{Mean: new(mat.Dense)}
	p.Mean.Mul(a.T(), y)
	// K_*X (K + reg)^-1 K_X* = K_*X a.
	var quad mat.Dense
	quad.Mul(kern.TestTrainNNGP, &a)
	p.setCov(kern, &quad, nil, m, n)
	return p, finite("NNGP posterior mean", p.Mean)
}

// setCov sets the covariance K_** - sym(sub) + sym(add), sym(a) = (a +
// a^T)/2, from the test-test kernel, or its diagonal; add may be nil.
func (p *Posterior) setCov(kern GPKernels, sub, add *mat.Dense, m, n int) {
	switch {
	case kern.TestNNGP != nil:
		p.Cov = mat.NewSymDense(m, nil)
		for i := 0; i < m; i++ {
			for j := i; j < m; j++ {
				v := kern.TestNNGP.At(i, j) - (sub.At(i, j)+sub.At(j, i))/2
				if add != nil {
					v += (add.At(i, j) + add.At(j, i)) / 2
				}
				p.Cov.SetSym(i, j, v)
			}
		}
		p.Var = make([]float64, m)
		for i := range p.Var {
			p.Var[i] = p.Cov.At(i, i)
		}
	case kern.TestNNGPDiag != nil:
		p.Var = make([]float64, m)
		for i := range p.Var {
			p.Var[i] = kern.TestNNGPDiag[i] - sub.At(i, i)
			if add != nil {
				p.Var[i] += add.At(i, i)
			}
		}
	}
}

// NTKGP is the distribution of the outputs of an infinite ensemble of
// infinitely wide networks trained by gradient flow on the mean squared
// error, from their NNGP prior at initialization (neural-tangents'
// predict.gradient_descent_mse_ensemble; Lee et al. 2019, eqs. 15-16).
// With Theta the training NTK, N = n k the number of training outputs and
// t measured in units of the learning rate as for Predictor.Flow (the
// loss 0.5 * mean over the N outputs, so the flow is df/dt = -eta Theta (f
// - y) / N and t = eta * time),
//
//	T(t)  = Theta_*X Theta^-1 (I - exp(-Theta t / N))
//	mean  = T(t) y
//	cov   = K_** + T(t) K T(t)^T - T(t) K_X* - K_*X T(t)^T
//
// with K, K_X*, K_** the NNGP kernels. At t = 0 this is the prior (mean 0,
// cov K_**); at t = infinity T = Theta_*X Theta^-1. As in
// neural-tangents, the regularizer opts.DiagReg (relative to
// trace(Theta)/n unless DiagRegAbsolute) is added to Theta only; K enters
// unregularized.
type NTKGP struct {
	kern  GPKernels
	y     *mat.Dense
	n, m  int
	norm  float64
	theta *mat.SymDense // regularized training NTK
	evals []float64
	evecs *mat.Dense
	opts  PredictOptions
}

// NewNTKGP returns the NTK-GP of the kernels kern (the NTKs, and the NNGP
// kernels for a covariance) and the n x k training targets y. It
// diagonalizes the regularized training NTK once; At then costs O(m n^2)
// per time. The error names a missing or mis-shaped kernel, non-finite
// values, or a training NTK with a clearly negative eigenvalue (below
// -1e-8 of the largest; smaller negative ones are rounding and are clamped
// to 0, as in Predictor).
func NewNTKGP(kern GPKernels, y mat.Matrix, opts PredictOptions) (*NTKGP, error) {
	kern = kern.normalized()
	cov := kern.TestNNGP != nil || kern.TestNNGPDiag != nil
	n, m, err := kern.check("NewNTKGP", y, cov, true)
	if err != nil {
		return nil, err
	}
	th, err := regularized("training NTK", kern.TrainNTK, opts)
	if err != nil {
		return nil, err
	}
	var es mat.EigenSym
	if !es.Factorize(th, true) {
		return nil, errors.New("ntk: eigendecomposition of the training NTK did not converge")
	}
	_, k := y.Dims()
	g := &NTKGP{kern: kern, y: mat.DenseCopyOf(y), n: n, m: m, norm: float64(n * k), theta: th, evecs: new(mat.Dense), opts: opts}
	g.evals = es.Values(nil)
	es.VectorsTo(g.evecs)
	lo, hi := g.evals[0], g.evals[n-1]
	if lo < -1e-8*math.Abs(hi) {
		return nil, notPD("training NTK", lo, hi, kern.TrainNTK, opts)
	}
	for i, l := range g.evals {
		g.evals[i] = math.Max(l, 0)
	}
	return g, nil
}

// At returns the posterior of the test outputs at time t >= 0 (units of
// the learning rate; math.Inf(1) for training to convergence, computed
// with a Cholesky solve as neural-tangents does for t = None). t = +Inf
// needs a positive definite regularized NTK; the error says which DiagReg
// would make it so.
func (g *NTKGP) At(t float64) (*Posterior, error) {
	if g == nil {
		return nil, errNil("NTKGP.At", "the NTKGP")
	}
	if math.IsNaN(t) || t < 0 {
		return nil, fmt.Errorf("ntk: time %v must be non-negative (use math.Inf(1) for convergence)", t)
	}
	// tm is T(t)^T, n x m.
	tm := new(mat.Dense)
	if math.IsInf(t, 1) {
		chol, err := choleskyOf("training NTK", g.theta, g.kern.TrainNTK, g.opts)
		if err != nil {
			return nil, err
		}
		if err := chol.SolveTo(tm, g.kern.TestTrainNTK.T()); err != nil {
			return nil, fmt.Errorf("ntk: NTK-GP solve: %w", err)
		}
	} else {
		// U diag((1 - exp(-l t/N)) / l) U^T Theta_X*, with the l = 0
		// limit t/N; -expm1 keeps the small l t digits.
		var c mat.Dense
		c.Mul(g.evecs.T(), g.kern.TestTrainNTK.T())
		for i, l := range g.evals {
			f := t / g.norm
			if l > 0 {
				f = -math.Expm1(-l*t/g.norm) / l
			}
			row := c.RawRowView(i)
			for j := range row {
				row[j] *= f
			}
		}
		tm.Mul(g.evecs, &c)
	}
	p := &Posterior{Mean: new(mat.Dense)}
	p.Mean.Mul(tm.T(), g.y)
	if g.kern.TestNNGP != nil || g.kern.TestNNGPDiag != nil {
		// T K T^T and T K_X* (m x m).
		var kt, tkt, tkx mat.Dense
		kt.Mul(g.kern.TrainNNGP, tm)
		tkt.Mul(tm.T(), &kt)
		tkx.Mul(tm.T(), g.kern.TestTrainNNGP.T())
		// sub = T K_X* + (T K_X*)^T appears as twice its symmetric part.
		tkx.Scale(2, &tkx)
		p.setCov(g.kern, &tkx, &tkt, g.m, g.n)
	}
	return p, finite("NTK-GP mean", p.Mean)
}

// normalized returns k with nil pointers in its interfaces (a nil
// *mat.SymDense given as TestNNGP) replaced by nil interfaces, so that
// they mean what nil means.
func (k GPKernels) normalized() GPKernels {
	sym := func(s mat.Symmetric) mat.Symmetric {
		if s == nil || optional(s) == nil {
			return nil
		}
		return s
	}
	k.TrainNNGP, k.TrainNTK, k.TestNNGP = sym(k.TrainNNGP), sym(k.TrainNTK), sym(k.TestNNGP)
	k.TestTrainNNGP, k.TestTrainNTK = optional(k.TestTrainNNGP), optional(k.TestTrainNTK)
	return k
}

// check validates the kernels a posterior needs and returns n and m.
func (k GPKernels) check(fn string, y mat.Matrix, nngp, ntk bool) (n, m int, err error) {
	if err := nonNilMatrix(fn, "y", y); err != nil {
		return 0, 0, err
	}
	n, _ = y.Dims()
	type entry struct {
		name       string
		a          mat.Matrix
		rows, cols int
		need       bool
	}
	m = -1
	if k.TestTrainNNGP != nil && optional(k.TestTrainNNGP) != nil {
		m, _ = k.TestTrainNNGP.Dims()
	} else if k.TestTrainNTK != nil && optional(k.TestTrainNTK) != nil {
		m, _ = k.TestTrainNTK.Dims()
	}
	if m < 0 {
		return 0, 0, fmt.Errorf("ntk.%s: GPKernels has no test-train kernel", fn)
	}
	list := []entry{
		{"TrainNNGP", symMatrix(k.TrainNNGP), n, n, nngp},
		{"TestTrainNNGP", k.TestTrainNNGP, m, n, nngp},
		{"TrainNTK", symMatrix(k.TrainNTK), n, n, ntk},
		{"TestTrainNTK", k.TestTrainNTK, m, n, ntk},
		{"TestNNGP", symMatrix(k.TestNNGP), m, m, false},
	}
	for _, e := range list {
		a := optional(e.a)
		if a == nil {
			if e.need {
				return 0, 0, fmt.Errorf("ntk.%s: GPKernels.%s is nil", fn, e.name)
			}
			continue
		}
		if r, c := a.Dims(); r != e.rows || c != e.cols {
			return 0, 0, fmt.Errorf("ntk.%s: GPKernels.%s is %d x %d, want %d x %d (%d training targets, %d test points)", fn, e.name, r, c, e.rows, e.cols, n, m)
		}
		if err := finite("GPKernels."+e.name, a); err != nil {
			return 0, 0, err
		}
	}
	if k.TestNNGP == nil && k.TestNNGPDiag != nil && len(k.TestNNGPDiag) != m {
		return 0, 0, fmt.Errorf("ntk.%s: GPKernels.TestNNGPDiag has %d values, want %d (test points)", fn, len(k.TestNNGPDiag), m)
	}
	if err := finite("targets", y); err != nil {
		return 0, 0, err
	}
	return n, m, nil
}

// symMatrix returns s as a mat.Matrix, nil for a nil interface.
func symMatrix(s mat.Symmetric) mat.Matrix {
	if s == nil {
		return nil
	}
	return s
}

// regularized returns a copy of k plus the diagonal regularizer of opts.
func regularized(name string, k mat.Symmetric, opts PredictOptions) (*mat.SymDense, error) {
	if opts.DiagReg < 0 || math.IsNaN(opts.DiagReg) || math.IsInf(opts.DiagReg, 0) {
		return nil, fmt.Errorf("ntk: DiagReg %v must be finite and non-negative", opts.DiagReg)
	}
	n := k.SymmetricDim()
	kr := mat.NewSymDense(n, nil)
	kr.CopySym(k)
	reg := diagRegOf(k, opts)
	for i := 0; i < n; i++ {
		kr.SetSym(i, i, kr.At(i, i)+reg)
	}
	return kr, nil
}

// diagRegOf returns the absolute regularizer opts adds to k's diagonal.
func diagRegOf(k mat.Symmetric, opts PredictOptions) float64 {
	if opts.DiagRegAbsolute {
		return opts.DiagReg
	}
	return opts.DiagReg * mat.Trace(k) / float64(k.SymmetricDim())
}

// choleskyOf factorizes the regularized kernel kr, or returns notPD's
// error for it.
func choleskyOf(name string, kr *mat.SymDense, k mat.Symmetric, opts PredictOptions) (*mat.Cholesky, error) {
	var ch mat.Cholesky
	if ch.Factorize(kr) {
		return &ch, nil
	}
	ev, err := spectrum("posterior", name, kr)
	if err != nil {
		return nil, err
	}
	return nil, notPD(name, ev[0], ev[len(ev)-1], k, opts)
}

// notPD returns the error for a regularized kernel whose eigenvalues run
// from lo to hi: the smallest eigenvalue and a DiagReg, in the units opts
// uses, that lifts it to 1e-10 of the largest (a condition number of
// 1e10, where a float64 solve keeps about 6 digits).
func notPD(name string, lo, hi float64, k mat.Symmetric, opts PredictOptions) error {
	need := diagRegOf(k, opts) - lo + 1e-10*math.Max(math.Abs(hi), 1e-300)
	unit := "absolute"
	if !opts.DiagRegAbsolute {
		scale := mat.Trace(k) / float64(k.SymmetricDim())
		if scale > 0 {
			need /= scale
			unit = "relative to trace/n"
		}
	}
	// One significant digit, rounded up.
	e := math.Pow(10, math.Floor(math.Log10(need)))
	need = math.Ceil(need/e) * e
	return fmt.Errorf("ntk: %s (with DiagReg %g) is not positive definite: smallest eigenvalue %.3g, largest %.3g; set PredictOptions.DiagReg to %g or more (%s)",
		name, opts.DiagReg, lo, hi, need, unit)
}

// PosteriorConfig configures PosteriorStudy.
type PosteriorConfig struct {
	// N and NTest are the numbers of training and test points, drawn
	// without replacement with Seed (0 or more than available: all).
	N, NTest int
	// Seed seeds the subset draws.
	Seed uint64
	// Arch is the infinitely wide network whose kernels are used.
	Arch Arch
	// DiagReg is the regularizer of both posteriors, relative to the mean
	// diagonal of the training kernel (PredictOptions.DiagReg).
	DiagReg float64
	// CenterInputs subtracts the mean of all training features (one
	// scalar) from every feature, as Lee et al. (2018) do for MNIST.
	CenterInputs bool
}

// PosteriorResult is what PosteriorStudy measures; it marshals to JSON.
type PosteriorResult struct {
	// N and NTest are the numbers of training and test points used.
	N     int `json:"n_train"`
	NTest int `json:"n_test"`
	// Seed is PosteriorConfig.Seed.
	Seed uint64 `json:"seed"`
	// Depth, Act, WStd and BStd describe the Arch (defaults filled in).
	Depth int     `json:"depth"`
	Act   string  `json:"activation"`
	WStd  float64 `json:"w_std"`
	BStd  float64 `json:"b_std"`
	// DiagReg is the relative regularizer of both posteriors.
	DiagReg float64 `json:"diag_reg"`
	// NNGP is the score of the NNGP posterior mean (Bayesian inference,
	// NNGPPosterior), NTK that of the NTK-GP mean at t = infinity (an
	// infinite ensemble trained to convergence, NTKGP.At).
	NNGP TestScore `json:"nngp"`
	NTK  TestScore `json:"ntk_gp"`
	// NNGPMeanVar and NTKMeanVar are the mean posterior variances of one
	// output over the test points.
	NNGPMeanVar float64 `json:"nngp_mean_var"`
	NTKMeanVar  float64 `json:"ntk_gp_mean_var"`
}

// PosteriorStudy classifies a labelled test set with the NNGP posterior
// and the NTK-GP of cfg.Arch fitted to a labelled training set: the
// targets are one-hot class indicators minus 1/k (centred, as in Lee et
// al. 2018), a test point's class is the argmax of the posterior mean,
// and the result has the accuracy and mean squared error of both, and
// their mean posterior variances. The kernels are computed in float64
// (Arch.Gram, Arch.Kernels); the cost is O((N + NTest)^2 d) for them and
// O(N^3) for the factorizations. The error names missing labels,
// mismatched widths, or a kernel that needs a larger DiagReg.
func PosteriorStudy[T tensor.Float](train, test *data.Dataset[T], cfg PosteriorConfig) (*PosteriorResult, error) {
	if train == nil || test == nil {
		return nil, errors.New("ntk: PosteriorStudy needs a training and a test set")
	}
	if train.Labels == nil || test.Labels == nil {
		return nil, errors.New("ntk: PosteriorStudy needs labelled data (classification)")
	}
	if train.Dim() != test.Dim() {
		return nil, fmt.Errorf("ntk: PosteriorStudy: training features %d, test features %d", train.Dim(), test.Dim())
	}
	k := max(train.NumClasses, test.NumClasses)
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x9057))
	trRows := subsetRows(rng, train.Len(), cfg.N, train.Labels)
	teRows := subsetRows(rng, test.Len(), cfg.NTest, test.Labels)
	tr, te := train.Subset(trRows), test.Subset(teRows)
	x, xs := matrixOf64(tr.X), matrixOf64(te.X)
	if cfg.CenterInputs {
		mean := mat.Sum(x) / float64(len(x.RawMatrix().Data))
		for _, m := range []*mat.Dense{x, xs} {
			d := m.RawMatrix().Data
			for i := range d {
				d[i] -= mean
			}
		}
	}
	g, err := cfg.Arch.Gram(x)
	if err != nil {
		return nil, err
	}
	kt, err := cfg.Arch.Kernels(xs, x)
	if err != nil {
		return nil, err
	}
	// The test variances need the diagonal of the test kernel only: the
	// kernels of each test point with itself.
	diag := make([]float64, te.Len())
	for i := range diag {
		ki, err := cfg.Arch.Kernels(xs.Slice(i, i+1, 0, xs.RawMatrix().Cols), nil)
		if err != nil {
			return nil, err
		}
		diag[i] = ki.NNGP.At(0, 0)
	}
	y, ys := centredOneHot(tr.Labels, k), centredOneHot(te.Labels, k)
	kern := GPKernels{TrainNNGP: g.NNGP, TrainNTK: g.NTK, TestTrainNNGP: kt.NNGP, TestTrainNTK: kt.NTK, TestNNGPDiag: diag}
	opts := PredictOptions{DiagReg: cfg.DiagReg}
	nngp, err := NNGPPosterior(kern, y, opts)
	if err != nil {
		return nil, err
	}
	gp, err := NewNTKGP(kern, y, opts)
	if err != nil {
		return nil, err
	}
	ntk, err := gp.At(math.Inf(1))
	if err != nil {
		return nil, err
	}
	act := cfg.Arch.Act
	if act == "" {
		act = "relu"
	}
	w := cfg.Arch.WStd
	if w == 0 {
		w = 1
	}
	return &PosteriorResult{
		N: tr.Len(), NTest: te.Len(), Seed: cfg.Seed, Depth: cfg.Arch.Depth, Act: string(act), WStd: w, BStd: cfg.Arch.BStd, DiagReg: cfg.DiagReg,
		NNGP: score(nngp.Mean, ys, te.Labels), NTK: score(ntk.Mean, ys, te.Labels),
		NNGPMeanVar: meanOf(nngp.Var), NTKMeanVar: meanOf(ntk.Var),
	}, nil
}

// matrixOf64 returns a float64 copy of a [n, d] tensor.
func matrixOf64[T tensor.Float](t *tensor.Tensor[T]) *mat.Dense {
	m := mat.NewDense(t.Dim(0), t.Dim(1), nil)
	d := m.RawMatrix().Data
	for i, v := range t.Data() {
		d[i] = float64(v)
	}
	return m
}

// centredOneHot returns one-hot rows of k classes minus 1/k.
func centredOneHot(labels []int32, k int) *mat.Dense {
	y := mat.NewDense(len(labels), k, nil)
	for i, c := range labels {
		for j := 0; j < k; j++ {
			v := -1 / float64(k)
			if j == int(c) {
				v++
			}
			y.Set(i, j, v)
		}
	}
	return y
}

// meanOf returns the mean of v (0 for none).
func meanOf(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

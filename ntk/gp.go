package ntk

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
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
type Posterior struct {
	// Mean is the m x k posterior mean.
	Mean *mat.Dense `json:"-"`
	// Cov is the m x m covariance, nil when GPKernels.TestNNGP was nil.
	Cov *mat.SymDense `json:"-"`
	// Var is the diagonal of the covariance (m values), nil when
	// GPKernels gave no test-test kernel.
	Var []float64 `json:"var,omitempty"`
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

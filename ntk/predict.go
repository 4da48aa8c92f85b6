package ntk

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// PredictOptions configures a Predictor.
type PredictOptions struct {
	// DiagReg adds DiagReg*I to the training kernel before it is
	// diagonalized or factorized (ridge regularization). Unless
	// DiagRegAbsolute is set it is relative: the added multiple of the
	// identity is DiagReg * trace(K)/n, as in neural-tangents.
	DiagReg         float64
	DiagRegAbsolute bool
}

// Predictor predicts the outputs of a model trained on the mean squared
// error 0.5*mean((f - y)^2) by gradient descent in the kernel (linearized)
// regime, from the NTK (or NNGP kernel) on the training set. It is
// neural-tangents' predict.gradient_descent_mse for a kernel traced over the
// outputs: with N = n*k the number of training outputs, gradient flow in
// f-space is df/dt = -eta Theta (f - y) / N, so
//
//	f_train(t) = y + exp(-eta t Theta/N) (f_train(0) - y)
//	f_test(t)  = f_test(0) + Theta_test,train Theta^-1 (I - exp(-eta t Theta/N)) (y - f_train(0))
//
// Predictor diagonalizes Theta once (Theta = U diag(l) U^T, l clamped at 0
// against rounding) and evaluates any time in O(n^2 k) per call.
type Predictor struct {
	n, k   int
	norm   float64 // N = n*k
	y      *mat.Dense
	kernel *mat.SymDense // regularized training kernel
	evals  []float64     // clamped at >= 0
	evecs  *mat.Dense
	chol   *mat.Cholesky // lazily, for infinite time
}

// NewPredictor returns a Predictor for the n x n training kernel kTrain and
// the n x k targets yTrain. It returns an error if the shapes disagree, if
// either holds a non-finite value, or if the eigendecomposition fails.
func NewPredictor(kTrain mat.Symmetric, yTrain mat.Matrix, opts PredictOptions) (*Predictor, error) {
	if err := nonNilMatrix("NewPredictor", "kTrain", kTrain); err != nil {
		return nil, err
	}
	if err := nonNilMatrix("NewPredictor", "yTrain", yTrain); err != nil {
		return nil, err
	}
	n := kTrain.SymmetricDim()
	ny, k := yTrain.Dims()
	if ny != n {
		return nil, fmt.Errorf("ntk: training kernel is %d x %d but targets have %d rows", n, n, ny)
	}
	if err := finite("training kernel", kTrain); err != nil {
		return nil, err
	}
	if err := finite("targets", yTrain); err != nil {
		return nil, err
	}
	if opts.DiagReg < 0 || math.IsNaN(opts.DiagReg) || math.IsInf(opts.DiagReg, 0) {
		return nil, fmt.Errorf("ntk: DiagReg %v must be finite and non-negative", opts.DiagReg)
	}
	kr := mat.NewSymDense(n, nil)
	kr.CopySym(kTrain)
	if opts.DiagReg != 0 {
		reg := opts.DiagReg
		if !opts.DiagRegAbsolute {
			reg *= mat.Trace(kr) / float64(n)
		}
		for i := 0; i < n; i++ {
			kr.SetSym(i, i, kr.At(i, i)+reg)
		}
	}
	var es mat.EigenSym
	if !es.Factorize(kr, true) {
		return nil, errors.New("ntk: eigendecomposition of the training kernel did not converge")
	}
	p := &Predictor{n: n, k: k, norm: float64(n * k), y: mat.DenseCopyOf(yTrain), kernel: kr, evecs: new(mat.Dense)}
	p.evals = es.Values(nil)
	for i, l := range p.evals {
		// A PSD kernel's negative eigenvalues are rounding; flow along
		// them would grow without bound.
		p.evals[i] = math.Max(l, 0)
	}
	es.VectorsTo(p.evecs)
	return p, nil
}

// Eigenvalues returns the (regularized, clamped) eigenvalues of the
// training kernel in ascending order.
func (p *Predictor) Eigenvalues() []float64 {
	if p == nil {
		return nil
	}
	return append([]float64(nil), p.evals...)
}

// Flow returns the train and test outputs after gradient flow for time t,
// measured in units of the learning rate: t = eta * (training time), so
// that t = eta*steps approximates `steps` steps of gradient descent with a
// small learning rate eta. fTrain0 (n x k) and fTest0 (m x k) are the
// outputs at t = 0; nil (also a nil *mat.Dense) means zeros. kTestTrain
// (m x n) is the kernel between test and training inputs; nil skips the
// test prediction and
// returns a nil fTest. t = +Inf gives the limit of Infinite, computed
// through the eigenbasis with the pseudo-inverse on the kernel's null space.
func (p *Predictor) Flow(t float64, fTrain0, fTest0, kTestTrain mat.Matrix) (fTrain, fTest *mat.Dense, err error) {
	if p == nil {
		return nil, nil, errNil("Predictor.Flow", "the Predictor")
	}
	if math.IsNaN(t) || t < 0 {
		return nil, nil, fmt.Errorf("ntk: time %v must be non-negative", t)
	}
	// exp(-l t/N) - 1 via expm1, exact for small l t where 1 - exp would
	// cancel; the test map divides it by l, whose limit at l = 0 is -t/N.
	return p.predict(fTrain0, fTest0, kTestTrain, func(l float64) (float64, float64) {
		if math.IsInf(t, 1) {
			if l == 0 {
				// The joint kernel is PSD, so the test-train kernel
				// has no component along a null eigenvector: the
				// pseudo-inverse's 0 is the limit actually reached.
				return 0, 0
			}
			return -1, -1 / l
		}
		e := math.Expm1(-l * t / p.norm)
		if l == 0 {
			return e, -t / p.norm
		}
		return e, e / l
	})
}

// GD returns the train and test outputs after `steps` steps of discrete
// gradient descent with learning rate eta on the linearized model, which
// are exact: f_s = y + (I - eta Theta/N)^s (f_0 - y), and the test outputs
// follow with Theta^-1 (I - (I - eta Theta/N)^s) in place of the
// flow's factor. The arguments are as for Flow. eta above MaxLearningRate
// diverges (the result is returned, not an error, since that may be what is
// being studied).
func (p *Predictor) GD(eta float64, steps int, fTrain0, fTest0, kTestTrain mat.Matrix) (fTrain, fTest *mat.Dense, err error) {
	if p == nil {
		return nil, nil, errNil("Predictor.GD", "the Predictor")
	}
	if math.IsNaN(eta) || eta < 0 || math.IsInf(eta, 0) {
		return nil, nil, fmt.Errorf("ntk: learning rate %v must be finite and non-negative", eta)
	}
	if steps < 0 {
		return nil, nil, fmt.Errorf("ntk: steps %d must be non-negative", steps)
	}
	s := float64(steps)
	return p.predict(fTrain0, fTest0, kTestTrain, func(l float64) (float64, float64) {
		a := eta * l / p.norm
		if l == 0 {
			return 0, -s * eta / p.norm
		}
		var e float64
		if a < 1 {
			// (1-a)^s - 1 without cancellation for small a.
			e = math.Expm1(s * math.Log1p(-a))
		} else {
			e = math.Pow(1-a, s) - 1
		}
		return e, e / l
	})
}

// predict applies f_train = f0 + U diag(g(l)) U^T (f0 - y) and f_test =
// f_test0 + K_test,train U diag(h(l)) U^T (f0 - y), where fn returns (g, h).
func (p *Predictor) predict(fTrain0, fTest0, kTestTrain mat.Matrix, fn func(l float64) (g, h float64)) (*mat.Dense, *mat.Dense, error) {
	fTrain0, fTest0, kTestTrain = optional(fTrain0), optional(fTest0), optional(kTestTrain)
	f0, err := p.outputs("fTrain0", fTrain0, p.n)
	if err != nil {
		return nil, nil, err
	}
	var r mat.Dense
	r.Sub(f0, p.y)
	// c = U^T r, then scale its rows by g (train) and h (test).
	var c mat.Dense
	c.Mul(p.evecs.T(), &r)
	cg, ch := mat.DenseCopyOf(&c), mat.DenseCopyOf(&c)
	for i, l := range p.evals {
		g, h := fn(l)
		row, rowh := cg.RawRowView(i), ch.RawRowView(i)
		for j := range row {
			row[j] *= g
			rowh[j] *= h
		}
	}
	fTrain := new(mat.Dense)
	fTrain.Mul(p.evecs, cg)
	fTrain.Add(fTrain, f0)
	if kTestTrain == nil {
		return fTrain, nil, finite("predicted train outputs", fTrain)
	}
	fTest, err := p.testOutputs(fTest0, kTestTrain, func(dst *mat.Dense) {
		var u mat.Dense
		u.Mul(p.evecs, ch)
		dst.Mul(kTestTrain, &u)
	})
	if err != nil {
		return nil, nil, err
	}
	if err := finite("predicted train outputs", fTrain); err != nil {
		return nil, nil, err
	}
	return fTrain, fTest, finite("predicted test outputs", fTest)
}

// Infinite returns the outputs after training to convergence: the training
// targets (the kernel interpolates them; with DiagReg this is
// neural-tangents' convention too, pass the training inputs as test inputs
// to see the regularized fit) and the kernel-regression prediction
//
//	f_test = f_test(0) + K_test,train (K + reg I)^-1 (y - f_train(0))
//
// computed with a Cholesky factorization. It returns an error if the
// regularized kernel is not positive definite (use DiagReg).
func (p *Predictor) Infinite(fTrain0, fTest0, kTestTrain mat.Matrix) (fTrain, fTest *mat.Dense, err error) {
	if p == nil {
		return nil, nil, errNil("Predictor.Infinite", "the Predictor")
	}
	fTrain0, fTest0, kTestTrain = optional(fTrain0), optional(fTest0), optional(kTestTrain)
	f0, err := p.outputs("fTrain0", fTrain0, p.n)
	if err != nil {
		return nil, nil, err
	}
	fTrain = mat.DenseCopyOf(p.y)
	if kTestTrain == nil {
		return fTrain, nil, nil
	}
	if p.chol == nil {
		var ch mat.Cholesky
		if !ch.Factorize(p.kernel) {
			return nil, nil, errors.New("ntk: training kernel is not positive definite; set PredictOptions.DiagReg")
		}
		p.chol = &ch
	}
	var r mat.Dense
	r.Sub(p.y, f0)
	var a mat.Dense
	if err := p.chol.SolveTo(&a, &r); err != nil {
		return nil, nil, fmt.Errorf("ntk: kernel regression solve: %w", err)
	}
	fTest, err = p.testOutputs(fTest0, kTestTrain, func(dst *mat.Dense) { dst.Mul(kTestTrain, &a) })
	if err != nil {
		return nil, nil, err
	}
	return fTrain, fTest, finite("predicted test outputs", fTest)
}

// testOutputs checks the test kernel and initial outputs, lets compute
// write the change of the test outputs, and adds the initial outputs.
func (p *Predictor) testOutputs(fTest0, kTestTrain mat.Matrix, compute func(dst *mat.Dense)) (*mat.Dense, error) {
	m, n := kTestTrain.Dims()
	if n != p.n {
		return nil, fmt.Errorf("ntk: test-train kernel is %d x %d, want %d columns (training points)", m, n, p.n)
	}
	if err := finite("test-train kernel", kTestTrain); err != nil {
		return nil, err
	}
	f0, err := p.outputs("fTest0", fTest0, m)
	if err != nil {
		return nil, err
	}
	out := mat.NewDense(m, p.k, nil)
	compute(out)
	out.Add(out, f0)
	return out, nil
}

// outputs returns f as a rows x k matrix (zeros for nil) after checking
// its shape and values.
func (p *Predictor) outputs(name string, f mat.Matrix, rows int) (*mat.Dense, error) {
	if f == nil {
		return mat.NewDense(rows, p.k, nil), nil
	}
	r, c := f.Dims()
	if r != rows || c != p.k {
		return nil, fmt.Errorf("ntk: %s is %d x %d, want %d x %d", name, r, c, rows, p.k)
	}
	if err := finite(name, f); err != nil {
		return nil, err
	}
	return mat.DenseCopyOf(f), nil
}

// MaxLearningRate returns the largest learning rate for which gradient
// descent on 0.5*mean squared error converges in the kernel regime,
// 2 (1 + momentum) N / lambda_max(kTrain), with N = outputs the number of
// training outputs (n*k for n points with k outputs and a traced kernel;
// 0 means n). Above it the linearized dynamics diverge along the top
// eigenvector.
func MaxLearningRate(kTrain mat.Symmetric, outputs int, momentum float64) (float64, error) {
	ev, err := spectrum("MaxLearningRate", "kTrain", kTrain)
	if err != nil {
		return 0, err
	}
	if outputs == 0 {
		outputs = kTrain.SymmetricDim()
	}
	return maxLearningRate(ev, outputs, momentum)
}

// maxLearningRate is MaxLearningRate from the ascending spectrum ev of
// the kernel, for callers that already have it.
func maxLearningRate(ev []float64, outputs int, momentum float64) (float64, error) {
	top := ev[len(ev)-1]
	if top <= 0 {
		return 0, errors.New("ntk: training kernel has no positive eigenvalue")
	}
	return 2 * (1 + momentum) * float64(outputs) / top, nil
}

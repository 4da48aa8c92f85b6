package ntk

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/internal/nilcheck"
	"github.com/gradflow/gradflow/landscape"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/tensor"
	"github.com/gradflow/gradflow/train"
)

// DuNet is the two-layer ReLU network of Du, Zhai, Poczos and Singh
// (2019),
//
//	f(x) = m^-1/2 sum_r a_r relu(w_r . x),
//
// with W = [w_1; ...; w_m] [m, d] trained and the output signs a_r in
// {-1, +1} fixed. Its only parameter is W ("0.weight"), so an optimizer
// over Params trains exactly what the theorem trains, and train.New
// accepts it: the output layer is frozen by not being a parameter, not by
// being left out of the optimizer.
type DuNet struct {
	// Hidden is relu(x W^T): W [m, d] ~ N(0, I), no bias, multiplier 1.
	Hidden *nn.Linear[float64]
	// Signs holds a [1, m], each +-1; not a parameter.
	Signs *tensor.Tensor[float64]
}

// NewDuNet draws a DuNet of input dimension d and width m with Du et
// al.'s initialization: w_r ~ N(0, I_d), a_r uniform on {-1, +1}.
func NewDuNet(rng *rand.Rand, d, m int) (*DuNet, error) {
	if rng == nil {
		return nil, errors.New("ntk.NewDuNet: rng is nil (want a seeded *rand.Rand)")
	}
	if d < 1 || m < 1 {
		return nil, fmt.Errorf("ntk.NewDuNet: d = %d, m = %d: both must be at least 1", d, m)
	}
	w := tensor.New[float64](m, d)
	for i, wd := 0, w.Data(); i < len(wd); i++ {
		wd[i] = rng.NormFloat64()
	}
	a := tensor.New[float64](1, m)
	for i, ad := 0, a.Data(); i < len(ad); i++ {
		ad[i] = 1
		if rng.IntN(2) == 0 {
			ad[i] = -1
		}
	}
	h := nn.NewLinearFrom("0.", w, nil)
	h.Act = nn.ReLU
	return &DuNet{Hidden: h, Signs: a}, nil
}

// Width returns m.
func (n *DuNet) Width() int { return n.Hidden.Out() }

// Params returns W alone.
func (n *DuNet) Params() []*nn.Param[float64] { return n.Hidden.Params() }

// Forward records f(x) [batch, 1] for x [batch, d].
func (n *DuNet) Forward(t *autograd.Tape[float64], x *autograd.Var[float64]) *autograd.Var[float64] {
	return autograd.Linear(n.Hidden.Forward(t, x), t.Const(n.Signs), nil, 1/math.Sqrt(float64(n.Width())), "")
}

// DuGram returns Du et al.'s Gram matrix of the current weights on the rows
// of x [n, d],
//
//	H_ij = (1/m) x_i . x_j sum_r 1{w_r . x_i >= 0, w_r . x_j >= 0},
//
// which is the tangent kernel J J^T of f with respect to W (up to the
// measure-zero ties w_r . x_i = 0). It costs two GEMMs, (x W^T) and S S^T
// with S the [n, m] activation pattern, not the n P of a Jacobian. dst is
// used as by EmpiricalGram (nil allocates, an empty one is resized).
func (n *DuNet) DuGram(dst *mat.SymDense, x *tensor.Tensor[float64]) *mat.SymDense {
	var g duGram
	g.init(x, n.Width())
	return g.compute(dst, n)
}

// duGram holds the buffers of H(t) on fixed inputs: the input Gram X X^T,
// the [n, m] pre-activations (then the pattern S) and S S^T, reused from
// step to step. The products are tensor's GEMM, which allocates nothing
// and gives the same bits for any GOMAXPROCS.
type duGram struct {
	x      *tensor.Tensor[float64]
	xx, ss *tensor.Tensor[float64]
	z      *tensor.Tensor[float64]
}

func (g *duGram) init(x *tensor.Tensor[float64], m int) {
	if x.NDim() != 2 {
		panic(fmt.Sprintf("ntk.DuGram: inputs of shape %v, want [n, d]", x.Shape()))
	}
	n := x.Dim(0)
	g.x = x
	g.xx = tensor.MatMul(x, x, false, true)
	g.z = tensor.New[float64](n, m)
	g.ss = tensor.New[float64](n, n)
}

func (g *duGram) compute(dst *mat.SymDense, net *DuNet) *mat.SymDense {
	n, d, m := g.x.Dim(0), g.x.Dim(1), net.Width()
	if w := net.Hidden.Weight.Value; w.Dim(1) != d {
		panic(fmt.Sprintf("ntk.DuGram: inputs of shape %v for a net of input dimension %d", g.x.Shape(), w.Dim(1)))
	}
	// z = X W^T, then the pattern S = 1{z >= 0} in place; S S^T / m sums
	// 0s and 1s, exactly.
	tensor.MatMulInto(g.z, g.x, net.Hidden.Weight.Value, false, true, 1, 0, tensor.Epilogue[float64]{})
	z := g.z.Data()
	for i, v := range z {
		z[i] = 0
		if v >= 0 {
			z[i] = 1
		}
	}
	tensor.MatMulInto(g.ss, g.z, g.z, false, true, 1/float64(m), 0, tensor.Epilogue[float64]{})
	dst = symDst("DuGram", dst, n)
	xx, ss := g.xx.Data(), g.ss.Data()
	for i := 0; i < n; i++ {
		for j := i; j < n; j++ {
			dst.SetSym(i, j, xx[i*n+j]*ss[i*n+j])
		}
	}
	return dst
}

// DuHInf returns the infinite-width Gram matrix of Du et al. (2019) on the
// rows of x [n, d], which must have unit norm:
//
//	H_inf_ij = E_{w ~ N(0, I)} [x_i . x_j 1{w . x_i >= 0, w . x_j >= 0}]
//	         = x_i . x_j (pi - arccos(x_i . x_j)) / (2 pi).
//
// It returns an error naming the first row whose norm differs from 1 by
// more than 1e-9. Its smallest eigenvalue is Du et al.'s lambda0, positive
// when no two inputs are parallel (their Theorem 3.1).
func DuHInf(x mat.Matrix) (*mat.SymDense, error) {
	if err := nonNilMatrix("DuHInf", "x", x); err != nil {
		return nil, err
	}
	n, d := x.Dims()
	if err := checkUnitRows(x); err != nil {
		return nil, fmt.Errorf("ntk.DuHInf: %w", err)
	}
	h := mat.NewSymDense(n, nil)
	for i := 0; i < n; i++ {
		h.SetSym(i, i, 0.5) // c = 1: arccos(1) = 0, exactly
		for j := i + 1; j < n; j++ {
			var c float64
			for l := 0; l < d; l++ {
				c += x.At(i, l) * x.At(j, l)
			}
			c = math.Max(-1, math.Min(1, c))
			h.SetSym(i, j, c*(math.Pi-math.Acos(c))/(2*math.Pi))
		}
	}
	return h, nil
}

// checkUnitRows returns an error naming the first row of x whose norm is not 1
// to within 1e-9.
func checkUnitRows(x mat.Matrix) error {
	n, d := x.Dims()
	for i := 0; i < n; i++ {
		var s float64
		for l := 0; l < d; l++ {
			s += x.At(i, l) * x.At(i, l)
		}
		if math.Abs(math.Sqrt(s)-1) > 1e-9 {
			return fmt.Errorf("row %d of the inputs has norm %.12g, want 1 (Du et al. take inputs on the unit sphere)", i, math.Sqrt(s))
		}
	}
	return nil
}

// DuConfig configures a DuCertificate.
type DuConfig struct {
	// Net is the network being trained (by full-batch gradient descent
	// on X, Y for the bound to apply).
	Net *DuNet
	// X [n, d] are the training inputs, rows of unit norm; Y [n, 1] the
	// targets.
	X, Y *tensor.Tensor[float64]
	// LossScale is s in the training loss (s/2) |u - y|^2: gradient
	// descent at the trainer's learning rate lr on it is Du et al.'s
	// gradient descent on 0.5 |u - y|^2 at eta = s lr. 0 selects 1/n,
	// that of train.MSE{Half: true} (0.5 mean over the n points); 2/n is
	// that of train.MSE.
	LossScale float64
	// Out receives one JSON object per step (DuRecord); may be nil.
	Out io.Writer
}

// DuRecord is the measurement after optimizer step Step (Step 0 is the
// initialization).
type DuRecord struct {
	Step int `json:"step"`
	// Eta is Du et al.'s step size of the step that led here (s lr).
	Eta float64 `json:"eta"`
	// Residual is |y - u(k)|^2.
	Residual float64 `json:"residual"`
	// Bound is prod_{j<k} (1 - eta_j lambda0 / 2) |y - u(0)|^2, which is
	// (1 - eta lambda0 / 2)^k |y - u(0)|^2 at a constant step.
	Bound float64 `json:"bound"`
	// LambdaMin is lambda_min(H(k)).
	LambdaMin float64 `json:"lambda_min"`
}

// DuResult summarizes a certified run.
type DuResult struct {
	N     int `json:"n"`
	D     int `json:"d"`
	Width int `json:"width"`
	// Lambda0 is lambda_min(H_inf) (closed form), LambdaMaxInf
	// lambda_max(H_inf).
	Lambda0      float64 `json:"lambda0"`
	LambdaMaxInf float64 `json:"lambda_max_inf"`
	// EtaTheory is lambda0 / n^2, Theorem 4.1's step size O(lambda0/n^2)
	// with the constant taken as 1; EtaMax the largest step size seen.
	// Theorem 4.1 covers runs with EtaMax <= c EtaTheory for an
	// unspecified constant c; the bound is checked whatever eta is.
	EtaTheory float64 `json:"eta_theory"`
	EtaMax    float64 `json:"eta_max"`
	// HInitDistance is |H(0) - H_inf|_F, O(n / sqrt(m)) (Du et al.'s
	// Lemma 3.1 bounds it in probability).
	HInitDistance float64 `json:"h_init_distance"`
	// LambdaMinInit is lambda_min(H(0)); LambdaMinMin the smallest
	// lambda_min(H(k)) along the run, at step LambdaMinStep.
	LambdaMinInit float64 `json:"lambda_min_init"`
	LambdaMinMin  float64 `json:"lambda_min_min"`
	LambdaMinStep int     `json:"lambda_min_step"`
	// AboveHalfLambda0 reports LambdaMinMin >= lambda0 / 2: the condition
	// of Du et al.'s Lemma 3.2 and Condition 4.1 on which the rate rests.
	AboveHalfLambda0 bool `json:"above_half_lambda0"`
	// Steps is the number of steps checked; Residual0 and Residual the
	// first and last |y - u|^2.
	Steps     int     `json:"steps"`
	Residual0 float64 `json:"residual0"`
	Residual  float64 `json:"residual"`
	// MaxBoundRatio is max_{k >= 1} |y - u(k)|^2 / bound_k (<= 1 when the
	// bound held at every step, up to rounding; 0 before the first step,
	// where the bound is the residual itself).
	MaxBoundRatio float64 `json:"max_bound_ratio"`
	// Violations counts the steps where |y - u(k)|^2 > bound_k (1 + 1e-9
	// for the rounding of the residual); FirstViolation is the first, or
	// nil.
	Violations     int  `json:"violations"`
	FirstViolation *int `json:"first_violation"`
}

// DuCertificate is a train.Callback that checks Du et al.'s (2019)
// convergence statement along a real run of a DuNet trained by full-batch
// gradient descent on the square loss: after every optimizer step k it
// evaluates u(k) = f(X) and H(k), and checks
//
//	|y - u(k)|^2 <= prod_{j<k} (1 - eta_j lambda0 / 2) |y - u(0)|^2,
//
// Theorem 4.1's conclusion (constant eta: (1 - eta lambda0/2)^k). See the
// package documentation for the exact statement and its conditions. A
// step costs one forward pass on X, the two GEMMs of DuGram and an n x n
// eigendecomposition; it allocates only what gonum's eigensolver takes
// (a few small slices, whatever the width).
type DuCertificate struct {
	cfg     DuConfig
	gram    duGram
	h       *mat.SymDense
	es      mat.EigenSym
	ev      []float64
	tape    *autograd.Tape[float64]
	x       *autograd.Var[float64]
	hinf    *mat.SymDense
	bound   float64
	records []DuRecord
	res     DuResult
	enc     *json.Encoder
}

// NewDuCertificate validates cfg, measures the initialization (record 0)
// and returns the callback. Errors name the field at fault: a nil net or
// tensor, shapes that do not match, inputs off the unit sphere, lambda0 <=
// 0 (two parallel inputs).
func NewDuCertificate(cfg DuConfig) (*DuCertificate, error) {
	switch {
	case cfg.Net == nil:
		return nil, errors.New("ntk.NewDuCertificate: DuConfig.Net is nil")
	case cfg.X == nil || cfg.Y == nil:
		return nil, errors.New("ntk.NewDuCertificate: DuConfig.X and DuConfig.Y must be set")
	case cfg.X.NDim() != 2 || cfg.X.Dim(0) == 0 || cfg.X.Dim(1) != cfg.Net.Hidden.In():
		return nil, fmt.Errorf("ntk.NewDuCertificate: DuConfig.X has shape %v, want [n, %d] with n >= 1", cfg.X.Shape(), cfg.Net.Hidden.In())
	case cfg.Y.Len() != cfg.X.Dim(0):
		return nil, fmt.Errorf("ntk.NewDuCertificate: DuConfig.Y has shape %v for %d inputs, want [%d, 1]", cfg.Y.Shape(), cfg.X.Dim(0), cfg.X.Dim(0))
	case !(cfg.LossScale >= 0) || math.IsInf(cfg.LossScale, 0):
		return nil, fmt.Errorf("ntk.NewDuCertificate: DuConfig.LossScale = %v, want a finite number >= 0 (0: 1/n)", cfg.LossScale)
	}
	n, d := cfg.X.Dim(0), cfg.X.Dim(1)
	if cfg.LossScale == 0 {
		cfg.LossScale = 1 / float64(n)
	}
	xm := mat.NewDense(n, d, cfg.X.Data())
	hinf, err := DuHInf(xm)
	if err != nil {
		return nil, fmt.Errorf("ntk.NewDuCertificate: DuConfig.X: %w", err)
	}
	ev, err := Spectrum(hinf)
	if err != nil {
		return nil, fmt.Errorf("ntk.NewDuCertificate: H_inf: %w", err)
	}
	if !(ev[0] > 1e-10*ev[n-1]) {
		return nil, fmt.Errorf("ntk.NewDuCertificate: lambda0 = lambda_min(H_inf) = %.3g (lambda_max %.3g): two inputs are parallel, and the theorem needs lambda0 > 0", ev[0], ev[n-1])
	}
	c := &DuCertificate{cfg: cfg, hinf: hinf, tape: autograd.NewTape[float64](), h: mat.NewSymDense(n, nil)}
	c.tape.SetGradEnabled(false)
	c.gram.init(cfg.X, cfg.Net.Width())
	if cfg.Out != nil {
		c.enc = json.NewEncoder(cfg.Out)
	}
	c.res = DuResult{N: n, D: d, Width: cfg.Net.Width(), Lambda0: ev[0], LambdaMaxInf: ev[n-1],
		EtaTheory: ev[0] / float64(n*n), LambdaMinStep: -1}
	r, err := c.measure(0, 0)
	if err != nil {
		return nil, fmt.Errorf("ntk.NewDuCertificate: %w", err)
	}
	var diff mat.Dense
	diff.Sub(c.h, hinf)
	c.res.HInitDistance = mat.Norm(&diff, 2)
	c.res.LambdaMinInit = r.LambdaMin
	return c, nil
}

// measure evaluates step k reached with Du step size eta.
func (c *DuCertificate) measure(k int, eta float64) (DuRecord, error) {
	net := c.cfg.Net
	c.gram.compute(c.h, net)
	if !c.es.Factorize(c.h, false) {
		return DuRecord{}, fmt.Errorf("step %d: eigendecomposition of H did not converge", k)
	}
	c.ev = c.es.Values(c.ev)
	lmin := c.ev[0]
	c.tape.Reset()
	u := net.Forward(c.tape, c.tape.Const(c.cfg.X)).Value().Data()
	var res float64
	for i, y := range c.cfg.Y.Data() {
		res += (y - u[i]) * (y - u[i])
	}
	if math.IsNaN(res) || math.IsInf(res, 0) {
		return DuRecord{}, fmt.Errorf("step %d: residual |y - u|^2 is not finite", k)
	}
	s := &c.res
	if k == 0 {
		c.bound, s.Residual0 = res, res
	} else {
		c.bound *= 1 - eta*s.Lambda0/2
	}
	r := DuRecord{Step: k, Eta: eta, Residual: res, Bound: c.bound, LambdaMin: lmin}
	s.Steps, s.Residual, s.EtaMax = k, res, math.Max(s.EtaMax, eta)
	if s.LambdaMinStep < 0 || lmin < s.LambdaMinMin {
		s.LambdaMinMin, s.LambdaMinStep = lmin, k
	}
	s.AboveHalfLambda0 = s.LambdaMinMin >= s.Lambda0/2
	switch {
	case k == 0: // the bound is the residual itself
	case c.bound > 0:
		s.MaxBoundRatio = math.Max(s.MaxBoundRatio, res/c.bound)
	case res > 0:
		s.MaxBoundRatio = math.Inf(1)
	}
	if res > c.bound*(1+1e-9) {
		s.Violations++
		if s.FirstViolation == nil {
			s.FirstViolation = new(int)
			*s.FirstViolation = k
		}
	}
	c.records = append(c.records, r)
	if c.enc != nil {
		if err := c.enc.Encode(r); err != nil {
			return r, fmt.Errorf("writing the record: %w", err)
		}
	}
	return r, nil
}

// OnStep implements train.Callback: it measures the parameters the step
// produced.
func (c *DuCertificate) OnStep(s *train.Step[float64]) error {
	if _, err := c.measure(s.Step, c.cfg.LossScale*s.LR); err != nil {
		return fmt.Errorf("ntk.DuCertificate: %w", err)
	}
	return nil
}

// OnRecord implements train.Callback; the certificate works per step.
func (c *DuCertificate) OnRecord(*train.Record) error { return nil }

// Records returns the measurements from the initialization (index 0) on.
func (c *DuCertificate) Records() []DuRecord { return c.records }

// Result returns the summary of the steps measured so far.
func (c *DuCertificate) Result() DuResult { return c.res }

// HInf returns H_inf on the training inputs.
func (c *DuCertificate) HInf() *mat.SymDense { return c.hinf }

// PLStarConfig configures a PLStarProbe.
type PLStarConfig[T tensor.Float] struct {
	// Model is the network being trained, mapping [n, d] to [n, k].
	Model nn.Module[T]
	// X [n, d] holds the training inputs the loss is a square loss on.
	X *tensor.Tensor[T]
	// Every is the number of steps between measurements (default 1).
	Every int
	// Scale is s in the loss (s/2) |F - y|^2 over the n k outputs, so
	// that mu = s lambda_min(K); 0 selects landscape.MSEScale(true, n, k)
	// = 1/(n k), that of train.MSE{Half: true}.
	Scale float64
	// Kernel configures the empirical NTK (parameter subset, memory
	// budget, method); Full is set whenever k > 1, since K is the
	// (n k) x (n k) matrix J J^T.
	Kernel Options
	// Out receives one JSON object per measurement (PLStarRecord); may be
	// nil.
	Out io.Writer
}

// PLStarRecord is one measurement of the PL* constant.
type PLStarRecord struct {
	Step int `json:"step"`
	// LambdaMin is lambda_min(K(w_t)), K = J J^T on the training inputs.
	LambdaMin float64 `json:"lambda_min"`
	// Mu is Scale * LambdaMin, the PL* constant of the loss.
	Mu float64 `json:"mu"`
}

// PLStarResult summarizes the PL* constant along a run.
type PLStarResult struct {
	// Initial is the measurement at the initialization; Min the smallest
	// one along the run (at MinStep); Last the latest.
	Initial PLStarRecord `json:"initial"`
	Min     PLStarRecord `json:"min"`
	Last    PLStarRecord `json:"last"`
	// MinRatio is Min.LambdaMin / Initial.LambdaMin: near 1 for wide nets
	// (the PL* condition holds on the whole path with a constant close to
	// the initial one), and falling towards 0 as a narrow net leaves the
	// ball where the condition holds.
	MinRatio float64 `json:"min_ratio"`
	// Measurements counts the records.
	Measurements int `json:"measurements"`
}

// PLStarProbe is a train.Callback that tracks the PL* constant of Liu, Zhu
// and Belkin (2022) for the square loss, mu(w) = s lambda_min(K(w)) with
// K = J J^T the tangent kernel of all n k outputs on the training inputs,
// every Every steps, with its minimum along the run. Each measurement is
// one EmpiricalGram (structured for an *nn.MLP) into a reused matrix and
// one (n k) x (n k) eigendecomposition.
type PLStarProbe[T tensor.Float] struct {
	cfg     PLStarConfig[T]
	k       *mat.SymDense
	es      mat.EigenSym
	ev      []float64
	records []PLStarRecord
	res     PLStarResult
	enc     *json.Encoder
}

// NewPLStarProbe validates cfg, measures the initialization (step 0) and
// returns the probe.
func NewPLStarProbe[T tensor.Float](cfg PLStarConfig[T]) (*PLStarProbe[T], error) {
	switch {
	case nilcheck.Nil(cfg.Model):
		return nil, errors.New("ntk.NewPLStarProbe: PLStarConfig.Model is nil")
	case cfg.X == nil || cfg.X.NDim() != 2 || cfg.X.Dim(0) == 0:
		return nil, errors.New("ntk.NewPLStarProbe: PLStarConfig.X must be a non-empty [n, d] tensor")
	case cfg.Every < 0:
		return nil, fmt.Errorf("ntk.NewPLStarProbe: PLStarConfig.Every = %d, want >= 0 (0: every step)", cfg.Every)
	case !(cfg.Scale >= 0) || math.IsInf(cfg.Scale, 0):
		return nil, fmt.Errorf("ntk.NewPLStarProbe: PLStarConfig.Scale = %v, want a finite number >= 0 (0: 1/(n k))", cfg.Scale)
	}
	if cfg.Every == 0 {
		cfg.Every = 1
	}
	k, err := outputWidth(cfg.Model, cfg.X.Dim(1))
	if err != nil {
		return nil, fmt.Errorf("ntk.NewPLStarProbe: %w", err)
	}
	if cfg.Scale == 0 {
		cfg.Scale = landscape.MSEScale(true, cfg.X.Dim(0), k)
	}
	cfg.Kernel.Full = k > 1
	p := &PLStarProbe[T]{cfg: cfg}
	if cfg.Out != nil {
		p.enc = json.NewEncoder(cfg.Out)
	}
	if _, err := p.Measure(0); err != nil {
		return nil, err
	}
	return p, nil
}

// Measure records the PL* constant at the model's current parameters as
// step step.
func (p *PLStarProbe[T]) Measure(step int) (PLStarRecord, error) {
	k, err := EmpiricalGram(p.k, p.cfg.Model, p.cfg.X, p.cfg.Kernel)
	if err != nil {
		return PLStarRecord{}, fmt.Errorf("ntk.PLStarProbe: step %d: %w", step, err)
	}
	p.k = k
	if !p.es.Factorize(k, false) {
		return PLStarRecord{}, fmt.Errorf("ntk.PLStarProbe: step %d: eigendecomposition of K did not converge", step)
	}
	p.ev = p.es.Values(p.ev)
	l := p.ev[0]
	r := PLStarRecord{Step: step, LambdaMin: l, Mu: p.cfg.Scale * l}
	s := &p.res
	if s.Measurements == 0 {
		s.Initial, s.Min = r, r
	}
	if l < s.Min.LambdaMin {
		s.Min = r
	}
	s.Last = r
	s.Measurements++
	s.MinRatio = s.Min.LambdaMin / s.Initial.LambdaMin
	p.records = append(p.records, r)
	if p.enc != nil {
		if err := p.enc.Encode(r); err != nil {
			return r, fmt.Errorf("ntk.PLStarProbe: writing the record: %w", err)
		}
	}
	return r, nil
}

// OnStep implements train.Callback: it measures at steps Every, 2 Every,
// ...
func (p *PLStarProbe[T]) OnStep(s *train.Step[T]) error {
	if s.Step%p.cfg.Every != 0 {
		return nil
	}
	_, err := p.Measure(s.Step)
	return err
}

// OnRecord implements train.Callback; the probe works on steps.
func (p *PLStarProbe[T]) OnRecord(*train.Record) error { return nil }

// Records returns the measurements, the initialization first.
func (p *PLStarProbe[T]) Records() []PLStarRecord { return p.records }

// Result returns the summary of the measurements so far.
func (p *PLStarProbe[T]) Result() PLStarResult { return p.res }

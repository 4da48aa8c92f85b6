package flow

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"

	"github.com/gradflow/gradflow/internal/nilcheck"
	"github.com/gradflow/gradflow/landscape"
)

// NoisyGradient is what the stochastic modified equation of SGD needs of a
// loss L: its gradient, the drift, and samples of the minibatch gradient
// noise, the diffusion. Sigma(x) is the covariance of one minibatch
// gradient at x.
type NoisyGradient interface {
	// Dim is the number of parameters.
	Dim() int
	// Grad writes grad L(x) into dst and returns L(x).
	Grad(x, dst []float64) float64
	// Noise writes into dst a Gaussian vector with mean 0 and covariance
	// Sigma(x), drawing from rng.
	Noise(x []float64, rng *rand.Rand, dst []float64)
}

// gradNoiser is implemented by a NoisyGradient that computes the gradient
// and a noise sample at the same point more cheaply together than apart
// (MinibatchNoise: both come from one matrix of per-example gradients).
type gradNoiser interface {
	GradNoise(x []float64, rng *rand.Rand, grad, noise []float64)
}

// NoisyQuadratic is the noisy quadratic model: L(x) = (1/2) sum_i
// Lambda[i] x_i^2 with minibatch gradients Lambda[i] x_i + Sigma[i] xi_i,
// xi_i independent standard normals, so Sigma(x) = diag(Sigma[i]^2) does not
// depend on x (additive noise). Its SME is the Ornstein-Uhlenbeck process
// dX_i = -Lambda[i] X_i dt + sqrt(eta) Sigma[i] dW_i, of stationary variance
// eta Sigma[i]^2 / (2 Lambda[i]); SGD on it at rate eta is the AR(1)
// recursion of stationary variance eta Sigma^2 / (2 Lambda - eta Lambda^2).
type NoisyQuadratic struct {
	Lambda, Sigma []float64
}

// NewNoisyQuadratic returns the noisy quadratic of dim independent
// coordinates with the same curvature lambda and noise scale sigma: dim
// copies of one problem, for Monte Carlo averages in one run.
func NewNoisyQuadratic(dim int, lambda, sigma float64) (*NoisyQuadratic, error) {
	if dim < 1 || !(lambda > 0) || !(sigma >= 0) || math.IsInf(lambda, 0) || math.IsInf(sigma, 0) {
		return nil, fmt.Errorf("flow.NewNoisyQuadratic: dim %d, lambda %v, sigma %v: want dim >= 1, finite lambda > 0 and sigma >= 0", dim, lambda, sigma)
	}
	q := &NoisyQuadratic{Lambda: make([]float64, dim), Sigma: make([]float64, dim)}
	for i := range dim {
		q.Lambda[i], q.Sigma[i] = lambda, sigma
	}
	return q, nil
}

// Dim implements NoisyGradient.
func (q *NoisyQuadratic) Dim() int { return len(q.Lambda) }

// Grad implements NoisyGradient.
func (q *NoisyQuadratic) Grad(x, dst []float64) float64 {
	l := 0.0
	for i, lam := range q.Lambda {
		dst[i] = lam * x[i]
		l += 0.5 * lam * x[i] * x[i]
	}
	return l
}

// Noise implements NoisyGradient.
func (q *NoisyQuadratic) Noise(_ []float64, rng *rand.Rand, dst []float64) {
	for i, s := range q.Sigma {
		dst[i] = s * rng.NormFloat64()
	}
}

// MinibatchNoise is the NoisyGradient of a model's training loss L =
// (1/n) sum_i l_i on a fixed set of n examples (a landscape.ModelObjective)
// under SGD with minibatches of Batch examples drawn with replacement: the
// minibatch gradient has mean grad L and covariance
//
//	Sigma(x) = (1/Batch) (1/n) sum_i (g_i - gbar)(g_i - gbar)^T,
//
// g_i the per-example gradients and gbar their mean. A noise sample is
// Gc^T z / sqrt(n Batch) with Gc the centred n x P matrix of the g_i and z
// standard normal in R^n, whose covariance is Gc^T Gc / (n Batch) = Sigma:
// no P x P matrix is ever formed. Each sample costs one PerExampleGrads
// call (for an *nn.MLP one forward and one backward pass over the n
// examples) and O(nP) arithmetic.
type MinibatchNoise struct {
	obj   *landscape.ModelObjective[float64]
	batch int
	z     *mat.VecDense
	mean  []float64
	tmp   *mat.VecDense
}

// NewMinibatchNoise returns the NoisyGradient of obj for SGD with batches
// of batch examples drawn with replacement from obj's batch.
func NewMinibatchNoise(obj *landscape.ModelObjective[float64], batch int) (*MinibatchNoise, error) {
	if obj == nil {
		return nil, errors.New("flow.NewMinibatchNoise: objective is nil")
	}
	if batch < 1 {
		return nil, fmt.Errorf("flow.NewMinibatchNoise: batch size %d, want >= 1", batch)
	}
	n := obj.Batch().X.Dim(0)
	return &MinibatchNoise{obj: obj, batch: batch, z: mat.NewVecDense(n, nil),
		mean: make([]float64, obj.Dim()), tmp: mat.NewVecDense(obj.Dim(), nil)}, nil
}

// Dim implements NoisyGradient.
func (m *MinibatchNoise) Dim() int { return m.obj.Dim() }

// Grad implements NoisyGradient: the objective's gradient.
func (m *MinibatchNoise) Grad(x, dst []float64) float64 { return m.obj.Grad(x, dst) }

// Noise implements NoisyGradient.
func (m *MinibatchNoise) Noise(x []float64, rng *rand.Rand, dst []float64) {
	m.GradNoise(x, rng, m.mean, dst)
}

// GradNoise writes grad L(x) into grad and a noise sample into noise, both
// from one matrix of per-example gradients (the gradient as their mean).
func (m *MinibatchNoise) GradNoise(x []float64, rng *rand.Rand, grad, noise []float64) {
	g := m.obj.PerExampleGrads(x)
	n, p := g.Dims()
	for j := range grad {
		grad[j] = 0
	}
	zsum := 0.0
	zd := m.z.RawVector().Data
	for i := range n {
		zd[i] = rng.NormFloat64()
		zsum += zd[i]
		for j, v := range g.RawRowView(i) {
			grad[j] += v
		}
	}
	for j := range grad {
		grad[j] /= float64(n)
	}
	// Gc^T z = G^T z - (sum z) gbar.
	m.tmp.MulVec(g.T(), m.z)
	scale := 1 / math.Sqrt(float64(n)*float64(m.batch))
	td := m.tmp.RawVector().Data
	for j := range p {
		noise[j] = (td[j] - zsum*grad[j]) * scale
	}
}

// Scheme is an integrator of the SME.
type Scheme string

const (
	// EulerMaruyama is X' = X - grad L(X) dt + sqrt(eta dt) xi, xi ~
	// N(0, Sigma(X)): weak order 1 (Kloeden and Platen 1992, Theorem
	// 14.5.2) for any smooth drift and diffusion.
	EulerMaruyama Scheme = "euler-maruyama"
	// Heun is the stochastic Heun scheme with the noise frozen at the
	// start of the step: with d = sqrt(eta dt) xi, xi ~ N(0, Sigma(X)),
	//
	//	Y  = X - grad L(X) dt + d
	//	X' = X - (grad L(X) + grad L(Y)) dt/2 + d.
	//
	// When Sigma is constant (additive noise, as for NoisyQuadratic) it
	// is Kloeden and Platen's explicit order 2.0 weak scheme (1992,
	// eq. 15.1.1, whose diffusion-difference terms vanish then) and has
	// weak order 2; when Sigma depends on X, as for MinibatchNoise, it
	// is weak order 1 only (the order-2 scheme needs evaluations of the
	// diffusion at supporting points), with a smaller drift error than
	// EulerMaruyama.
	Heun Scheme = "heun"
)

// Schemes lists the integrators.
var Schemes = []Scheme{EulerMaruyama, Heun}

// SMEConfig configures an SME integrator.
type SMEConfig struct {
	// LR is the SGD learning rate eta the SME models: its noise is
	// sqrt(eta Sigma) dW, and time t stands for t/eta SGD steps.
	LR float64 `json:"lr"`
	// Dt is the integrator's time step (a fraction of LR for a faithful
	// path; Dt = LR makes EulerMaruyama a Gaussian SGD).
	Dt     float64 `json:"dt"`
	Scheme Scheme  `json:"scheme"` // default EulerMaruyama
	// Seed seeds the Gaussian draws: PCG(Seed, 0x5de).
	Seed uint64 `json:"seed"`
}

// SME integrates the stochastic modified equation of SGD (Li, Tai and E
// 2017, 2019),
//
//	dX = -grad L(X) dt + sqrt(eta Sigma(X)) dW,
//
// for a NoisyGradient, one step of Dt at a time. The path depends only on
// the configuration and the starting point, bit for bit. In steady state a
// step allocates nothing beyond what the NoisyGradient allocates.
type SME struct {
	f       NoisyGradient
	cfg     SMEConfig
	rng     *rand.Rand
	g, gy   []float64
	d, y    []float64
	steps   int
	noiseOf gradNoiser
}

// NewSME checks cfg and returns an integrator of f's SME at time 0.
func NewSME(f NoisyGradient, cfg SMEConfig) (*SME, error) {
	if nilcheck.Nil(f) {
		return nil, errors.New("flow.NewSME: NoisyGradient is nil")
	}
	if cfg.Scheme == "" {
		cfg.Scheme = EulerMaruyama
	}
	switch {
	case !(cfg.LR > 0) || math.IsInf(cfg.LR, 0):
		return nil, fmt.Errorf("flow.NewSME: LR %v, want a finite rate > 0", cfg.LR)
	case !(cfg.Dt > 0) || math.IsInf(cfg.Dt, 0):
		return nil, fmt.Errorf("flow.NewSME: Dt %v, want a finite step > 0", cfg.Dt)
	case cfg.Scheme != EulerMaruyama && cfg.Scheme != Heun:
		return nil, fmt.Errorf("flow.NewSME: unknown scheme %q (want %q or %q)", cfg.Scheme, EulerMaruyama, Heun)
	}
	p := f.Dim()
	s := &SME{f: f, cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0x5de)),
		g: make([]float64, p), d: make([]float64, p)}
	if cfg.Scheme == Heun {
		s.gy, s.y = make([]float64, p), make([]float64, p)
	}
	s.noiseOf, _ = f.(gradNoiser)
	return s, nil
}

// Time returns the time reached, Dt times the steps taken.
func (s *SME) Time() float64 { return float64(s.steps) * s.cfg.Dt }

// Step advances x (of length Dim) by one step of Dt, in place.
func (s *SME) Step(x []float64) {
	if len(x) != len(s.g) {
		panic(fmt.Sprintf("flow.SME.Step: point of length %d, want %d", len(x), len(s.g)))
	}
	dt := s.cfg.Dt
	if s.noiseOf != nil {
		s.noiseOf.GradNoise(x, s.rng, s.g, s.d)
	} else {
		s.f.Grad(x, s.g)
		s.f.Noise(x, s.rng, s.d)
	}
	amp := math.Sqrt(s.cfg.LR * dt)
	for i := range s.d {
		s.d[i] *= amp
	}
	if s.cfg.Scheme == Heun {
		for i := range x {
			s.y[i] = x[i] - s.g[i]*dt + s.d[i]
		}
		s.f.Grad(s.y, s.gy)
		for i := range x {
			x[i] += -0.5*(s.g[i]+s.gy[i])*dt + s.d[i]
		}
	} else {
		for i := range x {
			x[i] += -s.g[i]*dt + s.d[i]
		}
	}
	s.steps++
}

// Run takes round(T/Dt) steps from x, in place, and returns their number:
// x is then the SME's state at time T (to within Dt/2 when Dt does not
// divide T).
func (s *SME) Run(x []float64, T float64) int {
	n := int(math.Round(T / s.cfg.Dt))
	for range n {
		s.Step(x)
	}
	return n
}

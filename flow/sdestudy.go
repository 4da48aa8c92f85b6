package flow

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/internal/powerlaw"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/optim"
	"github.com/gradflow/gradflow/tensor"
	"github.com/gradflow/gradflow/train"
)

// SDEStudyConfig is the study of "train sde": SGD, SVAG and the SME on the
// one-dimensional noisy quadratic L(x) = (lambda/2) x^2 with minibatch
// gradient noise of variance sigma^2, where the stationary variances are
// known in closed form:
//
//	SGD at rate eta          eta sigma^2 / (2 lambda - eta lambda^2)
//	SVAG with parameter l    eta sigma^2 / (2 lambda - eta lambda^2 / l)
//	SME (its l -> infinity)  eta sigma^2 / (2 lambda)
//
// so SVAG's error against the SME is eta^2 sigma^2 / (4 l) + O(l^-2): slope
// -1 against l on log-log axes.
type SDEStudyConfig struct {
	Lambda float64 `json:"lambda"`
	Sigma  float64 `json:"sigma"`
	LR     float64 `json:"lr"`
	// Ls are the SVAG parameters l >= 1 (l = 1 is SGD).
	Ls []float64 `json:"l"`
	// Chains is the number of independent copies of the problem run at
	// once: the output width of the linear model SVAG trains, and the
	// coordinates of the SME.
	Chains int `json:"chains"`
	// Rows is the size of the dataset the minibatches are drawn from,
	// with replacement: per chain, targets of exact mean 0 and variance
	// sigma^2/lambda^2 (so a one-example gradient has variance exactly
	// sigma^2). The chains share the drawn rows; the correlation this
	// leaves between chains is about 1/sqrt(Rows) per pair, so Rows well
	// above Chains keeps the standard errors (computed as if the chains
	// were independent) within a few per cent of the truth.
	Rows int `json:"rows"`
	// Burn and Time are the burn-in and the averaging window, in units
	// of SME time (t = steps * eta / l).
	Burn float64 `json:"burn"`
	Time float64 `json:"time"`
	// SMEDt is the time step of the SME integrators.
	SMEDt float64 `json:"sme_dt"`
	Seed  uint64  `json:"seed"`
}

// DefaultSDEStudy returns the default study: lambda = sigma = 1, eta = 0.1,
// l = 1, 2, 4, 8, 512 chains over 8192 rows, burn-in 8 and window 200, SME
// at dt = eta/8.
func DefaultSDEStudy() SDEStudyConfig {
	return SDEStudyConfig{Lambda: 1, Sigma: 1, LR: 0.1, Ls: []float64{1, 2, 4, 8}, Chains: 512, Rows: 8192,
		Burn: 8, Time: 200, SMEDt: 0.0125, Seed: 1}
}

// SVAGRow is SVAG with one l on the noisy quadratic.
type SVAGRow struct {
	Kind  string  `json:"kind"` // "svag"
	L     float64 `json:"l"`
	Steps int     `json:"steps"` // training steps, burn-in included
	// Variance is the stationary variance measured (the mean of x^2 over
	// chains and the window) and VarianceSE its Monte Carlo standard
	// error; Theory is the closed form eta sigma^2/(2 lambda - eta
	// lambda^2/l).
	Variance   float64 `json:"variance"`
	VarianceSE float64 `json:"variance_se"`
	Theory     float64 `json:"theory"`
	// Error is Variance minus the SME's eta sigma^2/(2 lambda), measured
	// with a control variate (see SDEStudy); ErrorSE is its standard
	// error and TheoryError the closed form.
	Error       float64 `json:"error"`
	ErrorSE     float64 `json:"error_se"`
	TheoryError float64 `json:"theory_error"`
}

// SMERow is one integrator of the SME on the noisy quadratic.
type SMERow struct {
	Kind   string  `json:"kind"` // "sme"
	Scheme Scheme  `json:"scheme"`
	Dt     float64 `json:"dt"`
	// Variance is the stationary variance of the integrated path, the
	// SME's plus Error (measured with a control variate, standard error
	// ErrorSE); Theory is the exact stationary variance of the scheme's
	// recursion and TheoryError its difference from the SME's.
	Variance    float64 `json:"variance"`
	Error       float64 `json:"error"`
	ErrorSE     float64 `json:"error_se"`
	Theory      float64 `json:"theory"`
	TheoryError float64 `json:"theory_error"`
}

// SDESummary is the last line of the study's JSON form.
type SDESummary struct {
	Kind string `json:"kind"` // "summary"
	// SDEVariance is eta sigma^2/(2 lambda).
	SDEVariance float64 `json:"sde_variance"`
	// SVAGSlope is the log-log slope of SVAG's measured |Error| against
	// l (powerlaw.Slope), TheorySlope that of the closed form; nil (null)
	// when fewer than two l have a positive error.
	SVAGSlope   *float64 `json:"svag_slope"`
	TheorySlope *float64 `json:"theory_slope"`
}

// SDEStudyResult is the outcome of SDEStudy.
type SDEStudyResult struct {
	Config  SDEStudyConfig `json:"config"`
	SVAG    []SVAGRow      `json:"svag"`
	SME     []SMERow       `json:"sme"`
	Summary SDESummary     `json:"summary"`
}

func (c *SDEStudyConfig) validate() error {
	pos := func(v float64) bool { return v > 0 && !math.IsInf(v, 0) }
	switch {
	case !pos(c.Lambda) || !pos(c.Sigma) || !pos(c.LR):
		return fmt.Errorf("flow: lambda %v, sigma %v, lr %v: want finite values > 0", c.Lambda, c.Sigma, c.LR)
	case c.LR*c.Lambda >= 2:
		return fmt.Errorf("flow: lr*lambda = %v: SGD diverges unless it is below 2", c.LR*c.Lambda)
	case len(c.Ls) == 0:
		return errors.New("flow: no SVAG parameter l")
	case c.Chains < 2 || c.Rows < 2:
		return fmt.Errorf("flow: %d chains over %d rows: want at least 2 of each", c.Chains, c.Rows)
	case !pos(c.Burn) || !pos(c.Time) || !pos(c.SMEDt):
		return fmt.Errorf("flow: burn %v, time %v, sme_dt %v: want finite values > 0", c.Burn, c.Time, c.SMEDt)
	case c.SMEDt*c.Lambda >= 1:
		return fmt.Errorf("flow: sme_dt*lambda = %v: want it below 1", c.SMEDt*c.Lambda)
	}
	for _, l := range c.Ls {
		if !(l >= 1) || math.IsInf(l, 0) {
			return fmt.Errorf("flow: SVAG l = %v: want finite values >= 1", l)
		}
	}
	return nil
}

// SDEStudy runs the study cfg describes. Every l trains, through
// train.Stepper, a linear model whose Chains outputs are the chains'
// parameters x_j (input 0, so only the bias moves), with the SVAG loss over
// half MSE, SGD at the rate SVAGSpec gives and a loader of
// SVAGLoaderConfig: the code path of a user's SVAG run. The stationary
// variance is the mean of x_j^2 (the mean is exactly 0) after the burn-in.
//
// The error against the SME is tiny (3e-4 at l = 8 on a variance of 0.05),
// so it is measured with a control variate: each chain drives, with the
// noise u its step drew (computed from the batch's rows), the exact
// transition of the SME's Ornstein-Uhlenbeck process over the step's time
// eta/l, whose stationary variance is exactly eta sigma^2/(2 lambda); the
// error is the mean of x_j^2 - y_j^2, which varies far less than x_j^2
// because the coupled paths differ by O(eta/l). The SME rows use the same
// device with the integrators' own Gaussian increments. Standard errors
// come from the spread of the per-chain averages. The result depends only
// on cfg, bit for bit; SDEStudy returns ctx.Err() between runs once ctx is
// done.
func SDEStudy(ctx context.Context, cfg SDEStudyConfig) (*SDEStudyResult, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	ds := quadraticData(cfg)
	res := &SDEStudyResult{Config: cfg}
	sde := cfg.LR * cfg.Sigma * cfg.Sigma / (2 * cfg.Lambda)
	var errs, theory []float64
	for _, l := range cfg.Ls {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		row, err := svagStationary(cfg, ds, l)
		if err != nil {
			return nil, err
		}
		row.TheoryError = row.Theory - sde
		res.SVAG = append(res.SVAG, row)
		errs, theory = append(errs, math.Abs(row.Error)), append(theory, row.TheoryError)
	}
	q, err := NewNoisyQuadratic(cfg.Chains, cfg.Lambda, cfg.Sigma)
	if err != nil {
		return nil, err
	}
	for _, scheme := range Schemes {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		sc := SMEConfig{LR: cfg.LR, Dt: cfg.SMEDt, Scheme: scheme, Seed: cfg.Seed}
		m, se, err := smeStationary(q, sc, cfg.Burn, cfg.Time)
		if err != nil {
			return nil, err
		}
		th := schemeVariance(scheme, cfg.Lambda, cfg.Sigma, cfg.LR, cfg.SMEDt)
		res.SME = append(res.SME, SMERow{Kind: "sme", Scheme: scheme, Dt: cfg.SMEDt, Variance: sde + m, Error: m, ErrorSE: se,
			Theory: th, TheoryError: th - sde})
	}
	res.Summary = SDESummary{Kind: "summary", SDEVariance: sde,
		SVAGSlope: nullable(powerlaw.Slope(cfg.Ls, errs)), TheorySlope: nullable(powerlaw.Slope(cfg.Ls, theory))}
	return res, nil
}

// nullable returns &v, or nil for NaN and infinities (JSON null).
func nullable(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// quadraticData returns cfg.Rows examples with input 0 and, per chain, a
// target column of exact mean 0 and population variance
// sigma^2/lambda^2 (standardized Gaussians from PCG(Seed, 0xda7a)).
func quadraticData(cfg SDEStudyConfig) *data.Dataset[float64] {
	n, k := cfg.Rows, cfg.Chains
	rng := rand.New(rand.NewPCG(cfg.Seed, 0xda7a))
	y := make([]float64, n*k)
	for i := range y {
		y[i] = rng.NormFloat64()
	}
	sd := cfg.Sigma / cfg.Lambda
	for j := range k {
		var m, m2 float64
		for i := range n {
			m += y[i*k+j]
		}
		m /= float64(n)
		for i := range n {
			y[i*k+j] -= m
			m2 += y[i*k+j] * y[i*k+j]
		}
		s := sd / math.Sqrt(m2/float64(n))
		for i := range n {
			y[i*k+j] *= s
		}
	}
	return &data.Dataset[float64]{X: tensor.New[float64](n, 1), Y: tensor.FromSlice(y, n, k)}
}

// svagStationary trains SVAG with parameter l on ds and measures the
// stationary variance (see SDEStudy).
func svagStationary(cfg SDEStudyConfig, ds *data.Dataset[float64], l float64) (SVAGRow, error) {
	k := cfg.Chains
	lin, err := nn.NewLinear[float64](rand.New(rand.NewPCG(cfg.Seed, 1)), "", 1, k, true)
	if err != nil {
		return SVAGRow{}, err
	}
	lin.Bias.Value.Zero()
	loss, err := NewSVAG[float64](&train.MSE[float64]{Half: true}, l)
	if err != nil {
		return SVAGRow{}, err
	}
	spec, err := optim.DefaultSpec("sgd")
	if err != nil {
		return SVAGRow{}, err
	}
	// Half MSE averages over the k outputs: the rate k*lambda*eta makes
	// each chain's step eta times lambda (x_j - target).
	spec.LR = cfg.LR * cfg.Lambda * float64(k)
	opt, err := optim.New(lin.Params(), SVAGSpec(spec, l))
	if err != nil {
		return SVAGRow{}, err
	}
	st, err := train.NewStepper(train.StepConfig[float64]{Model: lin, Loss: loss, Optimizer: opt})
	if err != nil {
		return SVAGRow{}, err
	}
	ld, err := data.NewLoader(ds, SVAGLoaderConfig(1, cfg.Seed))
	if err != nil {
		return SVAGRow{}, err
	}
	c1, c2 := SVAGCoefficients(l)
	h := cfg.LR * cfg.Lambda / l
	decay := math.Exp(-h)
	// The exact OU transition over time eta/l driven by u, the step's
	// noise of variance l sigma^2/lambda^2.
	amp := math.Sqrt(cfg.LR*(1-math.Exp(-2*h))/(2*cfg.Lambda)) * cfg.Lambda / math.Sqrt(l)
	burn := int(math.Round(cfg.Burn * l / cfg.LR))
	n := max(1, int(math.Round(cfg.Time*l/cfg.LR)))
	y := make([]float64, k)
	accV, accE := make([]float64, k), make([]float64, k)
	x := lin.Bias.Value.Data()
	for s := range burn + n {
		if !ld.Next() && !ld.Next() {
			return SVAGRow{}, errors.New("flow: the SVAG loader delivered no batch")
		}
		b := ld.Batch()
		if _, err := st.Step(b); err != nil {
			return SVAGRow{}, fmt.Errorf("flow: SVAG l=%g: %w", l, err)
		}
		yd := b.Y.Data()
		for j := range y {
			y[j] = decay*y[j] + amp*(c1*yd[j]+c2*yd[k+j])
		}
		if s >= burn {
			for j, xj := range x {
				accV[j] += xj * xj
				accE[j] += xj*xj - y[j]*y[j]
			}
		}
	}
	row := SVAGRow{Kind: "svag", L: l, Steps: burn + n,
		Theory: cfg.LR * cfg.Sigma * cfg.Sigma / (2*cfg.Lambda - cfg.LR*cfg.Lambda*cfg.Lambda/l)}
	row.Variance, row.VarianceSE = chainMean(accV, n)
	row.Error, row.ErrorSE = chainMean(accE, n)
	return row, nil
}

// chainMean returns the mean over chains of acc[j]/n, the chains' time
// averages, and its standard error from their spread.
func chainMean(acc []float64, n int) (mean, se float64) {
	var m, m2 float64
	for _, a := range acc {
		a /= float64(n)
		m += a
		m2 += a * a
	}
	k := float64(len(acc))
	m /= k
	return m, math.Sqrt(max(0, m2/k-m*m) / (k - 1))
}

// noiseRecorder is a NoisyGradient that keeps the last noise sample the
// wrapped one drew, so that a second process can be driven with the
// increments an integrator used.
type noiseRecorder struct {
	NoisyGradient
	last []float64
}

// Noise implements NoisyGradient.
func (r *noiseRecorder) Noise(x []float64, rng *rand.Rand, dst []float64) {
	r.NoisyGradient.Noise(x, rng, dst)
	r.last = append(r.last[:0], dst...)
}

// smeStationary integrates q's SME (q: all coordinates with the same
// lambda and sigma) with cfg and returns the error of the path's stationary
// variance against the SME's and its standard error, by the control
// variate of SDEStudy: the exact OU transition Y' = e^{-lambda dt} Y +
// sqrt((1 - e^{-2 lambda dt})/(2 lambda dt)) sqrt(eta dt) xi driven by the
// integrator's increments xi ~ N(0, sigma^2), after a burn-in of burn and
// averaged over a window T.
func smeStationary(q *NoisyQuadratic, cfg SMEConfig, burn, T float64) (mean, se float64, err error) {
	rec := &noiseRecorder{NoisyGradient: q}
	sme, err := NewSME(rec, cfg)
	if err != nil {
		return 0, 0, err
	}
	p := q.Dim()
	lambda, dt := q.Lambda[0], cfg.Dt
	x, y, acc := make([]float64, p), make([]float64, p), make([]float64, p)
	decay := math.Exp(-lambda * dt)
	amp := math.Sqrt((1-math.Exp(-2*lambda*dt))/(2*lambda*dt)) * math.Sqrt(cfg.LR*dt)
	nb, n := int(math.Round(burn/dt)), max(1, int(math.Round(T/dt)))
	for k := range nb + n {
		sme.Step(x)
		for i, xi := range rec.last {
			y[i] = decay*y[i] + amp*xi
		}
		if k >= nb {
			for i := range acc {
				acc[i] += x[i]*x[i] - y[i]*y[i]
			}
		}
	}
	mean, se = chainMean(acc, n)
	return mean, se, nil
}

// schemeCoefficients returns a and c of one step of scheme on the OU
// process dX = -lambda X dt + sqrt(eta) s dW: X' = a X + c sqrt(eta dt) xi,
// xi ~ N(0, s^2).
func schemeCoefficients(scheme Scheme, lambda, dt float64) (a, c float64) {
	x := lambda * dt
	if scheme == Heun {
		return 1 - x + x*x/2, 1 - x/2
	}
	return 1 - x, 1
}

// schemeVariance is the exact stationary variance of scheme's recursion
// on the OU process: c^2 eta dt s^2 / (1 - a^2).
func schemeVariance(scheme Scheme, lambda, s, eta, dt float64) float64 {
	a, c := schemeCoefficients(scheme, lambda, dt)
	return c * c * eta * dt * s * s / (1 - a*a)
}

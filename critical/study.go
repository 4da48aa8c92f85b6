package critical

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/landscape"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/tensor"
	"github.com/gradflow/gradflow/train"
)

// StudyConfig describes the critical-batch study of "train batch": the
// noise scales at the initialization and the steps-vs-examples trade-off
// from it. Zero fields take the defaults of the chosen Data.
type StudyConfig struct {
	// Data is "linear" (the default: linear least squares with a
	// Gaussian design, where B_noise has a closed form) or "digits" (an
	// MLP on the embedded UCI digits).
	Data string `json:"data"`
	// Dim, Kappa and Noise shape the linear problem: x ~ N(0, diag(lambda))
	// in Dim dimensions with lambda_j = Kappa^(-j/(Dim-1)), y = x.w* +
	// eps, eps ~ N(0, Noise^2), w*_j = z_j / sqrt(lambda_j) with z ~
	// N(0, 1), and the model starts at w = 0.
	Dim   int     `json:"dim"`
	Kappa float64 `json:"kappa"`
	Noise float64 `json:"noise"`
	// Arch and Act are the digits MLP (train.ParseArch dims, hidden
	// activation).
	Arch string        `json:"arch"`
	Act  nn.Activation `json:"act"`
	// MeasureN is the number of examples B_noise is measured on (fresh
	// samples for linear, the first MeasureN training rows for digits;
	// 0 there means all), HVPs how many of their deviations enter tr(H
	// Sigma) (0: all, exact for the sample).
	MeasureN int `json:"measure_n"`
	HVPs     int `json:"hvps"`
	// TargetFrac sets the target loss: the loss must fall to L* +
	// TargetFrac (L_0 - L*) (L* = Noise^2/2 for linear, 0 for digits).
	TargetFrac float64 `json:"target_frac"`
	// Seed draws the problem and the initialization; the trade-off's
	// runs use sampling seeds Seed+1 ... Seed+Seeds.
	Seed  uint64 `json:"seed"`
	Seeds int    `json:"seeds"`
	// Batches, LRs, MaxSteps and Checks are the trade-off's grid (see
	// TradeoffConfig).
	Batches  []int     `json:"batches"`
	LRs      []float64 `json:"lrs"`
	MaxSteps int       `json:"max_steps"`
	Checks   int       `json:"checks"`
}

// GeometricGrid returns n values from lo growing by the factor ratio.
func GeometricGrid(lo, ratio float64, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = lo * math.Pow(ratio, float64(i))
	}
	return v
}

// DefaultStudy returns the defaults for data ("linear" or "digits").
func DefaultStudy(dataName string) StudyConfig {
	if dataName == "digits" {
		return StudyConfig{Data: "digits", Arch: "64-32-10", Act: nn.Tanh, MeasureN: 0, HVPs: 256, TargetFrac: 0.15,
			Seed: 1, Seeds: 2, Batches: []int{4, 8, 16, 32, 64, 128, 256}, LRs: GeometricGrid(0.05, math.Sqrt2, 13),
			MaxSteps: 4000, Checks: 40}
	}
	return StudyConfig{Data: "linear", Dim: 8, Kappa: 100, Noise: 0.5, MeasureN: 65536, HVPs: 0, TargetFrac: 0.25,
		Seed: 1, Seeds: 16, Batches: []int{1, 2, 4, 8, 16, 32, 64, 128, 256}, LRs: GeometricGrid(0.05, math.Pow(2, 0.25), 22),
		MaxSteps: 5000}
}

// withDefaults fills the zero fields from DefaultStudy(c.Data).
func (c StudyConfig) withDefaults() StudyConfig {
	if c.Data == "" {
		c.Data = "linear"
	}
	d := DefaultStudy(c.Data)
	fill := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	fillF := func(p *float64, v float64) {
		if *p == 0 {
			*p = v
		}
	}
	fill(&c.Dim, d.Dim)
	fillF(&c.Kappa, d.Kappa)
	if c.Arch == "" {
		c.Arch = d.Arch
	}
	if c.Act == "" {
		c.Act = d.Act
	}
	fill(&c.MeasureN, d.MeasureN)
	fillF(&c.TargetFrac, d.TargetFrac)
	fill(&c.Seeds, d.Seeds)
	if c.Batches == nil {
		c.Batches = d.Batches
	}
	if c.LRs == nil {
		c.LRs = d.LRs
	}
	fill(&c.MaxSteps, d.MaxSteps)
	return c
}

// Result is the outcome of a Study.
type Result struct {
	Config StudyConfig `json:"config"`
	// Noise is B_noise measured at the initialization (MeasureNoise).
	Noise NoiseScale `json:"noise"`
	// Exact is the closed form at the initialization (linear only).
	Exact *LinearNoise `json:"exact,omitempty"`
	// Loss0 is the loss at the initialization and Target the loss the
	// runs must reach (both as the trade-off's Eval reads them).
	Loss0    float64   `json:"loss0"`
	Target   float64   `json:"target"`
	Params   int       `json:"params"`
	Tradeoff *Tradeoff `json:"tradeoff"`
}

// Study runs the critical-batch study of cfg: B_noise and B_simple at the
// initialization, then the trade-off to the target and its fit.
func Study(ctx context.Context, cfg StudyConfig) (*Result, error) {
	cfg = cfg.withDefaults()
	switch {
	case cfg.Data != "linear" && cfg.Data != "digits":
		return nil, fmt.Errorf("critical: data %q, want linear or digits", cfg.Data)
	case cfg.Data == "linear" && (cfg.Dim < 1 || !(cfg.Kappa >= 1) || math.IsInf(cfg.Kappa, 0) || !(cfg.Noise >= 0) || math.IsInf(cfg.Noise, 0)):
		return nil, fmt.Errorf("critical: dim %d, kappa %v, noise %v: want dim >= 1, finite kappa >= 1, finite noise >= 0", cfg.Dim, cfg.Kappa, cfg.Noise)
	case !(cfg.TargetFrac > 0 && cfg.TargetFrac < 1):
		return nil, fmt.Errorf("critical: target fraction %v, want in (0, 1)", cfg.TargetFrac)
	case cfg.Seeds < 1 || cfg.MeasureN < 0 || cfg.HVPs < 0:
		return nil, fmt.Errorf("critical: seeds %d, measure_n %d, hvps %d: want >= 1, >= 0, >= 0", cfg.Seeds, cfg.MeasureN, cfg.HVPs)
	}
	var (
		res  *Result
		prob Problem[float64]
		obj  *landscape.ModelObjective[float64]
		err  error
	)
	if cfg.Data == "linear" {
		res, prob, obj, err = linearStudy(cfg)
	} else {
		res, prob, obj, err = digitsStudy(cfg)
	}
	if err != nil {
		return nil, err
	}
	x := obj.Point(nil)
	res.Params = len(x)
	if res.Noise, err = MeasureNoise(obj, x, NoiseConfig{HVPs: cfg.HVPs, Seed: cfg.Seed}); err != nil {
		return nil, err
	}
	tc := TradeoffConfig{Batches: cfg.Batches, LRs: cfg.LRs, Target: res.Target, MaxSteps: cfg.MaxSteps, Checks: cfg.Checks}
	for k := range cfg.Seeds {
		tc.Seeds = append(tc.Seeds, cfg.Seed+1+uint64(k))
	}
	if res.Tradeoff, err = RunTradeoff(ctx, prob, tc); err != nil {
		return nil, err
	}
	return res, nil
}

// linearStudy builds the linear problem of cfg: the model (w = 0), fresh
// Gaussian minibatches, the population loss in closed form, and the
// objective on MeasureN fresh samples for the measured noise scale.
func linearStudy(cfg StudyConfig) (*Result, Problem[float64], *landscape.ModelObjective[float64], error) {
	d := cfg.Dim
	lambda := make([]float64, d)
	wstar := make([]float64, d)
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x11ea7))
	for j := range lambda {
		lambda[j] = 1
		if d > 1 {
			lambda[j] = math.Pow(cfg.Kappa, -float64(j)/float64(d-1))
		}
		// Every direction starts with the same share of the loss
		// (lambda_j w*_j^2 = 1), so that the ill-conditioning matters
		// all along the run; the signs are random.
		wstar[j] = 1 / math.Sqrt(lambda[j])
		if rng.IntN(2) == 0 {
			wstar[j] = -wstar[j]
		}
	}
	delta := make([]float64, d)
	for j := range delta {
		delta[j] = -wstar[j]
	}
	noiseVar := cfg.Noise * cfg.Noise
	exact := LinearNoiseExact(lambda, delta, noiseVar)
	res := &Result{Config: cfg, Exact: &exact, Loss0: 0.5 * exact.Loss}
	floor := 0.5 * noiseVar
	res.Target = floor + cfg.TargetFrac*(res.Loss0-floor)
	newModel := func() (nn.Module[float64], error) {
		m, err := nn.NewMLP[float64](nn.MLPConfig{Dims: []int{d, 1}, NoBias: true}, rand.New(rand.NewPCG(0, 0)))
		if err != nil {
			return nil, err
		}
		clear(m.Layers[0].Weight.Value.Data())
		return m, nil
	}
	sample := func(rng *rand.Rand, b *data.Batch[float64]) {
		x, y := b.X.Data(), b.Y.Data()
		for i := range y {
			dotp := 0.0
			for j := range d {
				v := math.Sqrt(lambda[j]) * rng.NormFloat64()
				x[i*d+j] = v
				dotp += v * wstar[j]
			}
			y[i] = dotp + cfg.Noise*rng.NormFloat64()
		}
	}
	newBatch := func(n int) *data.Batch[float64] {
		b := &data.Batch[float64]{X: tensor.New[float64](n, d), Y: tensor.New[float64](n, 1), Rows: make([]int, n)}
		for i := range b.Rows {
			b.Rows[i] = i
		}
		return b
	}
	loss := &train.MSE[float64]{Half: true}
	prob := Problem[float64]{
		Model: newModel,
		Loss:  loss,
		Batches: func(n int, seed uint64) (func() (*data.Batch[float64], error), error) {
			rng := rand.New(rand.NewPCG(seed, 0xba7c4))
			b := newBatch(n)
			return func() (*data.Batch[float64], error) { sample(rng, b); return b, nil }, nil
		},
		Eval: func(m nn.Module[float64]) (float64, error) {
			w := m.Params()[0].Value.Data()
			a := noiseVar
			for j, l := range lambda {
				e := w[j] - wstar[j]
				a += l * e * e
			}
			return 0.5 * a, nil
		},
	}
	mb := newBatch(cfg.MeasureN)
	sample(rand.New(rand.NewPCG(cfg.Seed, 0x3ea5)), mb)
	m, err := newModel()
	if err != nil {
		return nil, prob, nil, err
	}
	obj, err := landscape.NewModelObjective(m, loss, mb)
	return res, prob, obj, err
}

// digitsStudy builds the digits problem of cfg: an MLP on the training
// split, minibatches drawn with replacement, the full training loss as
// the target's loss, and the objective on the first MeasureN training
// rows.
func digitsStudy(cfg StudyConfig) (*Result, Problem[float64], *landscape.ModelObjective[float64], error) {
	tk, err := data.LoadTask[float64]("digits", 0.2, cfg.Seed)
	if err != nil {
		return nil, Problem[float64]{}, nil, err
	}
	dims, err := train.ParseArch(cfg.Arch, tk.Train.Dim(), tk.Outputs)
	if err != nil {
		return nil, Problem[float64]{}, nil, fmt.Errorf("critical: arch: %w", err)
	}
	init, err := nn.NewMLP[float64](nn.MLPConfig{Dims: dims, Activation: cfg.Act}, rand.New(rand.NewPCG(cfg.Seed, 0x1a17)))
	if err != nil {
		return nil, Problem[float64]{}, nil, err
	}
	loss := &train.CrossEntropy[float64]{}
	prob := Problem[float64]{
		Model: func() (nn.Module[float64], error) {
			m, err := nn.NewMLP[float64](init.Config, rand.New(rand.NewPCG(0, 0)))
			if err != nil {
				return nil, err
			}
			for i, p := range m.Params() {
				copy(p.Value.Data(), init.Params()[i].Value.Data())
			}
			return m, nil
		},
		Loss: loss,
		Batches: func(b int, seed uint64) (func() (*data.Batch[float64], error), error) {
			ld, err := data.NewLoader(tk.Train, data.LoaderConfig{BatchSize: b, Order: data.OrderReplacement, Seed: seed})
			if err != nil {
				return nil, err
			}
			return func() (*data.Batch[float64], error) {
				if !ld.Next() && !ld.Next() {
					return nil, fmt.Errorf("critical: the loader gave no batch")
				}
				return ld.Batch(), nil
			}, nil
		},
	}
	tape := autograd.NewTape[float64]()
	prob.Eval = func(m nn.Module[float64]) (float64, error) {
		l, _, err := train.Evaluate(m, train.Loss[float64](loss), tk.Train, 1024, tape)
		return l, err
	}
	rows := tk.Train.Len()
	if cfg.MeasureN > 0 && cfg.MeasureN < rows {
		rows = cfg.MeasureN
	}
	idx := make([]int, rows)
	for i := range idx {
		idx[i] = i
	}
	mb, err := landscape.BatchOf(tk.Train, idx, false)
	if err != nil {
		return nil, prob, nil, err
	}
	obj, err := landscape.NewModelObjective(nn.Module[float64](init), train.Loss[float64](loss), mb)
	if err != nil {
		return nil, prob, nil, err
	}
	l0, err := prob.Eval(init)
	if err != nil {
		return nil, prob, nil, err
	}
	res := &Result{Config: cfg, Loss0: l0, Target: cfg.TargetFrac * l0}
	return res, prob, obj, nil
}

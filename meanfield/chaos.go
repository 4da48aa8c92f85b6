package meanfield

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/gradflow/gradflow/internal/powerlaw"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/tensor"
)

// ChaosConfig is a propagation-of-chaos experiment in the mean-field
// regime: for every width m of Widths and every seed, a network of width m
// and a reference of width Ratio*m, both started from the same i.i.d.
// particles (the width-m network's are the reference's first m), trained
// by Run's full-batch steps for the same time Steps*LR on the task of
// Study, and compared at the end.
type ChaosConfig struct {
	Widths []int `json:"widths"`
	// Ratio is the reference's width over m; default 16.
	Ratio int `json:"ratio"`
	// Seeds is the number of initializations per width, seeded Seed,
	// Seed+1, ...; default 3.
	Seeds      int           `json:"seeds"`
	Activation nn.Activation `json:"activation"` // default tanh
	// N, Dim and Seed select the task as in StudyConfig (N points on the
	// sphere of radius sqrt(Dim), a tanh teacher from Seed).
	N    int    `json:"n"`
	Dim  int    `json:"dim"`
	Seed uint64 `json:"seed"`
	// LR and Steps are each run's: time T = Steps*LR.
	LR    float64 `json:"lr"`
	Steps int     `json:"steps"`
	// Projections is the number of directions of SlicedW2; default 64.
	Projections int `json:"projections"`
}

// ChaosRow is one width of a Chaos experiment: means over the seeds and
// their standard errors (0 with one seed).
type ChaosRow struct {
	Width    int `json:"width"`
	RefWidth int `json:"ref_width"`
	Seeds    int `json:"seeds"`
	// SW2 is the sliced W2 distance between the final particle measure of
	// the width-m network and the reference's.
	SW2   float64 `json:"sw2"`
	SW2SE float64 `json:"sw2_se"`
	// SW2Init is the same distance at initialization: the sampling part
	// of SW2, O(m^-1/2) before any training.
	SW2Init float64 `json:"sw2_init"`
	// Coupled is sqrt((1/m) sum_i |theta_i^m(T) - theta_i^ref(T)|^2) over
	// the m shared particles (0 at initialization): an upper bound of W2
	// between the width-m measure and the reference's first m particles.
	Coupled   float64 `json:"coupled"`
	CoupledSE float64 `json:"coupled_se"`
}

// ChaosFit is the log-log slope of a column of a Chaos experiment against
// the width.
type ChaosFit struct {
	// Slope is the least-squares slope of log(mean over seeds) against
	// log m; nil (null) with fewer than two usable widths.
	Slope *float64 `json:"slope"`
	// PerSeed holds the slope of each seed's values (nil entries dropped),
	// Low and High the 95% Student-t interval of their mean: the seeds are
	// independent repetitions. nil with fewer than two seeds.
	PerSeed []float64 `json:"per_seed"`
	Low     *float64  `json:"low"`
	High    *float64  `json:"high"`
}

// ChaosResult is the outcome of Chaos: a row per width and the fitted
// exponents, -1/2 in theory for all three.
type ChaosResult struct {
	Config       ChaosConfig `json:"config"` // with defaults filled in
	Rows         []ChaosRow  `json:"rows"`
	SW2Slope     ChaosFit    `json:"sw2_slope"`
	SW2InitSlope ChaosFit    `json:"sw2_init_slope"`
	CoupledSlope ChaosFit    `json:"coupled_slope"`
}

// withDefaults returns c with defaults filled in, or an error naming the
// field at fault.
func (c ChaosConfig) withDefaults() (ChaosConfig, error) {
	if c.Ratio == 0 {
		c.Ratio = 16
	}
	if c.Seeds == 0 {
		c.Seeds = 3
	}
	if c.Projections == 0 {
		c.Projections = 64
	}
	if c.Activation == "" {
		c.Activation = nn.Tanh
	}
	switch {
	case len(c.Widths) == 0:
		return c, errors.New("meanfield: ChaosConfig.Widths is empty")
	case c.Ratio < 2:
		return c, fmt.Errorf("meanfield: ChaosConfig.Ratio = %d must be at least 2", c.Ratio)
	case c.Seeds < 0:
		return c, fmt.Errorf("meanfield: ChaosConfig.Seeds = %d must be positive", c.Seeds)
	case c.Projections < 0:
		return c, fmt.Errorf("meanfield: ChaosConfig.Projections = %d must be positive", c.Projections)
	case c.N <= 0 || c.Dim <= 0:
		return c, fmt.Errorf("meanfield: ChaosConfig.N = %d and Dim = %d must be positive", c.N, c.Dim)
	case c.Steps <= 0:
		return c, fmt.Errorf("meanfield: ChaosConfig.Steps = %d must be positive", c.Steps)
	case !(c.LR > 0) || math.IsInf(c.LR, 0):
		return c, fmt.Errorf("meanfield: ChaosConfig.LR = %v must be positive and finite", c.LR)
	}
	for _, m := range c.Widths {
		if m <= 0 {
			return c, fmt.Errorf("meanfield: ChaosConfig.Widths: width %d must be positive", m)
		}
	}
	if _, err := c.net(1).withDefaults(); err != nil {
		return c, err
	}
	return c, nil
}

// net is the mean-field network of width m of the experiment.
func (c ChaosConfig) net(m int) Config {
	return Config{InputDim: c.Dim, Width: m, Activation: c.Activation}
}

// Chaos runs the propagation-of-chaos experiment of cfg. For each seed it
// draws one cloud of Ratio*max(Widths) i.i.d. particles (New from
// NewRNG(seed)), so that every network of that seed starts from a prefix of
// it: width m from the first m particles, its reference from the first
// Ratio*m (RunFrom). At time T it measures the sliced W2 distance between
// the two particle measures (SlicedW2 along Projections directions from
// PCG(seed, 0xc4a05), the same for every width of the seed), the same
// distance at initialization, and the coupled distance of the m shared
// particles. Both networks take the same steps at the same rate, so the
// time discretization is common to both and the distances measure the
// finite-width fluctuation alone: O(m^-1/2) by propagation of chaos
// (package documentation). The result depends only on cfg, bit for bit;
// Chaos stops with ctx.Err() before a run if ctx is done.
func Chaos(ctx context.Context, cfg ChaosConfig) (*ChaosResult, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	x, y, err := teacher(cfg.N, cfg.Dim, cfg.Seed)
	if err != nil {
		return nil, err
	}
	// [column][seed][width]
	var sw2, init, coupled [][]float64
	for s := range cfg.Seeds {
		seed := cfg.Seed + uint64(s)
		a, b, c, err := cfg.seed(ctx, seed, x, y)
		if err != nil {
			return nil, err
		}
		sw2, init, coupled = append(sw2, a), append(init, b), append(coupled, c)
	}
	res := &ChaosResult{Config: cfg}
	for i, m := range cfg.Widths {
		row := ChaosRow{Width: m, RefWidth: cfg.Ratio * m, Seeds: cfg.Seeds}
		row.SW2, row.SW2SE = meanSE(seedColumn(sw2, i))
		row.SW2Init, _ = meanSE(seedColumn(init, i))
		row.Coupled, row.CoupledSE = meanSE(seedColumn(coupled, i))
		res.Rows = append(res.Rows, row)
	}
	res.SW2Slope = fitChaos(cfg.Widths, sw2, func(r ChaosRow) float64 { return r.SW2 }, res.Rows)
	res.SW2InitSlope = fitChaos(cfg.Widths, init, func(r ChaosRow) float64 { return r.SW2Init }, res.Rows)
	res.CoupledSlope = fitChaos(cfg.Widths, coupled, func(r ChaosRow) float64 { return r.Coupled }, res.Rows)
	return res, nil
}

// seed runs every width of one seed and returns, per width, the sliced W2
// distance at T and at 0 and the coupled distance.
func (c ChaosConfig) seed(ctx context.Context, seed uint64, x, y *tensor.Tensor[float64]) (sw2, init, coupled []float64, err error) {
	big, err := New(c.net(c.Ratio*slices.Max(c.Widths)), NewRNG(seed))
	if err != nil {
		return nil, nil, nil, err
	}
	cloud := big.Particles()
	for _, m := range c.Widths {
		var final [2]Particles
		for k, w := range []int{m, c.Ratio * m} {
			if err := ctx.Err(); err != nil {
				return nil, nil, nil, err
			}
			run := RunConfig{Net: c.net(w), LR: c.LR, Steps: c.Steps, Every: c.Steps, NoKernel: true}
			tr, err := RunFrom(run, Particles{Names: cloud.Names, Points: cloud.Points[:w]}, x, y)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("meanfield: chaos run of width %d, seed %d: %w", w, seed, err)
			}
			final[k] = tr.Final
		}
		// One seeded source per comparison: the same directions for
		// every width and for both times.
		dirs := func() *rand.Rand { return rand.New(rand.NewPCG(seed, 0xc4a05)) }
		dT, err := SlicedW2(final[0].Points, final[1].Points, c.Projections, dirs())
		if err != nil {
			return nil, nil, nil, err
		}
		d0, err := SlicedW2(cloud.Points[:m], cloud.Points[:c.Ratio*m], c.Projections, dirs())
		if err != nil {
			return nil, nil, nil, err
		}
		sw2, init = append(sw2, dT), append(init, d0)
		coupled = append(coupled, CoupledDistance(final[0].Points, final[1].Points[:m]))
	}
	return sw2, init, coupled, nil
}

// CoupledDistance returns sqrt((1/m) sum_i |p_i - q_i|^2) for two clouds
// of m points in the same order: the cost of the coupling p_i <-> q_i, an
// upper bound of W2 between their empirical measures. It panics if the
// clouds differ in size or a pair of points in length.
func CoupledDistance(p, q [][]float64) float64 {
	if len(p) != len(q) {
		panic(fmt.Sprintf("meanfield.CoupledDistance: clouds of %d and %d points", len(p), len(q)))
	}
	var s float64
	for i := range p {
		if len(p[i]) != len(q[i]) {
			panic(fmt.Sprintf("meanfield.CoupledDistance: point %d has %d and %d coordinates", i, len(p[i]), len(q[i])))
		}
		for j, v := range p[i] {
			d := v - q[i][j]
			s += d * d
		}
	}
	return math.Sqrt(s / float64(len(p)))
}

// seedColumn returns v[s][i] for every s.
func seedColumn(v [][]float64, i int) []float64 {
	out := make([]float64, len(v))
	for s := range v {
		out[s] = v[s][i]
	}
	return out
}

// meanSE returns the mean of v and its standard error (0 for one value).
func meanSE(v []float64) (mean, se float64) {
	for _, x := range v {
		mean += x
	}
	n := float64(len(v))
	mean /= n
	if len(v) < 2 {
		return mean, 0
	}
	for _, x := range v {
		se += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(se / (n - 1) / n)
}

// fitChaos fits the slope of one column: of the seed means (get of the
// rows) and per seed (perSeed[seed][width]).
func fitChaos(widths []int, perSeed [][]float64, get func(ChaosRow) float64, rows []ChaosRow) ChaosFit {
	w := make([]float64, len(widths))
	means := make([]float64, len(rows))
	for i := range widths {
		w[i], means[i] = float64(widths[i]), get(rows[i])
	}
	f := ChaosFit{Slope: nullable(powerlaw.Slope(w, means))}
	for _, v := range perSeed {
		if s := powerlaw.Slope(w, v); !math.IsNaN(s) {
			f.PerSeed = append(f.PerSeed, s)
		}
	}
	if len(f.PerSeed) > 0 {
		_, lo, hi := powerlaw.TInterval(f.PerSeed)
		f.Low, f.High = nullable(lo), nullable(hi)
	}
	return f
}

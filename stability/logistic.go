package stability

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/optim"
	"github.com/gradflow/gradflow/tensor"
	"github.com/gradflow/gradflow/train"
)

// LogisticConfig describes the convex experiment: logistic regression (a
// linear model with bias and two logits under softmax cross-entropy) on a
// two-class version of a real dataset, trained by SGD with batch 1 drawn
// with replacement, the setting of Hardt, Recht and Singer (2016).
type LogisticConfig struct {
	// Data is a data.LoadTask spec with class labels (default "digits");
	// the two classes are the labels' parities (even vs odd digits).
	Data string `json:"data"`
	// Eta is the constant step (default 0.1), Steps the number of steps
	// T (default 1000), Every the steps between records (default 20).
	Eta   float64 `json:"eta"`
	Steps int     `json:"steps"`
	Every int     `json:"every"`
	// Swaps is the number of replaced indices (spread over the training
	// set) and Seeds the number of seeds (defaults 4 and 3).
	Swaps int    `json:"swaps"`
	Seeds int    `json:"seeds"`
	Seed  uint64 `json:"seed"`
}

func (c LogisticConfig) withDefaults() LogisticConfig {
	if c.Data == "" {
		c.Data = "digits"
	}
	if c.Eta == 0 {
		c.Eta = 0.1
	}
	if c.Steps == 0 {
		c.Steps = 1000
	}
	if c.Every == 0 {
		c.Every = 20
	}
	if c.Swaps == 0 {
		c.Swaps = 4
	}
	if c.Seeds == 0 {
		c.Seeds = 3
	}
	return c
}

// LogisticResult is the outcome of Logistic.
type LogisticResult struct {
	Config LogisticConfig `json:"config"`
	N      int            `json:"n"`
	// Lipschitz and Smoothness are L and beta of the per-example loss in
	// the parameters, computed from the data: with x~ = (x, 1),
	// L = sqrt(2) max |x~| and beta = max |x~|^2 / 2 (see the package
	// documentation).
	Lipschitz  float64 `json:"lipschitz"`
	Smoothness float64 `json:"smoothness"`
	// Coupled holds the measured means along the run; Bound[k] is the
	// HRS bound 2 L eta t / n at Coupled.Points[k].Step.
	Coupled *CoupledResult `json:"coupled"`
	Bound   []float64      `json:"bound"`
	// Ratio is the measured E delta_T over the bound at T.
	Ratio float64 `json:"hrs_ratio"`
}

// Logistic runs the coupled SGD runs of cfg and compares E delta_t with
// Hardt-Recht-Singer's bound.
func Logistic(ctx context.Context, cfg LogisticConfig) (*LogisticResult, error) {
	lr, err := prepareLogistic(cfg)
	if err != nil {
		return nil, err
	}
	return lr.run(ctx)
}

// logisticRun is a LogisticConfig with its data loaded and checked.
type logisticRun struct {
	res *LogisticResult
	cc  CoupledConfig
}

// prepareLogistic loads the data of cfg, computes L and beta and checks
// the step against 2/beta.
func prepareLogistic(cfg LogisticConfig) (*logisticRun, error) {
	cfg = cfg.withDefaults()
	if !(cfg.Eta > 0) || cfg.Steps < 1 || cfg.Swaps < 1 || cfg.Seeds < 1 {
		return nil, fmt.Errorf("stability.Logistic: Eta = %g, Steps = %d, Swaps = %d, Seeds = %d: all must be positive", cfg.Eta, cfg.Steps, cfg.Swaps, cfg.Seeds)
	}
	task, err := data.LoadTask[float64](cfg.Data, 0.2, cfg.Seed)
	if err != nil {
		return nil, fmt.Errorf("stability.Logistic: %w", err)
	}
	if task.Classes == 0 {
		return nil, fmt.Errorf("stability.Logistic: %s has no class labels", cfg.Data)
	}
	tr, te := twoClass(task.Train), twoClass(task.Test)
	// Scale every input to unit norm: the constants L and beta of the
	// per-example loss then allow eta = 0.1 (eta <= 2/beta) while every
	// example still moves the model (a common scale by the largest norm
	// would shrink most rows of standardized data to near zero).
	normalizeRows(tr.X)
	normalizeRows(te.X)
	xmax := math.Sqrt(math.Max(sq(maxRowNorm(tr.X)), sq(maxRowNorm(te.X))) + 1)
	res := &LogisticResult{Config: cfg, N: tr.Len(), Lipschitz: math.Sqrt2 * xmax, Smoothness: xmax * xmax / 2}
	if cfg.Eta > 2/res.Smoothness {
		return nil, fmt.Errorf("stability.Logistic: Eta = %g exceeds 2/beta = %g, where the HRS bound does not apply", cfg.Eta, 2/res.Smoothness)
	}
	spec, err := optim.DefaultSpec("sgd")
	if err != nil {
		return nil, err
	}
	spec.LR = cfg.Eta
	cc := CoupledConfig{Train: tr, Pool: te, Probe: te, Loss: &train.CrossEntropy[float64]{}, Optimizer: spec,
		Steps: cfg.Steps, Every: cfg.Every, Swaps: spread(cfg.Swaps, tr.Len()), Seeds: seeds(cfg.Seed, cfg.Seeds),
		NewModel: func(seed uint64) (nn.Module[float64], error) {
			return nn.NewLinear[float64](rand.New(rand.NewPCG(seed, 0x10915)), "0", tr.Dim(), 2, true)
		}}
	return &logisticRun{res: res, cc: cc}, nil
}

func (lr *logisticRun) run(ctx context.Context) (*LogisticResult, error) {
	res := lr.res
	var err error
	if res.Coupled, err = Coupled(ctx, lr.cc); err != nil {
		return nil, err
	}
	for _, p := range res.Coupled.Points {
		res.Bound = append(res.Bound, HRSBound(res.Lipschitz, res.Config.Eta, p.Step, res.N))
	}
	res.Ratio = res.Coupled.Last().Delta / res.Bound[len(res.Bound)-1]
	return res, nil
}

// HRSBound is Hardt, Recht and Singer's bound on the expected parameter
// distance of SGD on S and S^(i) after t steps of size eta, for a convex,
// L-Lipschitz, beta-smooth loss with eta <= 2/beta: 2 L eta t / n.
func HRSBound(lipschitz, eta float64, t, n int) float64 {
	return 2 * lipschitz * eta * float64(t) / float64(n)
}

// twoClass returns ds with labels reduced to their parity (class 0: even,
// class 1: odd), a copy.
func twoClass(ds *data.Dataset[float64]) *data.Dataset[float64] {
	rows := make([]int, ds.Len())
	for i := range rows {
		rows[i] = i
	}
	out := ds.Subset(rows)
	for i, l := range out.Labels {
		out.Labels[i] = l % 2
	}
	out.NumClasses, out.Classes = 2, []string{"even", "odd"}
	return out
}

func maxRowNorm(x *tensor.Tensor[float64]) float64 {
	d := x.Dim(1)
	var m float64
	for i := range x.Dim(0) {
		var s float64
		for _, v := range x.Data()[i*d : (i+1)*d] {
			s += v * v
		}
		m = math.Max(m, s)
	}
	return math.Sqrt(m)
}

// normalizeRows scales every non-zero row of x to unit Euclidean norm.
func normalizeRows(x *tensor.Tensor[float64]) {
	d := x.Dim(1)
	for i := range x.Dim(0) {
		row := x.Data()[i*d : (i+1)*d]
		var s float64
		for _, v := range row {
			s += v * v
		}
		if s > 0 {
			s = 1 / math.Sqrt(s)
			for j := range row {
				row[j] *= s
			}
		}
	}
}

func sq(x float64) float64 { return x * x }

// spread returns k indices spread evenly over [0, n).
func spread(k, n int) []int {
	out := make([]int, k)
	for j := range out {
		out[j] = (2*j + 1) * n / (2 * k)
	}
	return out
}

// seeds returns k seeds derived from seed.
func seeds(seed uint64, k int) []uint64 {
	out := make([]uint64, k)
	for j := range out {
		out[j] = seed*1000 + uint64(j) + 1
	}
	return out
}

package stability

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/internal/nilcheck"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/optim"
	"github.com/gradflow/gradflow/train"
)

// CoupledConfig describes coupled training runs on S and S^(i): the
// training set with its row i replaced by another example, from the same
// initialization and with the same sequence of sampled rows.
type CoupledConfig struct {
	// Train is S.
	Train *data.Dataset[float64]
	// Pool holds the replacement examples: pair j replaces row Swaps[j]
	// of S by row j mod Pool.Len() of Pool. With Pool nil the replacement
	// is the row itself (S = S^(i): the runs must then be identical).
	Pool *data.Dataset[float64]
	// Probe is the set the loss difference |l(theta; z) - l(theta'; z)|
	// and the test loss are measured on (nil: no probe measurements).
	Probe *data.Dataset[float64]
	// NewModel builds the model of a seed; both runs of a pair call it
	// with the same seed and must get identical parameters.
	NewModel func(seed uint64) (nn.Module[float64], error)
	// Loss is the per-batch mean loss.
	Loss train.Loss[float64]
	// OneHot fills Y with one-hot labels (for MSE on a classifier).
	OneHot bool
	// Optimizer is any optim.Spec: stability is measured for every
	// optimizer.
	Optimizer optim.Spec
	// Batch and Order set the sampling (default 1 and with replacement,
	// the setting of Hardt, Recht and Singer's SGD). The loader of both
	// runs draws the same row indices from the pair's seed.
	Batch int
	Order data.Order
	// Steps is the number of steps, Every the steps between records
	// (step 0 and the last are always recorded).
	Steps, Every int
	// Swaps are the indices i replaced, Seeds the seeds (each seed is the
	// initialization and the sampling sequence); every (seed, swap) pair
	// is one coupled run.
	Swaps []int
	Seeds []uint64
}

// CoupledPoint is the mean over the pairs, with its standard error, of
// the measurements at one step.
type CoupledPoint struct {
	Step int `json:"step"`
	// Delta is |theta_t - theta'_t| (Euclidean, all parameters).
	Delta   float64 `json:"delta"`
	DeltaSE float64 `json:"delta_se"`
	// LossDiff is the mean over the probe set of |l(theta_t; z) -
	// l(theta'_t; z)| (NaN without a probe).
	LossDiff   float64 `json:"loss_diff"`
	LossDiffSE float64 `json:"loss_diff_se"`
	// TrainLoss and TestLoss are those of the run on S (TestLoss on the
	// probe set); Gap = TestLoss - TrainLoss.
	TrainLoss float64 `json:"train_loss"`
	TestLoss  float64 `json:"test_loss"`
	Gap       float64 `json:"gap"`
	GapSE     float64 `json:"gap_se"`
}

// CoupledResult is the outcome of Coupled.
type CoupledResult struct {
	Pairs  int            `json:"pairs"`
	N      int            `json:"n"`
	Points []CoupledPoint `json:"points"`
	// Final holds every pair's Delta at the last step, in (seed, swap)
	// order.
	Final []float64 `json:"final_deltas"`
}

// Last returns the point of the last step.
func (r *CoupledResult) Last() CoupledPoint { return r.Points[len(r.Points)-1] }

func (c *CoupledConfig) check() error {
	switch {
	case c.Train == nil || c.Train.X == nil:
		return errors.New("stability.Coupled: Train is nil")
	case c.NewModel == nil:
		return errors.New("stability.Coupled: NewModel is nil")
	case nilcheck.Nil(c.Loss):
		return errors.New("stability.Coupled: Loss is nil")
	case c.Steps < 1:
		return fmt.Errorf("stability.Coupled: Steps = %d, want >= 1", c.Steps)
	case len(c.Swaps) == 0 || len(c.Seeds) == 0:
		return errors.New("stability.Coupled: no pairs (Swaps and Seeds must be non-empty)")
	case c.Pool != nil && (c.Pool.Len() == 0 || c.Pool.Dim() != c.Train.Dim()):
		return fmt.Errorf("stability.Coupled: Pool has %d rows of %d features, want rows of %d", c.Pool.Len(), c.Pool.Dim(), c.Train.Dim())
	}
	for _, i := range c.Swaps {
		if i < 0 || i >= c.Train.Len() {
			return fmt.Errorf("stability.Coupled: swap index %d out of range [0, %d)", i, c.Train.Len())
		}
	}
	if c.Batch == 0 {
		c.Batch = 1
	}
	if c.Order == "" {
		c.Order = data.OrderReplacement
	}
	if c.Every <= 0 {
		c.Every = max(1, c.Steps/50)
	}
	return nil
}

// Coupled runs every (seed, swap) pair of cfg and returns the means over
// pairs along the runs. Each run goes through train.Stepper, the training
// step of every gradflow run.
func Coupled(ctx context.Context, cfg CoupledConfig) (*CoupledResult, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	var steps []int
	for s := 0; s <= cfg.Steps; s++ {
		if s%cfg.Every == 0 || s == cfg.Steps {
			steps = append(steps, s)
		}
	}
	acc := make([]pointAcc, len(steps))
	res := &CoupledResult{N: cfg.Train.Len()}
	for _, seed := range cfg.Seeds {
		for j, i := range cfg.Swaps {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			other := swapped(cfg.Train, cfg.Pool, i, j)
			final, err := runPair(ctx, cfg, seed, other, steps, acc)
			if err != nil {
				return nil, fmt.Errorf("stability.Coupled: seed %d, swap %d: %w", seed, i, err)
			}
			res.Final = append(res.Final, final)
			res.Pairs++
		}
	}
	for k, s := range steps {
		res.Points = append(res.Points, acc[k].point(s))
	}
	return res, nil
}

// pointAcc accumulates the measurements of one step over pairs.
type pointAcc struct {
	delta, diff, gap    moments
	trainLoss, testLoss float64
	n                   int
}

func (a *pointAcc) point(step int) CoupledPoint {
	p := CoupledPoint{Step: step, LossDiff: math.NaN(), LossDiffSE: math.NaN(), TestLoss: math.NaN(), Gap: math.NaN(), GapSE: math.NaN()}
	p.Delta, p.DeltaSE = a.delta.mean(), a.delta.se()
	p.TrainLoss = a.trainLoss / float64(a.n)
	if a.diff.n > 0 {
		p.LossDiff, p.LossDiffSE = a.diff.mean(), a.diff.se()
		p.TestLoss = a.testLoss / float64(a.n)
		p.Gap, p.GapSE = a.gap.mean(), a.gap.se()
	}
	return p
}

// moments accumulates a mean and a standard error.
type moments struct {
	n     int
	s, ss float64
}

func (m *moments) add(v float64) { m.n++; m.s += v; m.ss += v * v }
func (m *moments) mean() float64 { return m.s / float64(m.n) }
func (m *moments) se() float64 {
	if m.n < 2 {
		return math.NaN()
	}
	mu := m.mean()
	v := (m.ss - float64(m.n)*mu*mu) / float64(m.n-1)
	return math.Sqrt(math.Max(v, 0) / float64(m.n))
}

// swapped returns S with row i replaced by row j mod Pool.Len() of pool
// (a copy; S itself when pool is nil).
func swapped(s, pool *data.Dataset[float64], i, j int) *data.Dataset[float64] {
	if pool == nil {
		return s
	}
	rows := make([]int, s.Len())
	for r := range rows {
		rows[r] = r
	}
	out := s.Subset(rows)
	r := j % pool.Len()
	copy(out.X.Data()[i*s.Dim():(i+1)*s.Dim()], pool.X.Data()[r*s.Dim():(r+1)*s.Dim()])
	if out.Labels != nil && pool.Labels != nil {
		out.Labels[i] = pool.Labels[r]
	}
	if out.Y != nil && pool.Y != nil {
		k := out.Y.Dim(1)
		copy(out.Y.Data()[i*k:(i+1)*k], pool.Y.Data()[r*k:(r+1)*k])
	}
	return out
}

// runPair trains the pair (seed; S, other) in lockstep and adds its
// measurements at steps to acc; it returns Delta at the last step.
func runPair(ctx context.Context, cfg CoupledConfig, seed uint64, other *data.Dataset[float64], steps []int, acc []pointAcc) (float64, error) {
	a, err := newRun(cfg, seed, cfg.Train)
	if err != nil {
		return 0, err
	}
	b, err := newRun(cfg, seed, other)
	if err != nil {
		return 0, err
	}
	var pa, pb []float64
	k := 0
	var delta float64
	for s := 0; s <= cfg.Steps; s++ {
		if s > 0 {
			if err := a.step(); err != nil {
				return 0, err
			}
			if err := b.step(); err != nil {
				return 0, err
			}
		}
		if k < len(steps) && steps[k] == s {
			pa, pb = flatten(a.model, pa), flatten(b.model, pb)
			delta = distance(pa, pb)
			acc[k].delta.add(delta)
			acc[k].trainLoss += meanLoss(a.model, cfg.Loss, cfg.Train, cfg.OneHot)
			if cfg.Probe != nil {
				la, lb := perExampleLoss(a.model, cfg.Loss, cfg.Probe, cfg.OneHot), perExampleLoss(b.model, cfg.Loss, cfg.Probe, cfg.OneHot)
				var diff, test float64
				for i := range la {
					diff += math.Abs(la[i] - lb[i])
					test += la[i]
				}
				diff /= float64(len(la))
				test /= float64(len(la))
				acc[k].diff.add(diff)
				acc[k].testLoss += test
				acc[k].gap.add(test - meanLoss(a.model, cfg.Loss, cfg.Train, cfg.OneHot))
			}
			acc[k].n++
			k++
		}
		if s%64 == 0 && ctx.Err() != nil {
			return 0, ctx.Err()
		}
	}
	return delta, nil
}

// run is one side of a pair: its model, stepper and loader.
type run struct {
	model  nn.Module[float64]
	st     *train.Stepper[float64]
	loader *data.Loader[float64]
}

func newRun(cfg CoupledConfig, seed uint64, ds *data.Dataset[float64]) (*run, error) {
	m, err := cfg.NewModel(seed)
	if err != nil {
		return nil, err
	}
	opt, err := optim.New(m.Params(), cfg.Optimizer)
	if err != nil {
		return nil, err
	}
	st, err := train.NewStepper(train.StepConfig[float64]{Model: m, Loss: cfg.Loss, Optimizer: opt})
	if err != nil {
		return nil, err
	}
	l, err := data.NewLoader(ds, data.LoaderConfig{BatchSize: cfg.Batch, Order: cfg.Order, Seed: seed, OneHot: cfg.OneHot})
	if err != nil {
		return nil, err
	}
	return &run{model: m, st: st, loader: l}, nil
}

func (r *run) step() error {
	if !r.loader.Next() {
		if !r.loader.Next() {
			return errors.New("the loader delivered no batch")
		}
	}
	_, err := r.st.Step(r.loader.Batch())
	return err
}

// flatten appends the model's parameters to dst[:0].
func flatten(m nn.Module[float64], dst []float64) []float64 {
	dst = dst[:0]
	for _, p := range m.Params() {
		dst = append(dst, p.Value.Data()...)
	}
	return dst
}

func distance(a, b []float64) float64 {
	var s float64
	for i := range a {
		d := a[i] - b[i]
		s += d * d
	}
	return math.Sqrt(s)
}

// batchOf is the whole dataset as one batch (one-hot Y if asked).
func batchOf(ds *data.Dataset[float64], oneHot bool) *data.Batch[float64] {
	b := &data.Batch[float64]{X: ds.X, Labels: ds.Labels, Y: ds.Y}
	if oneHot && b.Y == nil {
		y, err := data.OneHot[float64](ds.Labels, ds.NumClasses)
		if err == nil {
			b.Y = y
		}
	}
	return b
}

// meanLoss is the loss of m on all of ds.
func meanLoss(m nn.Module[float64], loss train.Loss[float64], ds *data.Dataset[float64], oneHot bool) float64 {
	tape := autograd.NewTape[float64]()
	tape.SetGradEnabled(false)
	out := m.Forward(tape, tape.Const(ds.X))
	return loss.Eval(out, batchOf(ds, oneHot)).Item()
}

// perExampleLoss is the loss of m on each row of ds.
func perExampleLoss(m nn.Module[float64], loss train.Loss[float64], ds *data.Dataset[float64], oneHot bool) []float64 {
	tape := autograd.NewTape[float64]()
	tape.SetGradEnabled(false)
	out := m.Forward(tape, tape.Const(ds.X)).Value()
	full := batchOf(ds, oneHot)
	ls := make([]float64, ds.Len())
	one := &data.Batch[float64]{}
	for i := range ls {
		tape.Reset()
		one.X = ds.X.Rows(i, i+1)
		if full.Y != nil {
			one.Y = full.Y.Rows(i, i+1)
		}
		if full.Labels != nil {
			one.Labels = full.Labels[i : i+1]
		}
		ls[i] = loss.Eval(tape.Const(out.Rows(i, i+1)), one).Item()
	}
	return ls
}

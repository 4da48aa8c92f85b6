package critical

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/optim"
	"github.com/gradflow/gradflow/tensor"
	"github.com/gradflow/gradflow/train"
)

// Problem is what the steps-vs-examples trade-off trains: the same
// initialization for every run, minibatches of any size from a seed, and
// the loss the target is read on.
type Problem[T tensor.Float] struct {
	// Model returns a fresh model at the initialization every run starts
	// from (the same parameters on every call).
	Model func() (nn.Module[T], error)
	// Loss is the training loss the SGD steps take.
	Loss train.Loss[T]
	// Batches returns the minibatch source of one run: batch size b,
	// sampling seed seed. Each call of the source returns the next batch.
	Batches func(b int, seed uint64) (func() (*data.Batch[T], error), error)
	// Eval returns the loss the target is compared with (a population or
	// full training loss, not the minibatch's).
	Eval func(m nn.Module[T]) (float64, error)
}

// TradeoffConfig is the grid of the trade-off.
type TradeoffConfig struct {
	// Batches are the batch sizes, LRs the learning rates tried at each
	// (plain SGD), Seeds the sampling seeds of every (batch, lr) pair.
	Batches []int     `json:"batches"`
	LRs     []float64 `json:"lrs"`
	Seeds   []uint64  `json:"seeds"`
	// Target is the loss (as Problem.Eval reads it) a run must reach.
	Target float64 `json:"target"`
	// MaxSteps caps a run; a run that has not reached the target by then
	// failed.
	MaxSteps int `json:"max_steps"`
	// Checks > 0 evaluates the loss at every step up to Checks and then
	// every ceil(step/Checks) steps (about 1/Checks relative resolution of
	// S); 0 evaluates after every step.
	Checks int `json:"checks"`
}

// Attempt is one (batch size, learning rate) pair of the search.
type Attempt struct {
	Batch int     `json:"batch"`
	LR    float64 `json:"lr"`
	// Steps is the number of steps the loss averaged over the seeds took
	// to reach the target; +Inf (null in JSON) when a run diverged or it
	// was cut at MaxSteps or at twice the best so far for this batch size
	// (it could not win).
	Steps float64 `json:"-"`
}

// Point is the best learning rate of one batch size: S(B) and E(B) = B
// S(B).
type Point struct {
	Batch    int     `json:"batch"`
	LR       float64 `json:"lr"`
	Steps    float64 `json:"steps"`
	Examples float64 `json:"examples"`
	// LREdge says the best rate is the first or the last of the grid: the
	// true optimum may lie outside, and S(B) is then an overestimate.
	LREdge bool `json:"lr_at_edge"`
}

// Fit is the fitted hyperbola (S/S_min - 1)(E/E_min - 1) = 1.
type Fit struct {
	SMin  float64 `json:"s_min"`
	EMin  float64 `json:"e_min"`
	BCrit float64 `json:"b_crit"`
	// RMSRelResidual is the root mean square of 1 - S_fit(B)/S(B) over
	// the points.
	RMSRelResidual float64 `json:"rms_rel_residual"`
	Points         int     `json:"points"`
}

// Tradeoff is the outcome of RunTradeoff.
type Tradeoff struct {
	Config   TradeoffConfig `json:"config"`
	Attempts []Attempt      `json:"attempts"`
	Points   []Point        `json:"points"`
	Fit      Fit            `json:"fit"`
}

// FitHyperbola fits the trade-off curve of McCandlish et al. (2018) to the
// points (B_k, S_k). On the curve (S/S_min - 1)(E/E_min - 1) = 1 with E =
// B S, S = S_min + E_min / B: linear in the two parameters, so the least
// squares fit is a 2x2 solve. The residuals are relative, 1 -
// (S_min + E_min/B_k)/S_k, because S spans orders of magnitude over a
// batch-size grid and absolute residuals would fit the smallest batches
// only. It needs two points with distinct B and returns an error when the
// fitted S_min or E_min is not positive (no trade-off in the data).
func FitHyperbola(batches, steps []float64) (Fit, error) {
	if len(batches) != len(steps) {
		return Fit{}, fmt.Errorf("critical.FitHyperbola: %d batch sizes, %d step counts", len(batches), len(steps))
	}
	var a11, a12, a22, r1, r2 float64
	n := 0
	for k, b := range batches {
		s := steps[k]
		if !(b > 0) || !(s > 0) || math.IsInf(s, 0) || math.IsInf(b, 0) {
			continue
		}
		u, v := 1/s, 1/(b*s)
		a11 += u * u
		a12 += u * v
		a22 += v * v
		r1 += u
		r2 += v
		n++
	}
	det := a11*a22 - a12*a12
	if n < 2 || !(det > 1e-12*a11*a22) {
		return Fit{Points: n}, fmt.Errorf("critical.FitHyperbola: %d usable points with distinct batch sizes, want >= 2", n)
	}
	f := Fit{SMin: (r1*a22 - r2*a12) / det, EMin: (a11*r2 - a12*r1) / det, Points: n}
	f.BCrit = f.EMin / f.SMin
	ss := 0.0
	for k, b := range batches {
		s := steps[k]
		if b > 0 && s > 0 && !math.IsInf(s, 0) && !math.IsInf(b, 0) {
			r := 1 - (f.SMin+f.EMin/b)/s
			ss += r * r
		}
	}
	f.RMSRelResidual = math.Sqrt(ss / float64(n))
	if !(f.SMin > 0) || !(f.EMin > 0) {
		return f, fmt.Errorf("critical.FitHyperbola: fitted S_min = %.4g, E_min = %.4g: not a trade-off", f.SMin, f.EMin)
	}
	return f, nil
}

func (c TradeoffConfig) validate() error {
	switch {
	case len(c.Batches) < 2:
		return fmt.Errorf("critical: %d batch sizes, want >= 2", len(c.Batches))
	case len(c.LRs) < 1 || len(c.Seeds) < 1:
		return errors.New("critical: want at least one learning rate and one seed")
	case !(c.Target > 0) || math.IsInf(c.Target, 0):
		return fmt.Errorf("critical: target loss %v, want a positive finite number", c.Target)
	case c.MaxSteps < 1 || c.Checks < 0:
		return fmt.Errorf("critical: MaxSteps %d, Checks %d: want >= 1 and >= 0", c.MaxSteps, c.Checks)
	}
	if slices.ContainsFunc(c.Batches, func(b int) bool { return b < 1 }) {
		return fmt.Errorf("critical: batch sizes %v, want all >= 1", c.Batches)
	}
	if slices.ContainsFunc(c.LRs, func(x float64) bool { return !(x > 0) || math.IsInf(x, 0) }) {
		return fmt.Errorf("critical: learning rates %v, want positive finite numbers", c.LRs)
	}
	return nil
}

// RunTradeoff measures, for every batch size B of cfg, the fewest steps
// S(B) for the loss averaged over the seeds to reach the target, over the
// learning-rate grid ( every run plain SGD through train.Stepper from the
// problem's initialization), E(B) = B S(B), and fits the hyperbola
// (FitHyperbola) for B_crit = E_min / S_min. A fit that fails leaves Fit
// with NaN B_crit and is reported in the error only when no point was
// measured. Deterministic: the runs depend on the seeds only.
func RunTradeoff[T tensor.Float](ctx context.Context, p Problem[T], cfg TradeoffConfig) (*Tradeoff, error) {
	if p.Model == nil || p.Loss == nil || p.Batches == nil || p.Eval == nil {
		return nil, errors.New("critical.RunTradeoff: Problem needs Model, Loss, Batches and Eval")
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg.Batches = slices.Clone(cfg.Batches)
	cfg.LRs = slices.Clone(cfg.LRs)
	slices.Sort(cfg.Batches)
	slices.Sort(cfg.LRs)
	res := &Tradeoff{Config: cfg}
	var bs, ss []float64
	for _, b := range cfg.Batches {
		best := Point{Batch: b, Steps: math.Inf(1)}
		bestIdx := -1
		for li, lr := range cfg.LRs {
			limit := cfg.MaxSteps
			if !math.IsInf(best.Steps, 1) {
				limit = min(limit, int(math.Ceil(2*best.Steps)))
			}
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			steps, err := stepsToTarget(p, cfg, b, lr, limit)
			if err != nil {
				return nil, err
			}
			a := Attempt{Batch: b, LR: lr, Steps: math.Inf(1)}
			if steps > 0 {
				a.Steps = float64(steps)
			}
			res.Attempts = append(res.Attempts, a)
			if a.Steps < best.Steps {
				best.LR, best.Steps, bestIdx = lr, a.Steps, li
			}
		}
		if bestIdx < 0 {
			continue // no rate reached the target at this batch size
		}
		best.Examples = float64(b) * best.Steps
		best.LREdge = len(cfg.LRs) > 1 && (bestIdx == 0 || bestIdx == len(cfg.LRs)-1)
		res.Points = append(res.Points, best)
		bs, ss = append(bs, float64(b)), append(ss, best.Steps)
	}
	if len(res.Points) == 0 {
		return nil, fmt.Errorf("critical.RunTradeoff: no run reached the target loss %g within %d steps", cfg.Target, cfg.MaxSteps)
	}
	fit, err := FitHyperbola(bs, ss)
	if err != nil {
		fit.BCrit = math.NaN()
	}
	res.Fit = fit
	return res, nil
}

// stepsToTarget runs SGD at batch size b and rate lr from the problem's
// initialization, one run per seed in lockstep, and returns the first
// checked step at which the loss averaged over the seeds is at most the
// target, or -1 if a run diverged or the mean did not reach the target
// within limit steps. The mean over seeds, not each run's own first
// passage, is what crosses the target: a single noisy loss curve dips
// below a level before its expectation does, which would favour small
// batches and large rates (McCandlish et al.'s model is about the
// expected loss).
func stepsToTarget[T tensor.Float](p Problem[T], cfg TradeoffConfig, b int, lr float64, limit int) (int, error) {
	type run struct {
		model nn.Module[T]
		st    *train.Stepper[T]
		next  func() (*data.Batch[T], error)
	}
	runs := make([]run, len(cfg.Seeds))
	for k, seed := range cfg.Seeds {
		model, err := p.Model()
		if err != nil {
			return 0, err
		}
		opt, err := optim.NewSGD(model.Params(), optim.SGDConfig{LR: lr})
		if err != nil {
			return 0, err
		}
		st, err := train.NewStepper(train.StepConfig[T]{Model: model, Loss: p.Loss, Optimizer: opt, MaxLossRatio: 1e4})
		if err != nil {
			return 0, err
		}
		next, err := p.Batches(b, seed)
		if err != nil {
			return 0, err
		}
		runs[k] = run{model, st, next}
	}
	for t := 1; t <= limit; t++ {
		for _, r := range runs {
			batch, err := r.next()
			if err != nil {
				return 0, err
			}
			if _, err := r.st.Step(batch); err != nil {
				if errors.As(err, new(*train.DivergenceError)) {
					return -1, nil
				}
				return 0, err
			}
		}
		if cfg.Checks > 0 && t > cfg.Checks && t%((t+cfg.Checks-1)/cfg.Checks) != 0 {
			continue
		}
		mean := 0.0
		for _, r := range runs {
			l, err := p.Eval(r.model)
			if err != nil {
				return 0, err
			}
			mean += l / float64(len(runs))
		}
		if math.IsNaN(mean) || math.IsInf(mean, 0) {
			return -1, nil
		}
		if mean <= cfg.Target {
			return t, nil
		}
	}
	return -1, nil
}

package flow

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/internal/nilcheck"
	"github.com/gradflow/gradflow/internal/powerlaw"
	"github.com/gradflow/gradflow/landscape"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/optim"
	"github.com/gradflow/gradflow/train"
)

// Problem is a full-batch training problem in float64: the model, the loss
// (a mean over the examples, as train.MSE and train.CrossEntropy) and the
// batch, held fixed so that the loss is a deterministic function of the
// parameters.
type Problem struct {
	Model nn.Module[float64]
	Loss  train.Loss[float64]
	Batch *data.Batch[float64]
}

func (p Problem) check(fn string) error {
	switch {
	case nilcheck.Nil(p.Model):
		return fmt.Errorf("%s: Problem.Model is nil", fn)
	case nilcheck.Nil(p.Loss):
		return fmt.Errorf("%s: Problem.Loss is nil", fn)
	case p.Batch == nil || p.Batch.X == nil:
		return fmt.Errorf("%s: Problem.Batch is nil or has no X", fn)
	}
	return nil
}

// CompareConfig describes a Compare study.
type CompareConfig struct {
	// Etas are the step sizes (each > 0). T / eta must be an integer for
	// each: that many discrete steps reach time T.
	Etas []float64 `json:"etas"`
	// T is the time horizon.
	T float64 `json:"t"`
	// Momentum is the heavy-ball coefficient of the discrete method (0:
	// gradient descent).
	Momentum float64 `json:"momentum"`
	// RTol is the integrator's relative tolerance (default 1e-11; ATol is
	// RTol/100). It must sit well below the smallest distance to measure.
	RTol float64 `json:"rtol"`
	// SharpnessEvery is FlowConfig.SharpnessEvery.
	SharpnessEvery int `json:"sharpness_every"`
	// Seed draws the power iteration's start vector.
	Seed uint64 `json:"seed"`
}

// CompareRow is the outcome at one step size: the discrete method's
// iterate after T/eta steps against the plain and the modified flow at
// time T.
type CompareRow struct {
	Eta          float64   `json:"eta"`
	Steps        int       `json:"steps"`
	LossGD       float64   `json:"loss_gd"`
	LossModified float64   `json:"loss_modified"`
	DistFlow     float64   `json:"dist_flow"`     // |theta_GD(T) - theta_flow(T)|
	DistModified float64   `json:"dist_modified"` // |theta_GD(T) - theta_modified(T)|
	Modified     FlowStats `json:"modified_stats"`
}

// CompareResult is the outcome of Compare.
type CompareResult struct {
	Config   CompareConfig `json:"config"`
	Params   int           `json:"params"`
	Loss0    float64       `json:"loss0"`
	LossFlow float64       `json:"loss_flow"` // L(theta_flow(T))
	Flow     FlowStats     `json:"flow_stats"`
	Rows     []CompareRow  `json:"rows"`
	// OrderFlow and OrderModified are the least-squares slopes of
	// log DistFlow and log DistModified against log eta: the orders in eta
	// at which the discrete iterates approach each flow (1 and 2 in
	// theory).
	OrderFlow     float64 `json:"order_flow"`
	OrderModified float64 `json:"order_modified"`
	// FlowPerTime and GDPerTime are the oracle costs per unit of time:
	// gradient evaluations plus Hessian-vector products of the plain
	// flow's solve, and 1/eta gradients for the discrete method at the
	// smallest step.
	FlowPerTime float64 `json:"flow_evals_per_time"`
	GDPerTime   float64 `json:"gd_grads_per_time"`
}

// Compare runs the discrete method (full-batch gradient descent, or heavy
// ball with cfg.Momentum, through train.Stepper: the training step every
// gradflow run takes) for T/eta steps at each eta, and integrates the
// plain flow once and the modified flow of each eta to time T, all from
// the model's current parameters. It returns the distances at time T and
// their fitted orders in eta. The model's parameters are restored before
// it returns.
func Compare(ctx context.Context, p Problem, cfg CompareConfig) (*CompareResult, error) {
	if err := p.check("flow.Compare"); err != nil {
		return nil, err
	}
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	obj, err := landscape.NewModelObjective(p.Model, p.Loss, p.Batch)
	if err != nil {
		return nil, fmt.Errorf("flow.Compare: %w", err)
	}
	theta0 := obj.Point(nil)
	defer setParams(p.Model, theta0)
	res := &CompareResult{Config: cfg, Params: obj.Dim(), Loss0: obj.Value(theta0)}
	ode := ODEOptions{RTol: cfg.RTol}

	plain, err := NewFlow(obj, FlowConfig{Momentum: cfg.Momentum, ODE: ode, SharpnessEvery: cfg.SharpnessEvery, Seed: cfg.Seed})
	if err != nil {
		return nil, err
	}
	out := [][]float64{make([]float64, obj.Dim())}
	if res.Flow, err = plain.Solve(ctx, theta0, []float64{cfg.T}, out); err != nil {
		return nil, fmt.Errorf("flow.Compare: plain flow: %w", err)
	}
	thetaFlow := out[0]
	res.LossFlow = obj.Value(thetaFlow)
	res.FlowPerTime = float64(res.Flow.Grads+res.Flow.HVPs) / cfg.T

	modOut := [][]float64{make([]float64, obj.Dim())}
	var thetaGD []float64
	for _, eta := range cfg.Etas {
		row := CompareRow{Eta: eta, Steps: int(math.Round(cfg.T / eta))}
		mod, err := NewFlow(obj, FlowConfig{Eta: eta, Momentum: cfg.Momentum, ODE: ode, SharpnessEvery: cfg.SharpnessEvery, Seed: cfg.Seed})
		if err != nil {
			return nil, err
		}
		if row.Modified, err = mod.Solve(ctx, theta0, []float64{cfg.T}, modOut); err != nil {
			return nil, fmt.Errorf("flow.Compare: modified flow at eta = %g: %w", eta, err)
		}
		setParams(p.Model, theta0)
		if err := descend(ctx, p, eta, cfg.Momentum, row.Steps); err != nil {
			return nil, fmt.Errorf("flow.Compare: discrete run at eta = %g: %w", eta, err)
		}
		thetaGD = flatten(p.Model, thetaGD)
		row.LossGD = obj.Value(thetaGD)
		row.LossModified = obj.Value(modOut[0])
		row.DistFlow = distance(thetaGD, thetaFlow)
		row.DistModified = distance(thetaGD, modOut[0])
		res.Rows = append(res.Rows, row)
	}
	res.GDPerTime = 1 / cfg.Etas[0]
	etas := make([]float64, len(res.Rows))
	df := make([]float64, len(res.Rows))
	dm := make([]float64, len(res.Rows))
	for i, r := range res.Rows {
		etas[i], df[i], dm[i] = r.Eta, r.DistFlow, r.DistModified
	}
	res.OrderFlow = powerlaw.Slope(etas, df)
	res.OrderModified = powerlaw.Slope(etas, dm)
	return res, nil
}

// normalize checks cfg, sorts the step sizes and fills defaults.
func (c *CompareConfig) normalize() error {
	if c.RTol == 0 {
		c.RTol = 1e-11
	}
	switch {
	case len(c.Etas) == 0:
		return errors.New("flow.Compare: no step sizes (CompareConfig.Etas)")
	case !(c.T > 0) || math.IsInf(c.T, 0):
		return fmt.Errorf("flow.Compare: T = %g must be positive and finite", c.T)
	case !(c.Momentum >= 0 && c.Momentum < 1):
		return fmt.Errorf("flow.Compare: Momentum = %g must be in [0, 1)", c.Momentum)
	}
	c.Etas = slices.Clone(c.Etas)
	slices.Sort(c.Etas)
	for i, eta := range c.Etas {
		if !(eta > 0) || math.IsInf(eta, 0) {
			return fmt.Errorf("flow.Compare: step size %g must be positive and finite", eta)
		}
		k := c.T / eta
		if math.Abs(k-math.Round(k)) > 1e-9*k || math.Round(k) < 1 {
			return fmt.Errorf("flow.Compare: T/eta = %g/%g = %g is not a whole number of steps; choose step sizes that divide T", c.T, eta, k)
		}
		if i > 0 && eta == c.Etas[i-1] {
			return fmt.Errorf("flow.Compare: step size %g given twice", eta)
		}
	}
	return nil
}

// descend takes steps full-batch steps of SGD (with heavy-ball momentum)
// at rate eta through train.Stepper.
func descend(ctx context.Context, p Problem, eta, momentum float64, steps int) error {
	spec, err := optim.DefaultSpec("sgd")
	if err != nil {
		return err
	}
	spec.LR, spec.Momentum = eta, momentum
	opt, err := optim.New(p.Model.Params(), spec)
	if err != nil {
		return err
	}
	st, err := train.NewStepper(train.StepConfig[float64]{Model: p.Model, Loss: p.Loss, Optimizer: opt})
	if err != nil {
		return err
	}
	for k := range steps {
		if k%64 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if _, err := st.Step(p.Batch); err != nil {
			return err
		}
	}
	return nil
}

// flatten appends the model's parameters, in Params order, to dst[:0].
func flatten(m nn.Module[float64], dst []float64) []float64 {
	dst = dst[:0]
	for _, q := range m.Params() {
		dst = append(dst, q.Value.Data()...)
	}
	return dst
}

// setParams loads the flat vector theta into the model's parameters.
func setParams(m nn.Module[float64], theta []float64) {
	k := 0
	for _, q := range m.Params() {
		k += copy(q.Value.Data(), theta[k:])
	}
}

func distance(a, b []float64) float64 {
	var s float64
	for i := range a {
		d := a[i] - b[i]
		s += d * d
	}
	return math.Sqrt(s)
}

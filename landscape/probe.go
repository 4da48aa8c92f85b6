package landscape

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"

	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/internal/nilcheck"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/tensor"
	"github.com/gradflow/gradflow/train"
)

// SharpnessBudget selects the sharpness measurement of a Probe: the top K
// Hessian eigenvalues by Lanczos, warm-started from the previous top
// eigenvector.
type SharpnessBudget struct {
	K     int     // eigenvalues to converge (default 1)
	Iters int     // largest number of Hessian-vector products per measurement (default 50)
	Tol   float64 // relative residual tolerance (default 1e-3)
}

// TraceBudget selects the Hutchinson trace measurement of a Probe.
type TraceBudget struct {
	Probes int // Rademacher probes per measurement (default 30, at least 2)
}

// PLBudget selects the PL measurement of a Probe.
type PLBudget struct {
	// FStar is the optimal value used in the PL ratio (0 for a square loss
	// the model can interpolate). A running minimum would give a zero gap
	// at every new minimum, so online estimation is not offered; estimate
	// f* after the run from Probe.Trajectory().MinF if needed.
	FStar float64
	// Window is the number of measurements the empirical mu is the minimum
	// over (0: all so far).
	Window int
	// NTK also computes the PL* constant lambda_min(J J^T) times the loss
	// scale (PLStarModel); it needs a *train.MSE loss and costs a full
	// Jacobian of the subset (one backward pass per output coordinate for
	// a model other than an *nn.MLP).
	NTK bool
}

// NoiseBudget selects the gradient-noise measurement of a Probe.
type NoiseBudget struct {
	// BatchSizes are the minibatch sizes at which the variance of the
	// minibatch gradient is reported (sampling without replacement from
	// the subset, as a shuffling loader does). May be empty.
	BatchSizes []int
}

// ProbeConfig configures a Probe. The cost of one measurement is set by
// Subset (every pass touches Subset examples) and by the budgets of the
// selected measurements; Every sets how often it is paid.
type ProbeConfig[T tensor.Float] struct {
	Model nn.Module[T]
	Loss  train.Loss[T]
	// Data is the training set; the measurements use a fixed subset of it
	// drawn once (without replacement) from Seed, the same at every
	// measurement so that changes along the run are not sampling noise.
	Data *data.Dataset[T]
	// Subset is the number of examples (0: all of Data).
	Subset int
	// OneHot fills the targets with one-hot labels (for MSE on a
	// classification set), as data.LoaderConfig.OneHot.
	OneHot bool
	// Every is the number of optimizer steps between measurements (>= 1).
	Every int
	// Out receives one JSON object per measurement; may be nil.
	Out io.Writer
	// Seed seeds the subset and the random vectors of the estimators.
	Seed uint64

	Sharpness *SharpnessBudget // nil: off
	Trace     *TraceBudget     // nil: off
	PL        *PLBudget        // nil: off (loss and gradient norm are always measured)
	Noise     *NoiseBudget     // nil: off
}

// Measurement is one line of a Probe's output. Fields of measurements
// that are off are omitted.
type Measurement struct {
	Step int `json:"step"`
	// LR is the learning rate of the step (0 outside a trainer).
	LR float64 `json:"lr"`
	// Loss and GradNormSq are f and |grad f|^2 on the subset.
	Loss       float64 `json:"loss"`
	GradNormSq float64 `json:"grad_norm_sq"`

	Sharpness []float64 `json:"sharpness,omitempty"` // top Ritz values, decreasing
	// StabilityRatio is Sharpness[0] * LR / 2 (edge of stability at 1).
	StabilityRatio *float64 `json:"stability_ratio,omitempty"`
	// Smoothness is the largest |Ritz value|, a local estimate of L.
	Smoothness *float64 `json:"smoothness,omitempty"`
	HVPs       int      `json:"hvps,omitempty"`

	Trace       *float64 `json:"hessian_trace,omitempty"`
	TraceStdErr *float64 `json:"hessian_trace_se,omitempty"`

	PLRatio *float64 `json:"pl_ratio,omitempty"`
	PLMu    *float64 `json:"pl_mu,omitempty"`   // window minimum of PLRatio
	PLStar  *float64 `json:"pl_star,omitempty"` // scale * lambda_min(J J^T)

	TraceCov  *float64        `json:"grad_cov_trace,omitempty"`
	BSimple   *float64        `json:"b_simple,omitempty"`
	BatchVars []BatchVariance `json:"minibatch_variance,omitempty"`
}

// BatchVariance is E|g_B - G|^2 at one batch size.
type BatchVariance struct {
	B        int     `json:"b"`
	Variance float64 `json:"variance"`
}

// Probe measures the landscape of the training objective along a run. It
// implements train.Callback: every Every steps it evaluates, on a fixed
// subset of the training data and at the current parameters, the loss and
// gradient norm and whichever of sharpness, Hessian trace, PL ratio and
// gradient noise are selected, and writes them as a JSON line. It does not
// change the parameters or their gradients.
type Probe[T tensor.Float] struct {
	cfg     ProbeConfig[T]
	obj     *ModelObjective[T]
	rng     *rand.Rand
	x, g    []float64
	warm    []float64
	traj    Trajectory
	ratios  []float64
	history []Measurement
	enc     *json.Encoder
}

// NewProbe validates cfg and returns a Probe. Errors name the field at
// fault.
func NewProbe[T tensor.Float](cfg ProbeConfig[T]) (*Probe[T], error) {
	switch {
	case nilcheck.Nil(cfg.Model):
		return nil, errors.New("landscape.ProbeConfig.Model is nil")
	case nilcheck.Nil(cfg.Loss):
		return nil, errors.New("landscape.ProbeConfig.Loss is nil")
	case cfg.Data == nil || cfg.Data.X == nil || cfg.Data.Len() == 0:
		return nil, errors.New("landscape.ProbeConfig.Data is nil or empty")
	case cfg.Every < 1:
		return nil, fmt.Errorf("landscape.ProbeConfig.Every = %d, want >= 1", cfg.Every)
	case cfg.Subset < 0 || cfg.Subset > cfg.Data.Len():
		return nil, fmt.Errorf("landscape.ProbeConfig.Subset = %d, want in [0, %d]", cfg.Subset, cfg.Data.Len())
	}
	if s := cfg.Sharpness; s != nil {
		b := *s
		if b.K == 0 {
			b.K = 1
		}
		if b.Iters == 0 {
			b.Iters = 50
		}
		if b.Tol == 0 {
			b.Tol = 1e-3
		}
		if b.K < 1 || b.Iters < b.K || !(b.Tol > 0) {
			return nil, fmt.Errorf("landscape.ProbeConfig.Sharpness = %+v: want K >= 1, Iters >= K, Tol > 0", *s)
		}
		cfg.Sharpness = &b
	}
	if t := cfg.Trace; t != nil {
		b := *t
		if b.Probes == 0 {
			b.Probes = 30
		}
		if b.Probes < 2 {
			return nil, fmt.Errorf("landscape.ProbeConfig.Trace.Probes = %d, want >= 2", t.Probes)
		}
		cfg.Trace = &b
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x6c616e64))
	n := cfg.Data.Len()
	var rows []int
	if cfg.Subset > 0 && cfg.Subset < n {
		rows = rng.Perm(n)[:cfg.Subset]
	}
	size := n
	if rows != nil {
		size = len(rows)
	}
	if nb := cfg.Noise; nb != nil {
		if size < 2 {
			return nil, errors.New("landscape.ProbeConfig.Noise needs a subset of at least 2 examples")
		}
		for _, b := range nb.BatchSizes {
			if b < 1 || b > size {
				return nil, fmt.Errorf("landscape.ProbeConfig.Noise.BatchSizes: %d, want in [1, %d]", b, size)
			}
		}
	}
	if p := cfg.PL; p != nil {
		if p.Window < 0 {
			return nil, fmt.Errorf("landscape.ProbeConfig.PL.Window = %d, want >= 0", p.Window)
		}
		if p.NTK {
			if _, ok := cfg.Loss.(*train.MSE[T]); !ok {
				return nil, errors.New("landscape.ProbeConfig.PL.NTK needs a *train.MSE loss (PL* is for square losses)")
			}
		}
	}
	batch, err := BatchOf(cfg.Data, rows, cfg.OneHot)
	if err != nil {
		return nil, fmt.Errorf("landscape.ProbeConfig.Data: %w", err)
	}
	obj, err := NewModelObjective(cfg.Model, cfg.Loss, batch)
	if err != nil {
		return nil, err
	}
	p := &Probe[T]{cfg: cfg, obj: obj, rng: rng, g: make([]float64, obj.Dim())}
	if cfg.Out != nil {
		p.enc = json.NewEncoder(cfg.Out)
	}
	return p, nil
}

// Objective returns the objective the probe measures (the loss on its
// fixed subset), for further analysis at the current parameters.
func (p *Probe[T]) Objective() *ModelObjective[T] { return p.obj }

// Trajectory returns the loss and squared gradient norm of every
// measurement so far, for FitLojasiewicz and the PL analysis after a run.
func (p *Probe[T]) Trajectory() *Trajectory { return &p.traj }

// History returns the measurements so far.
func (p *Probe[T]) History() []Measurement { return p.history }

// OnStep implements train.Callback: it measures every Every steps.
func (p *Probe[T]) OnStep(s *train.Step[T]) error {
	if s.Step%p.cfg.Every != 0 {
		return nil
	}
	_, err := p.Measure(s.Step, s.LR)
	return err
}

// OnRecord implements train.Callback; the probe writes its own lines.
func (p *Probe[T]) OnRecord(*train.Record) error { return nil }

// Measure takes one measurement at the model's current parameters,
// records it and writes it to Out. step and lr label it (lr is the step
// size the stability ratio compares with).
func (p *Probe[T]) Measure(step int, lr float64) (Measurement, error) {
	p.x = p.obj.Point(p.x)
	m := Measurement{Step: step, LR: lr}
	m.Loss = p.obj.Grad(p.x, p.g)
	m.GradNormSq = dot(p.g, p.g)
	if math.IsNaN(m.Loss) || math.IsInf(m.Loss, 0) || math.IsNaN(m.GradNormSq) || math.IsInf(m.GradNormSq, 0) {
		return m, fmt.Errorf("landscape: loss %v or squared gradient norm %v not finite at step %d", m.Loss, m.GradNormSq, step)
	}
	p.traj.Append(step, m.Loss, m.GradNormSq)
	if b := p.cfg.Sharpness; b != nil {
		r, err := Lanczos(p.obj, p.x, EigenOptions{K: b.K, Iters: b.Iters, Tol: b.Tol, Start: p.warm, Rand: p.rng})
		if err != nil {
			return m, err
		}
		p.warm = r.Vectors[0]
		m.Sharpness = r.Values[:min(b.K, len(r.Values))]
		m.HVPs = r.Iters
		l := r.Smoothness()
		m.Smoothness = &l
		if lr > 0 {
			sr := StabilityRatio(r.Values[0], lr)
			m.StabilityRatio = &sr
		}
	}
	if b := p.cfg.Trace; b != nil {
		t, err := HutchinsonTrace(p.obj, p.x, TraceOptions{Probes: b.Probes, Rand: p.rng})
		if err != nil {
			return m, err
		}
		m.Trace, m.TraceStdErr = &t.Trace, &t.StdErr
	}
	if b := p.cfg.PL; b != nil {
		r := PLRatio(m.GradNormSq, m.Loss, b.FStar)
		p.ratios = append(p.ratios, r)
		w := WindowMin(p.ratios, b.Window)
		mu := w[len(w)-1]
		if !math.IsNaN(r) {
			m.PLRatio = &r
		}
		if !math.IsNaN(mu) {
			m.PLMu = &mu
		}
		if b.NTK {
			ps, err := PLStarModel(p.cfg.Model, p.obj.Batch().X, p.cfg.Loss.(*train.MSE[T]).Half)
			if err != nil {
				return m, err
			}
			m.PLStar = &ps
		}
	}
	if b := p.cfg.Noise; b != nil {
		ns, err := GradientNoise(p.obj.PerExampleGrads(p.x))
		if err != nil {
			return m, err
		}
		m.TraceCov = &ns.TraceCov
		// JSON has no Inf: at a stationary point (G = 0) B_simple is
		// infinite and is left out.
		if !math.IsInf(ns.BSimple, 0) && !math.IsNaN(ns.BSimple) {
			m.BSimple = &ns.BSimple
		}
		for _, bs := range b.BatchSizes {
			v, err := ns.MinibatchVariance(bs, false)
			if err != nil {
				return m, err
			}
			m.BatchVars = append(m.BatchVars, BatchVariance{B: bs, Variance: v})
		}
	}
	p.history = append(p.history, m)
	if p.enc != nil {
		if err := p.enc.Encode(&m); err != nil {
			return m, fmt.Errorf("landscape: writing measurement at step %d: %w", step, err)
		}
	}
	return m, nil
}

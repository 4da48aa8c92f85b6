package sweep

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/landscape"
	"github.com/gradflow/gradflow/nn"
)

// GeometryConfig turns on the geometry measurements of a sweep (the
// "geometry" block of a configuration file): every run measures, on a
// fixed probe subset of the training set, the loss and gradient along its
// path and, after its last step, the sharpness, the Hessian trace and the
// gradient noise, and records them as Record.Geometry of its last record.
// Zero fields take their defaults.
type GeometryConfig struct {
	// Probe is the number of training examples in the probe subset
	// (default 64, or dataset.n if smaller), drawn without replacement
	// from Seed: the same examples for every run of the sweep.
	Probe int `json:"probe,omitempty"`
	// Seed seeds the probe subset, the random vectors of the Lanczos and
	// Hutchinson estimators and the bootstrap of the Lojasiewicz fit.
	Seed uint64 `json:"seed,omitempty"`
	// Every is the number of steps between the measurements of the loss
	// and gradient norm along the path (default log_every); step 0 and the
	// last step are always measured.
	Every int `json:"every,omitempty"`
	// LanczosIters bounds the Hessian-vector products of the sharpness
	// (default 20; Lanczos stops earlier at relative residual 1e-3).
	LanczosIters int `json:"lanczos_iters,omitempty"`
	// TraceProbes is the number of Rademacher probes of the Hutchinson
	// trace (default 10, at least 2).
	TraceProbes int `json:"trace_probes,omitempty"`
	// FStar is the optimal loss L* of the PL ratio and the Lojasiewicz
	// fit (default 0: the infimum of cross-entropy and of a square loss
	// that the net can interpolate).
	FStar float64 `json:"fstar,omitempty"`
	// LojTail is the fraction of the path's points, those with the
	// smallest L - L*, that the Lojasiewicz fit uses (default 1: all).
	LojTail float64 `json:"loj_tail,omitempty"`
}

// withDefaults fills the defaults of g for the sweep c and validates it;
// an error comes with the field at fault.
func (g GeometryConfig) withDefaults(c Config) (GeometryConfig, string, error) {
	if g.Probe == 0 {
		g.Probe = min(64, c.Dataset.N)
	}
	if g.Every == 0 {
		g.Every = max(c.LogEvery, 1)
	}
	if g.LanczosIters == 0 {
		g.LanczosIters = 20
	}
	if g.TraceProbes == 0 {
		g.TraceProbes = 10
	}
	if g.LojTail == 0 {
		g.LojTail = 1
	}
	switch {
	case c.Dataset.TestN <= 0:
		return g, "geometry", errors.New("needs a held-out set (dataset.test_n > 0) for the generalization gap")
	case g.Probe < 2 || g.Probe > c.Dataset.N:
		return g, "geometry.probe", fmt.Errorf("%d must be in [2, dataset.n = %d]", g.Probe, c.Dataset.N)
	case g.Every < 1:
		return g, "geometry.every", fmt.Errorf("%d must be positive", g.Every)
	case g.LanczosIters < 1:
		return g, "geometry.lanczos_iters", fmt.Errorf("%d must be positive", g.LanczosIters)
	case g.TraceProbes < 2:
		return g, "geometry.trace_probes", fmt.Errorf("%d must be at least 2", g.TraceProbes)
	case math.IsNaN(g.FStar) || math.IsInf(g.FStar, 0):
		return g, "geometry.fstar", fmt.Errorf("%v must be finite", g.FStar)
	case !(g.LojTail > 0 && g.LojTail <= 1):
		return g, "geometry.loj_tail", fmt.Errorf("%v must be in (0, 1]", g.LojTail)
	}
	return g, "", nil
}

// Geometry is what a run of a sweep with a GeometryConfig measured of its
// training objective L (the run's loss on the probe subset), recorded
// with the run's last record. Values that could not be computed are nil
// (JSON null) and Error says why.
type Geometry struct {
	// Probe is the number of examples of the probe subset and
	// Measurements the number of points of the path (steps 0, Every,
	// 2 Every, ..., and the last) at which L and |grad L|^2 were measured.
	Probe        int `json:"probe"`
	Measurements int `json:"measurements"`
	// ProbeLoss is L at the end of the run.
	ProbeLoss float64 `json:"probe_loss"`
	// PLMin is the smallest PL ratio |grad L|^2 / (2 (L - L*)) over the
	// points of the path (landscape.PLRatio; points with L <= L* are
	// skipped): the empirical PL constant mu of the run. PLFinal is the
	// ratio at the end.
	PLMin   *float64 `json:"pl_min"`
	PLFinal *float64 `json:"pl_final"`
	// LojTheta is the Lojasiewicz exponent theta of |grad L| >= c (L -
	// L*)^theta fitted to the path (landscape.FitLojasiewicz), with its
	// 95% percentile bootstrap interval [LojLo, LojHi].
	LojTheta *float64 `json:"loj_theta"`
	LojLo    *float64 `json:"loj_lo"`
	LojHi    *float64 `json:"loj_hi"`
	// Sharpness is the top Hessian eigenvalue of L at the end
	// (landscape.Lanczos from a random start) after HVPs Hessian-vector
	// products.
	Sharpness *float64 `json:"sharpness"`
	HVPs      int      `json:"hvps"`
	// HessianTrace is the Hutchinson estimate of tr Hess L at the end,
	// with its standard error.
	HessianTrace   *float64 `json:"hessian_trace"`
	HessianTraceSE *float64 `json:"hessian_trace_se"`
	// BSimple is the gradient noise scale tr(Sigma) / |G|^2 of the
	// per-example gradients of the probe subset at the end
	// (landscape.GradientNoise), GradCovTrace its numerator tr(Sigma).
	BSimple      *float64 `json:"b_simple"`
	GradCovTrace *float64 `json:"grad_cov_trace"`
	// WeightDistance is ||theta_T - theta_0||, the Euclidean distance of
	// all parameters from their initialization.
	WeightDistance float64 `json:"weight_distance"`
	Error          string  `json:"error,omitempty"`
}

// geometryMeter measures a run's path on the probe subset through a
// landscape.Probe (PL ratio only), and the rest at the end.
type geometryMeter struct {
	g     GeometryConfig
	probe *landscape.Probe[float64]
	model nn.Module[float64]
	steps int
	err   error // the first failure; no more measurements after it
}

func newGeometryMeter(c Config, model nn.Module[float64], ds *data.Dataset[float64]) (*geometryMeter, error) {
	g := *c.Geometry
	p, err := landscape.NewProbe(landscape.ProbeConfig[float64]{
		Model: model, Loss: lossFor(ds), Data: ds, Subset: g.Probe, Every: g.Every, Seed: g.Seed,
		PL: &landscape.PLBudget{FStar: g.FStar},
	})
	if err != nil {
		return nil, err
	}
	return &geometryMeter{g: g, probe: p, model: model, steps: c.Steps}, nil
}

// step measures the path at step (if it is a step of the path).
func (gm *geometryMeter) step(step int, lr float64) {
	if gm.err != nil || step%gm.g.Every != 0 && step != gm.steps {
		return
	}
	if _, err := gm.probe.Measure(step, lr); err != nil {
		gm.err = err
	}
}

// finish measures the end of the run and summarizes the path. theta0 are
// the initial parameters, tensor by tensor.
func (gm *geometryMeter) finish(theta0 [][]float64) *Geometry {
	out := &Geometry{Probe: gm.g.Probe}
	var d2 float64
	for i, p := range gm.model.Params() {
		for j, v := range p.Value.Data() {
			d := v - theta0[i][j]
			d2 += d * d
		}
	}
	out.WeightDistance = math.Sqrt(d2)
	traj := gm.probe.Trajectory()
	out.Measurements = traj.Len()
	if gm.err != nil {
		out.Error = gm.err.Error()
		return out
	}
	out.ProbeLoss = traj.F[traj.Len()-1]
	ratios := traj.PLRatios(gm.g.FStar)
	mu := math.NaN()
	for _, r := range ratios {
		if !math.IsNaN(r) && !(r >= mu) {
			mu = r
		}
	}
	out.PLMin, out.PLFinal = nullable(mu), nullable(ratios[len(ratios)-1])
	var errs []error
	fit, err := landscape.FitLojasiewicz(traj, landscape.LojasiewiczOptions{
		FStar: gm.g.FStar, Tail: gm.g.LojTail, Level: 0.95, Rand: rand.New(rand.NewPCG(gm.g.Seed, 0x10a5)),
	})
	if err == nil {
		out.LojTheta, out.LojLo, out.LojHi = nullable(fit.Theta), nullable(fit.Lo), nullable(fit.Hi)
	} else {
		errs = append(errs, err)
	}
	obj := gm.probe.Objective()
	x := obj.Point(nil)
	rng := rand.New(rand.NewPCG(gm.g.Seed, 0x6765))
	eig, err := landscape.Lanczos(obj, x, landscape.EigenOptions{K: 1, Iters: gm.g.LanczosIters, Tol: 1e-3, Rand: rng})
	if err == nil {
		out.Sharpness, out.HVPs = nullable(eig.Values[0]), eig.Iters
	} else {
		errs = append(errs, err)
	}
	tr, err := landscape.HutchinsonTrace(obj, x, landscape.TraceOptions{Probes: gm.g.TraceProbes, Rand: rng})
	if err == nil {
		out.HessianTrace, out.HessianTraceSE = nullable(tr.Trace), nullable(tr.StdErr)
	} else {
		errs = append(errs, err)
	}
	ns, err := landscape.GradientNoise(obj.PerExampleGrads(x))
	if err == nil {
		out.BSimple, out.GradCovTrace = nullable(ns.BSimple), nullable(ns.TraceCov)
	} else {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		out.Error = err.Error()
	}
	return out
}

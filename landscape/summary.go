package landscape

import (
	"math"
	"math/rand/v2"
)

// StudyResult is what a Study measured, summarized. It marshals to the
// summary file of the "train landscape" command (landscape.json, read by
// other tools: keep its keys and their order); the measurements
// themselves are in History. Values that could not be
// computed (at a stationary point, from too few measurements, for a loss
// without PL*) are nil, JSON null.
type StudyResult struct {
	Data     string  `json:"data"`
	Examples int     `json:"n"`
	Subset   int     `json:"subset"`
	Arch     string  `json:"arch"`
	Batch    int     `json:"batch"`
	LR       float64 `json:"lr"`
	Steps    int     `json:"steps"`
	// Stopped is train.Result.Stopped, or "error: " and the error.
	Stopped string `json:"stopped"`
	// Seconds is the wall clock of the run, kept out of the JSON so that
	// the file is reproducible.
	Seconds      float64 `json:"-"`
	Measurements int     `json:"measurements"`
	FStar        float64 `json:"fstar"`

	Sharpness   SharpnessSummary    `json:"sharpness"`
	Trace       *TraceSummary       `json:"hessian_trace"`
	Lojasiewicz *LojasiewiczSummary `json:"lojasiewicz"`
	// LojasiewiczError says why the fit is missing.
	LojasiewiczError string        `json:"lojasiewicz_error,omitempty"`
	PL               PLSummary     `json:"pl"`
	PLStar           PLStarSummary `json:"pl_star"`
	Noise            *NoiseSummary `json:"noise"`
	Train            *EvalSummary  `json:"train"`
	Test             *EvalSummary  `json:"test"`
	// History holds every measurement, in the order taken. The command
	// writes them as landscape.jsonl, so they are left out of the JSON of
	// the summary.
	History []Measurement `json:"-"`
	// FullBatchGD says that the run was plain gradient descent on all
	// examples (StudyConfig.PlainGD, full batches): the method whose
	// stability threshold 2/eta is. Minibatches, momentum, adaptive and
	// per-layer rates move the threshold.
	FullBatchGD bool `json:"-"`
}

// SharpnessSummary describes the sharpness along the run against the
// gradient-descent threshold 2/eta, in units of which the stability ratio
// lambda_max eta / 2 is measured.
type SharpnessSummary struct {
	Initial    float64  `json:"initial"`
	Final      float64  `json:"final"`
	Max        float64  `json:"max"`
	MaxStep    int      `json:"max_step"`
	FinalRatio *float64 `json:"final_ratio"`
	MaxRatio   *float64 `json:"max_ratio"`
	// CrossStep is the first measurement with ratio >= 1 (nil: never).
	CrossStep *int `json:"cross_step"`
	// SettleStep is the first measurement after the crossing back below
	// 2/eta; from it on the run is at the edge of stability, and
	// EdgeMin/EdgeMax bound the ratio there.
	SettleStep *int     `json:"settle_step"`
	EdgeMin    *float64 `json:"edge_ratio_min"`
	EdgeMax    *float64 `json:"edge_ratio_max"`
	// Smoothness is the largest |eigenvalue| seen, an estimate of L along
	// the run.
	Smoothness float64 `json:"smoothness"`
}

// TraceSummary is the Hutchinson trace at the first and last measurement,
// with standard errors.
type TraceSummary struct {
	Initial   float64 `json:"initial"`
	InitialSE float64 `json:"initial_se"`
	Final     float64 `json:"final"`
	FinalSE   float64 `json:"final_se"`
	// Probes is the number of Rademacher probes per measurement, a
	// setting, which the command records in config.json instead.
	Probes int `json:"-"`
}

// LojasiewiczSummary is the fit of FitLojasiewicz to the run, with the
// interval's coverage Level and the fraction Tail of the measurements it
// used.
type LojasiewiczSummary struct {
	Theta  float64 `json:"theta"`
	C      float64 `json:"c"`
	Lo     float64 `json:"lo"`
	Hi     float64 `json:"hi"`
	Level  float64 `json:"level"`
	Points int     `json:"points"`
	Tail   float64 `json:"tail"`
}

// PLSummary is the empirical PL constant at the end of the run.
type PLSummary struct {
	// Mu is the smallest PL ratio over the last Window measurements (all
	// when 0): the empirical PL constant.
	Mu         *float64 `json:"mu"`
	Window     int      `json:"window"`
	FinalRatio *float64 `json:"final_ratio"`
}

// PLStarSummary is the PL* constant on Examples examples before the first
// step and at the end.
type PLStarSummary struct {
	Examples int      `json:"examples"`
	Initial  *float64 `json:"initial"`
	Final    *float64 `json:"final"`
}

// NoiseSummary is the gradient noise at the first and last measurement.
type NoiseSummary struct {
	BSimpleInitial *float64 `json:"b_simple_initial"`
	BSimpleFinal   *float64 `json:"b_simple_final"`
	CovTraceFinal  float64  `json:"grad_cov_trace_final"`
	// MinibatchVariance is E|g_B - G|^2 at the last measurement.
	MinibatchVariance []BatchVariance `json:"minibatch_variance,omitempty"`
}

// EvalSummary is the loss, and for a classification loss the accuracy, on
// a dataset at the end of the run.
type EvalSummary struct {
	Loss     *float64 `json:"loss"`
	Accuracy *float64 `json:"accuracy,omitempty"`
}

// LojasiewiczLevel is the coverage of the Lojasiewicz exponent's interval
// in a StudyResult.
const LojasiewiczLevel = 0.95

// summaryOptions are the settings of the analysis after a run.
type summaryOptions struct {
	fstar       float64
	window      int
	lojTail     float64
	seed        uint64
	traceProbes int
}

// summarize fills the summary fields from the measurements h of a probe
// and their trajectory.
func (r *StudyResult) summarize(h []Measurement, traj *Trajectory, o summaryOptions) {
	r.History = h
	r.Measurements = len(h)
	if len(h) == 0 {
		return
	}
	first, last := h[0], h[len(h)-1]
	r.Sharpness = summarizeSharpness(h)
	if first.Trace != nil {
		r.Trace = &TraceSummary{Initial: *first.Trace, InitialSE: *first.TraceStdErr, Final: *last.Trace, FinalSE: *last.TraceStdErr, Probes: o.traceProbes}
	}
	if first.TraceCov != nil {
		r.Noise = &NoiseSummary{BSimpleInitial: first.BSimple, BSimpleFinal: last.BSimple, CovTraceFinal: *last.TraceCov, MinibatchVariance: last.BatchVars}
	}
	r.PL = PLSummary{Mu: last.PLMu, Window: o.window, FinalRatio: last.PLRatio}
	fit, err := FitLojasiewicz(traj, LojasiewiczOptions{
		FStar: o.fstar, Tail: o.lojTail, Level: LojasiewiczLevel, Rand: rand.New(rand.NewPCG(o.seed, 0x10a5)),
	})
	if err != nil {
		r.LojasiewiczError = err.Error()
		return
	}
	r.Lojasiewicz = &LojasiewiczSummary{Theta: fit.Theta, C: fit.C, Lo: fit.Lo, Hi: fit.Hi, Level: LojasiewiczLevel, Points: fit.Points, Tail: o.lojTail}
}

// summarizeSharpness follows the stability ratio through the
// measurements: the largest sharpness, the first crossing of 2/eta, the
// first measurement back below it, and the band the ratio stays in from
// then on (the edge of stability of Cohen et al. 2021).
func summarizeSharpness(h []Measurement) SharpnessSummary {
	first, last := h[0], h[len(h)-1]
	sh := SharpnessSummary{Initial: first.Sharpness[0], Final: last.Sharpness[0], Max: math.Inf(-1), MaxStep: first.Step}
	for _, m := range h {
		if m.Sharpness[0] > sh.Max {
			sh.Max, sh.MaxStep = m.Sharpness[0], m.Step
		}
		if m.Smoothness != nil {
			sh.Smoothness = max(sh.Smoothness, *m.Smoothness)
		}
		r := m.StabilityRatio
		if r == nil {
			continue
		}
		if sh.MaxRatio == nil || *r > *sh.MaxRatio {
			sh.MaxRatio = finitePtr(*r)
		}
		if sh.CrossStep == nil && *r >= 1 {
			sh.CrossStep = &m.Step
		}
		if sh.CrossStep != nil && sh.SettleStep == nil && *r < 1 {
			sh.SettleStep = &m.Step
		}
		if sh.SettleStep != nil {
			if sh.EdgeMin == nil || *r < *sh.EdgeMin {
				sh.EdgeMin = finitePtr(*r)
			}
			if sh.EdgeMax == nil || *r > *sh.EdgeMax {
				sh.EdgeMax = finitePtr(*r)
			}
		}
	}
	if last.StabilityRatio != nil {
		sh.FinalRatio = finitePtr(*last.StabilityRatio)
	}
	return sh
}

// finitePtr returns &v, or nil when v is NaN or infinite (JSON has
// neither).
func finitePtr(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

package stability

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/gradflow/gradflow/internal/figure"
)

// StudyConfig is the default experiment of "train stability": the
// convex logistic-regression runs against Hardt-Recht-Singer's bound and
// the ridge (PL) runs against n.
type StudyConfig struct {
	Logistic LogisticConfig `json:"logistic"`
	Ridge    RidgeConfig    `json:"ridge"`
}

// StudyResult is the outcome of Study.
type StudyResult struct {
	Logistic *LogisticResult `json:"logistic"`
	Ridge    *RidgeResult    `json:"ridge"`
}

// DefaultStudy returns the configuration of "train stability" without
// flags, defaults filled in.
func DefaultStudy() StudyConfig {
	return StudyConfig{Logistic: LogisticConfig{Seed: 1}.withDefaults(), Ridge: RidgeConfig{Seed: 1}.withDefaults()}
}

// Prepared is a study whose configuration is checked and whose data is
// loaded: what remains can only fail by cancellation or a diverging run.
type Prepared struct {
	logistic *logisticRun
	ridge    RidgeConfig
}

// NewStudy checks cfg (defaults filled in) and loads the data. Its errors
// are about the configuration.
func NewStudy(cfg StudyConfig) (*Prepared, error) {
	lr, err := prepareLogistic(cfg.Logistic)
	if err != nil {
		return nil, err
	}
	rc := cfg.Ridge.withDefaults()
	if err := rc.check(); err != nil {
		return nil, err
	}
	return &Prepared{logistic: lr, ridge: rc}, nil
}

// Run runs both experiments.
func (p *Prepared) Run(ctx context.Context) (*StudyResult, error) {
	lr, err := p.logistic.run(ctx)
	if err != nil {
		return nil, err
	}
	rr, err := Ridge(ctx, p.ridge)
	if err != nil {
		return nil, err
	}
	return &StudyResult{Logistic: lr, Ridge: rr}, nil
}

// Study runs both experiments of cfg.
func Study(ctx context.Context, cfg StudyConfig) (*StudyResult, error) {
	p, err := NewStudy(cfg)
	if err != nil {
		return nil, err
	}
	return p.Run(ctx)
}

// logisticLine is one {"kind":"logistic"} JSON line: a point of the
// coupled runs with the bound (NaN values, such as those of a run without
// a probe set, written as null).
type logisticLine struct {
	Kind       string   `json:"kind"`
	Step       int      `json:"step"`
	Delta      *float64 `json:"delta"`
	DeltaSE    *float64 `json:"delta_se"`
	LossDiff   *float64 `json:"loss_diff"`
	LossDiffSE *float64 `json:"loss_diff_se"`
	TrainLoss  *float64 `json:"train_loss"`
	TestLoss   *float64 `json:"test_loss"`
	Gap        *float64 `json:"gap"`
	GapSE      *float64 `json:"gap_se"`
	Bound      *float64 `json:"bound"`
}

func newLogisticLine(p CoupledPoint, bound float64) logisticLine {
	return logisticLine{Kind: "logistic", Step: p.Step, Delta: nullable(p.Delta), DeltaSE: nullable(p.DeltaSE),
		LossDiff: nullable(p.LossDiff), LossDiffSE: nullable(p.LossDiffSE), TrainLoss: nullable(p.TrainLoss),
		TestLoss: nullable(p.TestLoss), Gap: nullable(p.Gap), GapSE: nullable(p.GapSE), Bound: nullable(bound)}
}

// nullable returns &v, or nil (JSON null) for NaN and infinities.
func nullable(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// ridgeLine is one {"kind":"ridge"} JSON line.
type ridgeLine struct {
	Kind string `json:"kind"`
	RidgeRow
}

// summaryLine is the last JSON line.
type summaryLine struct {
	Kind string `json:"kind"`
	// HRSRatio is measured E delta_T over the HRS bound (logistic).
	HRSRatio   *float64 `json:"hrs_ratio"`
	Lipschitz  float64  `json:"lipschitz"`
	Smoothness float64  `json:"smoothness"`
	N          int      `json:"n"`
	Pairs      int      `json:"pairs"`
	// RidgeSlope is the slope of delta at convergence against n, GapSlope
	// and StabilityGapSlope those of the measured generalization gap and
	// of its stability estimate (theory: -1 for each).
	RidgeSlope        *float64 `json:"ridge_slope"`
	GapSlope          *float64 `json:"gap_slope"`
	StabilityGapSlope *float64 `json:"stability_gap_slope"`
	// BoundHolds is the fraction of ridge pairs with delta <= 2G/(mu n).
	BoundHolds float64     `json:"bound_holds"`
	Config     StudyConfig `json:"config"`
}

func (r *StudyResult) summary() summaryLine {
	var holds, pairs int
	for _, row := range r.Ridge.Rows {
		holds += row.BoundHolds
		pairs += r.Ridge.Config.Reps
	}
	return summaryLine{Kind: "summary", HRSRatio: nullable(r.Logistic.Ratio), Lipschitz: r.Logistic.Lipschitz,
		Smoothness: r.Logistic.Smoothness, N: r.Logistic.N, Pairs: r.Logistic.Coupled.Pairs,
		RidgeSlope: nullable(r.Ridge.DeltaSlope), GapSlope: nullable(r.Ridge.GapSlope), StabilityGapSlope: nullable(r.Ridge.StabilityGapSlope),
		BoundHolds: float64(holds) / float64(pairs),
		Config:     StudyConfig{Logistic: r.Logistic.Config, Ridge: r.Ridge.Config}}
}

// WriteJSONL writes one {"kind":"logistic"} line per recorded step, one
// {"kind":"ridge"} line per training-set size and the {"kind":"summary"}
// line with "hrs_ratio" and "ridge_slope": what "train stability -json"
// prints.
func (r *StudyResult) WriteJSONL(w io.Writer) error {
	enc := json.NewEncoder(w)
	for k, p := range r.Logistic.Coupled.Points {
		if err := enc.Encode(newLogisticLine(p, r.Logistic.Bound[k])); err != nil {
			return err
		}
	}
	for _, row := range r.Ridge.Rows {
		if err := enc.Encode(ridgeLine{Kind: "ridge", RidgeRow: row}); err != nil {
			return err
		}
	}
	return enc.Encode(r.summary())
}

// WriteTable writes the study for a terminal.
func (r *StudyResult) WriteTable(w io.Writer) error {
	l := r.Logistic
	fmt.Fprintf(w, "logistic regression on %s (two classes, n = %d), SGD batch 1 with replacement, eta %g, %d coupled pairs\n",
		l.Config.Data, l.N, l.Config.Eta, l.Coupled.Pairs)
	fmt.Fprintf(w, "L = %.4g, beta = %.4g (eta <= 2/beta = %.3g): HRS bound E delta_t <= 2 L eta t / n\n", l.Lipschitz, l.Smoothness, 2/l.Smoothness)
	fmt.Fprintf(w, "%7s %12s %10s %12s %12s %10s\n", "step", "E delta", "+-", "bound", "loss diff", "gap")
	stride := max(1, len(l.Coupled.Points)/10)
	for k, p := range l.Coupled.Points {
		if k%stride == 0 || k == len(l.Coupled.Points)-1 {
			fmt.Fprintf(w, "%7d %12.4e %10.2e %12.4e %12.4e %10.2e\n", p.Step, p.Delta, p.DeltaSE, l.Bound[k], p.LossDiff, p.Gap)
		}
	}
	fmt.Fprintf(w, "measured / bound at T = %d: %.4f\n\n", l.Config.Steps, l.Ratio)
	rr := r.Ridge
	fmt.Fprintf(w, "ridge regression (d = %d, lambda %g, noise %g), gradient descent to convergence, %d pairs per n\n",
		rr.Config.Dim, rr.Config.Lambda, rr.Config.Noise, rr.Config.Reps)
	fmt.Fprintf(w, "%6s %12s %10s %12s %8s %7s %12s %12s\n", "n", "delta", "+-", "2G/(mu n)", "mu", "holds", "gap", "stab. gap")
	for _, row := range rr.Rows {
		fmt.Fprintf(w, "%6d %12.4e %10.2e %12.4e %8.4f %3d/%-3d %12.4e %12.4e\n", row.N, row.Delta, row.DeltaSE, row.Bound, row.Mu,
			row.BoundHolds, rr.Config.Reps, row.Gap, row.StabilityGap)
	}
	_, err := fmt.Fprintf(w, "log-log slopes against n (theory -1): delta %.3f, gap %.3f, stability estimate of the gap %.3f\n",
		rr.DeltaSlope, rr.GapSlope, rr.StabilityGapSlope)
	return err
}

// WriteFigures writes stability_delta.png/svg (E delta_t of the logistic
// runs with its standard error and the HRS bound) and ridge.png/svg
// (delta, the bound and the gap against n, log-log).
func (r *StudyResult) WriteFigures(dir string) error {
	l := r.Logistic
	meas := figure.Series{Name: "measured E |theta_t - theta'_t|"}
	bound := figure.Series{Name: "HRS bound 2 L eta t / n", Dashed: true}
	for k, p := range l.Coupled.Points {
		if p.Step == 0 {
			continue
		}
		meas.X, meas.Y, meas.YErr = append(meas.X, float64(p.Step)), append(meas.Y, p.Delta), append(meas.YErr, p.DeltaSE)
		bound.X, bound.Y = append(bound.X, float64(p.Step)), append(bound.Y, l.Bound[k])
	}
	p := figure.Plot{Title: fmt.Sprintf("coupled SGD on S and S^(i): logistic regression, %s", l.Config.Data),
		XLabel: "step t", YLabel: "parameter distance", LinearY: true, Series: []figure.Series{meas, bound}}
	if err := p.Save(dir, "stability_delta"); err != nil && !errors.Is(err, figure.ErrEmpty) {
		return err
	}
	rr := r.Ridge
	d := figure.Series{Name: fmt.Sprintf("delta at convergence (slope %.2f)", rr.DeltaSlope)}
	b := figure.Series{Name: "2 G / (mu n)", Dashed: true}
	g := figure.Series{Name: fmt.Sprintf("generalization gap (slope %.2f)", rr.GapSlope)}
	for _, row := range rr.Rows {
		n := float64(row.N)
		d.X, d.Y, d.YErr = append(d.X, n), append(d.Y, row.Delta), append(d.YErr, row.DeltaSE)
		b.X, b.Y = append(b.X, n), append(b.Y, row.Bound)
		g.X, g.Y, g.YErr = append(g.X, n), append(g.Y, row.Gap), append(g.YErr, row.GapSE)
	}
	q := figure.Plot{Title: "ridge regression: stability and generalization against n", XLabel: "training-set size n",
		YLabel: "distance / gap", LogX: true, LogY: true, Markers: true, Series: []figure.Series{d, b, g}}
	if err := q.Save(dir, "ridge"); err != nil && !errors.Is(err, figure.ErrEmpty) {
		return err
	}
	return nil
}

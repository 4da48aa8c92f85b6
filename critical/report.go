package critical

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/gradflow/gradflow/internal/figure"
)

// nullable maps NaN and infinities (which JSON cannot hold) to null.
func nullable(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

type noiseLine struct {
	Kind string `json:"kind"`
	NoiseScale
	BNoiseExact  *float64 `json:"b_noise_exact"`
	BSimpleExact *float64 `json:"b_simple_exact"`
}

type attemptLine struct {
	Kind  string   `json:"kind"`
	Batch int      `json:"batch"`
	LR    float64  `json:"lr"`
	Steps *float64 `json:"steps"`
}

type pointLine struct {
	Kind string `json:"kind"`
	Point
}

type summaryLine struct {
	Kind           string      `json:"kind"`
	Data           string      `json:"data"`
	BNoise         *float64    `json:"b_noise"`
	BNoiseExact    *float64    `json:"b_noise_exact"`
	BSimple        *float64    `json:"b_simple"`
	BSimpleExact   *float64    `json:"b_simple_exact"`
	BCrit          *float64    `json:"b_crit"`
	SMin           *float64    `json:"s_min"`
	EMin           *float64    `json:"e_min"`
	RMSRelResidual *float64    `json:"rms_rel_residual"`
	BCritOverNoise *float64    `json:"b_crit_over_b_noise"`
	Loss0          float64     `json:"loss0"`
	Target         float64     `json:"target"`
	Params         int         `json:"params"`
	Config         StudyConfig `json:"config"`
}

func (r *Result) exact() (bn, bs float64) {
	if r.Exact == nil {
		return math.NaN(), math.NaN()
	}
	return r.Exact.BNoise, r.Exact.BSimple
}

// WriteJSONL writes the study as JSON lines: {"kind":"noise"} (the
// measured noise scales beside the closed form), one {"kind":"attempt"}
// per (batch, lr) pair, one {"kind":"point"} per batch size (its best
// rate), {"kind":"fit"} and last {"kind":"summary"} with "b_noise",
// "b_noise_exact" (null without a closed form) and "b_crit".
func (r *Result) WriteJSONL(w io.Writer) error {
	enc := json.NewEncoder(w)
	bn, bs := r.exact()
	if err := enc.Encode(noiseLine{Kind: "noise", NoiseScale: r.Noise, BNoiseExact: nullable(bn), BSimpleExact: nullable(bs)}); err != nil {
		return err
	}
	for _, a := range r.Tradeoff.Attempts {
		if err := enc.Encode(attemptLine{Kind: "attempt", Batch: a.Batch, LR: a.LR, Steps: nullable(a.Steps)}); err != nil {
			return err
		}
	}
	for _, p := range r.Tradeoff.Points {
		if err := enc.Encode(pointLine{Kind: "point", Point: p}); err != nil {
			return err
		}
	}
	f := r.Tradeoff.Fit
	if err := enc.Encode(struct {
		Kind string `json:"kind"`
		Fit
		BCrit *float64 `json:"b_crit"`
	}{"fit", f, nullable(f.BCrit)}); err != nil {
		return err
	}
	return enc.Encode(summaryLine{Kind: "summary", Data: r.Config.Data, BNoise: nullable(r.Noise.BNoise), BNoiseExact: nullable(bn),
		BSimple: nullable(r.Noise.BSimple), BSimpleExact: nullable(bs), BCrit: nullable(f.BCrit), SMin: nullable(f.SMin),
		EMin: nullable(f.EMin), RMSRelResidual: nullable(f.RMSRelResidual), BCritOverNoise: nullable(f.BCrit / r.Noise.BNoise),
		Loss0: r.Loss0, Target: r.Target, Params: r.Params, Config: r.Config})
}

// WriteTable writes the study for a terminal.
func (r *Result) WriteTable(w io.Writer) error {
	bn, bs := r.exact()
	how := "exact"
	if r.Noise.HVPs < r.Noise.N && r.Noise.HVPs < r.Noise.Dim {
		how = fmt.Sprintf("sampled, se %.3g", r.Noise.TraceHSigmaSE)
	}
	fmt.Fprintf(w, "noise scales at the initialization (%d examples, %d parameters, %d HVPs, tr(H Sigma) %s):\n", r.Noise.N, r.Noise.Dim, r.Noise.HVPs, how)
	fmt.Fprintf(w, "  B_noise  = tr(H Sigma)/(G^T H G) = %.4g", r.Noise.BNoise)
	if r.Exact != nil {
		fmt.Fprintf(w, "   (closed form %.4g, rel. error %+.2f%%)", bn, 100*(r.Noise.BNoise/bn-1))
	}
	fmt.Fprintf(w, "\n  B_simple = tr(Sigma)/|G|^2       = %.4g", r.Noise.BSimple)
	if r.Exact != nil {
		fmt.Fprintf(w, "   (closed form %.4g)", bs)
	}
	fmt.Fprintf(w, "\nsteps to loss %.4g (from %.4g), best lr per batch size over %d seeds:\n", r.Target, r.Loss0, len(r.Tradeoff.Config.Seeds))
	fmt.Fprintf(w, "%8s %10s %10s %12s %8s\n", "batch", "lr", "steps S", "examples E", "S_fit")
	f := r.Tradeoff.Fit
	for _, p := range r.Tradeoff.Points {
		edge := ""
		if p.LREdge {
			edge = "  (lr at the grid's edge)"
		}
		fmt.Fprintf(w, "%8d %10.4g %10.4g %12.5g %8.4g%s\n", p.Batch, p.LR, p.Steps, p.Examples, f.SMin+f.EMin/float64(p.Batch), edge)
	}
	_, err := fmt.Fprintf(w, "fit (S/S_min - 1)(E/E_min - 1) = 1: S_min %.4g, E_min %.4g, B_crit = E_min/S_min = %.4g (B_crit/B_noise %.3f), rms relative residual %.3f\n",
		f.SMin, f.EMin, f.BCrit, f.BCrit/r.Noise.BNoise, f.RMSRelResidual)
	return err
}

// WriteFigures writes tradeoff.png and .svg into dir: steps S against
// examples E per batch size (log-log), the fitted hyperbola, its
// asymptotes S_min and E_min, and the point B = B_crit (where S = 2 S_min
// and E = 2 E_min) marked.
func (r *Result) WriteFigures(dir string) error {
	f := r.Tradeoff.Fit
	p := figure.Plot{Title: fmt.Sprintf("steps vs examples to loss %.3g: B_crit %.3g, B_noise %.3g", r.Target, f.BCrit, r.Noise.BNoise),
		XLabel: "examples E", YLabel: "steps S", LogX: true, LogY: true, Markers: true}
	meas := figure.Series{Name: "measured (best lr per batch)"}
	for _, pt := range r.Tradeoff.Points {
		meas.X, meas.Y = append(meas.X, pt.Examples), append(meas.Y, pt.Steps)
	}
	p.Series = []figure.Series{meas}
	if f.SMin > 0 && f.EMin > 0 {
		hyp := figure.Series{Name: "fit (S/S_min-1)(E/E_min-1)=1", Dashed: true}
		lo, hi := float64(r.Tradeoff.Config.Batches[0]), float64(r.Tradeoff.Config.Batches[len(r.Tradeoff.Config.Batches)-1])
		for k := 0; k <= 60; k++ {
			b := lo * math.Pow(hi/lo, float64(k)/60)
			s := f.SMin + f.EMin/b
			hyp.X, hyp.Y = append(hyp.X, b*s), append(hyp.Y, s)
		}
		crit := figure.Series{Name: fmt.Sprintf("B_crit = %.3g (2 E_min, 2 S_min)", f.BCrit), X: []float64{2 * f.EMin}, Y: []float64{2 * f.SMin}}
		p.Series = append(p.Series, hyp, crit)
	}
	if err := p.Save(dir, "tradeoff"); err != nil && !errors.Is(err, figure.ErrEmpty) {
		return err
	}
	return nil
}

package sweep

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"text/tabwriter"

	"github.com/gradflow/gradflow/internal/figure"
	"github.com/gradflow/gradflow/nn"
)

// MuTransferSummary is the last line of MuTransferResult.WriteJSONL: the
// drift of the optimal learning rate over the width range (Transfer's
// DriftOctaves, in octaves) of muP and SP with Adam and with SGD, with
// their 95% bootstrap intervals, and whether the loss at the optimum is
// non-increasing in the width; nil when the experiment did not run that
// parameterization and optimizer.
type MuTransferSummary struct {
	Kind             string    `json:"kind"` // "summary"
	MuPDriftOctaves  *float64  `json:"mup_drift_octaves"`
	SPDriftOctaves   *float64  `json:"sp_drift_octaves"`
	MuPDriftCI       []float64 `json:"mup_drift_ci,omitempty"`
	SPDriftCI        []float64 `json:"sp_drift_ci,omitempty"`
	MuPSlope         *float64  `json:"mup_slope,omitempty"` // octaves per doubling
	SPSlope          *float64  `json:"sp_slope,omitempty"`
	MuPTrendOctaves  *float64  `json:"mup_trend_octaves,omitempty"` // slope times log2 of the width range
	SPTrendOctaves   *float64  `json:"sp_trend_octaves,omitempty"`
	MuPWiderIsBetter *bool     `json:"mup_wider_is_better,omitempty"`
	// MuPWiderIsBetterWithinNoise is Transfer.WiderIsBetterWithinNoise of
	// muP with Adam.
	MuPWiderIsBetterWithinNoise *bool      `json:"mup_wider_is_better_within_noise,omitempty"`
	SPWiderIsBetter             *bool      `json:"sp_wider_is_better,omitempty"`
	MuPSGDDriftOctaves          *float64   `json:"mup_sgd_drift_octaves,omitempty"`
	SPSGDDriftOctaves           *float64   `json:"sp_sgd_drift_octaves,omitempty"`
	Widths                      []int      `json:"widths"`
	Seeds                       int        `json:"seeds"`
	Transfers                   []Transfer `json:"transfers"`
}

// Summary returns the summary line of r.
func (r *MuTransferResult) Summary() MuTransferSummary {
	s := MuTransferSummary{Kind: "summary", Widths: r.Config.Widths, Seeds: len(r.Config.Seeds), Transfers: r.Transfers}
	if t, ok := r.Transfer(nn.MuP, "adam"); ok {
		s.MuPDriftOctaves, s.MuPDriftCI, s.MuPSlope, s.MuPWiderIsBetter = &t.DriftOctaves, []float64{t.DriftLo, t.DriftHi}, nullable(t.Slope), &t.WiderIsBetter
		s.MuPWiderIsBetterWithinNoise = &t.WiderIsBetterWithinNoise
		s.MuPTrendOctaves = nullable(t.TrendOctaves)
	}
	if t, ok := r.Transfer(nn.Standard, "adam"); ok {
		s.SPDriftOctaves, s.SPDriftCI, s.SPSlope, s.SPWiderIsBetter = &t.DriftOctaves, []float64{t.DriftLo, t.DriftHi}, nullable(t.Slope), &t.WiderIsBetter
		s.SPTrendOctaves = nullable(t.TrendOctaves)
	}
	if t, ok := r.Transfer(nn.MuP, "sgd"); ok {
		s.MuPSGDDriftOctaves = &t.DriftOctaves
	}
	if t, ok := r.Transfer(nn.Standard, "sgd"); ok {
		s.SPSGDDriftOctaves = &t.DriftOctaves
	}
	return s
}

// WriteJSONL writes r as JSON lines, each with a "kind": one "loss" line
// per parameterization, optimizer, width and learning rate (LRLoss), one
// "optimum" line per parameterization, optimizer and width (Optimum), one
// "transfer" line per parameterization and optimizer (Transfer), and last
// the "summary" (MuTransferSummary). Infinite and NaN numbers (diverged
// runs, no held-out set) are written as null.
func (r *MuTransferResult) WriteJSONL(w io.Writer) error {
	enc := json.NewEncoder(w)
	for _, l := range r.Losses {
		losses := make([]*float64, len(l.Losses))
		for i, v := range l.Losses {
			losses[i] = nullable(v)
		}
		line := struct {
			Kind string `json:"kind"`
			LRLoss
			Loss       *float64   `json:"loss"`
			LossSE     *float64   `json:"loss_se"`
			Losses     []*float64 `json:"losses"`
			TestLoss   *float64   `json:"test_loss,omitempty"`
			TestLossSE *float64   `json:"test_loss_se,omitempty"`
		}{"loss", l, nullable(l.Loss), nullable(l.LossSE), losses, nullable(l.TestLoss), nullable(l.TestLossSE)}
		if err := enc.Encode(line); err != nil {
			return err
		}
	}
	for _, o := range r.Optima {
		line := struct {
			Kind string `json:"kind"`
			Optimum
			LossSE *float64 `json:"loss_se"`
		}{"optimum", o, nullable(o.LossSE)}
		if err := enc.Encode(line); err != nil {
			return err
		}
	}
	for _, t := range r.Transfers {
		line := struct {
			Kind string `json:"kind"`
			Transfer
		}{"transfer", t}
		if err := enc.Encode(line); err != nil {
			return err
		}
	}
	return enc.Encode(r.Summary())
}

// WriteTable writes the optimal learning rate of every parameterization,
// optimizer and width with its interval and the loss there, then the drift
// of each parameterization and optimizer.
func (r *MuTransferResult) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "param\topt\twidth\tlog2 lr*\t95% CI (bootstrap)\tloss at lr*\t")
	for _, o := range r.Optima {
		edge := ""
		if o.AtEdge {
			edge = " (grid edge)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%+.2f%s\t[%+.2f, %+.2f]\t%.4g +- %.2g\t\n", o.Parameterization, o.Optimizer, o.Width,
			o.Log2LR, edge, o.Log2LRLo, o.Log2LRHi, o.Loss, o.LossSE)
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "param\topt\tdrift (octaves)\t95% CI\tslope (octaves/doubling)\t95% CI\ttrend (octaves)\twider is better at lr*\twithin 2 SE\tat fixed lr\t")
	for _, t := range r.Transfers {
		fmt.Fprintf(tw, "%s\t%s\t%.2f\t[%.2f, %.2f]\t%+.2f\t[%+.2f, %+.2f]\t%+.2f\t%v\t%v\t%d of %d lrs\t\n", t.Parameterization, t.Optimizer,
			t.DriftOctaves, t.DriftLo, t.DriftHi, t.Slope, t.SlopeLo, t.SlopeHi, t.TrendOctaves, t.WiderIsBetter, t.WiderIsBetterWithinNoise, t.WiderIsBetterLRs, t.GridLRs)
	}
	return tw.Flush()
}

// WriteFigures writes, for every parameterization and optimizer,
// mutransfer_<param>_<opt>.png and .svg: the mean training loss (error bars:
// standard error over seeds) against log2 of the learning rate, one curve
// per width, as Figure 1 of Yang et al. 2021.
func (r *MuTransferResult) WriteFigures(dir string) error {
	for _, t := range r.Transfers {
		fig := figure.Plot{Title: fmt.Sprintf("muTransfer: %s, %s (drift %.2f octaves)", t.Parameterization, t.Optimizer, t.DriftOctaves),
			XLabel: "log2 learning rate", YLabel: "training loss", LogY: true, Width: 7, Height: 5, Markers: true}
		for _, w := range r.Config.Widths {
			s := figure.Series{Name: fmt.Sprintf("width %d", w)}
			for _, l := range r.Losses {
				if l.Parameterization == t.Parameterization && l.Optimizer == t.Optimizer && l.Width == w {
					se := l.LossSE
					if math.IsNaN(se) {
						se = 0
					}
					s.X, s.Y, s.YErr = append(s.X, l.Log2LR), append(s.Y, l.Loss), append(s.YErr, se)
				}
			}
			fig.Series = append(fig.Series, s)
		}
		name := "mutransfer_" + string(t.Parameterization) + "_" + t.Optimizer
		if err := fig.Save(dir, name); err != nil && !errors.Is(err, figure.ErrEmpty) {
			return err
		}
	}
	return nil
}

// Save writes r into dir (which must exist): mutransfer.jsonl (WriteJSONL)
// and, if figures, the figures of WriteFigures.
func (r *MuTransferResult) Save(dir string, figures bool) error {
	return save(filepath.Join(dir, "mutransfer.jsonl"), r.WriteJSONL, figures, func() error { return r.WriteFigures(dir) })
}

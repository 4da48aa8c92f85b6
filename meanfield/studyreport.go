package meanfield

import (
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/gradflow/gradflow/internal/figure"
)

// studyTheory is the predicted slope against the width of each column at a
// fixed training time (the package documentation and tests; kernel drift
// under NTK scaling is -1 for smooth activations). The lazy line names the
// settings of "train meanfield" that test it.
var studyTheory = map[Regime]string{
	MeanField: "theory: displacement, weight change, kernel drift 0; output at init -0.5",
	NTK:       "theory: displacement, weight change -0.5; kernel drift -1 (smooth act); output at init 0",
	Lazy:      "theory: displacement ~ 1/A at a fixed width (compare two -alpha); output at init -0.5 (0 with -symmetric)",
}

// WriteTable writes the rows as a table, then the slopes of each regime
// next to what the theory predicts.
func (r *StudyResult) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "regime\twidth\talpha(m)\tdisplacement\tweight change\tkernel drift\toutput@init\tfinal loss\tSW2 to widest\tdissipation\t")
	for _, row := range r.Rows {
		sw := "-"
		if row.SW2Widest != nil {
			sw = fmt.Sprintf("%.4g", *row.SW2Widest)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.4g\t%.4g\t%.4g\t%.4g\t%.4g\t%.4g\t%s\t%.4g\t\n", row.Regime, row.Width, row.Alpha, row.Displacement,
			row.WeightChange, row.KernelDrift, row.OutputInit, row.FinalLoss, sw, row.Dissipation)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nlog-log slope against the width:")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "regime\t")
	for _, mt := range studyMetrics {
		fmt.Fprintf(tw, "%s\t", mt.name)
	}
	fmt.Fprintln(tw)
	for _, s := range r.Slopes {
		fmt.Fprintf(tw, "%s\t", s.Regime)
		for _, mt := range studyMetrics {
			if v := s.Slopes[mt.name]; v != nil {
				fmt.Fprintf(tw, "%+.3f\t", *v)
			} else {
				fmt.Fprint(tw, "-\t")
			}
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range r.Slopes {
		if _, err := fmt.Fprintf(w, "  %s %s\n", s.Regime, studyTheory[Regime(s.Regime)]); err != nil {
			return err
		}
	}
	return nil
}

// WriteFigures writes displacement.png and .svg into dir: the mean
// per-neuron displacement at the last step against the width on log-log
// axes, one line per regime, with its slope in the legend. Widths where the
// network did not move (displacement 0) cannot be drawn on a log axis and
// are left out; with none left, nothing is written.
func (r *StudyResult) WriteFigures(dir string) error {
	p := figure.Plot{Title: "mean per-neuron displacement at the last step", XLabel: "width m",
		YLabel: "(1/m) sum |theta_i(T) - theta_i(0)|", LogX: true, LogY: true, Markers: true}
	for i, reg := range r.Config.Regimes {
		s := figure.Series{Name: string(reg)}
		if reg == Lazy {
			s.Name += fmt.Sprintf(" A=%g", r.Config.Alpha)
		}
		if i < len(r.Slopes) && r.Slopes[i].Slopes["displacement"] != nil {
			s.Name += fmt.Sprintf(" (slope %+.2f)", *r.Slopes[i].Slopes["displacement"])
		}
		for _, row := range r.Rows {
			if row.Regime == string(reg) {
				s.X, s.Y = append(s.X, float64(row.Width)), append(s.Y, row.Displacement)
			}
		}
		p.Series = append(p.Series, s)
	}
	if err := p.Save(dir, "displacement"); err != nil && !errors.Is(err, figure.ErrEmpty) {
		return err
	}
	return nil
}

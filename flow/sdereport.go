package flow

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"text/tabwriter"

	"github.com/gradflow/gradflow/internal/figure"
)

// WriteJSONL writes the study as JSON lines: one {"kind":"svag"} line per
// l, one {"kind":"sme"} line per integrator, and last the
// {"kind":"summary"} line with svag_slope.
func (r *SDEStudyResult) WriteJSONL(w io.Writer) error {
	enc := json.NewEncoder(w)
	for _, row := range r.SVAG {
		if err := enc.Encode(row); err != nil {
			return err
		}
	}
	for _, row := range r.SME {
		if err := enc.Encode(row); err != nil {
			return err
		}
	}
	return enc.Encode(r.Summary)
}

// WriteTable writes the study as tables for people.
func (r *SDEStudyResult) WriteTable(w io.Writer) error {
	c := r.Config
	fmt.Fprintf(w, "stationary variance on the noisy quadratic (lambda %g, sigma %g, eta %g); SME: eta sigma^2/(2 lambda) = %.6g\n\n",
		c.Lambda, c.Sigma, c.LR, r.Summary.SDEVariance)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "method\tl\tsteps\tvariance\t+-\tclosed form\terror vs SME\t+-\tclosed form\t")
	for _, row := range r.SVAG {
		name := "SVAG"
		if row.L == 1 {
			name = "SGD"
		}
		fmt.Fprintf(tw, "%s\t%g\t%d\t%.6f\t%.1e\t%.6f\t%.4e\t%.1e\t%.4e\t\n", name, row.L, row.Steps, row.Variance, row.VarianceSE,
			row.Theory, row.Error, row.ErrorSE, row.TheoryError)
	}
	for _, row := range r.SME {
		fmt.Fprintf(tw, "SME %s dt=%g\t-\t-\t%.6f\t-\t%.6f\t%.4e\t%.1e\t%.4e\t\n", row.Scheme, row.Dt, row.Variance,
			row.Theory, row.Error, row.ErrorSE, row.TheoryError)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\nlog-log slope of SVAG's |error| against l: %s (closed form %s; theory -1)\n",
		slopeText(r.Summary.SVAGSlope), slopeText(r.Summary.TheorySlope))
	return err
}

func slopeText(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%+.3f", *v)
}

// WriteFigures writes svag_error.png and .svg into dir: SVAG's measured
// |error| against the SME's stationary variance against l, log-log, with
// its standard errors and fitted slope, and the closed form dashed.
func (r *SDEStudyResult) WriteFigures(dir string) error {
	p := figure.Plot{Title: "SVAG stationary variance: error against the SME", XLabel: "SVAG parameter l",
		YLabel: "|Var - eta sigma^2/(2 lambda)|", LogX: true, LogY: true, Markers: true}
	meas := figure.Series{Name: "measured (slope " + slopeText(r.Summary.SVAGSlope) + ")"}
	theory := figure.Series{Name: "closed form (slope " + slopeText(r.Summary.TheorySlope) + ")", Dashed: true}
	for _, row := range r.SVAG {
		meas.X, meas.Y, meas.YErr = append(meas.X, row.L), append(meas.Y, math.Abs(row.Error)), append(meas.YErr, row.ErrorSE)
		theory.X, theory.Y = append(theory.X, row.L), append(theory.Y, math.Abs(row.TheoryError))
	}
	p.Series = []figure.Series{meas, theory}
	if err := p.Save(dir, "svag_error"); err != nil && !errors.Is(err, figure.ErrEmpty) {
		return err
	}
	return nil
}

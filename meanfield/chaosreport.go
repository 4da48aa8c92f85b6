package meanfield

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"text/tabwriter"

	"github.com/gradflow/gradflow/internal/figure"
)

// WriteJSON writes the result as one JSON line {"chaos": {...}}: the line
// "train meanfield -chaos -json" adds after the study's, told apart from
// them by its key.
func (r *ChaosResult) WriteJSON(w io.Writer) error {
	return json.NewEncoder(w).Encode(struct {
		Chaos *ChaosResult `json:"chaos"`
	}{r})
}

// WriteTable writes the rows, then the three fitted exponents with their
// intervals next to the theory's -1/2.
func (r *ChaosResult) WriteTable(w io.Writer) error {
	c := r.Config
	fmt.Fprintf(w, "propagation of chaos (mean field): width m against a reference of width %dm from the same first m particles,\n", c.Ratio)
	fmt.Fprintf(w, "%d seeds, T = %d steps x lr %g; mean +- standard error over seeds\n", c.Seeds, c.Steps, c.LR)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "width\tref width\tSW2 at T\t+-\tSW2 at init\tcoupled at T\t+-\t")
	for _, row := range r.Rows {
		fmt.Fprintf(tw, "%d\t%d\t%.4g\t%.2g\t%.4g\t%.4g\t%.2g\t\n", row.Width, row.RefWidth, row.SW2, row.SW2SE, row.SW2Init, row.Coupled, row.CoupledSE)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "log-log slope against the width (95% t-interval of the per-seed slopes):")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, f := range []struct {
		name string
		fit  ChaosFit
	}{{"SW2 at T", r.SW2Slope}, {"SW2 at init", r.SW2InitSlope}, {"coupled at T", r.CoupledSlope}} {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", f.name, signed(f.fit.Slope), interval(f.fit))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, "  theory: -0.5 for all three (propagation of chaos, O(m^-1/2) fluctuations)")
	return err
}

func signed(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%+.3f", *v)
}

func interval(f ChaosFit) string {
	if f.Low == nil || f.High == nil {
		return ""
	}
	return fmt.Sprintf("[%+.3f, %+.3f]", *f.Low, *f.High)
}

// WriteFigures writes chaos.png and .svg into dir: the sliced W2 distance
// at T and at initialization and the coupled distance against the width on
// log-log axes, with standard-error bars and an m^-1/2 guide through the
// first coupled point.
func (r *ChaosResult) WriteFigures(dir string) error {
	p := figure.Plot{Title: fmt.Sprintf("propagation of chaos: width m against width %dm", r.Config.Ratio),
		XLabel: "width m", YLabel: "distance", LogX: true, LogY: true, Markers: true}
	at := figure.Series{Name: "sliced W2 at T" + slopeNote(r.SW2Slope)}
	init := figure.Series{Name: "sliced W2 at init" + slopeNote(r.SW2InitSlope)}
	coupled := figure.Series{Name: "coupled at T" + slopeNote(r.CoupledSlope)}
	guide := figure.Series{Name: "m^-1/2", Dashed: true}
	for _, row := range r.Rows {
		m := float64(row.Width)
		at.X, at.Y, at.YErr = append(at.X, m), append(at.Y, row.SW2), append(at.YErr, row.SW2SE)
		init.X, init.Y = append(init.X, m), append(init.Y, row.SW2Init)
		coupled.X, coupled.Y, coupled.YErr = append(coupled.X, m), append(coupled.Y, row.Coupled), append(coupled.YErr, row.CoupledSE)
		guide.X, guide.Y = append(guide.X, m), append(guide.Y, r.Rows[0].Coupled*math.Sqrt(float64(r.Rows[0].Width)/m))
	}
	p.Series = []figure.Series{at, init, coupled, guide}
	if err := p.Save(dir, "chaos"); err != nil && !errors.Is(err, figure.ErrEmpty) {
		return err
	}
	return nil
}

func slopeNote(f ChaosFit) string {
	if f.Slope == nil {
		return ""
	}
	return fmt.Sprintf(" (slope %+.2f)", *f.Slope)
}

package sweep

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"path/filepath"

	"github.com/gradflow/gradflow/internal/outfile"
)

// Fits returns the fit at the last step of every group and metric of
// Metrics, in the order of the table WriteTables prints, leaving out the
// pairs that cannot be fitted (a metric never measured, or positive for
// fewer than two widths of every seed): they have no slope to report.
func (r *Report) Fits() []Fit {
	var out []Fit
	for _, g := range r.Groups() {
		for _, m := range r.Metrics() {
			if f, err := r.Fit(m, g, -1); err == nil {
				out = append(out, f)
			}
		}
	}
	return out
}

// WriteFits writes Fits as JSON lines, the form of a sweep's slopes.jsonl
// (see Fit.MarshalJSON).
func (r *Report) WriteFits(w io.Writer) error {
	enc := json.NewEncoder(w)
	for _, f := range r.Fits() {
		if err := enc.Encode(f); err != nil {
			return err
		}
	}
	return nil
}

// Save writes the analysis of a finished sweep into its directory dir,
// next to the runs: slopes.jsonl (WriteFits) and, if figures, the figures
// into dir/figures (WriteFigures). Run and Merge leave the runs; Save is
// what makes the directory a report.
func (r *Report) Save(dir string, figures bool) error {
	return save(filepath.Join(dir, "slopes.jsonl"), r.WriteFits, figures, func() error {
		return r.WriteFigures(filepath.Join(dir, "figures"))
	})
}

// save writes a result's JSON lines into path with write and then, if
// figures, its figures with draw.
func save(path string, write func(io.Writer) error, figures bool, draw func() error) error {
	if err := outfile.Write(path, write); err != nil {
		return err
	}
	if figures {
		if err := draw(); err != nil {
			return fmt.Errorf("sweep: figures: %w", err)
		}
	}
	return nil
}

// fitJSON is the JSON form of a Fit. The group is flattened so that a line
// of slopes.jsonl is one flat record, ready for a data frame.
type fitJSON struct {
	Parameterization string     `json:"parameterization"`
	LR               float64    `json:"lr"`
	Optimizer        string     `json:"optimizer"`
	BatchSize        int        `json:"batch_size,omitempty"`
	Metric           string     `json:"metric"`
	Step             int        `json:"step"`
	Widths           []int      `json:"widths"`
	Mean             []*float64 `json:"mean"` // geometric mean over seeds per width
	PerSeed          []float64  `json:"per_seed_slopes"`
	Slope            float64    `json:"slope"`
	Lo               *float64   `json:"ci_lo"`
	Hi               *float64   `json:"ci_hi"`
}

// MarshalJSON encodes f as the flat object {"parameterization", "lr",
// "optimizer", "batch_size" (only on a grid of batch sizes), "metric",
// "step", "widths", "mean", "per_seed_slopes", "slope", "ci_lo",
// "ci_hi"}. JSON has no NaN, so the NaNs of a fit (a
// width where no seed has a positive value, the interval of a single seed)
// become null.
func (f Fit) MarshalJSON() ([]byte, error) {
	line := fitJSON{Parameterization: f.Group.Parameterization, LR: f.Group.LR, Optimizer: f.Group.Optimizer,
		BatchSize: f.Group.BatchSize, Metric: f.Metric, Step: f.Step, Widths: f.Widths, PerSeed: f.PerSeed, Slope: f.Slope,
		Lo: nullable(f.Lo), Hi: nullable(f.Hi)}
	for _, v := range f.Mean {
		line.Mean = append(line.Mean, nullable(v))
	}
	return json.Marshal(line)
}

// nullable returns &v, or nil (JSON null) for a NaN or infinity, which JSON
// cannot represent.
func nullable(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

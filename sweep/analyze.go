package sweep

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/gradflow/gradflow/internal/powerlaw"
)

// RunResult is the content of one result file.
type RunResult struct {
	Spec       RunSpec
	Records    []Record
	DivergedAt int // 0 unless the run diverged
}

// Report is a loaded sweep: its configuration and the results of its runs.
type Report struct {
	Config  Config // with defaults filled in
	Runs    []RunResult
	Missing []string // IDs of runs without a complete result file
}

// Analyze loads the sweep in dir (written by Run or Merge). Runs without a
// complete result file are listed in Report.Missing, not an error, so a
// partial sweep can be inspected. A dir without config.json gives an error
// that wraps os.ErrNotExist.
func Analyze(dir string) (*Report, error) {
	c, err := LoadConfig(filepath.Join(dir, configFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("sweep: %s is not a sweep output directory (no %s): %w", dir, configFile, err)
	}
	if err != nil {
		return nil, err
	}
	c, _ = c.withDefaults()
	r := &Report{Config: c}
	for _, spec := range c.Runs() {
		b, err := os.ReadFile(RunFile(dir, spec))
		if errors.Is(err, os.ErrNotExist) {
			r.Missing = append(r.Missing, spec.ID)
			continue
		}
		if err != nil {
			return nil, err
		}
		got, recs, tr, err := parseRunFile(b)
		if err != nil {
			r.Missing = append(r.Missing, spec.ID)
			continue
		}
		if got != spec {
			return nil, fmt.Errorf("sweep: %s: header %+v does not match the grid's %+v", RunFile(dir, spec), got, spec)
		}
		r.Runs = append(r.Runs, RunResult{Spec: spec, Records: recs, DivergedAt: tr.DivergedAt})
	}
	return r, nil
}

// Metric returns the value of a named metric in rec: "loss", "accuracy",
// "test_loss", "test_accuracy", "loss_gap" (test_loss - loss),
// "weight_change", "kernel_drift", "displacement", "coord[l]" or
// "coord_delta[l]" (l a layer index, negative counting from the output:
// "coord[-1]" is the output), or a measure of GeometryMeasures (on the
// last record of a sweep with a geometry block). ok is false if rec lacks
// it.
func Metric(rec Record, name string) (v float64, ok bool) {
	switch name {
	case "loss":
		return rec.Loss, true
	case "accuracy":
		if rec.Accuracy == nil {
			return 0, false
		}
		return *rec.Accuracy, true
	case "test_loss":
		if rec.TestLoss == nil {
			return 0, false
		}
		return *rec.TestLoss, true
	case "test_accuracy":
		if rec.TestAccuracy == nil {
			return 0, false
		}
		return *rec.TestAccuracy, true
	case "weight_change":
		return rec.WeightChange, true
	case "displacement":
		return rec.Displacement, true
	case "kernel_drift":
		if rec.KernelDrift == nil {
			return 0, false
		}
		return *rec.KernelDrift, true
	case "loss_gap":
		if rec.TestLoss == nil {
			return 0, false
		}
		return *rec.TestLoss - rec.Loss, true
	}
	if v, ok := geometryValue(rec.Geometry, name); ok {
		return v, true
	}
	for _, p := range []struct {
		prefix string
		vals   []float64
	}{{"coord_delta[", rec.CoordDelta}, {"coord[", rec.Coord}} {
		if rest, found := strings.CutPrefix(name, p.prefix); found && strings.HasSuffix(rest, "]") {
			l, err := strconv.Atoi(strings.TrimSuffix(rest, "]"))
			if err != nil {
				return 0, false
			}
			if l < 0 {
				l += len(p.vals)
			}
			if l < 0 || l >= len(p.vals) {
				return 0, false
			}
			return p.vals[l], true
		}
	}
	return 0, false
}

// Group is a line of a width-scaling plot: the runs that differ only by
// width and seed.
type Group struct {
	Parameterization string
	LR               float64
	Optimizer        string
	// BatchSize is the minibatch size on a grid of batch sizes
	// (Config.BatchSizes), 0 otherwise.
	BatchSize int
}

// String names the group as it appears in tables and figure legends.
func (g Group) String() string {
	s := fmt.Sprintf("%s lr=%s %s", g.Parameterization, strconv.FormatFloat(g.LR, 'g', -1, 64), g.Optimizer)
	if g.BatchSize > 0 {
		s += fmt.Sprintf(" b=%d", g.BatchSize)
	}
	return s
}

func groupOf(s RunSpec) Group {
	return Group{Parameterization: string(s.Parameterization), LR: s.LR, Optimizer: s.Optimizer, BatchSize: s.BatchSize}
}

// Groups returns the groups of the grid in canonical order.
func (r *Report) Groups() []Group {
	var out []Group
	seen := map[Group]bool{}
	batches := r.Config.BatchSizes
	if len(batches) == 0 {
		batches = []int{0}
	}
	for _, p := range r.Config.Parameterizations {
		for _, lr := range r.Config.LRs {
			for _, o := range r.Config.Optimizers {
				for _, b := range batches {
					g := Group{Parameterization: string(p), LR: lr, Optimizer: o, BatchSize: b}
					if !seen[g] {
						seen[g] = true
						out = append(out, g)
					}
				}
			}
		}
	}
	return out
}

// Fit is a log-log fit of a metric against the width: log v = Slope log n +
// const, fitted by least squares for each seed separately over the widths
// where the seed has a positive value; Slope is the mean of the per-seed
// slopes and [Lo, Hi] its 95% Student-t confidence interval over seeds
// (mean +- t_{0.975, S-1} sd/sqrt(S); NaN with a single seed). Seeds are
// independent replicates, so their slopes are i.i.d. estimates.
type Fit struct {
	Group   Group
	Metric  string
	Step    int
	Widths  []int
	Mean    []float64 // per width: geometric mean over seeds (NaN if none)
	PerSeed []float64 // per-seed slopes
	Slope   float64
	Lo, Hi  float64
}

// Fit fits metric at step (negative: the last step, Config.Steps) against
// the width for group g.
func (r *Report) Fit(metric string, g Group, step int) (Fit, error) {
	if step < 0 {
		step = r.Config.Steps
	}
	f := Fit{Group: g, Metric: metric, Step: step, Widths: r.Config.Widths}
	bySeed := map[uint64][]float64{}
	for _, s := range r.Config.Seeds {
		bySeed[s] = make([]float64, len(f.Widths))
		for i := range bySeed[s] {
			bySeed[s][i] = math.NaN()
		}
	}
	wi := map[int]int{}
	for i, w := range f.Widths {
		wi[w] = i
	}
	for _, run := range r.Runs {
		if groupOf(run.Spec) != g {
			continue
		}
		for _, rec := range run.Records {
			if rec.Step == step {
				if v, ok := Metric(rec, metric); ok && v > 0 {
					bySeed[run.Spec.Seed][wi[run.Spec.Width]] = v
				}
			}
		}
	}
	f.Mean = make([]float64, len(f.Widths))
	for i := range f.Widths {
		var s float64
		var n int
		for _, seed := range r.Config.Seeds {
			if v := bySeed[seed][i]; !math.IsNaN(v) {
				s += math.Log(v)
				n++
			}
		}
		f.Mean[i] = math.NaN()
		if n > 0 {
			f.Mean[i] = math.Exp(s / float64(n))
		}
	}
	for _, seed := range r.Config.Seeds {
		if sl, ok := logSlope(f.Widths, bySeed[seed]); ok {
			f.PerSeed = append(f.PerSeed, sl)
		}
	}
	if len(f.PerSeed) == 0 {
		return f, fmt.Errorf("sweep: no seed of %s has %s at step %d for two widths", g, metric, step)
	}
	f.Slope, f.Lo, f.Hi = powerlaw.TInterval(f.PerSeed)
	return f, nil
}

// LogLogSlope is the least-squares slope of log y against log x over the
// points where x and y are positive and finite: the exponent b of a power
// law y ~ x^b. It returns NaN with fewer than two such points.
func LogLogSlope(x, y []float64) float64 { return powerlaw.Slope(x, y) }

// logSlope is LogLogSlope over integer widths, skipping NaN values.
func logSlope(w []int, v []float64) (float64, bool) {
	x := make([]float64, len(w))
	for i, wi := range w {
		x[i] = float64(wi)
	}
	sl := LogLogSlope(x, v)
	return sl, !math.IsNaN(sl)
}

// DefaultMetrics are the metrics WriteTables and WriteFigures report for
// a sweep without a held-out set; see Report.Metrics.
var DefaultMetrics = []string{"loss", "weight_change", "kernel_drift", "displacement", "coord_delta[0]", "coord[-1]"}

// Metrics returns the metrics WriteTables and WriteFigures report:
// DefaultMetrics, with "test_loss" after "loss" if the sweep has a
// held-out set (Dataset.TestN > 0).
func (r *Report) Metrics() []string {
	if r.Config.Dataset.TestN <= 0 {
		return DefaultMetrics
	}
	out := []string{DefaultMetrics[0], "test_loss"}
	return append(out, DefaultMetrics[1:]...)
}

// WriteTables writes, for every group and metric of Metrics, the geometric
// mean over seeds at the last step for each width and the fitted log-log
// slope with its 95% t-interval over seeds.
func (r *Report) WriteTables(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "group\tmetric")
	for _, wd := range r.Config.Widths {
		fmt.Fprintf(tw, "\tn=%d", wd)
	}
	fmt.Fprintf(tw, "\tslope\t95%% CI (t over seeds)\n")
	for _, f := range r.Fits() {
		fmt.Fprintf(tw, "%s\t%s", f.Group, f.Metric)
		for _, v := range f.Mean {
			fmt.Fprintf(tw, "\t%.4g", v)
		}
		fmt.Fprintf(tw, "\t%+.3f\t[%+.3f, %+.3f]\n", f.Slope, f.Lo, f.Hi)
	}
	if len(r.Missing) > 0 {
		fmt.Fprintf(tw, "missing runs: %d (%s ...)\n", len(r.Missing), r.Missing[0])
	}
	return tw.Flush()
}

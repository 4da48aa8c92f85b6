package sweep

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"text/tabwriter"

	"github.com/gradflow/gradflow/internal/figure"
	"github.com/gradflow/gradflow/internal/powerlaw"
)

// GeometryMeasures are the measures of Record.Geometry that
// Report.Correlations ranks against the generalization gap, in the order
// of its table.
var GeometryMeasures = []string{"pl_min", "pl_final", "loj_theta", "sharpness", "hessian_trace", "b_simple", "weight_distance"}

// geometryValue returns the named measure of GeometryMeasures in g; ok is
// false when g lacks it.
func geometryValue(g *Geometry, name string) (v float64, ok bool) {
	if g == nil {
		return 0, false
	}
	var p *float64
	switch name {
	case "pl_min":
		p = g.PLMin
	case "pl_final":
		p = g.PLFinal
	case "loj_theta":
		p = g.LojTheta
	case "sharpness":
		p = g.Sharpness
	case "hessian_trace":
		p = g.HessianTrace
	case "b_simple":
		p = g.BSimple
	case "weight_distance":
		return g.WeightDistance, true
	}
	if p == nil {
		return 0, false
	}
	return *p, true
}

// GeometryRow is one run of a sweep with geometry measurements: its last
// record's geometry, and its training and held-out loss and accuracy.
type GeometryRow struct {
	Spec     RunSpec
	Geometry *Geometry
	// TrainLoss and TestLoss are Record.Loss and Record.TestLoss at the
	// last step; LossGap = TestLoss - TrainLoss is the generalization gap.
	TrainLoss, TestLoss, LossGap float64
	// TrainAcc and TestAcc are the accuracies (NaN for regression);
	// AccGap = TrainAcc - TestAcc.
	TrainAcc, TestAcc, AccGap float64
}

// GeometryRows returns the runs that reached the last step with a
// geometry measurement and a finite held-out loss, in the grid's order;
// excluded lists the IDs of the other finished runs (diverged, or with a
// held-out loss that was not finite).
func (r *Report) GeometryRows() (rows []GeometryRow, excluded []string) {
	for _, run := range r.Runs {
		n := len(run.Records)
		if n == 0 || run.Records[n-1].Geometry == nil || run.Records[n-1].TestLoss == nil {
			excluded = append(excluded, run.Spec.ID)
			continue
		}
		last := run.Records[n-1]
		row := GeometryRow{Spec: run.Spec, Geometry: last.Geometry, TrainLoss: last.Loss, TestLoss: *last.TestLoss,
			TrainAcc: math.NaN(), TestAcc: math.NaN(), AccGap: math.NaN()}
		row.LossGap = row.TestLoss - row.TrainLoss
		if last.Accuracy != nil && last.TestAccuracy != nil {
			row.TrainAcc, row.TestAcc = *last.Accuracy, *last.TestAccuracy
			row.AccGap = row.TrainAcc - row.TestAcc
		}
		rows = append(rows, row)
	}
	return rows, excluded
}

// CorrelationOptions configures Report.Correlations; zero fields take
// their defaults.
type CorrelationOptions struct {
	// Resamples is the number of bootstrap resamples of the runs (default
	// 1000).
	Resamples int
	// Level is the coverage of the percentile intervals (default 0.95).
	Level float64
	// Seed seeds the resampling ("train sweep" and "train sweep analyze"
	// use 1 unless -seed says otherwise).
	Seed uint64
}

func (o CorrelationOptions) withDefaults() (CorrelationOptions, error) {
	o.Resamples = cmp.Or(o.Resamples, 1000)
	o.Level = cmp.Or(o.Level, 0.95)
	if o.Resamples < 1 {
		return o, fmt.Errorf("sweep: %d bootstrap resamples, want at least 1", o.Resamples)
	}
	if !(o.Level > 0 && o.Level < 1) {
		return o, fmt.Errorf("sweep: interval level %v, want in (0, 1)", o.Level)
	}
	return o, nil
}

// Correlation is the rank correlation between one geometric measure and
// the generalization gap over the runs of a sweep.
type Correlation struct {
	Measure string
	// Runs is the number of runs with both the measure and the gap.
	Runs int
	// Tau is Kendall's tau-b between the measure and the loss gap
	// test_loss - loss, [Lo, Hi] its percentile bootstrap interval.
	Tau, Lo, Hi float64
	// AccTau, AccLo and AccHi are the same against the accuracy gap
	// accuracy - test_accuracy (NaN for regression).
	AccTau, AccLo, AccHi float64
}

// Correlations returns, for every measure of GeometryMeasures, Kendall's
// tau-b between the measure and the generalization gap over the runs of
// GeometryRows that have the measure, with a percentile bootstrap interval
// (BootstrapKendall; each measure and gap resamples with its own generator
// PCG(Seed, 0x6b656e64), so measures with the same runs are resampled
// alike). It fails for a sweep without a geometry block or without a run
// to rank.
func (r *Report) Correlations(opts CorrelationOptions) ([]Correlation, error) {
	if r.Config.Geometry == nil {
		return nil, errors.New("sweep: the sweep has no geometry block; nothing to correlate")
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	rows, _ := r.GeometryRows()
	if len(rows) == 0 {
		return nil, errors.New("sweep: no run reached its last step with geometry measurements and a finite held-out loss")
	}
	var out []Correlation
	for _, m := range GeometryMeasures {
		c := Correlation{Measure: m}
		var x, gap, xa, accGap []float64
		for _, row := range rows {
			v, ok := geometryValue(row.Geometry, m)
			if !ok {
				continue
			}
			x, gap = append(x, v), append(gap, row.LossGap)
			if !math.IsNaN(row.AccGap) {
				xa, accGap = append(xa, v), append(accGap, row.AccGap)
			}
		}
		c.Runs = len(x)
		c.Tau, c.Lo, c.Hi = rankCorrelation(x, gap, opts)
		c.AccTau, c.AccLo, c.AccHi = rankCorrelation(xa, accGap, opts)
		out = append(out, c)
	}
	return out, nil
}

// bootstrapStream is the stream of the PCG generator of the bootstrap.
const bootstrapStream = 0x6b656e64

// rankCorrelation is KendallTau of x and y with its BootstrapKendall
// interval.
func rankCorrelation(x, y []float64, o CorrelationOptions) (tau, lo, hi float64) {
	if len(x) < 2 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	lo, hi = BootstrapKendall(x, y, o.Resamples, o.Level, rand.New(rand.NewPCG(o.Seed, bootstrapStream)))
	return KendallTau(x, y), lo, hi
}

// KendallTau returns Kendall's tau-b of the pairs (x_i, y_i):
//
//	tau_b = (n_c - n_d) / sqrt((n_0 - n_1) (n_0 - n_2)),
//
// with n_c and n_d the concordant and discordant pairs, n_0 = n(n-1)/2,
// n_1 and n_2 the pairs tied in x and in y (Kendall 1945). It is NaN with
// fewer than two pairs, when x or y is constant, or when a value is NaN.
// It takes O(n log n) time (Knight 1966): sorting by (x, y) counts the
// ties in x and the joint ties n_3, and a merge sort of the y's in that
// order counts the discordant pairs as its exchanges, so that n_c - n_d =
// n_0 - n_1 - n_2 + n_3 - 2 n_d.
func KendallTau(x, y []float64) float64 {
	if len(x) != len(y) {
		panic(fmt.Sprintf("sweep.KendallTau: len(x) = %d, len(y) = %d", len(x), len(y)))
	}
	n := len(x)
	if n < 2 || slices.ContainsFunc(x, math.IsNaN) || slices.ContainsFunc(y, math.IsNaN) {
		return math.NaN()
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Or(cmp.Compare(x[a], x[b]), cmp.Compare(y[a], y[b])) })
	var n1, n3 int64
	for i := 0; i < n; {
		j, k := i+1, i+1 // ends of the runs of equal x and of equal (x, y)
		for j < n && x[idx[j]] == x[idx[i]] {
			j++
		}
		n1 += pairs(j - i)
		for a := i; a < j; a = k {
			for k = a + 1; k < j && y[idx[k]] == y[idx[a]]; k++ {
			}
			n3 += pairs(k - a)
		}
		i = j
	}
	ys := make([]float64, n)
	for i, j := range idx {
		ys[i] = y[j]
	}
	nd := mergeCount(ys, make([]float64, n))
	var n2 int64
	for i := 0; i < n; {
		j := i + 1
		for j < n && ys[j] == ys[i] {
			j++
		}
		n2 += pairs(j - i)
		i = j
	}
	n0 := pairs(n)
	s := n0 - n1 - n2 + n3 - 2*nd
	return float64(s) / math.Sqrt(float64(n0-n1)*float64(n0-n2))
}

// pairs is m(m-1)/2.
func pairs(m int) int64 { return int64(m) * int64(m-1) / 2 }

// mergeCount sorts v by merge sort (buf is scratch of the same length)
// and returns the number of pairs i < j with v[i] > v[j] it exchanged.
func mergeCount(v, buf []float64) int64 {
	n := len(v)
	if n < 2 {
		return 0
	}
	h := n / 2
	c := mergeCount(v[:h], buf[:h]) + mergeCount(v[h:], buf[h:])
	i, j, k := 0, h, 0
	for i < h && j < n {
		if v[j] < v[i] {
			c += int64(h - i)
			buf[k] = v[j]
			j++
		} else {
			buf[k] = v[i]
			i++
		}
		k++
	}
	k += copy(buf[k:], v[i:h])
	copy(buf[k:], v[j:])
	copy(v, buf)
	return c
}

// BootstrapKendall returns the percentile bootstrap interval of
// KendallTau(x, y) at the given level: for each of the resamples, n
// indices are drawn uniformly with replacement by rng.IntN(n), in order,
// the pairs at those indices form a resample, and its tau-b is computed
// (a resample with a constant x or y has none and is left out); the
// interval ends are the (1 - level)/2 and (1 + level)/2 quantiles of the
// resample taus, interpolated linearly between order statistics (at
// position p (m - 1) of the m sorted values). The same rng state gives the
// same interval. It is NaN when no resample has a tau.
func BootstrapKendall(x, y []float64, resamples int, level float64, rng *rand.Rand) (lo, hi float64) {
	n := len(x)
	if n < 2 || len(y) != n {
		return math.NaN(), math.NaN()
	}
	bx, by := make([]float64, n), make([]float64, n)
	taus := make([]float64, 0, resamples)
	for range resamples {
		for i := range bx {
			j := rng.IntN(n)
			bx[i], by[i] = x[j], y[j]
		}
		if t := KendallTau(bx, by); !math.IsNaN(t) {
			taus = append(taus, t)
		}
	}
	if len(taus) == 0 {
		return math.NaN(), math.NaN()
	}
	slices.Sort(taus)
	alpha := (1 - level) / 2
	return powerlaw.SortedQuantile(taus, alpha), powerlaw.SortedQuantile(taus, 1-alpha)
}

// WriteCorrelations writes the table of Correlations: one line per
// measure with the number of runs, tau-b against the loss gap and its
// interval, and the same against the accuracy gap.
func (r *Report) WriteCorrelations(w io.Writer, opts CorrelationOptions) error {
	cs, err := r.Correlations(opts)
	if err != nil {
		return err
	}
	opts, _ = opts.withDefaults()
	rows, excluded := r.GeometryRows()
	fmt.Fprintf(w, "Kendall tau-b of each measure (end of run) against the generalization gap, over %d runs (%d excluded); %g%% percentile bootstrap over runs, %d resamples, seed %d\n",
		len(rows), len(excluded), 100*opts.Level, opts.Resamples, opts.Seed)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "measure\truns\ttau (loss gap)\tCI\ttau (accuracy gap)\tCI\n")
	for _, c := range cs {
		fmt.Fprintf(tw, "%s\t%d\t%+.3f\t[%+.3f, %+.3f]\t%+.3f\t[%+.3f, %+.3f]\n", c.Measure, c.Runs, c.Tau, c.Lo, c.Hi, c.AccTau, c.AccLo, c.AccHi)
	}
	return tw.Flush()
}

// correlationJSON is a correlation as a line of correlations.jsonl.
type correlationJSON struct {
	Kind      string   `json:"kind"`
	Measure   string   `json:"measure"`
	Tau       *float64 `json:"tau"`
	Lo        *float64 `json:"ci_lo"`
	Hi        *float64 `json:"ci_hi"`
	Runs      int      `json:"runs"`
	AccTau    *float64 `json:"acc_gap_tau"`
	AccLo     *float64 `json:"acc_gap_ci_lo"`
	AccHi     *float64 `json:"acc_gap_ci_hi"`
	Target    string   `json:"target"`
	Resamples int      `json:"resamples"`
	Level     float64  `json:"level"`
	Seed      uint64   `json:"seed"`
}

// correlationSummary is the last line of correlations.jsonl.
type correlationSummary struct {
	Kind         string   `json:"kind"`
	Runs         int      `json:"runs"`
	TotalRuns    int      `json:"total_runs"`
	Excluded     []string `json:"excluded"`
	Measures     int      `json:"measures"`
	Strongest    string   `json:"strongest"`
	StrongestTau *float64 `json:"strongest_tau"`
	Target       string   `json:"target"`
	Resamples    int      `json:"resamples"`
	Level        float64  `json:"level"`
	Seed         uint64   `json:"seed"`
}

// gapTarget names the gap the correlations are taken with.
const gapTarget = "test_loss - loss"

// WriteCorrelationsJSON writes Correlations as JSON lines: one object per
// measure, {"kind": "correlation", "measure", "tau", "ci_lo", "ci_hi",
// "runs", "acc_gap_tau", "acc_gap_ci_lo", "acc_gap_ci_hi", "target",
// "resamples", "level", "seed"} (NaN as null), and a summary last,
// {"kind": "summary", "runs", "total_runs", "excluded", "measures",
// "strongest", "strongest_tau", "target", "resamples", "level", "seed"}:
// the runs ranked, the finished runs, the IDs of those left out, and the
// measure with the largest |tau| against the loss gap.
func (r *Report) WriteCorrelationsJSON(w io.Writer, opts CorrelationOptions) error {
	cs, err := r.Correlations(opts)
	if err != nil {
		return err
	}
	opts, _ = opts.withDefaults()
	enc := json.NewEncoder(w)
	rows, excluded := r.GeometryRows()
	sum := correlationSummary{Kind: "summary", Runs: len(rows), TotalRuns: len(r.Runs), Excluded: excluded, Measures: len(cs),
		Target: gapTarget, Resamples: opts.Resamples, Level: opts.Level, Seed: opts.Seed}
	if sum.Excluded == nil {
		sum.Excluded = []string{}
	}
	for _, c := range cs {
		line := correlationJSON{Kind: "correlation", Measure: c.Measure, Runs: c.Runs,
			Tau: nullable(c.Tau), Lo: nullable(c.Lo), Hi: nullable(c.Hi),
			AccTau: nullable(c.AccTau), AccLo: nullable(c.AccLo), AccHi: nullable(c.AccHi),
			Target: gapTarget, Resamples: opts.Resamples, Level: opts.Level, Seed: opts.Seed}
		if err := enc.Encode(line); err != nil {
			return err
		}
		if !math.IsNaN(c.Tau) && (sum.StrongestTau == nil || math.Abs(c.Tau) > math.Abs(*sum.StrongestTau)) {
			sum.Strongest, sum.StrongestTau = c.Measure, nullable(c.Tau)
		}
	}
	return enc.Encode(sum)
}

// WriteCorrelationFigures writes to dir, as PNG and SVG, kendall_tau (tau-b
// of every measure against the loss gap with its bootstrap interval, one
// point per measure at x = 1, 2, ... in the order of GeometryMeasures) and,
// for every measure, gap_vs_<measure>: a scatter of the loss gap against
// the measure, one colour per learning rate.
func (r *Report) WriteCorrelationFigures(dir string, opts CorrelationOptions) error {
	cs, err := r.Correlations(opts)
	if err != nil {
		return err
	}
	p := figure.Plot{Title: "Kendall tau-b with the loss gap (95% bootstrap interval)", XLabel: "measure (in legend order)",
		YLabel: "tau-b", LinearY: true, Width: 7, Height: 5}
	for i, c := range cs {
		x := float64(i + 1)
		p.Series = append(p.Series, figure.Series{Name: c.Measure, X: []float64{x}, Y: []float64{c.Tau},
			YLo: []float64{c.Lo}, YHi: []float64{c.Hi}, Points: true})
	}
	p.Series = append(p.Series, figure.Series{X: []float64{0.5, float64(len(cs)) + 0.5}, Y: []float64{0, 0}, Dashed: true})
	if err := p.Save(dir, "kendall_tau"); err != nil && !errors.Is(err, figure.ErrEmpty) {
		return err
	}
	rows, _ := r.GeometryRows()
	for _, c := range cs {
		sp := figure.Plot{Title: fmt.Sprintf("loss gap vs %s (tau-b %+.2f)", c.Measure, c.Tau), XLabel: c.Measure,
			YLabel: "test loss - train loss", LinearY: true, Width: 7, Height: 5}
		pos := true
		for _, lr := range r.Config.LRs {
			s := figure.Series{Name: fmt.Sprintf("lr=%g", lr), Points: true}
			for _, row := range rows {
				if v, ok := geometryValue(row.Geometry, c.Measure); ok && row.Spec.LR == lr {
					s.X, s.Y = append(s.X, v), append(s.Y, row.LossGap)
					pos = pos && v > 0
				}
			}
			sp.Series = append(sp.Series, s)
		}
		sp.LogX = pos
		if err := sp.Save(dir, "gap_vs_"+fileName(c.Measure)); err != nil && !errors.Is(err, figure.ErrEmpty) {
			return err
		}
	}
	return nil
}

// SaveCorrelations writes correlations.jsonl (WriteCorrelationsJSON) into
// the sweep's directory dir and, if figures, the figures of
// WriteCorrelationFigures into dir/figures.
func (r *Report) SaveCorrelations(dir string, opts CorrelationOptions, figures bool) error {
	write := func(w io.Writer) error { return r.WriteCorrelationsJSON(w, opts) }
	return save(filepath.Join(dir, "correlations.jsonl"), write, figures, func() error {
		return r.WriteCorrelationFigures(filepath.Join(dir, "figures"), opts)
	})
}

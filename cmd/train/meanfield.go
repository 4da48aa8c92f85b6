package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/meanfield"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/sweep"
	"github.com/gradflow/gradflow/tensor"
)

const meanfieldUsage = `usage: train meanfield [flags]

Trains the two-layer network f(x) = alpha(m) sum_i a_i act(w_i.x/sqrt(d) + b_i)
(package meanfield) on a small regression task, a tanh teacher with 8 hidden
units on -n inputs uniform on the sphere of radius sqrt(d), by full-batch
gradient descent at the width-independent rate -lr (each parameter's rate is
lr/(m alpha^2)), for every width m of -widths in each regime of -regime:

  mf    alpha = 1/m        mean field: neurons move O(1), features are learned
  ntk   alpha = 1/sqrt(m)  lazy / NTK: neurons move O(m^-1/2)
  lazy  alpha = A/m        Chizat-Bach lazy scale A = -alpha on top of mean field

It prints, per regime and width, at the last step: the mean per-neuron
displacement (1/m) sum_i |theta_i(T) - theta_i(0)|, the relative weight change,
the kernel drift |Theta_T - Theta_0|_F/|Theta_0|_F, the output RMS at
initialization, the final loss and the sliced W2 distance between the final
particle cloud and the widest one's; then the log-log slopes of each against
the width. Writes, in -out: config.json (the settings, reusable with
-config: keys are the flag names with _ for -, and flags given too override
the file), meanfield.jsonl (per run a {"config": ...} line, then one record
per -every steps), summary.jsonl (the table as JSON lines),
particles/<regime>_m<width>_{init,final}.csv (the neurons (a, w, b) as rows),
and displacement.png/svg (displacement against width, log-log).

examples:
  train meanfield
  train meanfield -regime ntk -widths 64,256,1024,4096 -steps 200
  train meanfield -regime lazy -alpha 16 -symmetric
  train meanfield -regime mf,ntk,lazy -act relu -json
  train meanfield -config out/meanfield/config.json -steps 400 -out out/mf400
`

// mfFlags are the settings of "train meanfield".
type mfFlags struct {
	regimes   string
	alpha     float64
	widths    string
	steps     int
	lr        float64
	seed      uint64
	n, dim    int
	act       string
	every     int
	symmetric bool
	out       string
	json      bool
	noFigures bool
}

func (f *mfFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.regimes, "regime", "mf,ntk", "comma-separated regimes: mf (mean field), ntk, lazy, or all")
	fs.Float64Var(&f.alpha, "alpha", 4, "Chizat-Bach lazy scale A of -regime lazy (alpha(m) = A/m)")
	fs.StringVar(&f.widths, "widths", "64,256,1024,4096", "comma-separated widths m (numbers of neurons)")
	fs.IntVar(&f.steps, "steps", 100, "full-batch gradient steps")
	fs.Float64Var(&f.lr, "lr", 1, "base learning rate eta (scaled per parameter by 1/(m alpha^2))")
	fs.Uint64Var(&f.seed, "seed", 1, "seed of the data and of every network's initialization")
	fs.IntVar(&f.n, "n", 32, "training points")
	fs.IntVar(&f.dim, "dim", 8, "input dimension d")
	fs.StringVar(&f.act, "act", "tanh", "activation: tanh, relu, erf, sigmoid, gelu, silu, softplus, ...")
	fs.IntVar(&f.every, "every", 10, "steps between records in meanfield.jsonl")
	fs.BoolVar(&f.symmetric, "symmetric", false, "symmetric initialization (pairs a, -a): f = 0 at init (needs even widths)")
	fs.StringVar(&f.out, "out", "out/meanfield", "output directory")
	fs.BoolVar(&f.json, "json", false, "print the table as JSON lines on stdout instead")
	fs.BoolVar(&f.noFigures, "no-figures", false, "skip the PNG/SVG figure")
}

// mfRow is one line of the table: one regime and width at the last step.
type mfRow struct {
	Regime       string   `json:"regime"`
	Alpha        float64  `json:"alpha"` // alpha(m), the output scale
	Width        int      `json:"width"`
	Displacement float64  `json:"displacement"`
	WeightChange float64  `json:"weight_change"`
	KernelDrift  float64  `json:"kernel_drift"`
	OutputInit   float64  `json:"output_rms_init"`
	FinalLoss    float64  `json:"final_loss"`
	SW2Widest    *float64 `json:"sw2_to_widest"` // null if the sliced W2 is undefined
}

// mfSlopes holds the log-log slopes against the width of one regime.
type mfSlopes struct {
	Regime string              `json:"regime"`
	Slopes map[string]*float64 `json:"slopes"`
}

// mfMetrics are the columns whose slopes against the width are fitted.
var mfMetrics = []struct {
	name string
	get  func(mfRow) float64
}{
	{"displacement", func(r mfRow) float64 { return r.Displacement }},
	{"weight_change", func(r mfRow) float64 { return r.WeightChange }},
	{"kernel_drift", func(r mfRow) float64 { return r.KernelDrift }},
	{"output_rms_init", func(r mfRow) float64 { return r.OutputInit }},
	{"final_loss", func(r mfRow) float64 { return r.FinalLoss }},
}

// runMeanfield is "train meanfield".
func runMeanfield(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f, scratch mfFlags
	fs := newFlags("meanfield", meanfieldUsage, stderr)
	f.register(fs)
	if _, err := parseWithConfig(fs, args, stdout, scratch.register); err != nil {
		return err
	}
	regimes, err := parseRegimes(f.regimes)
	if err != nil {
		return err
	}
	widths, err := intList("widths", f.widths)
	if err != nil {
		return err
	}
	act, err := nn.ParseActivation(f.act)
	if err != nil {
		return usagef("meanfield: -act: %v", err)
	}
	switch {
	case f.steps <= 0:
		return usagef("meanfield: -steps %d: want a positive number", f.steps)
	case !(f.lr > 0) || math.IsInf(f.lr, 0):
		return usagef("meanfield: -lr %v: want a positive finite rate", f.lr)
	case f.n <= 0 || f.dim <= 0:
		return usagef("meanfield: -n %d, -dim %d: want positive sizes", f.n, f.dim)
	case f.every <= 0:
		return usagef("meanfield: -every %d: want a positive number", f.every)
	case slices.Contains(regimes, meanfield.Lazy) && (!(f.alpha > 0) || math.IsInf(f.alpha, 0)):
		return usagef("meanfield: -alpha %v: the lazy regime needs a positive finite scale", f.alpha)
	}
	if f.symmetric {
		for _, m := range widths {
			if m%2 != 0 {
				return usagef("meanfield: -symmetric pairs the neurons: width %d is odd", m)
			}
		}
	}
	config, err := flagConfig(fs, nil)
	if err != nil {
		return err
	}
	x, y, err := mfTeacher(f.n, f.dim, f.seed)
	if err != nil {
		return usagef("meanfield: %v", err)
	}
	if err := os.MkdirAll(filepath.Join(f.out, "particles"), 0o755); err != nil {
		return usageError{err}
	}
	if err := writeFlagConfig(f.out, config); err != nil {
		return err
	}
	traces, err := os.Create(filepath.Join(f.out, "meanfield.jsonl"))
	if err != nil {
		return err
	}
	defer traces.Close()
	tw := bufio.NewWriter(traces)

	human := stdout
	if f.json {
		human = stderr
	}
	fmt.Fprintf(human, "gradflow meanfield: two-layer %s net on a teacher (n=%d, d=%d, sphere), %d steps at lr %g, seed %d\n",
		act, f.n, f.dim, f.steps, f.lr, f.seed)
	var rows []mfRow
	for _, reg := range regimes {
		var finals []meanfield.Particles
		for _, m := range widths {
			if ctx.Err() != nil {
				return fmt.Errorf("%w: the finished widths are in %s/meanfield.jsonl", errInterrupted, f.out)
			}
			net := meanfield.Config{InputDim: f.dim, Width: m, Activation: act, Regime: reg, Symmetric: f.symmetric}
			if reg == meanfield.Lazy {
				net.Alpha = f.alpha
			}
			tr, err := meanfield.Run(meanfield.RunConfig{Net: net, Seed: f.seed, LR: f.lr, Steps: f.steps, Every: f.every}, x, y)
			if err != nil {
				return err
			}
			if err := tr.WriteJSONL(tw); err != nil {
				return err
			}
			for _, c := range []struct {
				which string
				p     meanfield.Particles
			}{{"init", tr.Initial}, {"final", tr.Final}} {
				if err := writeParticles(filepath.Join(f.out, "particles", fmt.Sprintf("%s_m%d_%s.csv", reg, m, c.which)), c.p); err != nil {
					return err
				}
			}
			last := tr.Last()
			rows = append(rows, mfRow{Regime: string(reg), Alpha: tr.Config.Net.Scale(), Width: m, Displacement: last.Displacement,
				WeightChange: last.WeightChange, KernelDrift: last.KernelDrift, OutputInit: tr.Records[0].OutputRMS, FinalLoss: last.Loss})
			finals = append(finals, tr.Final)
		}
		// How far each width's final particle measure is from the widest
		// one's: in mean field the measures converge as m grows.
		first := len(rows) - len(widths)
		widest := finals[len(finals)-1]
		for i, p := range finals {
			// One seeded source per comparison: every width is measured
			// along the same directions.
			d, err := meanfield.SlicedW2(p.Points, widest.Points, 64, rand.New(rand.NewPCG(f.seed, 0x5712)))
			if err == nil {
				rows[first+i].SW2Widest = finite(d)
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if err := traces.Close(); err != nil {
		return err
	}
	var slopes []mfSlopes
	for _, reg := range regimes {
		s := mfSlopes{Regime: string(reg), Slopes: map[string]*float64{}}
		for _, mt := range mfMetrics {
			var ws, vs []float64
			for _, r := range rows {
				if r.Regime == string(reg) {
					ws = append(ws, float64(r.Width))
					vs = append(vs, mt.get(r))
				}
			}
			s.Slopes[mt.name] = finite(logLogSlope(ws, vs))
		}
		slopes = append(slopes, s)
	}
	summary, err := os.Create(filepath.Join(f.out, "summary.jsonl"))
	if err != nil {
		return err
	}
	err = writeMFSummary(summary, rows, slopes)
	if cerr := summary.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if f.json {
		if err := writeMFSummary(stdout, rows, slopes); err != nil {
			return err
		}
	} else {
		printMFTable(stdout, rows, slopes)
	}
	written := "config.json meanfield.jsonl summary.jsonl particles/*.csv"
	if !f.noFigures {
		if err := mfFigure(f.out, regimes, f.alpha, rows); err != nil {
			return fmt.Errorf("figures: %w", err)
		}
		written += " displacement.png/svg"
	}
	fmt.Fprintf(human, "outputs in %s: %s\n", f.out, written)
	return nil
}

// parseRegimes reads -regime.
func parseRegimes(s string) ([]meanfield.Regime, error) {
	var out []meanfield.Regime
	for _, name := range strings.Split(s, ",") {
		var r []meanfield.Regime
		switch strings.TrimSpace(name) {
		case "mf", "meanfield", "mean-field":
			r = []meanfield.Regime{meanfield.MeanField}
		case "ntk":
			r = []meanfield.Regime{meanfield.NTK}
		case "lazy":
			r = []meanfield.Regime{meanfield.Lazy}
		case "all":
			r = []meanfield.Regime{meanfield.MeanField, meanfield.NTK, meanfield.Lazy}
		default:
			return nil, usagef("meanfield: -regime %q: unknown regime %q (want mf, ntk, lazy or all)", s, strings.TrimSpace(name))
		}
		for _, x := range r {
			if !slices.Contains(out, x) {
				out = append(out, x)
			}
		}
	}
	return out, nil
}

// mfTeacher is the task: n inputs uniform on the sphere of radius sqrt(d)
// (coordinates O(1), as the default input scale 1/sqrt(d) assumes) labelled
// by a random tanh teacher with 8 hidden units.
func mfTeacher(n, d int, seed uint64) (x, y *tensor.Tensor[float64], err error) {
	rng := rand.New(rand.NewPCG(seed, 0xda7a))
	ds, _, err := data.TeacherStudent[float64](rng, n, data.TeacherConfig{Dims: []int{d, 8, 1}, Activation: tensor.Tanh, Inputs: data.SphereInputs})
	if err != nil {
		return nil, nil, err
	}
	r := math.Sqrt(float64(d))
	xs := ds.X.Data()
	for i := range xs {
		xs[i] *= r
	}
	return ds.X, ds.Y, nil
}

func writeParticles(path string, p meanfield.Particles) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	err = p.WriteCSV(w)
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func writeMFSummary(w io.Writer, rows []mfRow, slopes []mfSlopes) error {
	enc := json.NewEncoder(w)
	for _, r := range rows {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	for _, s := range slopes {
		if err := enc.Encode(s); err != nil {
			return err
		}
	}
	return nil
}

// mfTheory is the predicted slope against the width of each metric at a
// fixed training time (package meanfield's documentation and tests; kernel
// drift under NTK scaling is -1 for smooth activations).
var mfTheory = map[meanfield.Regime]string{
	meanfield.MeanField: "theory: displacement, weight change, kernel drift 0; output at init -0.5",
	meanfield.NTK:       "theory: displacement, weight change -0.5; kernel drift -1 (smooth act); output at init 0",
	meanfield.Lazy:      "theory: displacement ~ 1/A at a fixed width (compare two -alpha); output at init -0.5 (0 with -symmetric)",
}

func printMFTable(w io.Writer, rows []mfRow, slopes []mfSlopes) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "regime\twidth\talpha(m)\tdisplacement\tweight change\tkernel drift\toutput@init\tfinal loss\tSW2 to widest\t")
	for _, r := range rows {
		sw := "-"
		if r.SW2Widest != nil {
			sw = fmt.Sprintf("%.4g", *r.SW2Widest)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.4g\t%.4g\t%.4g\t%.4g\t%.4g\t%.4g\t%s\t\n", r.Regime, r.Width, r.Alpha, r.Displacement,
			r.WeightChange, r.KernelDrift, r.OutputInit, r.FinalLoss, sw)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nlog-log slope against the width:")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "regime\t")
	for _, mt := range mfMetrics {
		fmt.Fprintf(tw, "%s\t", mt.name)
	}
	fmt.Fprintln(tw)
	for _, s := range slopes {
		fmt.Fprintf(tw, "%s\t", s.Regime)
		for _, mt := range mfMetrics {
			if v := s.Slopes[mt.name]; v != nil {
				fmt.Fprintf(tw, "%+.3f\t", *v)
			} else {
				fmt.Fprint(tw, "-\t")
			}
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	for _, s := range slopes {
		fmt.Fprintf(w, "  %s %s\n", s.Regime, mfTheory[meanfield.Regime(s.Regime)])
	}
}

// logLogSlope is sweep.LogLogSlope: the power-law exponent of v against x.
func logLogSlope(x, v []float64) float64 { return sweep.LogLogSlope(x, v) }

// mfFigure draws displacement against width on log-log axes, one line per
// regime, into displacement.png and .svg.
func mfFigure(dir string, regimes []meanfield.Regime, lazyScale float64, rows []mfRow) error {
	p := plot.New()
	p.Title.Text = "mean per-neuron displacement at the last step"
	p.X.Label.Text = "width m"
	p.Y.Label.Text = "(1/m) sum |theta_i(T) - theta_i(0)|"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.X.Tick.Marker, p.Y.Tick.Marker = plot.LogTicks{}, plot.LogTicks{}
	var args []any
	for _, reg := range regimes {
		var xy plotter.XYs
		var ws, vs []float64
		for _, r := range rows {
			// A log axis cannot show zero (a network that did not move).
			if r.Regime == string(reg) && r.Displacement > 0 && !math.IsInf(r.Displacement, 0) {
				xy = append(xy, plotter.XY{X: float64(r.Width), Y: r.Displacement})
				ws, vs = append(ws, float64(r.Width)), append(vs, r.Displacement)
			}
		}
		if len(xy) > 0 {
			name := string(reg)
			if reg == meanfield.Lazy {
				name += fmt.Sprintf(" A=%g", lazyScale)
			}
			args = append(args, fmt.Sprintf("%s (slope %+.2f)", name, logLogSlope(ws, vs)), xy)
		}
	}
	if len(args) == 0 {
		return nil
	}
	if err := plotutil.AddLinePoints(p, args...); err != nil {
		return err
	}
	p.Legend.Top = true
	for _, ext := range []string{".png", ".svg"} {
		if err := p.Save(6*vg.Inch, 4*vg.Inch, filepath.Join(dir, "displacement"+ext)); err != nil {
			return err
		}
	}
	return nil
}

package meanfield

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/internal/outfile"
	"github.com/gradflow/gradflow/internal/powerlaw"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/tensor"
)

// StudyConfig is a width-scaling study of the regimes: for every regime of
// Regimes and every width of Widths, one Run on a common task, so that the
// regimes' scaling laws (package documentation) can be read off the slopes
// against the width.
type StudyConfig struct {
	Regimes []Regime `json:"regimes"`
	Widths  []int    `json:"widths"`
	// Alpha is the lazy scale A of the Lazy regime (Config.Alpha); the
	// other regimes do not use it.
	Alpha      float64       `json:"alpha"`
	Activation nn.Activation `json:"activation"` // default tanh
	// Symmetric selects the initialization with f = 0 (Config.Symmetric);
	// the widths must then be even.
	Symmetric bool `json:"symmetric"`
	// The task: N inputs uniform on the sphere of radius sqrt(Dim), so
	// that coordinates are O(1) as the default input scale 1/sqrt(d)
	// assumes, labelled by a random tanh teacher with 8 hidden units.
	N   int `json:"n"`
	Dim int `json:"dim"`
	// Seed seeds the task and every network's initialization: all widths
	// and regimes see the same data, and each run starts from
	// RunConfig.Seed = Seed.
	Seed uint64 `json:"seed"`
	// LR, Steps and Every are each run's RunConfig fields: full-batch
	// gradient descent at the width-independent rate LR.
	LR    float64 `json:"lr"`
	Steps int     `json:"steps"`
	Every int     `json:"every"`
	// Dir, if not empty, receives the raw outputs as the runs finish, so
	// that an interrupted study keeps what it has done: meanfield.jsonl
	// (every run's Trace.WriteJSONL), particles/<regime>_m<width>_init.csv
	// and _final.csv (Particles.WriteCSV), and at the end summary.jsonl
	// (StudyResult.WriteJSONL).
	Dir string `json:"-"`
}

// StudyRow is one regime and width of a study, at the last step.
type StudyRow struct {
	Regime       string  `json:"regime"`
	Alpha        float64 `json:"alpha"` // alpha(m), the output scale
	Width        int     `json:"width"`
	Displacement float64 `json:"displacement"`
	WeightChange float64 `json:"weight_change"`
	KernelDrift  float64 `json:"kernel_drift"`
	OutputInit   float64 `json:"output_rms_init"`
	FinalLoss    float64 `json:"final_loss"`
	// SW2Widest is the sliced W2 distance between this width's final
	// particle measure and the widest one's: in mean field the measures
	// converge as m grows. nil (null) if the distance is undefined.
	SW2Widest *float64 `json:"sw2_to_widest"`
	// Dissipation is the last record's: the rate -dL/dt at which the loss
	// still decreases at the end of the run (Record.Dissipation).
	Dissipation float64 `json:"dissipation"`
}

// StudySlopes holds the log-log slopes against the width of one regime's
// columns, keyed by their JSON names ("displacement", "weight_change",
// "kernel_drift", "output_rms_init", "final_loss"); nil (null) where fewer
// than two widths have a positive, finite value.
type StudySlopes struct {
	Regime string              `json:"regime"`
	Slopes map[string]*float64 `json:"slopes"`
}

// StudyResult is the outcome of Study: a row per regime and width, in the
// order of the configuration, and the slopes of each regime.
type StudyResult struct {
	Config StudyConfig   `json:"config"`
	Rows   []StudyRow    `json:"rows"`
	Slopes []StudySlopes `json:"slopes"`
}

// studyMetrics are the columns whose slopes against the width are fitted,
// in the order of the table.
var studyMetrics = []struct {
	name string
	get  func(StudyRow) float64
}{
	{"displacement", func(r StudyRow) float64 { return r.Displacement }},
	{"weight_change", func(r StudyRow) float64 { return r.WeightChange }},
	{"kernel_drift", func(r StudyRow) float64 { return r.KernelDrift }},
	{"output_rms_init", func(r StudyRow) float64 { return r.OutputInit }},
	{"final_loss", func(r StudyRow) float64 { return r.FinalLoss }},
}

// Study trains the network of every regime and width of cfg with Run, one
// after the other, and measures at the last step: the mean per-neuron
// displacement, the relative weight change, the kernel drift, the output
// RMS at initialization, the final loss, its dissipation rate and the
// sliced W2 distance to the widest network's particles (SlicedW2 over 64 directions drawn from
// PCG(Seed, 0x5712), the same directions for every width). The slopes of
// each regime are powerlaw fits of the columns against the width. The
// result depends only on cfg, bit for bit. Study stops with ctx.Err()
// before a run if ctx is done.
func Study(ctx context.Context, cfg StudyConfig) (*StudyResult, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	x, y, err := teacher(cfg.N, cfg.Dim, cfg.Seed)
	if err != nil {
		return nil, err
	}
	out, err := newStudyOutput(cfg.Dir)
	if err != nil {
		return nil, err
	}
	defer out.close()
	res := &StudyResult{Config: cfg}
	for _, reg := range cfg.Regimes {
		var finals []Particles
		for _, m := range cfg.Widths {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			tr, err := Run(cfg.run(reg, m), x, y)
			if err != nil {
				return nil, err
			}
			if err := out.run(tr, reg, m); err != nil {
				return nil, err
			}
			last := tr.Last()
			res.Rows = append(res.Rows, StudyRow{Regime: string(reg), Alpha: tr.Config.Net.Scale(), Width: m,
				Displacement: last.Displacement, WeightChange: last.WeightChange, KernelDrift: last.KernelDrift,
				OutputInit: tr.Records[0].OutputRMS, FinalLoss: last.Loss, Dissipation: last.Dissipation})
			finals = append(finals, tr.Final)
		}
		res.toWidest(finals)
	}
	res.fitSlopes()
	if err := out.summary(res); err != nil {
		return nil, err
	}
	return res, out.close()
}

// run is the RunConfig of regime reg at width m.
func (c StudyConfig) run(reg Regime, m int) RunConfig {
	net := Config{InputDim: c.Dim, Width: m, Activation: c.Activation, Regime: reg, Symmetric: c.Symmetric}
	if reg == Lazy {
		net.Alpha = c.Alpha
	}
	return RunConfig{Net: net, Seed: c.Seed, LR: c.LR, Steps: c.Steps, Every: c.Every}
}

// validate checks every run of c before the first one starts, so that a
// bad width or scale is not found after an hour of training.
func (c StudyConfig) validate() error {
	switch {
	case len(c.Regimes) == 0:
		return errors.New("meanfield: StudyConfig.Regimes is empty")
	case len(c.Widths) == 0:
		return errors.New("meanfield: StudyConfig.Widths is empty")
	case c.N <= 0 || c.Dim <= 0:
		return fmt.Errorf("meanfield: StudyConfig.N = %d and Dim = %d must be positive", c.N, c.Dim)
	case c.Steps <= 0:
		return fmt.Errorf("meanfield: StudyConfig.Steps = %d must be positive", c.Steps)
	}
	for _, reg := range c.Regimes {
		for _, m := range c.Widths {
			if _, err := c.run(reg, m).Net.withDefaults(); err != nil {
				return err
			}
		}
	}
	return nil
}

// teacher is the task of a study (StudyConfig.N and Dim).
func teacher(n, d int, seed uint64) (x, y *tensor.Tensor[float64], err error) {
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

// toWidest fills SW2Widest of the last len(finals) rows, one regime's,
// whose final particle clouds are finals in order of width.
func (r *StudyResult) toWidest(finals []Particles) {
	first := len(r.Rows) - len(finals)
	widest := finals[len(finals)-1]
	for i, p := range finals {
		// One seeded source per comparison: every width is measured
		// along the same directions.
		d, err := SlicedW2(p.Points, widest.Points, 64, rand.New(rand.NewPCG(r.Config.Seed, 0x5712)))
		if err == nil {
			r.Rows[first+i].SW2Widest = nullable(d)
		}
	}
}

// fitSlopes sets r.Slopes from r.Rows.
func (r *StudyResult) fitSlopes() {
	for _, reg := range r.Config.Regimes {
		s := StudySlopes{Regime: string(reg), Slopes: map[string]*float64{}}
		for _, mt := range studyMetrics {
			var ws, vs []float64
			for _, row := range r.Rows {
				if row.Regime == string(reg) {
					ws = append(ws, float64(row.Width))
					vs = append(vs, mt.get(row))
				}
			}
			s.Slopes[mt.name] = nullable(powerlaw.Slope(ws, vs))
		}
		r.Slopes = append(r.Slopes, s)
	}
}

// nullable returns &v, or nil (JSON null) for a NaN or infinity, which JSON
// cannot represent.
func nullable(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// WriteJSONL writes the rows and then the slopes, one JSON object a line:
// the summary.jsonl of a study and what "train meanfield -json" prints.
func (r *StudyResult) WriteJSONL(w io.Writer) error {
	enc := json.NewEncoder(w)
	for _, row := range r.Rows {
		if err := enc.Encode(row); err != nil {
			return err
		}
	}
	for _, s := range r.Slopes {
		if err := enc.Encode(s); err != nil {
			return err
		}
	}
	return nil
}

// ParseRegimes reads a comma-separated list of regimes as a command line
// takes it: mf (or meanfield, mean-field), ntk, lazy, or all for the three;
// in the order given, each once.
func ParseRegimes(s string) ([]Regime, error) {
	var out []Regime
	for _, name := range strings.Split(s, ",") {
		var r []Regime
		switch strings.TrimSpace(name) {
		case "mf", "meanfield", "mean-field":
			r = []Regime{MeanField}
		case "ntk":
			r = []Regime{NTK}
		case "lazy":
			r = []Regime{Lazy}
		case "all":
			r = []Regime{MeanField, NTK, Lazy}
		default:
			return nil, fmt.Errorf("meanfield: unknown regime %q (want mf, ntk, lazy or all)", strings.TrimSpace(name))
		}
		for _, x := range r {
			if !slices.Contains(out, x) {
				out = append(out, x)
			}
		}
	}
	return out, nil
}

// studyOutput writes the raw outputs of a study into StudyConfig.Dir; the
// nil *studyOutput (no Dir) writes nothing.
type studyOutput struct {
	dir    string
	traces *os.File
	tw     *bufio.Writer
}

func newStudyOutput(dir string) (*studyOutput, error) {
	if dir == "" {
		return nil, nil
	}
	if err := os.MkdirAll(filepath.Join(dir, "particles"), 0o755); err != nil {
		return nil, err
	}
	f, err := os.Create(filepath.Join(dir, "meanfield.jsonl"))
	if err != nil {
		return nil, err
	}
	return &studyOutput{dir: dir, traces: f, tw: bufio.NewWriter(f)}, nil
}

// run appends the trace of a finished run to meanfield.jsonl, flushed so
// that the file holds every finished run if the study is interrupted, and
// writes its particle clouds.
func (o *studyOutput) run(tr *Trace, reg Regime, m int) error {
	if o == nil {
		return nil
	}
	if err := tr.WriteJSONL(o.tw); err != nil {
		return err
	}
	if err := o.tw.Flush(); err != nil {
		return err
	}
	for _, c := range []struct {
		which string
		p     Particles
	}{{"init", tr.Initial}, {"final", tr.Final}} {
		path := filepath.Join(o.dir, "particles", fmt.Sprintf("%s_m%d_%s.csv", reg, m, c.which))
		if err := outfile.Write(path, c.p.WriteCSV); err != nil {
			return err
		}
	}
	return nil
}

func (o *studyOutput) summary(r *StudyResult) error {
	if o == nil {
		return nil
	}
	return outfile.Write(filepath.Join(o.dir, "summary.jsonl"), r.WriteJSONL)
}

// close closes meanfield.jsonl; it may be called again (the deferred call
// after a successful one does nothing).
func (o *studyOutput) close() error {
	if o == nil || o.traces == nil {
		return nil
	}
	err := o.traces.Close()
	o.traces = nil
	return err
}

package sweep

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/internal/figure"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/tensor"
	"github.com/gradflow/gradflow/train"
)

// CoordConfig is a coordinate check (Yang and Hu 2021; Yang et al. 2022,
// the mup library's get_coord_data): for every parameterization, width and
// seed, train an MLP for Steps steps on one fixed batch and record, at t = 1
// (the initialization) to Steps, the mean |h_l| of every layer's output on
// that batch and its change from t = 1.
type CoordConfig struct {
	Dataset           Dataset               `json:"dataset"` // the batch is the whole dataset
	Widths            []int                 `json:"widths"`
	Depth             int                   `json:"depth,omitempty"`      // hidden layers; default 2
	Activation        nn.Activation         `json:"activation,omitempty"` // default relu
	Parameterizations []nn.Parameterization `json:"parameterizations"`
	Seeds             []uint64              `json:"seeds"`
	LR                float64               `json:"lr"`
	Optimizer         string                `json:"optimizer,omitempty"` // sgd (default) or adam
	Steps             int                   `json:"steps,omitempty"`     // default 3
	// Net, if not empty, checks the net this spec template describes
	// instead of an MLP (Config.Net: widths fill its {w} placeholders, so
	// they are channel counts), e.g. CNNCoordSpec. The layers watched are
	// the top-level layer tokens with parameters (and the output); Depth
	// and Activation do not apply.
	Net string `json:"net,omitempty"`
}

// CoordRow is one cell of the coordinate check: means over seeds.
type CoordRow struct {
	Parameterization nn.Parameterization `json:"parameterization"`
	Layer            int                 `json:"layer"` // 0 = first hidden layer; Depth = output
	T                int                 `json:"t"`     // 1 = initialization
	Width            int                 `json:"width"`
	// Name is the layer of a net: its index in the spec and its token in
	// the template, e.g. "2 conv{w}k3p1" (empty for an MLP).
	Name  string  `json:"name,omitempty"`
	Mean  float64 `json:"mean"`  // mean |h_l(t)|
	Delta float64 `json:"delta"` // mean |h_l(t) - h_l(1)|
}

// CoordResult is the outcome of CoordCheck.
type CoordResult struct {
	// Config is the check as run; for a net, Depth is the number of
	// layers watched less one, so that layer Depth is the output.
	Config CoordConfig
	Rows   []CoordRow
	// Layers names the layers of a net (CoordRow.Name); nil for an MLP.
	Layers []string
}

// CoordCheck runs the coordinate check of cfg. In muP every layer's
// coordinate size is flat in the width for every t; in SP with SGD the
// change of the hidden and output coordinates grows with the width (about
// n^1/2 and n for hidden and output under Yang-Hu's analysis) and the
// network blows up at large widths.
func CoordCheck(ctx context.Context, cfg CoordConfig) (*CoordResult, error) {
	if cfg.Depth == 0 && cfg.Net == "" {
		cfg.Depth = 2
	}
	if cfg.Activation == "" && cfg.Net == "" {
		cfg.Activation = nn.ReLU
	}
	if cfg.Steps == 0 {
		cfg.Steps = 3
	}
	if cfg.Optimizer == "" {
		cfg.Optimizer = "sgd"
	}
	c := Config{Dataset: cfg.Dataset, Widths: cfg.Widths, Depth: cfg.Depth, Activation: cfg.Activation,
		Parameterizations: cfg.Parameterizations, Seeds: cfg.Seeds, LRs: []float64{cfg.LR},
		Optimizers: []string{cfg.Optimizer}, Steps: cfg.Steps, KernelEvery: -1, Net: cfg.Net}
	c, err := c.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("coordinate check: %w", err)
	}
	ds, err := makeDataset(c)
	if err != nil {
		return nil, err
	}
	if strings.Contains(cfg.Net, "dropout") {
		return nil, configErrorf("coordinate check: field \"net\": %q has dropout, whose masks would differ between the measuring and the training passes; leave it out", cfg.Net)
	}
	res := &CoordResult{Config: cfg}
	L := cfg.Depth + 1
	if cfg.Net != "" {
		// The layers watched do not depend on the width or the
		// parameterization: the first width's models name them, and
		// building one per parameterization refuses a net one of them
		// does not apply to (mean field) before any training.
		for _, p := range cfg.Parameterizations {
			m, err := buildModel(c, RunSpec{Width: cfg.Widths[0], Parameterization: p, Seed: cfg.Seeds[0], Optimizer: cfg.Optimizer}, ds)
			if err != nil {
				return nil, fmt.Errorf("coordinate check: %w", err)
			}
			res.Layers = m.names
		}
		L = len(res.Layers)
		res.Config.Depth = L - 1
	}
	for _, p := range cfg.Parameterizations {
		for _, w := range cfg.Widths {
			mean := make([]float64, cfg.Steps*L)
			delta := make([]float64, cfg.Steps*L)
			for _, seed := range cfg.Seeds {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				spec := RunSpec{Width: w, Parameterization: p, Seed: seed, LR: cfg.LR, Optimizer: cfg.Optimizer}
				cc := &coordCallback{mean: mean, delta: delta, layers: L, seeds: float64(len(cfg.Seeds)), x: ds.X}
				if err := coordRun(ctx, c, spec, ds, cc); err != nil {
					return nil, fmt.Errorf("coordinate check: %s width %d seed %d: %w", p, w, seed, err)
				}
			}
			for t := range cfg.Steps {
				for l := range L {
					row := CoordRow{Parameterization: p, Layer: l, T: t + 1, Width: w, Mean: mean[t*L+l], Delta: delta[t*L+l]}
					if res.Layers != nil {
						row.Name = res.Layers[l]
					}
					res.Rows = append(res.Rows, row)
				}
			}
		}
	}
	return res, nil
}

// coordRun trains the run spec of c on the whole of ds for c.Steps-1 steps
// (train.Trainer's steps), with cc measuring the coordinates at the
// initialization and after every step.
func coordRun(ctx context.Context, c Config, spec RunSpec, ds *data.Dataset[float64], cc *coordCallback) error {
	model, err := buildModel(c, spec, ds)
	if err != nil {
		return err
	}
	cc.model = model
	cc.measure(0)
	if c.Steps <= 1 {
		return nil
	}
	opt, err := newOptimizer(spec, model.Params())
	if err != nil {
		return err
	}
	loader, err := data.NewLoader(ds, data.LoaderConfig{BatchSize: ds.Len()})
	if err != nil {
		return err
	}
	tr, err := train.New(train.Config[float64]{Model: model.Module, Loss: lossFor(ds), Optimizer: opt, Train: loader,
		Steps: c.Steps - 1, Callbacks: []train.Callback[float64]{cc}})
	if err != nil {
		return err
	}
	_, err = tr.Run(ctx)
	var div *train.DivergenceError
	if errors.As(err, &div) {
		// The network blew up, which is what a coordinate check of SP at
		// a large rate is there to show: the coordinates from the step
		// that could not be taken on are infinite.
		cc.blowUp(div.Step)
		return nil
	}
	return err
}

// blowUp adds +Inf to the cells of t = from, ..., the last.
func (cc *coordCallback) blowUp(from int) {
	for i := from * cc.layers; i < len(cc.mean); i++ {
		cc.mean[i] += math.Inf(1)
		cc.delta[i] += math.Inf(1)
	}
}

// coordCallback adds, after step t, mean |h_l| and mean |h_l - h_l(0)| of
// every layer l on x, divided by the number of seeds, to mean[t*layers+l]
// and delta[t*layers+l].
type coordCallback struct {
	model       *runModel
	x           *tensor.Tensor[float64]
	mean, delta []float64
	layers      int
	seeds       float64
	tape        *autograd.Tape[float64]
	hs          []*autograd.Var[float64]
	h0          [][]float64
}

func (cc *coordCallback) measure(t int) {
	if cc.tape == nil {
		cc.tape = autograd.NewTape[float64]()
		cc.tape.SetGradEnabled(false)
	}
	cc.tape.Reset()
	cc.hs = cc.model.forwardLayers(cc.hs, cc.tape, cc.tape.Const(cc.x))
	if t == 0 {
		cc.h0 = cc.h0[:0]
		for _, h := range cc.hs {
			cc.h0 = append(cc.h0, append([]float64(nil), h.Value().Data()...))
		}
	}
	for l, h := range cc.hs {
		var s, d float64
		for i, v := range h.Value().Data() {
			s += math.Abs(v)
			d += math.Abs(v - cc.h0[l][i])
		}
		n := float64(h.Value().Len()) * cc.seeds
		cc.mean[t*cc.layers+l] += s / n
		cc.delta[t*cc.layers+l] += d / n
	}
}

// OnStep implements train.Callback.
func (cc *coordCallback) OnStep(s *train.Step[float64]) error {
	cc.measure(s.Step)
	return nil
}

// OnRecord implements train.Callback.
func (*coordCallback) OnRecord(*train.Record) error { return nil }

// Value returns the row for (p, layer, t, width); ok is false if absent.
func (r *CoordResult) Value(p nn.Parameterization, layer, t, width int) (row CoordRow, ok bool) {
	for _, x := range r.Rows {
		if x.Parameterization == p && x.Layer == layer && x.T == t && x.Width == width {
			return x, true
		}
	}
	return CoordRow{}, false
}

// WriteTable writes the check as a table: one line per parameterization,
// layer and t, one column per width holding mean |h| (and the change from
// t = 1 in parentheses).
func (r *CoordResult) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "param\tlayer\tt")
	for _, wd := range r.Config.Widths {
		fmt.Fprintf(tw, "\tn=%d", wd)
	}
	fmt.Fprintln(tw)
	for _, p := range r.Config.Parameterizations {
		for l := 0; l <= r.Config.Depth; l++ {
			for t := 1; t <= r.Config.Steps; t++ {
				fmt.Fprintf(tw, "%s\t%s\t%d", p, r.layerLabel(l), t)
				for _, wd := range r.Config.Widths {
					row, _ := r.Value(p, l, t, wd)
					fmt.Fprintf(tw, "\t%.4g (%.3g)", row.Mean, row.Delta)
				}
				fmt.Fprintln(tw)
			}
		}
	}
	return tw.Flush()
}

// WriteFigures writes, for every parameterization, coordcheck_<p>.png and
// .svg: mean |h_l(t)| against the width on log-log axes, one line per layer
// and t, as the mup library's plot_coord_data. Non-positive and non-finite
// values (a network that blew up) cannot be drawn on a log axis and are left
// out; a parameterization with none left gets no figure.
func (r *CoordResult) WriteFigures(dir string) error {
	for _, p := range r.Config.Parameterizations {
		fig := sweepFigure("coordinate check, "+string(p)+" "+r.Config.Optimizer, "width", "mean |h|", true)
		for l := 0; l <= r.Config.Depth; l++ {
			for t := 1; t <= r.Config.Steps; t++ {
				s := figure.Series{Name: fmt.Sprintf("layer %s t=%d", r.layerLabel(l), t)}
				for _, wd := range r.Config.Widths {
					row, _ := r.Value(p, l, t, wd)
					s.X, s.Y = append(s.X, float64(wd)), append(s.Y, row.Mean)
				}
				fig.Series = append(fig.Series, s)
			}
		}
		if err := fig.Save(dir, "coordcheck_"+string(p)); err != nil && !errors.Is(err, figure.ErrEmpty) {
			return err
		}
	}
	return nil
}

// layerLabel is layer l's label in tables and figures: its number for an
// MLP, its name (index and token) for a net.
func (r *CoordResult) layerLabel(l int) string {
	if l < len(r.Layers) {
		return r.Layers[l]
	}
	return strconv.Itoa(l)
}

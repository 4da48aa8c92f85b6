package sweep

import (
	"context"
	"fmt"
	"io"
	"math"
	"text/tabwriter"

	"gonum.org/v1/plot/plotter"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/nn"
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
}

// CoordRow is one cell of the coordinate check: means over seeds.
type CoordRow struct {
	Parameterization nn.Parameterization `json:"parameterization"`
	Layer            int                 `json:"layer"` // 0 = first hidden layer; Depth = output
	T                int                 `json:"t"`     // 1 = initialization
	Width            int                 `json:"width"`
	Mean             float64             `json:"mean"`  // mean |h_l(t)|
	Delta            float64             `json:"delta"` // mean |h_l(t) - h_l(1)|
}

// CoordResult is the outcome of CoordCheck.
type CoordResult struct {
	Config CoordConfig
	Rows   []CoordRow
}

// CoordCheck runs the coordinate check of cfg. In muP every layer's
// coordinate size is flat in the width for every t; in SP with SGD the
// change of the hidden and output coordinates grows with the width (about
// n^1/2 and n for hidden and output under Yang-Hu's analysis) and the
// network blows up at large widths.
func CoordCheck(ctx context.Context, cfg CoordConfig) (*CoordResult, error) {
	if cfg.Depth == 0 {
		cfg.Depth = 2
	}
	if cfg.Activation == "" {
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
		Optimizers: []string{cfg.Optimizer}, Steps: cfg.Steps, KernelEvery: -1}
	c, err := c.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("coordinate check: %w", err)
	}
	ds, err := makeDataset(c)
	if err != nil {
		return nil, err
	}
	labels := intLabels(ds.Labels)
	res := &CoordResult{Config: cfg}
	L := cfg.Depth + 1
	for _, p := range cfg.Parameterizations {
		for _, w := range cfg.Widths {
			mean := make([]float64, cfg.Steps*L)
			delta := make([]float64, cfg.Steps*L)
			for _, seed := range cfg.Seeds {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				spec := RunSpec{Width: w, Parameterization: p, Seed: seed, LR: cfg.LR, Optimizer: cfg.Optimizer}
				model, err := NewModel(c, spec, ds.Dim(), outputs(ds))
				if err != nil {
					return nil, err
				}
				opt, err := newOptimizer(spec, model.Params())
				if err != nil {
					return nil, err
				}
				tape := autograd.NewTape[float64]()
				var layers []*autograd.Var[float64]
				var h1 [][]float64
				for t := range cfg.Steps {
					tape.Reset()
					layers = model.ForwardLayers(layers, tape, tape.Const(ds.X))
					if t == 0 {
						for _, h := range layers {
							h1 = append(h1, append([]float64(nil), h.Value().Data()...))
						}
					}
					for l, h := range layers {
						var s, d float64
						for i, v := range h.Value().Data() {
							s += math.Abs(v)
							d += math.Abs(v - h1[l][i])
						}
						n := float64(h.Value().Len()) * float64(len(cfg.Seeds))
						mean[t*L+l] += s / n
						delta[t*L+l] += d / n
					}
					if t == cfg.Steps-1 {
						break
					}
					loss := lossOf(tape, layers[L-1], ds.Y, labels)
					opt.ZeroGrad()
					tape.Backward(loss)
					opt.Step()
				}
			}
			for t := range cfg.Steps {
				for l := range L {
					res.Rows = append(res.Rows, CoordRow{Parameterization: p, Layer: l, T: t + 1, Width: w, Mean: mean[t*L+l], Delta: delta[t*L+l]})
				}
			}
		}
	}
	return res, nil
}

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
				fmt.Fprintf(tw, "%s\t%d\t%d", p, l, t)
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
// and t, as the mup library's plot_coord_data.
func (r *CoordResult) WriteFigures(dir string) error {
	for _, p := range r.Config.Parameterizations {
		var lines []series
		for l := 0; l <= r.Config.Depth; l++ {
			for t := 1; t <= r.Config.Steps; t++ {
				var xy plotter.XYs
				for _, wd := range r.Config.Widths {
					row, _ := r.Value(p, l, t, wd)
					xy = append(xy, plotter.XY{X: float64(wd), Y: row.Mean})
				}
				lines = append(lines, series{fmt.Sprintf("layer %d t=%d", l, t), xy})
			}
		}
		if err := savePlot(dir, "coordcheck_"+string(p), "coordinate check, "+string(p)+" "+r.Config.Optimizer, "width", "mean |h|", true, true, lines); err != nil {
			return err
		}
	}
	return nil
}

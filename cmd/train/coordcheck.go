package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/sweep"
)

const coordcheckUsage = `usage: train coordcheck [flags]

The muP coordinate check (Yang and Hu 2021; the mup library's
get_coord_data, package sweep's CoordCheck): for every parameterization of
-param and every width of -widths, an MLP with -depth hidden layers of that
width trains for -steps steps of -opt on one fixed batch (a tanh teacher's
-n points) and the mean |h_l| of every layer's output on that batch is
recorded at t = 1 (the initialization) .. -steps, averaged over -seeds seeds.
In muP every row is flat in the width; in standard parameterization with SGD
the change of the hidden and output coordinates grows with the width and the
network blows up.

Prints the table (mean |h| per parameterization, layer, t and width, with the
change from t = 1 in parentheses) and the log-log slope against the width at
the last step, and writes in -out: config.json (the settings, reusable with
-config: keys are the flag names with _ for -, and flags given too override
the file), coordcheck.jsonl (one JSON line per cell) and
coordcheck_<param>.png/svg (mean |h| against width, one line per layer and
t).

examples:
  train coordcheck
  train coordcheck -param mup -widths 256,512,1024,2048 -seeds 5
  train coordcheck -param mup,sp -opt adam -lr 0.01
  train coordcheck -config out/coordcheck/config.json -seeds 8 -out out/cc8
`

// ccFlags are the settings of "train coordcheck".
type ccFlags struct {
	params    string
	widths    string
	steps     int
	seeds     int
	lr        float64
	opt       string
	depth     int
	act       string
	n, dim    int
	out       string
	json      bool
	noFigures bool
}

func (f *ccFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.params, "param", "mup,sp", "comma-separated parameterizations: mup, sp, ntk, mf")
	fs.StringVar(&f.widths, "widths", "128,256,512,1024,2048", "comma-separated hidden widths")
	fs.IntVar(&f.steps, "steps", 3, "number of times t = 1 (init) .. steps at which activations are measured")
	fs.IntVar(&f.seeds, "seeds", 4, "number of seeds (1..seeds) averaged over")
	fs.Float64Var(&f.lr, "lr", 0.1, "base learning rate (scaled per layer by the parameterization)")
	fs.StringVar(&f.opt, "opt", "sgd", "optimizer: sgd | adam")
	fs.IntVar(&f.depth, "depth", 2, "hidden layers")
	fs.StringVar(&f.act, "act", "relu", "activation: relu, tanh, gelu, ...")
	fs.IntVar(&f.n, "n", 32, "batch size (points of the teacher task)")
	fs.IntVar(&f.dim, "dim", 8, "input dimension")
	fs.StringVar(&f.out, "out", "out/coordcheck", "output directory")
	fs.BoolVar(&f.json, "json", false, "print the cells as JSON lines on stdout instead of the table")
	fs.BoolVar(&f.noFigures, "no-figures", false, "skip the PNG/SVG figures")
}

// runCoordCheck is "train coordcheck".
func runCoordCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f, scratch ccFlags
	fs := newFlags("coordcheck", coordcheckUsage, stderr)
	f.register(fs)
	if _, err := parseWithConfig(fs, args, stdout, scratch.register); err != nil {
		return err
	}
	params, err := parseParams(f.params)
	if err != nil {
		return err
	}
	widths, err := intList("widths", f.widths)
	if err != nil {
		return err
	}
	act, err := nn.ParseActivation(f.act)
	if err != nil {
		return usagef("coordcheck: -act: %v", err)
	}
	switch {
	case f.steps < 1:
		return usagef("coordcheck: -steps %d: want at least 1", f.steps)
	case f.seeds < 1:
		return usagef("coordcheck: -seeds %d: want at least 1", f.seeds)
	case !(f.lr > 0) || math.IsInf(f.lr, 0):
		return usagef("coordcheck: -lr %v: want a positive finite rate", f.lr)
	case f.opt != "sgd" && f.opt != "adam":
		return usagef("coordcheck: -opt %q: want sgd or adam", f.opt)
	case f.depth < 1:
		return usagef("coordcheck: -depth %d: want at least 1 hidden layer", f.depth)
	case f.n <= 0 || f.dim <= 0:
		return usagef("coordcheck: -n %d, -dim %d: want positive sizes", f.n, f.dim)
	}
	config, err := flagConfig(fs, nil)
	if err != nil {
		return err
	}
	seeds := make([]uint64, f.seeds)
	for i := range seeds {
		seeds[i] = uint64(i + 1)
	}
	cfg := sweep.CoordConfig{Dataset: sweep.Dataset{Kind: "teacher", N: f.n, Dim: f.dim, Seed: 1}, Widths: widths, Depth: f.depth,
		Activation: act, Parameterizations: params, Seeds: seeds, LR: f.lr, Optimizer: f.opt, Steps: f.steps}
	human := stdout
	if f.json {
		human = stderr
	}
	fmt.Fprintf(human, "gradflow coordcheck: MLP %d-[%d hidden x width]-1 %s, %s lr %g, t = 1..%d, %d seeds\n",
		f.dim, f.depth, act, f.opt, f.lr, f.steps, f.seeds)
	res, err := sweep.CoordCheck(ctx, cfg)
	if ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return fmt.Errorf("%w: coordinate check stopped before it finished", errInterrupted)
	}
	if err != nil {
		// The flags were checked above; what remains is a setting the
		// sweep package refuses, still the user's to change.
		return usageError{err}
	}
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return usageError{err}
	}
	if err := writeFlagConfig(f.out, config); err != nil {
		return err
	}
	file, err := os.Create(filepath.Join(f.out, "coordcheck.jsonl"))
	if err != nil {
		return err
	}
	err = writeCoordRows(file, res)
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if f.json {
		if err := writeCoordRows(stdout, res); err != nil {
			return err
		}
	} else {
		if err := res.WriteTable(stdout); err != nil {
			return err
		}
		printCoordSlopes(stdout, res)
	}
	written := "config.json coordcheck.jsonl"
	if !f.noFigures {
		if err := res.WriteFigures(f.out); err != nil {
			return fmt.Errorf("figures: %w", err)
		}
		written += " coordcheck_<param>.png/svg"
	}
	fmt.Fprintf(human, "outputs in %s: %s\n", f.out, written)
	return nil
}

// parseParams reads -param.
func parseParams(s string) ([]nn.Parameterization, error) {
	names := map[string]nn.Parameterization{"sp": nn.Standard, "standard": nn.Standard, "ntk": nn.NTK,
		"mf": nn.MeanField, "meanfield": nn.MeanField, "mup": nn.MuP}
	var out []nn.Parameterization
	for _, name := range strings.Split(s, ",") {
		p, ok := names[strings.TrimSpace(name)]
		if !ok {
			return nil, usagef("coordcheck: -param %q: unknown parameterization %q (want mup, sp, ntk or mf)", s, strings.TrimSpace(name))
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

func writeCoordRows(w io.Writer, r *sweep.CoordResult) error {
	enc := json.NewEncoder(w)
	for _, row := range r.Rows {
		// A blown-up network (SP at large widths) has infinite or NaN
		// coordinates, which JSON cannot hold.
		line := struct {
			sweep.CoordRow
			Mean  *float64 `json:"mean"`
			Delta *float64 `json:"delta"`
		}{row, finite(row.Mean), finite(row.Delta)}
		if err := enc.Encode(line); err != nil {
			return err
		}
	}
	return nil
}

// printCoordSlopes summarizes the table by the log-log slope against the
// width of every layer's mean |h| and of its change at the last step: about
// 0 everywhere is what muP promises.
func printCoordSlopes(w io.Writer, r *sweep.CoordResult) {
	last := r.Config.Steps
	fmt.Fprintf(w, "\nlog-log slope against the width at t = %d (muP: about 0):\n", last)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "param\tlayer\tmean |h|\tchange |h(t)-h(1)|")
	ws := make([]float64, len(r.Config.Widths))
	for i, wd := range r.Config.Widths {
		ws[i] = float64(wd)
	}
	for _, p := range r.Config.Parameterizations {
		for l := 0; l <= r.Config.Depth; l++ {
			means := make([]float64, len(ws))
			deltas := make([]float64, len(ws))
			for i, wd := range r.Config.Widths {
				row, _ := r.Value(p, l, last, wd)
				means[i], deltas[i] = row.Mean, row.Delta
			}
			name := fmt.Sprint(l)
			if l == r.Config.Depth {
				name += " (output)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p, name, fmtSlope(logLogSlope(ws, means)), fmtSlope(logLogSlope(ws, deltas)))
		}
	}
	tw.Flush()
}

func fmtSlope(s float64) string {
	if math.IsNaN(s) {
		return "-"
	}
	return fmt.Sprintf("%+.3f", s)
}

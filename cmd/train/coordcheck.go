package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"

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

// ccFlags are the settings of "train coordcheck": the check's fields that
// a flag sets directly, and the flags that need parsing.
type ccFlags struct {
	sweep.CoordConfig
	params, widths, act, out string
	seeds                    int
	json, noFigures          bool
}

func (f *ccFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.params, "param", "mup,sp", "comma-separated parameterizations: mup, sp, ntk, mf")
	fs.StringVar(&f.widths, "widths", "128,256,512,1024,2048", "comma-separated hidden widths")
	fs.IntVar(&f.Steps, "steps", 3, "number of times t = 1 (init) .. steps at which activations are measured")
	fs.IntVar(&f.seeds, "seeds", 4, "number of seeds (1..seeds) averaged over")
	fs.Float64Var(&f.LR, "lr", 0.1, "base learning rate (scaled per layer by the parameterization)")
	fs.StringVar(&f.Optimizer, "opt", "sgd", "optimizer: sgd | adam")
	fs.IntVar(&f.Depth, "depth", 2, "hidden layers")
	fs.StringVar(&f.act, "act", "relu", "activation: relu, tanh, gelu, ...")
	fs.IntVar(&f.Dataset.N, "n", 32, "batch size (points of the teacher task)")
	fs.IntVar(&f.Dataset.Dim, "dim", 8, "input dimension")
	fs.StringVar(&f.out, "out", "out/coordcheck", "output directory")
	fs.BoolVar(&f.json, "json", false, "print the cells as JSON lines on stdout instead of the table")
	fs.BoolVar(&f.noFigures, "no-figures", false, "skip the PNG/SVG figures")
}

// runCoordCheck is "train coordcheck": the check is sweep.CoordCheck; this
// checks the flags, records them, writes and prints the result.
func runCoordCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f, scratch ccFlags
	fs := newFlags("coordcheck", coordcheckUsage, stderr)
	f.register(fs)
	if _, err := parseWithConfig(fs, args, stdout, scratch.register); err != nil {
		return err
	}
	if err := f.check(); err != nil {
		return err
	}
	config, err := flagConfig(fs, nil)
	if err != nil {
		return err
	}
	human := humanOut(f.json, stdout, stderr)
	fmt.Fprintf(human, "gradflow coordcheck: MLP %d-[%d hidden x width]-1 %s, %s lr %g, t = 1..%d, %d seeds\n",
		f.Dataset.Dim, f.Depth, f.Activation, f.Optimizer, f.LR, f.Steps, f.seeds)
	res, err := sweep.CoordCheck(ctx, f.CoordConfig)
	if ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return fmt.Errorf("%w: coordinate check stopped before it finished", errInterrupted)
	}
	if err != nil {
		// The flags were checked above; what remains is a setting the
		// sweep package refuses, still the user's to change.
		return usageError{err}
	}
	if err := prepareOut(f.out, config); err != nil {
		return err
	}
	if err := res.Save(f.out, !f.noFigures); err != nil {
		return err
	}
	if f.json {
		err = res.WriteJSONL(stdout)
	} else if err = res.WriteTable(stdout); err == nil {
		err = res.WriteSlopes(stdout)
	}
	if err != nil {
		return err
	}
	written := "config.json coordcheck.jsonl"
	if !f.noFigures {
		written += " coordcheck_<param>.png/svg"
	}
	fmt.Fprintf(human, "outputs in %s: %s\n", f.out, written)
	return nil
}

// check checks the flags and completes the coordinate check they
// describe (on a regression teacher's batch, seeds 1..-seeds); the errors
// name the flag at fault.
func (f *ccFlags) check() (err error) {
	if f.Parameterizations, err = sweep.ParseParameterizations(f.params); err != nil {
		return usagef("coordcheck: -param %q: %v", f.params, err)
	}
	if f.Widths, err = intList("widths", f.widths); err != nil {
		return err
	}
	if f.Activation, err = nn.ParseActivation(f.act); err != nil {
		return usagef("coordcheck: -act: %v", err)
	}
	switch {
	case f.Steps < 1:
		return usagef("coordcheck: -steps %d: want at least 1", f.Steps)
	case f.seeds < 1:
		return usagef("coordcheck: -seeds %d: want at least 1", f.seeds)
	case !(f.LR > 0) || math.IsInf(f.LR, 0):
		return usagef("coordcheck: -lr %v: want a positive finite rate", f.LR)
	case f.Optimizer != "sgd" && f.Optimizer != "adam":
		return usagef("coordcheck: -opt %q: want sgd or adam", f.Optimizer)
	case f.Depth < 1:
		return usagef("coordcheck: -depth %d: want at least 1 hidden layer", f.Depth)
	case f.Dataset.N <= 0 || f.Dataset.Dim <= 0:
		return usagef("coordcheck: -n %d, -dim %d: want positive sizes", f.Dataset.N, f.Dataset.Dim)
	}
	f.Dataset.Kind, f.Dataset.Seed = "teacher", 1
	f.Seeds = make([]uint64, f.seeds)
	for i := range f.Seeds {
		f.Seeds[i] = uint64(i + 1)
	}
	return nil
}

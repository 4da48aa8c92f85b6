package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"

	"github.com/gradflow/gradflow/internal/progress"
	"github.com/gradflow/gradflow/internal/settings"
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

With -arch cnn the check is the mup paper's on a convolutional net: the
widths are the channel counts w of the CNN (package sweep's CNNCoordSpec)

  conv{w}k3p1-relu-conv{w}k3p1-relu-maxpool2-flatten-fc10

trained on the first -n embedded 8x8 digits (pixels/16) with cross entropy,
and the layers are the outputs of the convolutions (after their ReLU) and
of the readout. Its defaults are Adam's, where SP's growth shows after one
step: -opt adam -lr 0.01 -widths 8,16,32,64,128 -seeds 3 -n 64 (flags given
override them); -depth, -act and -dim do not apply. -arch also takes any
net spec template (the grammar of "train fit -arch", with {w} and {Kw}
standing for the width and K times it), e.g.
conv{w}k3p1-bn-relu-res(conv{w}k3p1-bn-relu-conv{w}k3p1-bn)-relu-gap-fc10.
The parameterizations are nn.NewNetWith's (fan_in of a conv = in_channels x
kernel area; mf only for two weight layers). With -json the net check
prints its rows and then one summary line {"summary": ...} with the slopes.

examples:
  train coordcheck
  train coordcheck -param mup -widths 256,512,1024,2048 -seeds 5
  train coordcheck -param mup,sp -opt adam -lr 0.01
  train coordcheck -config out/coordcheck/config.json -seeds 8 -out out/cc8
  train coordcheck -arch cnn
  train coordcheck -arch cnn -opt sgd -lr 0.1 -widths 8,16,32,64
`

// ccFlags are the settings of "train coordcheck"; check checks them and
// returns the coordinate check they describe.
type ccFlags struct {
	Arch      string  `json:"arch" help:"model: mlp | cnn (sweep.CNNCoordSpec on 8x8 digits) | a net spec template with {w} for the width, e.g. conv{w}k3p1-relu-gap-fc10"`
	Param     string  `json:"param" help:"comma-separated parameterizations: mup, sp, ntk, mf"`
	Widths    string  `json:"widths" help:"comma-separated hidden widths"`
	Steps     int     `json:"steps" help:"number of times t = 1 (init) .. steps at which activations are measured"`
	Seeds     int     `json:"seeds" help:"number of seeds (1..seeds) averaged over"`
	LR        float64 `json:"lr" help:"base learning rate (scaled per layer by the parameterization)"`
	Opt       string  `json:"opt" help:"optimizer: sgd | adam"`
	Depth     int     `json:"depth" help:"hidden layers"`
	Act       string  `json:"act" help:"activation: relu, tanh, gelu, ..."`
	N         int     `json:"n" help:"batch size (points of the teacher task)"`
	Dim       int     `json:"dim" help:"input dimension"`
	Out       string  `json:"out" help:"output directory"`
	JSON      bool    `json:"json" help:"print the cells as JSON lines on stdout instead of the table"`
	NoFigures bool    `json:"no_figures" help:"skip the PNG/SVG figures"`
}

// runCoordCheck is "train coordcheck": the check is sweep.CoordCheck; this
// checks the flags, records them, writes and prints the result.
func runCoordCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := ccFlags{Arch: "mlp", Param: "mup,sp", Widths: "128,256,512,1024,2048", Steps: 3, Seeds: 4, LR: 0.1, Opt: "sgd",
		Depth: 2, Act: "relu", N: 32, Dim: 8, Out: "out/coordcheck"}
	fs := newFlags("coordcheck", coordcheckUsage, stderr)
	settings.Bind(fs, &f)
	fromFile, mode, err := parseWithConfig(fs, &f, args, stdout)
	if err != nil {
		return err
	}
	given := maps.Clone(fromFile)
	fs.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	if err := f.netDefaults(given); err != nil {
		return err
	}
	cc, err := f.check()
	if err != nil {
		return err
	}
	if cc.Net != "" {
		return runNetCoordCheck(ctx, f, cc, mode, stdout, stderr)
	}
	// An MLP check records the settings it always did: -arch mlp is left
	// out of config.json.
	config, err := configJSON("coordcheck", &f, func(name string) bool { return name == "arch" })
	if err != nil {
		return err
	}
	rd, err := openOut("coordcheck", f.Out, mode)
	if err != nil {
		return err
	}
	defer rd.Close()
	human := humanOut(f.JSON, stdout, stderr)
	fmt.Fprintf(human, "gradflow coordcheck: MLP %d-[%d hidden x width]-1 %s, %s lr %g, t = 1..%d, %d seeds\n",
		f.Dim, f.Depth, cc.Activation, f.Opt, f.LR, f.Steps, f.Seeds)
	stop := progress.New(stderr).Busy(fmt.Sprintf("coordcheck: training %d widths x %d parameterizations x %d seeds", len(cc.Widths), len(cc.Parameterizations), f.Seeds))
	res, err := sweep.CoordCheck(ctx, cc)
	stop()
	if ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return fmt.Errorf("%w: coordinate check stopped before it finished", errInterrupted)
	}
	if err != nil {
		// The flags were checked above; what remains is a setting the
		// sweep package refuses, still the user's to change.
		return usageError{err}
	}
	if err := rd.Begin(config); err != nil {
		return err
	}
	if err := rd.Stage(func(dir string) error { return res.Save(dir, !f.NoFigures) }); err != nil {
		return err
	}
	if f.JSON {
		err = res.WriteJSONL(stdout)
	} else if err = res.WriteTable(stdout); err == nil {
		err = res.WriteSlopes(stdout)
	}
	if err != nil {
		return err
	}
	written := "config.json coordcheck.jsonl"
	if !f.NoFigures {
		written += " coordcheck_<param>.png/svg"
	}
	fmt.Fprintf(human, "outputs in %s: %s\n", f.Out, written)
	return nil
}

// check checks the flags and returns the coordinate check they describe
// (on a regression teacher's batch, seeds 1..-seeds); the errors name the
// flag at fault.
func (f *ccFlags) check() (cc sweep.CoordConfig, err error) {
	if f.Arch != "mlp" {
		return f.checkNet()
	}
	if cc.Parameterizations, err = sweep.ParseParameterizations(f.Param); err != nil {
		return cc, usagef("coordcheck: -param %q: %v", f.Param, err)
	}
	if cc.Widths, err = intList("widths", f.Widths); err != nil {
		return cc, err
	}
	if cc.Activation, err = nn.ParseActivation(f.Act); err != nil {
		return cc, usagef("coordcheck: -act: %v", err)
	}
	err = checkRules("coordcheck",
		rule{f.Steps < 1, fmt.Sprintf("-steps %d: want at least 1", f.Steps)},
		rule{f.Seeds < 1, fmt.Sprintf("-seeds %d: want at least 1", f.Seeds)},
		rule{!positive(f.LR), fmt.Sprintf("-lr %v: want a positive finite rate", f.LR)},
		rule{f.Opt != "sgd" && f.Opt != "adam", fmt.Sprintf("-opt %q: want sgd or adam", f.Opt)},
		rule{f.Depth < 1, fmt.Sprintf("-depth %d: want at least 1 hidden layer", f.Depth)},
		rule{f.N <= 0 || f.Dim <= 0, fmt.Sprintf("-n %d, -dim %d: want positive sizes", f.N, f.Dim)},
	)
	cc.Dataset = sweep.Dataset{Kind: "teacher", Seed: 1, N: f.N, Dim: f.Dim}
	cc.Depth, cc.LR, cc.Optimizer, cc.Steps = f.Depth, f.LR, f.Opt, f.Steps
	for i := range f.Seeds {
		cc.Seeds = append(cc.Seeds, uint64(i+1))
	}
	return cc, err
}

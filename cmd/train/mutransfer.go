package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/gradflow/gradflow/internal/progress"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/sweep"
)

const mutransferUsage = `usage: train mutransfer [flags]

muTransfer (Yang et al. 2021, "Tensor Programs V", Figure 1; package sweep's
MuTransfer): for every parameterization of -param, optimizer of -opt and width
of -widths, an MLP with -depth hidden layers trains for -steps steps (batches
of -batch from the first -n UCI digits, cosine-annealed learning rate) at
every learning rate of a half-octave grid, once per seed; the training loss
on the -n digits at the end locates the optimal learning rate of each width
(vertex of a parabola in log2 lr around the best grid rate, 95% bootstrap
interval over the seeds). Under muP the optimum stays put as the width grows;
under the standard parameterization (SP) with Adam it falls like 1/width.

Prints per parameterization, optimizer and width the optimal log2 learning
rate with its interval and the loss there, then the drift of the optimum
over the width range (max - min, octaves), its slope in octaves per doubling
of the width, and whether wider is better (loss at the optimum, strictly
and within twice the seeds' standard error, and at each fixed rate,
non-increasing in the width). With -json, stdout carries JSON
lines only: one per measurement with a "kind" (loss, optimum, transfer) and
last {"kind":"summary", "mup_drift_octaves":..., "sp_drift_octaves":...}
(Adam). Writes, in -out: config.json (the settings, reusable with -config),
mutransfer.jsonl (the same lines) and mutransfer_<param>_<opt>.png/svg (loss
against log2 lr, one curve per width).

-lrs sets a grid as param/opt=LO:HI (log2 bounds, comma-separated for several
pairs); pairs not named get the default grid. -base-width rescales muP's
per-layer rates so that muP updates like SP at that width (mup's base
shapes: MuAdam's rates with width_mult = width/base); 0 keeps nn's absolute
muP. -zero-readout zero-initializes muP's readout layer, as Tensor Programs
V recommends; -input-lr-mult multiplies muP's input-layer rate by a
width-independent constant (a per-layer multiplier tuned at the base width).

examples:
  train mutransfer
  train mutransfer -json
  train mutransfer -opt adam,sgd -seeds 5
  train mutransfer -widths 64,128,256,512,1024,2048 -lrs mup/adam=-5:-2,standard/adam=-10:-3.5
  train mutransfer -input-lr-mult 1 -zero-readout=false   (MuAdam's rates, SP-like readout init)
`

// mtFlags are the settings of "train mutransfer"; config checks them and
// returns the experiment they describe.
type mtFlags struct {
	Param       string  `json:"param" help:"comma-separated parameterizations: sp, mup (also ntk, mf)"`
	Opt         string  `json:"opt" help:"comma-separated optimizers: adam, sgd"`
	Widths      string  `json:"widths" help:"comma-separated hidden widths (at least 2)"`
	Depth       int     `json:"depth" help:"hidden layers"`
	Act         string  `json:"act" help:"activation: gelu, relu, tanh, ..."`
	Seeds       int     `json:"seeds" help:"number of seeds (1..seeds) per learning rate and width"`
	Steps       int     `json:"steps" help:"training steps per run"`
	Batch       int     `json:"batch" help:"minibatch size (0: full batch)"`
	N           int     `json:"n" help:"training digits (the first n of the 1797)"`
	TestN       int     `json:"test_n" help:"held-out digits after the first n whose loss is reported too (0: none)"`
	LRs         string  `json:"lrs" help:"learning-rate grids param/opt=LO:HI in log2, comma-separated; default grids otherwise"`
	LRStep      float64 `json:"lr_step" help:"grid spacing in octaves (0.5: factors of sqrt 2)"`
	Schedule    string  `json:"schedule" help:"learning-rate schedule: cosine or constant"`
	BaseWidth   int     `json:"base_width" help:"muP base width: muP updates like SP at this width (0: nn's absolute muP)"`
	ZeroReadout bool    `json:"zero_readout" help:"zero-initialize muP's readout layer (mup's readout_zero_init)"`
	InputLRMult float64 `json:"input_lr_mult" help:"multiplier of muP's input-layer learning rate, tuned at the base width (0: 1, MuAdam's)"`
	Bootstrap   int     `json:"bootstrap" help:"bootstrap resamples of the seeds for the intervals"`
	Out         string  `json:"out" help:"output directory"`
	JSON        bool    `json:"json" help:"print JSON lines on stdout (last: the summary) instead of the table"`
	NoFigures   bool    `json:"no_figures" help:"skip the PNG/SVG figures"`
}

// runMuTransfer is "train mutransfer": the experiment is sweep.MuTransfer;
// this checks the flags, records them, writes and prints the result.
func runMuTransfer(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := mtFlags{Param: "sp,mup", Opt: "adam", Widths: "32,64,128,256,512", Depth: 2, Act: "gelu", Seeds: 4,
		Steps: 50, Batch: 64, N: 512, LRStep: 0.5, Schedule: "cosine", BaseWidth: 64, ZeroReadout: true, InputLRMult: 0.125,
		Bootstrap: 1000, Out: "out/mutransfer"}
	mode, err := parseStudy("mutransfer", mutransferUsage, &f, args, stdout, stderr)
	if err != nil {
		return err
	}
	mc, err := f.config()
	if err != nil {
		return err
	}
	config, err := configJSON("mutransfer", &f, nil)
	if err != nil {
		return err
	}
	rd, err := openOut("mutransfer", f.Out, mode)
	if err != nil {
		return err
	}
	defer rd.Close()
	human := humanOut(f.JSON, stdout, stderr)
	fmt.Fprintf(human, "gradflow mutransfer: MLP 64-[%d hidden x width]-10 %s on %d digits, %d steps of %d, %s, %d seeds\n",
		f.Depth, mc.Activation, f.N, f.Steps, f.Batch, f.Schedule, f.Seeds)
	bar := progress.New(stderr)
	mc.Progress = func(done, total int) { bar.Bar(done, total, "mutransfer runs") }
	res, err := sweep.MuTransfer(ctx, mc)
	bar.Clear()
	if ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return fmt.Errorf("%w: mutransfer stopped before it finished", errInterrupted)
	}
	var ce *sweep.ConfigError
	if errors.As(err, &ce) {
		return usageError{err}
	}
	if err != nil {
		return err
	}
	if err := rd.Begin(config); err != nil {
		return err
	}
	if err := rd.Stage(func(dir string) error { return res.Save(dir, !f.NoFigures) }); err != nil {
		return err
	}
	if f.JSON {
		err = res.WriteJSONL(stdout)
	} else {
		err = res.WriteTable(stdout)
	}
	if err != nil {
		return err
	}
	written := "config.json mutransfer.jsonl"
	if !f.NoFigures {
		written += " mutransfer_<param>_<opt>.png/svg"
	}
	fmt.Fprintf(human, "outputs in %s: %s\n", f.Out, written)
	return nil
}

// config checks the flags and returns the experiment they describe (seeds
// 1..-seeds); the errors name the flag at fault.
func (f *mtFlags) config() (mc sweep.MuTransferConfig, err error) {
	if mc.Parameterizations, err = sweep.ParseParameterizations(f.Param); err != nil {
		return mc, usagef("mutransfer: -param %q: %v", f.Param, err)
	}
	for _, o := range strings.Split(f.Opt, ",") {
		o = strings.TrimSpace(o)
		if o != "adam" && o != "sgd" {
			return mc, usagef("mutransfer: -opt %q: %q is not adam or sgd", f.Opt, o)
		}
		mc.Optimizers = append(mc.Optimizers, o)
	}
	if mc.Widths, err = intList("widths", f.Widths); err != nil {
		return mc, err
	}
	if mc.Activation, err = nn.ParseActivation(f.Act); err != nil {
		return mc, usagef("mutransfer: -act: %v", err)
	}
	if mc.Grids, err = parseGrids(f.LRs); err != nil {
		return mc, err
	}
	err = checkRules("mutransfer",
		rule{len(mc.Widths) < 2, fmt.Sprintf("-widths %q: want at least 2 widths", f.Widths)},
		rule{f.Depth < 1, fmt.Sprintf("-depth %d: want at least 1 hidden layer", f.Depth)},
		rule{f.Seeds < 1, fmt.Sprintf("-seeds %d: want at least 1", f.Seeds)},
		rule{f.Steps < 1, fmt.Sprintf("-steps %d: want at least 1", f.Steps)},
		rule{f.N < 1 || f.N > 1797, fmt.Sprintf("-n %d: want 1..1797 digits", f.N)},
		rule{f.Batch < 0 || f.Batch > f.N, fmt.Sprintf("-batch %d: want 0 (full batch) .. -n %d", f.Batch, f.N)},
		rule{f.TestN < 0 || f.N+f.TestN > 1797, fmt.Sprintf("-test-n %d: want 0 .. 1797 - n", f.TestN)},
		rule{!positive(f.LRStep), fmt.Sprintf("-lr-step %v: want a positive number of octaves", f.LRStep)},
		rule{f.Schedule != "cosine" && f.Schedule != "constant", fmt.Sprintf("-schedule %q: want cosine or constant", f.Schedule)},
		rule{f.BaseWidth < 0, fmt.Sprintf("-base-width %d: want 0 or a positive width", f.BaseWidth)},
		rule{f.Bootstrap < 0, fmt.Sprintf("-bootstrap %d: want a non-negative count", f.Bootstrap)},
		rule{!(f.InputLRMult >= 0) || math.IsInf(f.InputLRMult, 0), fmt.Sprintf("-input-lr-mult %v: want a non-negative number", f.InputLRMult)},
	)
	if err != nil {
		return mc, err
	}
	mc.Dataset = sweep.Dataset{Kind: "digits", N: f.N, TestN: f.TestN}
	mc.Depth, mc.Steps, mc.BatchSize, mc.LRStep, mc.Schedule = f.Depth, f.Steps, f.Batch, f.LRStep, f.Schedule
	mc.BaseWidth, mc.Bootstrap, mc.ZeroReadout, mc.InputLRMult = f.BaseWidth, f.Bootstrap, f.ZeroReadout, f.InputLRMult
	for i := range f.Seeds {
		mc.Seeds = append(mc.Seeds, uint64(i+1))
	}
	if err := mc.Validate(); err != nil {
		return mc, usagef("mutransfer: %v", err)
	}
	return mc, nil
}

// parseGrids reads -lrs: param/opt=LO:HI, comma-separated.
func parseGrids(s string) ([]sweep.LRGrid, error) {
	var out []sweep.LRGrid
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		bad := usagef("mutransfer: -lrs %q: %q is not param/opt=LO:HI (log2 bounds, e.g. mup/adam=-5:-1)", s, item)
		key, rng, ok := strings.Cut(item, "=")
		ps, o, ok2 := strings.Cut(key, "/")
		los, his, ok3 := strings.Cut(rng, ":")
		if !ok || !ok2 || !ok3 {
			return nil, bad
		}
		p, err := nn.ParseParameterization(strings.TrimSpace(ps))
		if err != nil {
			return nil, usagef("mutransfer: -lrs %q: %v", s, err)
		}
		lo, err1 := strconv.ParseFloat(strings.TrimSpace(los), 64)
		hi, err2 := strconv.ParseFloat(strings.TrimSpace(his), 64)
		if err1 != nil || err2 != nil {
			return nil, bad
		}
		out = append(out, sweep.LRGrid{Parameterization: p, Optimizer: strings.TrimSpace(o), Log2Min: lo, Log2Max: hi})
	}
	return out, nil
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/gradflow/gradflow/meanfield"
	"github.com/gradflow/gradflow/nn"
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

// mfFlags are the settings of "train meanfield": the study's fields that
// a flag sets directly, and the flags that need parsing.
type mfFlags struct {
	meanfield.StudyConfig
	regimes, widths, act string
	json, noFigures      bool
}

func (f *mfFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.regimes, "regime", "mf,ntk", "comma-separated regimes: mf (mean field), ntk, lazy, or all")
	fs.Float64Var(&f.Alpha, "alpha", 4, "Chizat-Bach lazy scale A of -regime lazy (alpha(m) = A/m)")
	fs.StringVar(&f.widths, "widths", "64,256,1024,4096", "comma-separated widths m (numbers of neurons)")
	fs.IntVar(&f.Steps, "steps", 100, "full-batch gradient steps")
	fs.Float64Var(&f.LR, "lr", 1, "base learning rate eta (scaled per parameter by 1/(m alpha^2))")
	fs.Uint64Var(&f.Seed, "seed", 1, "seed of the data and of every network's initialization")
	fs.IntVar(&f.N, "n", 32, "training points")
	fs.IntVar(&f.Dim, "dim", 8, "input dimension d")
	fs.StringVar(&f.act, "act", "tanh", "activation: tanh, relu, erf, sigmoid, gelu, silu, softplus, ...")
	fs.IntVar(&f.Every, "every", 10, "steps between records in meanfield.jsonl")
	fs.BoolVar(&f.Symmetric, "symmetric", false, "symmetric initialization (pairs a, -a): f = 0 at init (needs even widths)")
	fs.StringVar(&f.Dir, "out", "out/meanfield", "output directory")
	fs.BoolVar(&f.json, "json", false, "print the table as JSON lines on stdout instead")
	fs.BoolVar(&f.noFigures, "no-figures", false, "skip the PNG/SVG figure")
}

// runMeanfield is "train meanfield": the study is meanfield.Study; this
// checks the flags, records them and prints the result.
func runMeanfield(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f, scratch mfFlags
	fs := newFlags("meanfield", meanfieldUsage, stderr)
	f.register(fs)
	if _, err := parseWithConfig(fs, args, stdout, scratch.register); err != nil {
		return err
	}
	if err := f.study(); err != nil {
		return err
	}
	config, err := flagConfig(fs, nil)
	if err != nil {
		return err
	}
	if err := prepareOut(f.Dir, config); err != nil {
		return err
	}
	human := humanOut(f.json, stdout, stderr)
	fmt.Fprintf(human, "gradflow meanfield: two-layer %s net on a teacher (n=%d, d=%d, sphere), %d steps at lr %g, seed %d\n",
		f.Activation, f.N, f.Dim, f.Steps, f.LR, f.Seed)
	res, err := meanfield.Study(ctx, f.StudyConfig)
	if ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return fmt.Errorf("%w: the finished widths are in %s/meanfield.jsonl", errInterrupted, f.Dir)
	}
	if err != nil {
		return err
	}
	if f.json {
		err = res.WriteJSONL(stdout)
	} else {
		err = res.WriteTable(stdout)
	}
	if err != nil {
		return err
	}
	written := "config.json meanfield.jsonl summary.jsonl particles/*.csv"
	if !f.noFigures {
		if err := res.WriteFigures(f.Dir); err != nil {
			return fmt.Errorf("figures: %w", err)
		}
		written += " displacement.png/svg"
	}
	fmt.Fprintf(human, "outputs in %s: %s\n", f.Dir, written)
	return nil
}

// study checks the flags and completes the study they describe; the
// errors name the flag at fault.
func (f *mfFlags) study() (err error) {
	if f.Regimes, err = meanfield.ParseRegimes(f.regimes); err != nil {
		return usagef("meanfield: -regime %q: %v", f.regimes, err)
	}
	if f.Widths, err = intList("widths", f.widths); err != nil {
		return err
	}
	if f.Activation, err = nn.ParseActivation(f.act); err != nil {
		return usagef("meanfield: -act: %v", err)
	}
	odd := slices.IndexFunc(f.Widths, func(m int) bool { return m%2 != 0 })
	switch {
	case f.Steps <= 0:
		return usagef("meanfield: -steps %d: want a positive number", f.Steps)
	case !(f.LR > 0) || math.IsInf(f.LR, 0):
		return usagef("meanfield: -lr %v: want a positive finite rate", f.LR)
	case f.N <= 0 || f.Dim <= 0:
		return usagef("meanfield: -n %d, -dim %d: want positive sizes", f.N, f.Dim)
	case f.Every <= 0:
		return usagef("meanfield: -every %d: want a positive number", f.Every)
	case slices.Contains(f.Regimes, meanfield.Lazy) && (!(f.Alpha > 0) || math.IsInf(f.Alpha, 0)):
		return usagef("meanfield: -alpha %v: the lazy regime needs a positive finite scale", f.Alpha)
	case f.Symmetric && odd >= 0:
		return usagef("meanfield: -symmetric pairs the neurons: width %d is odd", f.Widths[odd])
	}
	return nil
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/gradflow/gradflow/flow"
	"github.com/gradflow/gradflow/internal/progress"
)

const sdeUsage = `usage: train sde [flags]

Compares SGD, SVAG and the stochastic modified equation (SME) of SGD
(package flow) on the one-dimensional noisy quadratic L(x) = (lambda/2) x^2
whose minibatch gradients have noise of variance sigma^2, where the
stationary variances are known in closed form:

  SGD at rate eta          eta sigma^2 / (2 lambda - eta lambda^2)
  SVAG with parameter l    eta sigma^2 / (2 lambda - eta lambda^2 / l)
  SME                      eta sigma^2 / (2 lambda)

SVAG (Li, Malladi and Arora 2021) combines two independent minibatch
gradients as c1 g1 + c2 g2 (mean grad L, covariance l Sigma) and steps at
rate eta/l; l = 1 is SGD, and as l grows it converges to the SME with an
error O(1/l). Every l of -l trains -chains independent copies at once (the
outputs of one linear model, through the training step of every gradflow
run, on -rows examples drawn with replacement); the SME is integrated by
Euler-Maruyama and by the Heun scheme at step -sme-dt. It prints each
stationary variance with its Monte Carlo standard error and closed form, the
error against the SME (measured with a control variate coupled to the exact
Ornstein-Uhlenbeck transition), and the log-log slope of SVAG's error
against l (theory -1). Writes, in -out: config.json (the settings, reusable
with -config), sde.jsonl (the results as JSON lines, last the summary) and
svag_error.png/svg (|error| against l, log-log).

examples:
  train sde
  train sde -l 1,2,4,8,16 -time 400
  train sde -lr 0.5 -lambda 2 -sigma 0.5
  train sde -json -no-figures
`

// sdeFlags are the settings of "train sde"; study checks them and returns
// the flow.SDEStudyConfig they describe.
type sdeFlags struct {
	Lambda    float64 `json:"lambda" help:"curvature lambda of the quadratic"`
	Sigma     float64 `json:"sigma" help:"standard deviation sigma of a minibatch gradient's noise"`
	LR        float64 `json:"lr" help:"SGD learning rate eta (lr*lambda < 2)"`
	L         string  `json:"l" help:"comma-separated SVAG parameters l >= 1 (l = 1 is SGD)"`
	Chains    int     `json:"chains" help:"independent copies run at once (Monte Carlo sample)"`
	Rows      int     `json:"rows" help:"examples the minibatches are drawn from, with replacement (keep well above -chains)"`
	Burn      float64 `json:"burn" help:"burn-in, in units of SME time (steps * lr / l)"`
	Time      float64 `json:"time" help:"averaging window, in units of SME time"`
	SMEDt     float64 `json:"sme_dt" help:"time step of the SME integrators"`
	Seed      uint64  `json:"seed" help:"seed of the data, the minibatches and the SME's noise"`
	Out       string  `json:"out" help:"output directory"`
	JSON      bool    `json:"json" help:"print the results as JSON lines on stdout instead"`
	NoFigures bool    `json:"no_figures" help:"skip the PNG/SVG figure"`
}

// runSDE is "train sde": the study is flow.SDEStudy; this checks the
// flags, records them and prints the result.
func runSDE(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	d := flow.DefaultSDEStudy()
	f := sdeFlags{Lambda: d.Lambda, Sigma: d.Sigma, LR: d.LR, L: "1,2,4,8", Chains: d.Chains, Rows: d.Rows,
		Burn: d.Burn, Time: d.Time, SMEDt: d.SMEDt, Seed: d.Seed, Out: "out/sde"}
	mode, err := parseStudy("sde", sdeUsage, &f, args, stdout, stderr)
	if err != nil {
		return err
	}
	sc, err := f.study()
	if err != nil {
		return err
	}
	rd, err := beginOut("sde", &f, f.Out, mode)
	if err != nil {
		return err
	}
	defer rd.Close()
	human := humanOut(f.JSON, stdout, stderr)
	fmt.Fprintf(human, "gradflow sde: SGD, SVAG (l = %s) and the SME on the noisy quadratic, %d chains, seed %d\n", f.L, sc.Chains, sc.Seed)
	stop := progress.New(stderr).Busy(fmt.Sprintf("sde: %d SVAG runs and 2 SME integrations", len(sc.Ls)))
	res, err := flow.SDEStudy(ctx, sc)
	stop()
	if ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return fmt.Errorf("%w: the study was not finished", errInterrupted)
	}
	if err != nil {
		return err
	}
	if err := rd.WriteFile("sde.jsonl", res.WriteJSONL); err != nil {
		return err
	}
	return studyReport{asJSON: f.JSON, noFigures: f.NoFigures, jsonl: res.WriteJSONL, table: res.WriteTable,
		figures: res.WriteFigures, files: "config.json sde.jsonl", figureFiles: "svag_error.png/svg"}.emit(rd, stdout, human)
}

// study checks the flags and returns the study they describe; the errors
// name the flag at fault.
func (f *sdeFlags) study() (sc flow.SDEStudyConfig, err error) {
	if sc.Ls, err = floatList("l", f.L); err != nil {
		return sc, err
	}
	err = checkRules("sde",
		rule{!positive(f.Lambda) || !positive(f.Sigma), fmt.Sprintf("-lambda %v, -sigma %v: want positive finite values", f.Lambda, f.Sigma)},
		rule{!positive(f.LR) || f.LR*f.Lambda >= 2, fmt.Sprintf("-lr %v: want a positive rate with lr*lambda < 2 (SGD diverges otherwise)", f.LR)},
		rule{slices.ContainsFunc(sc.Ls, func(l float64) bool { return !(l >= 1) || !finite(l) }), fmt.Sprintf("-l %q: every l must be a finite number >= 1", f.L)},
		rule{len(sc.Ls) < 2, fmt.Sprintf("-l %q: give at least two values to fit a slope", f.L)},
		rule{f.Chains < 2 || f.Rows < 2, fmt.Sprintf("-chains %d, -rows %d: want at least 2 of each", f.Chains, f.Rows)},
		rule{!positive(f.Burn) || !positive(f.Time), fmt.Sprintf("-burn %v, -time %v: want positive durations", f.Burn, f.Time)},
		rule{!positive(f.SMEDt) || f.SMEDt*f.Lambda >= 1, fmt.Sprintf("-sme-dt %v: want a positive step with sme_dt*lambda < 1", f.SMEDt)},
	)
	if err != nil {
		return sc, err
	}
	sc.Lambda, sc.Sigma, sc.LR, sc.Chains, sc.Rows = f.Lambda, f.Sigma, f.LR, f.Chains, f.Rows
	sc.Burn, sc.Time, sc.SMEDt, sc.Seed = f.Burn, f.Time, f.SMEDt, f.Seed
	return sc, nil
}

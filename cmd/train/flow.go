package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/gradflow/gradflow/flow"
	"github.com/gradflow/gradflow/internal/progress"
	"github.com/gradflow/gradflow/nn"
)

const flowUsage = `usage: train flow [flags]

How far is gradient descent from gradient flow, and at what order in the
step size? Trains an MLP (-arch, -act) on the first -n training rows of
-data by full-batch gradient descent (heavy ball with -momentum) at every
step size eta of -etas for T/eta steps, and integrates, from the same
initialization, in float64 with the adaptive Dormand-Prince 5(4) method:

  the gradient flow     d theta/dt = -grad L / (1 - beta)
  the modified flow     d theta/dt = -grad L~ / (1 - beta),
                        L~ = L + eta (1 + beta) / (4 (1 - beta)^2) |grad L|^2

(Barrett and Dherin 2021 for beta = 0; the heavy-ball flow starts from
theta0 + eta beta/(1 - beta)^2 grad L(theta0), see package flow). The
gradient of L~ takes a Hessian-vector product (double backward); the step
of the integrator is capped by the stiffness bound from the sharpness.
It prints, per eta, |theta_GD(T) - theta_flow(T)| and the distance to the
modified flow, then their fitted orders in eta (theory: 1 and 2) and the
cost of the flow per unit time against GD's 1/eta gradients.

Writes, in -out: config.json (the settings, reusable with -config: keys are
the flag names with _ for -, and flags given too override the file),
flow.jsonl (the JSON lines -json prints: one {"kind":"row"} per step size,
then {"kind":"summary"} with "order_flow" and "order_modified"), and
distance.png/svg (distances against eta, log-log, with reference slopes).

examples:
  train flow
  train flow -momentum 0.5 -etas 0.04,0.02,0.01,0.005 -t 1
  train flow -data csv:../shared/datasets/iris.csv -arch 4-32-3 -loss half_mse -json
`

// flowFlags are the settings of "train flow".
type flowFlags struct {
	Data      string  `json:"data" help:"dataset spec: digits, mnist:DIR, csv:FILE[,...], synthetic:NAME (see train fit -h)"`
	N         int     `json:"n" help:"training rows used (the first n of the training split)"`
	Arch      string  `json:"arch" help:"MLP dims such as 64-16-10, or auto (one hidden layer of 16)"`
	Act       string  `json:"act" help:"hidden activation (smooth ones suit the expansion: tanh, gelu, silu, softplus, ...)"`
	Loss      string  `json:"loss" help:"loss: auto, ce, mse, half_mse"`
	Etas      string  `json:"etas" help:"comma-separated step sizes; each must divide -t"`
	T         float64 `json:"t" help:"time horizon T (GD takes T/eta steps)"`
	Momentum  float64 `json:"momentum" help:"heavy-ball momentum beta in [0, 1) (0: gradient descent)"`
	RTol      float64 `json:"rtol" help:"relative tolerance of the integrator (absolute: rtol/100)"`
	Seed      uint64  `json:"seed" help:"seed of the initialization and the data split"`
	Out       string  `json:"out" help:"output directory"`
	JSON      bool    `json:"json" help:"print JSON lines on stdout instead of the table"`
	NoFigures bool    `json:"no_figures" help:"skip the PNG/SVG figure"`
}

// runFlow is "train flow": the study is flow.Study.
func runFlow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	def := flow.DefaultStudy()
	f := flowFlags{Data: def.Data, N: def.N, Arch: def.Arch, Act: string(def.Act), Loss: def.Loss,
		Etas: floatsString(def.Etas), T: def.T, RTol: 1e-11, Seed: def.Seed, Out: "out/flow"}
	mode, err := parseStudy("flow", flowUsage, &f, args, stdout, stderr)
	if err != nil {
		return err
	}
	sc, err := f.study()
	if err != nil {
		return err
	}
	study, err := flow.NewStudy(sc)
	if err != nil {
		return usageError{err}
	}
	sc = study.Config()
	rd, err := beginOut("flow", &f, f.Out, mode)
	if err != nil {
		return err
	}
	defer rd.Close()
	human := humanOut(f.JSON, stdout, stderr)
	fmt.Fprintf(human, "gradflow flow: %s MLP %s on the first %d rows of %s, %s, T = %g, step sizes %s\n",
		sc.Act, joinInts(study.Dims()), sc.N, sc.Data, study.Problem().Loss.Name(), sc.T, f.Etas)
	stop := progress.New(stderr).Busy("flow: integrating the flows and running the discrete method")
	res, err := study.Run(ctx)
	stop()
	if ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return fmt.Errorf("%w: nothing to resume, run it again", errInterrupted)
	}
	if err != nil {
		return err
	}
	if err := rd.WriteFile("flow.jsonl", res.WriteJSONL); err != nil {
		return err
	}
	return studyReport{asJSON: f.JSON, noFigures: f.NoFigures, jsonl: res.WriteJSONL, table: res.WriteTable,
		figures: res.WriteFigures, files: "config.json flow.jsonl", figureFiles: "distance.png/svg"}.emit(rd, stdout, human)
}

// study checks the flags and returns the study they describe.
func (f *flowFlags) study() (flow.StudyConfig, error) {
	sc := flow.StudyConfig{Data: f.Data, N: f.N, Arch: f.Arch, Loss: f.Loss, Seed: f.Seed}
	var err error
	if sc.Act, err = nn.ParseActivation(f.Act); err != nil {
		return sc, usagef("flow: -act: %v", err)
	}
	if sc.Etas, err = floatList("etas", f.Etas); err != nil {
		return sc, err
	}
	err = checkRules("flow",
		rule{f.N <= 0, fmt.Sprintf("-n %d: want a positive number of rows", f.N)},
		rule{!positive(f.T), fmt.Sprintf("-t %v: want a positive finite time", f.T)},
		rule{!(f.Momentum >= 0 && f.Momentum < 1), fmt.Sprintf("-momentum %v: want a value in [0, 1)", f.Momentum)},
		rule{!(f.RTol >= 1e-14 && f.RTol < 1), fmt.Sprintf("-rtol %v: want a tolerance in [1e-14, 1)", f.RTol)},
	)
	sc.T, sc.Momentum, sc.RTol, sc.CompareConfig.Seed = f.T, f.Momentum, f.RTol, f.Seed
	return sc, err
}

// floatsString is the flag form of a list of numbers.
func floatsString(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.FormatFloat(x, 'g', -1, 64)
	}
	return strings.Join(s, ",")
}

// intsString is the flag form of a list of integers.
func intsString(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

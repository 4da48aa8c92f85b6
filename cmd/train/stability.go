package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/gradflow/gradflow/internal/progress"
	"github.com/gradflow/gradflow/stability"
)

const stabilityUsage = `usage: train stability [flags]

Algorithmic stability measured, beside the bounds it is compared with.

Convex: logistic regression (two classes of -data: even vs odd labels,
inputs scaled to unit norm) trained by SGD, batch 1 drawn with
replacement, step -eta, for -steps steps, on S and on S^(i) (row i
replaced by a test example), from the same initialization and with the
same sampled rows, for -swaps indices x -seeds seeds. It prints
E |theta_t - theta'_t| with its standard error against Hardt, Recht and
Singer's bound 2 L eta t / n (L, beta computed from the data; it needs
eta <= 2/beta), the loss difference on the test set and the train-test
gap.

PL / strongly convex: ridge regression on Gaussian data (-dim, -lambda,
-noise) trained to convergence by gradient descent, for every n of -ns,
-reps pairs each: |w_S - w_S'| against 2G/(mu n) with mu the measured PL
constant, the generalization gap and its replace-one stability estimate,
and their log-log slopes against n (theory -1).

Writes, in -out: config.json (the settings, reusable with -config: keys
are the flag names with _ for -, and flags given too override the file),
stability.jsonl (the JSON lines -json prints: {"kind":"logistic"} per
recorded step, {"kind":"ridge"} per n, then {"kind":"summary"} with
"hrs_ratio" and "ridge_slope"), stability_delta.png/svg and
ridge.png/svg.

How to read stability_delta.png: the solid line is the measured mean
distance between the coupled runs, the dashed line the HRS bound. The
bound grows linearly in t for as long as SGD runs; the measured distance
grows only when the differing example is drawn and shrinks in between,
so the ratio (hrs_ratio) says how loose the worst-case bound is here.

examples:
  train stability
  train stability -data csv:../shared/datasets/uci/breast_cancer.csv -steps 2000
  train stability -ns 100,200,400,800,1600 -reps 200 -json
`

// stabilityFlags are the settings of "train stability".
type stabilityFlags struct {
	Data      string  `json:"data" help:"dataset with class labels for the logistic part (digits, mnist:DIR, csv:FILE)"`
	Eta       float64 `json:"eta" help:"SGD step of the logistic runs (must be <= 2/beta)"`
	Steps     int     `json:"steps" help:"SGD steps T of the logistic runs"`
	Every     int     `json:"every" help:"steps between records of the logistic runs"`
	Swaps     int     `json:"swaps" help:"replaced indices i per seed"`
	Seeds     int     `json:"seeds" help:"seeds (initialization and sampling sequence) of the logistic runs"`
	Ns        string  `json:"ns" help:"comma-separated training-set sizes of the ridge runs"`
	Dim       int     `json:"dim" help:"input dimension of the ridge problem"`
	Lambda    float64 `json:"lambda" help:"ridge penalty lambda"`
	Noise     float64 `json:"noise" help:"label noise of the ridge problem"`
	Reps      int     `json:"reps" help:"coupled pairs per training-set size (ridge)"`
	Seed      uint64  `json:"seed" help:"seed of the data and of every run"`
	Out       string  `json:"out" help:"output directory"`
	JSON      bool    `json:"json" help:"print JSON lines on stdout instead of the tables"`
	NoFigures bool    `json:"no_figures" help:"skip the PNG/SVG figures"`
}

// runStability is "train stability": the study is stability.Study.
func runStability(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	def := stability.DefaultStudy()
	f := stabilityFlags{Data: def.Logistic.Data, Eta: def.Logistic.Eta, Steps: def.Logistic.Steps, Every: def.Logistic.Every,
		Swaps: def.Logistic.Swaps, Seeds: def.Logistic.Seeds, Ns: intsString(def.Ridge.Ns), Dim: def.Ridge.Dim,
		Lambda: def.Ridge.Lambda, Noise: def.Ridge.Noise, Reps: def.Ridge.Reps, Seed: 1, Out: "out/stability"}
	mode, err := parseStudy("stability", stabilityUsage, &f, args, stdout, stderr)
	if err != nil {
		return err
	}
	sc, err := f.study()
	if err != nil {
		return err
	}
	study, err := stability.NewStudy(sc)
	if err != nil {
		return usageError{err}
	}
	rd, err := beginOut("stability", &f, f.Out, mode)
	if err != nil {
		return err
	}
	defer rd.Close()
	human := humanOut(f.JSON, stdout, stderr)
	fmt.Fprintf(human, "gradflow stability: logistic regression on %s (%d x %d coupled pairs, %d steps), ridge n = %s (%d pairs each), seed %d\n",
		sc.Logistic.Data, sc.Logistic.Swaps, sc.Logistic.Seeds, sc.Logistic.Steps, f.Ns, sc.Ridge.Reps, f.Seed)
	stop := progress.New(stderr).Busy("stability: coupled runs")
	res, err := study.Run(ctx)
	stop()
	if ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return fmt.Errorf("%w: nothing to resume, run it again", errInterrupted)
	}
	if err != nil {
		return err
	}
	if err := rd.WriteFile("stability.jsonl", res.WriteJSONL); err != nil {
		return err
	}
	return studyReport{asJSON: f.JSON, noFigures: f.NoFigures, jsonl: res.WriteJSONL, table: res.WriteTable,
		figures: res.WriteFigures, files: "config.json stability.jsonl", figureFiles: "stability_delta.png/svg ridge.png/svg"}.emit(rd, stdout, human)
}

// study checks the flags and returns the study they describe.
func (f *stabilityFlags) study() (stability.StudyConfig, error) {
	ns, err := intList("ns", f.Ns)
	if err != nil {
		return stability.StudyConfig{}, err
	}
	err = checkRules("stability",
		rule{!positive(f.Eta), fmt.Sprintf("-eta %v: want a positive finite step", f.Eta)},
		rule{f.Steps < 1 || f.Every < 1, fmt.Sprintf("-steps %d, -every %d: want positive numbers", f.Steps, f.Every)},
		rule{f.Swaps < 1 || f.Seeds < 1, fmt.Sprintf("-swaps %d, -seeds %d: want positive numbers", f.Swaps, f.Seeds)},
		rule{f.Dim < 1 || f.Reps < 2, fmt.Sprintf("-dim %d, -reps %d: want -dim >= 1 and -reps >= 2", f.Dim, f.Reps)},
		rule{!positive(f.Lambda), fmt.Sprintf("-lambda %v: want a positive penalty (the problem must be strongly convex)", f.Lambda)},
		rule{!(f.Noise >= 0) || !finite(f.Noise), fmt.Sprintf("-noise %v: want a finite number >= 0", f.Noise)},
		rule{ns[0] < 2, fmt.Sprintf("-ns %s: sizes must be at least 2", f.Ns)},
	)
	return stability.StudyConfig{
		Logistic: stability.LogisticConfig{Data: f.Data, Eta: f.Eta, Steps: f.Steps, Every: f.Every, Swaps: f.Swaps, Seeds: f.Seeds, Seed: f.Seed},
		Ridge:    stability.RidgeConfig{Ns: ns, Dim: f.Dim, Lambda: f.Lambda, Noise: f.Noise, Reps: f.Reps, Seed: f.Seed},
	}, err
}

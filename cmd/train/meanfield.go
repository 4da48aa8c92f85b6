package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/gradflow/gradflow/internal/progress"
	"github.com/gradflow/gradflow/meanfield"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/train"
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
initialization, the final loss, the sliced W2 distance between the final
particle cloud and the widest one's and the dissipation (below); then the
log-log slopes of each against the width. Writes, in -out: config.json (the
settings, reusable with -config: keys are the flag names with _ for -, and
flags given too override the file), meanfield.jsonl (per run a {"config": ...}
line, then one record per -every steps), summary.jsonl (the table as JSON
lines), particles/<regime>_m<width>_{init,final}.csv (the neurons (a, w, b) as
rows), and displacement.png/svg (displacement against width, log-log).

Gradient descent is, in time t = steps x lr, the particle discretization of
the Wasserstein gradient flow of the energy E = loss (Mei-Montanari-Nguyen
2018, Chizat-Bach 2018). Each record of meanfield.jsonl has its "time" and the
"dissipation" D = sum_p lrscale_p |dL/dp|^2 = (1/m) sum_i |grad Psi(theta_i)|^2,
the rate -dE/dt at which the loss decreases along that flow.

With -chaos it also runs the propagation-of-chaos experiment of mean field:
for every width m of -chaos-widths and -chaos-seeds seeds, a network of width
m and a reference -chaos-ratio times wider whose first m particles are the
same initial draw, trained for the same time (-steps, -lr, same task, -act);
it prints the sliced W2 distance between their particle measures at T and at
initialization, the coupled distance sqrt((1/m) sum_i |theta_i^m - theta_i^ref|^2)
of the shared particles, and their log-log slopes against m (theory -1/2),
and writes chaos.json (the same as JSON; with -json the result is one more
stdout line {"chaos": ...}) and chaos.png/svg.

examples:
  train meanfield
  train meanfield -regime ntk -widths 64,256,1024,4096 -steps 200
  train meanfield -regime lazy -alpha 16 -symmetric
  train meanfield -regime mf,ntk,lazy -act relu -json
  train meanfield -regime mf -chaos -chaos-widths 32,64,128,256,512
  train meanfield -config out/meanfield/config.json -steps 400 -out out/mf400
`

// mfFlags are the settings of "train meanfield"; study checks them and
// returns the meanfield.StudyConfig they describe.
type mfFlags struct {
	Regime    string  `json:"regime" help:"comma-separated regimes: mf (mean field), ntk, lazy, or all"`
	Alpha     float64 `json:"alpha" help:"Chizat-Bach lazy scale A of -regime lazy (alpha(m) = A/m)"`
	Widths    string  `json:"widths" help:"comma-separated widths m (numbers of neurons)"`
	Steps     int     `json:"steps" help:"full-batch gradient steps"`
	LR        float64 `json:"lr" help:"base learning rate eta (scaled per parameter by 1/(m alpha^2))"`
	Seed      uint64  `json:"seed" help:"seed of the data and of every network's initialization"`
	N         int     `json:"n" help:"training points"`
	Dim       int     `json:"dim" help:"input dimension d"`
	Act       string  `json:"act" help:"activation: tanh, relu, erf, sigmoid, gelu, silu, softplus, ..."`
	Every     int     `json:"every" help:"steps between records in meanfield.jsonl"`
	Symmetric bool    `json:"symmetric" help:"symmetric initialization (pairs a, -a): f = 0 at init (needs even widths)"`
	Out       string  `json:"out" help:"output directory"`
	JSON      bool    `json:"json" help:"print the table as JSON lines on stdout instead"`
	NoFigures bool    `json:"no_figures" help:"skip the PNG/SVG figure"`
	Chaos     bool    `json:"chaos" help:"also run the propagation-of-chaos experiment (mean field; described above)"`
	ChaosW    string  `json:"chaos_widths" help:"comma-separated widths m of -chaos"`
	ChaosR    int     `json:"chaos_ratio" help:"reference width of -chaos, in multiples of m"`
	ChaosS    int     `json:"chaos_seeds" help:"initializations per width of -chaos"`
}

// runMeanfield is "train meanfield": the study is meanfield.Study; this
// checks the flags, records them and prints the result.
func runMeanfield(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := mfFlags{Regime: "mf,ntk", Alpha: 4, Widths: "64,256,1024,4096", Steps: 100, LR: 1, Seed: 1,
		N: 32, Dim: 8, Act: "tanh", Every: 10, Out: "out/meanfield",
		ChaosW: "16,32,64,128,256", ChaosR: 16, ChaosS: 3}
	mode, err := parseStudy("meanfield", meanfieldUsage, &f, args, stdout, stderr)
	if err != nil {
		return err
	}
	sc, err := f.study()
	if err != nil {
		return err
	}
	cc, err := f.chaos(sc)
	if err != nil {
		return err
	}
	rd, err := beginOut("meanfield", &f, f.Out, mode)
	if err != nil {
		return err
	}
	defer rd.Close()
	human := humanOut(f.JSON, stdout, stderr)
	fmt.Fprintf(human, "gradflow meanfield: two-layer %s net on a teacher (n=%d, d=%d, sphere), %d steps at lr %g, seed %d\n",
		sc.Activation, sc.N, sc.Dim, sc.Steps, sc.LR, sc.Seed)
	stop := progress.New(stderr).Busy(fmt.Sprintf("meanfield: training %d regimes x %d widths", len(sc.Regimes), len(sc.Widths)))
	res, err := meanfield.Study(ctx, sc)
	stop()
	if ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return fmt.Errorf("%w: the finished widths are in %s/meanfield.jsonl", errInterrupted, f.Out)
	}
	if err != nil {
		return err
	}
	var extra func() (string, error)
	if cc != nil {
		extra = func() (string, error) { return runChaos(ctx, *cc, f, rd, stdout, stderr) }
	}
	return studyReport{asJSON: f.JSON, noFigures: f.NoFigures, jsonl: res.WriteJSONL, table: res.WriteTable,
		figures: res.WriteFigures, files: "config.json meanfield.jsonl summary.jsonl particles/*.csv",
		figureFiles: "displacement.png/svg", extra: extra}.emit(rd, stdout, human)
}

// runChaos runs the propagation-of-chaos experiment of -chaos, prints it
// (a table, or one JSON line with -json) and saves it in rd; it returns the
// names of the files written, for the closing line.
func runChaos(ctx context.Context, cc meanfield.ChaosConfig, f mfFlags, rd *train.RunDir, stdout, stderr io.Writer) (string, error) {
	stop := progress.New(stderr).Busy(fmt.Sprintf("meanfield: propagation of chaos, %d widths x %d seeds", len(cc.Widths), cc.Seeds))
	res, err := meanfield.Chaos(ctx, cc)
	stop()
	if ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return "", fmt.Errorf("%w: the study's outputs are in %s, the chaos experiment did not finish", errInterrupted, f.Out)
	}
	if err != nil {
		return "", err
	}
	if f.JSON {
		err = res.WriteJSON(stdout)
	} else {
		fmt.Fprintln(stdout)
		err = res.WriteTable(stdout)
	}
	if err != nil {
		return "", err
	}
	if err := rd.WriteJSON("chaos.json", res); err != nil {
		return "", err
	}
	if f.NoFigures {
		return " chaos.json", nil
	}
	if err := rd.Stage(res.WriteFigures); err != nil {
		return "", fmt.Errorf("figures: %w", err)
	}
	return " chaos.json chaos.png/svg", nil
}

// study checks the flags and returns the study they describe; the errors
// name the flag at fault.
func (f *mfFlags) study() (sc meanfield.StudyConfig, err error) {
	if sc.Regimes, err = meanfield.ParseRegimes(f.Regime); err != nil {
		return sc, usagef("meanfield: -regime %q: %v", f.Regime, err)
	}
	if sc.Widths, err = intList("widths", f.Widths); err != nil {
		return sc, err
	}
	if sc.Activation, err = nn.ParseActivation(f.Act); err != nil {
		return sc, usagef("meanfield: -act: %v", err)
	}
	lazy := slices.Contains(sc.Regimes, meanfield.Lazy)
	err = checkRules("meanfield",
		rule{f.Steps <= 0, fmt.Sprintf("-steps %d: want a positive number", f.Steps)},
		rule{!positive(f.LR), fmt.Sprintf("-lr %v: want a positive finite rate", f.LR)},
		rule{f.N <= 0 || f.Dim <= 0, fmt.Sprintf("-n %d, -dim %d: want positive sizes", f.N, f.Dim)},
		rule{f.Every <= 0, fmt.Sprintf("-every %d: want a positive number", f.Every)},
		rule{lazy && !positive(f.Alpha), fmt.Sprintf("-alpha %v: the lazy regime needs a positive finite scale", f.Alpha)},
	)
	if err != nil {
		return sc, err
	}
	if odd := slices.IndexFunc(sc.Widths, func(m int) bool { return m%2 != 0 }); f.Symmetric && odd >= 0 {
		return sc, usagef("meanfield: -symmetric pairs the neurons: width %d is odd", sc.Widths[odd])
	}
	sc.Alpha, sc.Symmetric, sc.N, sc.Dim, sc.Seed = f.Alpha, f.Symmetric, f.N, f.Dim, f.Seed
	sc.LR, sc.Steps, sc.Every, sc.Dir = f.LR, f.Steps, f.Every, f.Out
	return sc, nil
}

// chaos returns the propagation-of-chaos experiment of -chaos on the task
// and training time of the study sc, or nil without -chaos; the errors name
// the flag at fault.
func (f *mfFlags) chaos(sc meanfield.StudyConfig) (*meanfield.ChaosConfig, error) {
	if !f.Chaos {
		return nil, nil
	}
	widths, err := intList("chaos-widths", f.ChaosW)
	if err != nil {
		return nil, err
	}
	err = checkRules("meanfield",
		rule{f.ChaosR < 2, fmt.Sprintf("-chaos-ratio %d: want an integer >= 2", f.ChaosR)},
		rule{f.ChaosS <= 0, fmt.Sprintf("-chaos-seeds %d: want a positive number", f.ChaosS)},
	)
	if err != nil {
		return nil, err
	}
	return &meanfield.ChaosConfig{Widths: widths, Ratio: f.ChaosR, Seeds: f.ChaosS, Activation: sc.Activation,
		N: sc.N, Dim: sc.Dim, Seed: sc.Seed, LR: sc.LR, Steps: sc.Steps}, nil
}

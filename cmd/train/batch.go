package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/gradflow/gradflow/critical"
	"github.com/gradflow/gradflow/internal/progress"
	"github.com/gradflow/gradflow/internal/settings"
	"github.com/gradflow/gradflow/nn"
)

const batchUsage = `usage: train batch [flags]

The critical batch size (McCandlish, Kaplan, Amodei et al. 2018). At the
initialization it measures the noise scale

  B_noise = tr(H Sigma) / (G^T H G),  tr(H Sigma) = (1/n) sum_i (g_i - G)^T H (g_i - G)

from per-example gradients g_i and Hessian-vector products (exact for the
n examples), beside B_simple = tr(Sigma)/|G|^2. Then, for every batch size
of -batches, it finds the fewest SGD steps S(B) for the loss averaged over
-seeds runs to reach the target (the best rate of -lrs), E(B) = B S(B),
and fits (S/S_min - 1)(E/E_min - 1) = 1: B_crit = E_min / S_min.

-data linear (the default) is least squares with a Gaussian design x ~
N(0, diag(lambda)), lambda_j = kappa^(-j/(dim-1)), and label noise -noise,
trained on fresh samples, where B_noise has the closed form
1 + (delta^T S delta + noise^2) tr(S^2) / (delta^T S^3 delta) ("b_noise_exact").
-data digits trains an MLP (-arch, -act) on the embedded UCI digits.

Writes, in -out: config.json (the settings, reusable with -config),
batch.jsonl (what -json prints: {"kind":"noise"}, {"kind":"attempt"} per
(batch, lr), {"kind":"point"} per batch, {"kind":"fit"}, then
{"kind":"summary"} with "b_noise", "b_noise_exact" and "b_crit"), and
tradeoff.png/svg (S vs E, the fitted hyperbola, B_crit marked).

examples:
  train batch
  train batch -json
  train batch -data digits
`

// batchFlags are the settings of "train batch".
type batchFlags struct {
	Data       string  `json:"data" help:"linear (closed-form noise scale) or digits (an MLP on the UCI digits)"`
	Dim        int     `json:"dim" help:"linear: input dimension"`
	Kappa      float64 `json:"kappa" help:"linear: condition number of the design covariance"`
	Noise      float64 `json:"noise" help:"linear: label noise standard deviation"`
	Arch       string  `json:"arch" help:"digits: MLP dims such as 64-32-10"`
	Act        string  `json:"act" help:"digits: hidden activation"`
	MeasureN   int     `json:"measure_n" help:"examples B_noise is measured on (digits: 0 = the whole training split)"`
	HVPs       int     `json:"hvps" help:"deviations entering tr(H Sigma) (0: all, exact)"`
	TargetFrac float64 `json:"target_frac" help:"target loss: L* + target_frac (L0 - L*)"`
	Batches    string  `json:"batches" help:"comma-separated batch sizes"`
	LRs        string  `json:"lrs" help:"comma-separated learning rates searched at every batch size"`
	Seeds      int     `json:"seeds" help:"runs per (batch, lr); their mean loss must reach the target"`
	MaxSteps   int     `json:"max_steps" help:"step cap of a run"`
	Checks     int     `json:"checks" help:"evaluate the loss every step up to this many, then about every 1/checks of the steps (0: every step)"`
	Seed       uint64  `json:"seed" help:"seed of the problem and the initialization"`
	Out        string  `json:"out" help:"output directory"`
	JSON       bool    `json:"json" help:"print JSON lines on stdout instead of the table"`
	NoFigures  bool    `json:"no_figures" help:"skip the PNG/SVG figure"`
}

func batchFlagsFrom(d critical.StudyConfig) batchFlags {
	return batchFlags{Data: d.Data, Dim: d.Dim, Kappa: d.Kappa, Noise: d.Noise, Arch: d.Arch, Act: string(d.Act),
		MeasureN: d.MeasureN, HVPs: d.HVPs, TargetFrac: d.TargetFrac, Batches: intsString(d.Batches), LRs: floatsString(d.LRs),
		Seeds: d.Seeds, MaxSteps: d.MaxSteps, Checks: d.Checks, Seed: d.Seed, Out: "out/batch"}
}

// runBatch is "train batch": the study is critical.Study.
func runBatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := batchFlagsFrom(critical.DefaultStudy("linear"))
	// -data (on the command line or in a -config file) chooses the
	// defaults of the other flags: a silent first parse learns it, the
	// real parse below reports any error.
	probe := f
	pfs := newFlags("batch", batchUsage, io.Discard)
	settings.Bind(pfs, &probe)
	if _, _, err := parseWithConfig(pfs, &probe, args, io.Discard); err == nil && probe.Data == "digits" {
		f = batchFlagsFrom(critical.DefaultStudy("digits"))
	}
	mode, err := parseStudy("batch", batchUsage, &f, args, stdout, stderr)
	if err != nil {
		return err
	}
	sc, err := f.study()
	if err != nil {
		return err
	}
	rd, err := beginOut("batch", &f, f.Out, mode)
	if err != nil {
		return err
	}
	defer rd.Close()
	human := humanOut(f.JSON, stdout, stderr)
	fmt.Fprintf(human, "gradflow batch: critical batch size on %s, batches %s, %d lrs, %d seeds\n", sc.Data, f.Batches, len(sc.LRs), sc.Seeds)
	stop := progress.New(stderr).Busy("batch: noise scale and the steps-vs-examples trade-off")
	res, err := critical.Study(ctx, sc)
	stop()
	if ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return fmt.Errorf("%w: nothing to resume, run it again", errInterrupted)
	}
	if err != nil {
		return err
	}
	if err := rd.WriteFile("batch.jsonl", res.WriteJSONL); err != nil {
		return err
	}
	return studyReport{asJSON: f.JSON, noFigures: f.NoFigures, jsonl: res.WriteJSONL, table: res.WriteTable,
		figures: res.WriteFigures, files: "config.json batch.jsonl", figureFiles: "tradeoff.png/svg"}.emit(rd, stdout, human)
}

// study checks the flags and returns the study they describe.
func (f *batchFlags) study() (sc critical.StudyConfig, err error) {
	sc = critical.StudyConfig{Data: f.Data, Dim: f.Dim, Kappa: f.Kappa, Noise: f.Noise, Arch: f.Arch, MeasureN: f.MeasureN,
		HVPs: f.HVPs, TargetFrac: f.TargetFrac, Seed: f.Seed, Seeds: f.Seeds, MaxSteps: f.MaxSteps, Checks: f.Checks}
	if f.Act != "" {
		if sc.Act, err = nn.ParseActivation(f.Act); err != nil {
			return sc, usagef("batch: -act: %v", err)
		}
	}
	if sc.Batches, err = intList("batches", f.Batches); err != nil {
		return sc, err
	}
	if sc.LRs, err = floatList("lrs", f.LRs); err != nil {
		return sc, err
	}
	return sc, checkRules("batch",
		rule{f.Data != "linear" && f.Data != "digits", fmt.Sprintf("-data %q: want linear or digits", f.Data)},
		rule{f.Data == "linear" && f.Dim < 1, fmt.Sprintf("-dim %d: want >= 1", f.Dim)},
		rule{f.Data == "linear" && !(f.Kappa >= 1 && finite(f.Kappa)), fmt.Sprintf("-kappa %v: want a finite number >= 1", f.Kappa)},
		rule{!(f.Noise >= 0 && finite(f.Noise)), fmt.Sprintf("-noise %v: want a finite number >= 0", f.Noise)},
		rule{!(f.TargetFrac > 0 && f.TargetFrac < 1), fmt.Sprintf("-target-frac %v: want a value in (0, 1)", f.TargetFrac)},
		rule{len(sc.Batches) < 2, fmt.Sprintf("-batches %q: want at least two batch sizes to fit", f.Batches)},
		rule{f.Seeds < 1 || f.MaxSteps < 1 || f.Checks < 0 || f.HVPs < 0 || f.MeasureN < 0,
			fmt.Sprintf("-seeds %d, -max-steps %d, -checks %d, -hvps %d, -measure-n %d: want >= 1, >= 1, >= 0, >= 0, >= 0", f.Seeds, f.MaxSteps, f.Checks, f.HVPs, f.MeasureN)},
		rule{f.Data == "linear" && f.MeasureN < 2, fmt.Sprintf("-measure-n %d: want >= 2 samples", f.MeasureN)},
	)
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/landscape"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/tensor"
	"github.com/gradflow/gradflow/train"
)

const landscapeUsage = `usage: train landscape [flags]

Trains an MLP as "train fit" does (the same training flags) while a probe
measures the geometry of the objective every -every steps on a fixed subset
of the training data: the sharpness (top Hessian eigenvalue, by Lanczos on
Hessian-vector products) against the gradient-descent stability threshold
2/eta, the Hessian trace (Hutchinson, with its standard error), the PL ratio
|grad f|^2 / (2 (f - f*)) and the simple gradient noise scale
B_simple = tr(Sigma)/|G|^2. At the end it fits the Lojasiewicz exponent theta
in |grad f| >= c (f - f*)^theta (with a bootstrap interval), reports the
empirical PL constant (the smallest PL ratio) and, for a square loss, the PL*
constant (lambda_min of the empirical NTK Gram matrix times the loss scale) at
initialization and at the end.

The defaults are the edge-of-stability setup of the landscape package's
TestEdgeOfStability (Cohen et al. 2021): 200 digits with pixels mapped to
[0, 1], MLP 64-32-32-10 with tanh and a small init (-wstd 0.5), MSE on one-hot
targets, full-batch gradient descent with eta = 0.5 (2/eta = 4) for 3000
steps. The sharpness starts near 0.2 of 2/eta, rises, crosses 2/eta and then
hovers around it.

Writes, in -out: config.json (the settings, reusable with -config),
landscape.jsonl (one JSON object per measurement), landscape.json (the
summary), model.safetensors, and the figures sharpness, trace and noise (PNG
and SVG). With -json the measurements go to stdout as JSON lines and the
human-readable summary to stderr.

examples:
  train landscape
  train landscape -steps 1000 -every 10 -lr 0.3
  train landscape -n 0 -batch 64 -lr 0.1 -subset 500    (SGD on the whole training split)
  train landscape -json | jq .sharpness[0]
`

// landscapeConfig is a fit plus the probe's settings. The fit's fields are
// embedded so that config.json is one flat object whose keys are the flag
// names, as for fit.
type landscapeConfig struct {
	fitConfig

	Examples       int     `json:"n"`
	Inputs         string  `json:"inputs"`
	WStd           float64 `json:"wstd"`
	Every          int     `json:"every"`
	Subset         int     `json:"subset"`
	TopK           int     `json:"top_k"`
	LanczosIters   int     `json:"lanczos_iters"`
	LanczosTol     float64 `json:"lanczos_tol"`
	TraceProbes    int     `json:"trace_probes"`
	Noise          bool    `json:"noise"`
	NoiseBatches   string  `json:"noise_batches"`
	FStar          float64 `json:"fstar"`
	PLWindow       int     `json:"pl_window"`
	PLStarExamples int     `json:"plstar"`
	LojTail        float64 `json:"loj_tail"`
}

func defaultLandscape() landscapeConfig {
	c := landscapeConfig{fitConfig: defaultFit()}
	f := &c.fitConfig
	f.Arch, f.Activation, f.Init, f.Loss = "auto", "tanh", "default", "mse"
	f.Opt, f.LR, f.Momentum = "sgd", 0.5, 0
	f.Batch, f.Epochs, f.Steps = 0, 0, 3000
	f.DType, f.Out = "f64", "out/landscape"
	c.Examples, c.Inputs, c.WStd = 200, "minmax", 0.5
	c.Every, c.TopK, c.LanczosIters, c.LanczosTol = 25, 1, 30, 1e-3
	c.TraceProbes, c.Noise, c.NoiseBatches = 20, true, "auto"
	c.PLStarExamples, c.LojTail = 50, 1
	return c
}

// register adds the fit's flags, with the usage texts changed where
// landscape reads them differently, and the probe's own flags.
func (c *landscapeConfig) register(fs *flag.FlagSet) {
	c.fitConfig.register(fs)
	reword := map[string]string{
		"arch":       `layer widths, e.g. 64-32-32-10; "auto" = input-32-32-output`,
		"init":       "weight init: default (the parameterization's, scaled by -wstd), torch, he_normal, lecun_normal, glorot_uniform, orthogonal, ...",
		"batch":      "batch size (0: all -n examples, i.e. full-batch gradient descent)",
		"json":       "print the measurements as JSON lines on stdout (the summary goes to stderr)",
		"log-every":  "not used by landscape (-every sets when the probe measures); must stay 0",
		"ckpt-every": "not used by landscape (it writes no checkpoints); must stay 0",
		"seed":       "seed of the split, the subsets, the initialization, the data order and the estimators",
	}
	for name, usage := range reword {
		fs.Lookup(name).Usage = usage
	}
	fs.IntVar(&c.Examples, "n", c.Examples, "training examples, drawn from the training split (0: all of it)")
	fs.StringVar(&c.Inputs, "inputs", c.Inputs, "input scaling fitted on the training split: minmax (each feature to [0, 1]; pixels/16 for digits) | standardize (as fit)")
	fs.Float64Var(&c.WStd, "wstd", c.WStd, "weight scale sigma_w of the init (the std is wstd/sqrt(fan_in) in sp)")
	fs.IntVar(&c.Every, "every", c.Every, "steps between measurements (one is also taken before the first step)")
	fs.IntVar(&c.Subset, "subset", c.Subset, "examples the probe measures on, a fixed random subset of the -n training examples (0: all)")
	fs.IntVar(&c.TopK, "top-k", c.TopK, "top Hessian eigenvalues to converge")
	fs.IntVar(&c.LanczosIters, "lanczos-iters", c.LanczosIters, "largest number of Hessian-vector products per sharpness measurement")
	fs.Float64Var(&c.LanczosTol, "lanczos-tol", c.LanczosTol, "relative residual tolerance of the eigenvalues")
	fs.IntVar(&c.TraceProbes, "trace-probes", c.TraceProbes, "Rademacher probes of the Hutchinson trace per measurement (0: no trace)")
	fs.BoolVar(&c.Noise, "noise", c.Noise, "measure the gradient noise (per-example gradients on the subset)")
	fs.StringVar(&c.NoiseBatches, "noise-batches", c.NoiseBatches, `batch sizes at which to report the minibatch-gradient variance, e.g. "1,8,64" ("auto": 1,10,100 up to the subset size; "none")`)
	fs.Float64Var(&c.FStar, "fstar", c.FStar, "optimal loss f* of the PL ratio and the Lojasiewicz fit (0 for a loss the model can drive to zero)")
	fs.IntVar(&c.PLWindow, "pl-window", c.PLWindow, "measurements the running PL constant is the minimum over (0: all so far)")
	fs.IntVar(&c.PLStarExamples, "plstar", c.PLStarExamples, "examples of the subset for PL* = lambda_min(NTK Gram) x loss scale, at init and at the end (0: off; mse/half_mse only)")
	fs.Float64Var(&c.LojTail, "loj-tail", c.LojTail, "fraction of the measurements, those with the smallest f - f*, the Lojasiewicz fit uses")
}

// runLandscape parses the landscape flags (with an optional -config file)
// and runs.
func runLandscape(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := defaultLandscape()
	// -config decides the starting value of every other flag, so it is
	// read before the real parse.
	scratch := defaultLandscape()
	pv, err := preParse("landscape", args, scratch.register, "config")
	if err != nil {
		return err
	}
	configPath := pv["config"]
	if configPath != "" {
		if err := readLandscapeConfig(configPath, &cfg); err != nil {
			return err
		}
	}
	fs := newFlags("landscape", landscapeUsage, stderr)
	fs.String("config", "", "JSON file with settings (keys are the flag names, as in config.json)")
	cfg.register(fs)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	explicit := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { explicit[f.Name] = true })
	if err := cfg.check(explicit); err != nil {
		return err
	}
	if cfg.Threads > 0 {
		runtime.GOMAXPROCS(cfg.Threads)
	}
	switch cfg.DType {
	case "f32", "float32":
		return landscapeRun[float32](ctx, cfg, explicit, stdout, stderr)
	case "f64", "float64":
		return landscapeRun[float64](ctx, cfg, explicit, stdout, stderr)
	}
	return usagef("landscape: -dtype %q: want f32 or f64", cfg.DType)
}

func readLandscapeConfig(path string, cfg *landscapeConfig) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return usageError{err}
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(cfg); err != nil {
		return usagef("%s: %v", path, err)
	}
	return nil
}

// check validates what can be checked before the data is loaded, naming
// the flag at fault. explicit holds the flags given on the command line.
func (c *landscapeConfig) check(explicit map[string]bool) error {
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch {
	case c.LogEvery != 0:
		return usagef("landscape: -log-every is not used (the probe measures every -every steps); leave it 0")
	case c.CkptEvery != 0:
		return usagef("landscape: -ckpt-every is not used (landscape writes no checkpoints); leave it 0")
	case c.Threads < 0:
		return usagef("landscape: -threads %d is negative", c.Threads)
	case c.Examples < 0:
		return usagef("landscape: -n %d is negative", c.Examples)
	case c.Inputs != "minmax" && c.Inputs != "standardize":
		return usagef("landscape: -inputs %q: want minmax or standardize", c.Inputs)
	case !(c.WStd > 0) || !finite(c.WStd):
		return usagef("landscape: -wstd %v: want a positive number", c.WStd)
	case c.Batch < 0:
		return usagef("landscape: -batch %d is negative", c.Batch)
	case c.Every < 1:
		return usagef("landscape: -every %d: want >= 1", c.Every)
	case c.Subset < 0:
		return usagef("landscape: -subset %d is negative", c.Subset)
	case c.TopK < 1:
		return usagef("landscape: -top-k %d: want >= 1", c.TopK)
	case c.LanczosIters < c.TopK:
		return usagef("landscape: -lanczos-iters %d: want >= -top-k (%d)", c.LanczosIters, c.TopK)
	case !(c.LanczosTol > 0) || !finite(c.LanczosTol):
		return usagef("landscape: -lanczos-tol %v: want a positive number", c.LanczosTol)
	case c.TraceProbes < 0 || c.TraceProbes == 1:
		return usagef("landscape: -trace-probes %d: want 0 (off) or >= 2 (the standard error needs two)", c.TraceProbes)
	case !finite(c.FStar):
		return usagef("landscape: -fstar %v is not finite", c.FStar)
	case c.PLWindow < 0:
		return usagef("landscape: -pl-window %d is negative", c.PLWindow)
	case c.PLStarExamples < 0:
		return usagef("landscape: -plstar %d is negative", c.PLStarExamples)
	case !(c.LojTail > 0 && c.LojTail <= 1):
		return usagef("landscape: -loj-tail %v: want a fraction in (0, 1]", c.LojTail)
	case explicit["noise-batches"] && !c.Noise:
		return usagef("landscape: -noise-batches needs -noise")
	}
	if _, err := lsNoiseBatches(c.NoiseBatches, math.MaxInt, true); err != nil {
		return err
	}
	return nil
}

// lsNoiseBatches parses -noise-batches for a probe subset of n examples.
// "auto" keeps the sizes 1, 10, 100 that fit; explicit sizes larger than
// the subset are an error.
func lsNoiseBatches(spec string, n int, syntaxOnly bool) ([]int, error) {
	switch spec {
	case "none", "":
		return nil, nil
	case "auto":
		var bs []int
		for _, b := range []int{1, 10, 100} {
			if b <= n {
				bs = append(bs, b)
			}
		}
		return bs, nil
	}
	var bs []int
	for _, f := range strings.Split(spec, ",") {
		b, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || b < 1 {
			return nil, usagef("landscape: -noise-batches %q: %q is not a positive batch size", spec, f)
		}
		if !syntaxOnly && b > n {
			return nil, usagef("landscape: -noise-batches %q: %d is larger than the probe's subset (%d examples)", spec, b, n)
		}
		bs = append(bs, b)
	}
	return bs, nil
}

// landscapeRun trains one model as cfg says with a probe attached, and
// writes the outputs.
func landscapeRun[T tensor.Float](ctx context.Context, cfg landscapeConfig, explicit map[string]bool, stdout, stderr io.Writer) error {
	tk, err := loadTask[T](cfg.Data, cfg.TestFrac, cfg.Seed)
	if err != nil {
		return err
	}
	if cfg.Inputs == "minmax" {
		// The task is standardized; min-max scaling is invariant to a
		// per-feature affine map, so this equals min-max of the raw
		// features (up to rounding): pixels/16 for digits, the input
		// scale of the documented edge-of-stability setup.
		if _, err := data.FitScaler(data.MinMax, tk.train, tk.test); err != nil {
			return usagef("landscape: -inputs minmax: %v", err)
		}
	}
	trainSet := tk.train
	if cfg.Examples > trainSet.Len() {
		return usagef("landscape: -n %d, but %s has %d training examples", cfg.Examples, tk.name, trainSet.Len())
	}
	if cfg.Examples > 0 && cfg.Examples < trainSet.Len() {
		rows := rand.New(rand.NewPCG(cfg.Seed, 0x6c73)).Perm(trainSet.Len())[:cfg.Examples]
		trainSet = trainSet.Subset(rows)
	}
	n := trainSet.Len()
	batch := cfg.Batch
	if batch == 0 {
		batch = n
	}
	if batch > n {
		return usagef("landscape: -batch %d is larger than the %d training examples (-n)", batch, n)
	}
	subset := cfg.Subset
	if subset > n {
		return usagef("landscape: -subset %d is larger than the %d training examples (-n)", subset, n)
	}
	if subset == 0 {
		subset = n
	}

	arch := cfg.Arch
	if arch == "auto" || arch == "" {
		arch = fmt.Sprintf("%d-32-32-%d", trainSet.Dim(), tk.outputs)
	}
	dims, err := parseArch(arch, trainSet.Dim(), tk.outputs)
	if err != nil {
		return err
	}
	mcfg, err := modelConfig(cfg.fitConfig, dims)
	if err != nil {
		return err
	}
	mcfg.WStd = cfg.WStd
	model, err := nn.NewMLP[T](mcfg, rand.New(rand.NewPCG(cfg.Seed, 0x1417)))
	if err != nil {
		return usageError{err}
	}
	loss, oneHot, err := lossFor[T](cfg.Loss, tk)
	if err != nil {
		return err
	}
	mse, isMSE := loss.(*train.MSE[T])
	plstar := min(cfg.PLStarExamples, subset)
	switch {
	case !isMSE && explicit["plstar"] && cfg.PLStarExamples > 0:
		return usagef("landscape: -plstar needs a square loss (-loss mse or half_mse), not %s", cfg.Loss)
	case !isMSE:
		plstar = 0
	case explicit["plstar"] && cfg.PLStarExamples > subset:
		return usagef("landscape: -plstar %d is larger than the probe's subset (%d examples)", cfg.PLStarExamples, subset)
	}
	var noiseBatches []int
	if cfg.Noise {
		if subset < 2 {
			return usagef("landscape: -noise needs a subset of at least 2 examples (-subset, -n)")
		}
		if noiseBatches, err = lsNoiseBatches(cfg.NoiseBatches, subset, false); err != nil {
			return err
		}
	}
	opt, err := optimizerFor(cfg.fitConfig, model.Params())
	if err != nil {
		return err
	}
	sched, err := scheduleFor(cfg.fitConfig)
	if err != nil {
		return err
	}
	loader, err := data.NewLoader(trainSet, data.LoaderConfig{BatchSize: batch, Shuffle: true, Seed: cfg.Seed, OneHot: oneHot})
	if err != nil {
		return usageError{err}
	}

	pcfg := landscape.ProbeConfig[T]{
		Model: model, Loss: loss, Data: trainSet, Subset: cfg.Subset, OneHot: oneHot, Every: cfg.Every, Seed: cfg.Seed,
		Sharpness: &landscape.SharpnessBudget{K: cfg.TopK, Iters: cfg.LanczosIters, Tol: cfg.LanczosTol},
		PL:        &landscape.PLBudget{FStar: cfg.FStar, Window: cfg.PLWindow},
	}
	if cfg.TraceProbes > 0 {
		pcfg.Trace = &landscape.TraceBudget{Probes: cfg.TraceProbes}
	}
	if cfg.Noise {
		pcfg.Noise = &landscape.NoiseBudget{BatchSizes: noiseBatches}
	}

	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return usageError{err}
	}
	b, _ := json.MarshalIndent(cfg, "", "  ")
	if err := os.WriteFile(filepath.Join(cfg.Out, "config.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	jf, err := os.Create(filepath.Join(cfg.Out, "landscape.jsonl"))
	if err != nil {
		return err
	}
	defer jf.Close()
	// With -json, stdout carries only the JSON lines, so that it can be
	// piped to a JSON tool; the human-readable text moves to stderr.
	human := stdout
	pcfg.Out = jf
	if cfg.JSON {
		human = stderr
		pcfg.Out = io.MultiWriter(jf, stdout)
	}
	probe, err := landscape.NewProbe(pcfg)
	if err != nil {
		return usageError{err}
	}
	prog := lsStepsOnly[T]{newProgress[T](stderr, cfg.Epochs, cfg.Steps, loader.BatchesPerEpoch(), !cfg.JSON)}
	tr, err := train.New(train.Config[T]{
		Model: model, Loss: loss, Optimizer: opt, Schedule: sched, Train: loader,
		Epochs: cfg.Epochs, Steps: cfg.Steps, ClipNorm: cfg.ClipNorm,
		Callbacks: []train.Callback[T]{probe, prog},
	})
	if err != nil {
		return usageError{err}
	}

	// The rate of the first step, which the first measurement's
	// stability ratio compares with.
	eta0 := cfg.LR * sched.Factor(0)
	fmt.Fprintf(human, "gradflow landscape: %s (%d train, %d test; %s inputs), MLP %s %s/%s, loss %s, %s lr %g, batch %d, %s\n",
		tk.name, n, tk.test.Len(), cfg.Inputs, joinInts(dims), cfg.Activation, cfg.Param, cfg.Loss, cfg.Opt, cfg.LR, batch, cfg.DType)
	fmt.Fprintf(human, "probe: every %d steps on %d examples; Lanczos top %d (<= %d HVPs); trace %s; noise %s; PL* %s\n",
		cfg.Every, subset, cfg.TopK, cfg.LanczosIters, lsOnOff(cfg.TraceProbes > 0, fmt.Sprintf("%d probes", cfg.TraceProbes)),
		lsOnOff(cfg.Noise, "on"), lsOnOff(plstar > 0, fmt.Sprintf("on %d examples", plstar)))

	sum := &landscapeSummary{Data: tk.name, Examples: n, Subset: subset, Arch: joinInts(dims), Batch: batch, LR: cfg.LR, FStar: cfg.FStar}
	start := time.Now()
	if plstar > 0 {
		if sum.PLStar.Initial, err = landscapePLStar(model, probe, plstar, mse.Half); err != nil {
			return err
		}
		sum.PLStar.Examples = plstar
	}
	// The measurement before the first step shows where the sharpness
	// starts, which progressive sharpening is measured from.
	var res train.Result
	_, runErr := probe.Measure(0, eta0)
	if runErr == nil {
		res, runErr = tr.Run(ctx)
	}
	prog.done()
	interrupted := runErr != nil && errors.Is(runErr, context.Canceled)
	if runErr != nil && !interrupted && len(probe.History()) == 0 {
		return runErr
	}
	sum.Steps, sum.Stopped, sum.Seconds = res.Steps, res.Stopped, time.Since(start).Seconds()
	if runErr != nil && !interrupted {
		sum.Stopped = "error: " + runErr.Error()
	}
	// Whatever ended the run, what was measured is written out: the
	// measurements before a divergence are the interesting ones.
	sum.fill(probe, cfg)
	if plstar > 0 && runErr == nil {
		if sum.PLStar.Final, err = landscapePLStar(model, probe, plstar, mse.Half); err != nil {
			return err
		}
	}
	if runErr == nil {
		sum.Train, sum.Test = landscapeEval(tr, tk, trainSet, loss)
	}
	if err := sum.write(filepath.Join(cfg.Out, "landscape.json")); err != nil {
		return err
	}
	if err := model.SaveFile(filepath.Join(cfg.Out, "model.safetensors")); err != nil {
		return err
	}
	var figures []string
	if !cfg.NoFigures {
		if figures, err = landscapeFigures(cfg.Out, probe.History()); err != nil {
			return fmt.Errorf("figures: %w", err)
		}
	}
	sum.print(human, probe.History(), cfg)
	fmt.Fprintf(human, "outputs in %s: config.json landscape.jsonl landscape.json model.safetensors", cfg.Out)
	for _, f := range figures {
		fmt.Fprintf(human, " %s.png/svg", f)
	}
	fmt.Fprintln(human)
	switch {
	case interrupted:
		return fmt.Errorf("%w at step %d; the measurements so far are in %s", errInterrupted, res.Steps, cfg.Out)
	case runErr != nil:
		return runErr
	}
	return nil
}

func lsOnOff(on bool, what string) string {
	if on {
		return what
	}
	return "off"
}

// lsStepsOnly passes the steps to the progress bar but not the records: a
// full-batch run ends an epoch at every step, and a line per epoch would
// flood the terminal. The probe's table is the report.
type lsStepsOnly[T tensor.Float] struct{ *progress[T] }

// OnRecord implements train.Callback; records are not shown.
func (lsStepsOnly[T]) OnRecord(*train.Record) error { return nil }

// landscapePLStar is the PL* constant on the first m examples of the
// probe's subset at the model's current parameters.
func landscapePLStar[T tensor.Float](model *nn.MLP[T], probe *landscape.Probe[T], m int, half bool) (*float64, error) {
	x := probe.Objective().Batch().X
	d := x.Dim(1)
	rows := tensor.FromSlice(slices.Clone(x.Data()[:m*d]), m, d)
	v, err := landscape.PLStarMLP(model, rows, half)
	if err != nil {
		return nil, fmt.Errorf("landscape: PL*: %w", err)
	}
	return lsNum(v), nil
}

// landscapeEval returns the loss (and accuracy) on the examples trained on
// and on the test split.
func landscapeEval[T tensor.Float](tr *train.Trainer[T], tk *task[T], trainSet *data.Dataset[T], loss train.Loss[T]) (trainM, testM *lsEval) {
	eval := func(ds *data.Dataset[T]) *lsEval {
		if ds == nil || ds.Len() == 0 {
			return nil
		}
		l, a, err := tr.Evaluate(ds)
		if err != nil {
			return nil
		}
		e := &lsEval{Loss: lsNum(l)}
		if tk.classes > 0 && loss.Classification() {
			e.Accuracy = lsNum(a)
		}
		return e
	}
	return eval(trainSet), eval(tk.test)
}

// lsNum returns &v, or nil when v is NaN or infinite (JSON has neither).
func lsNum(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// landscapeSummary is landscape.json. Values that could not be computed
// (a stationary point, too few measurements, a loss without PL*) are null.
type landscapeSummary struct {
	Data         string  `json:"data"`
	Examples     int     `json:"n"`
	Subset       int     `json:"subset"`
	Arch         string  `json:"arch"`
	Batch        int     `json:"batch"`
	LR           float64 `json:"lr"`
	Steps        int     `json:"steps"`
	Stopped      string  `json:"stopped"`
	Seconds      float64 `json:"-"` // wall clock: kept out so that the file is reproducible
	Measurements int     `json:"measurements"`
	FStar        float64 `json:"fstar"`

	Sharpness   lsSharpness    `json:"sharpness"`
	Trace       *lsTrace       `json:"hessian_trace"`
	Lojasiewicz *lsLojasiewicz `json:"lojasiewicz"`
	// LojasiewiczError says why the fit is missing.
	LojasiewiczError string   `json:"lojasiewicz_error,omitempty"`
	PL               lsPL     `json:"pl"`
	PLStar           lsPLStar `json:"pl_star"`
	Noise            *lsNoise `json:"noise"`
	Train            *lsEval  `json:"train"`
	Test             *lsEval  `json:"test"`
}

// lsSharpness describes the sharpness along the run against the
// gradient-descent threshold 2/eta (in units of it, the stability ratio
// lambda_max eta / 2).
type lsSharpness struct {
	Initial    float64  `json:"initial"`
	Final      float64  `json:"final"`
	Max        float64  `json:"max"`
	MaxStep    int      `json:"max_step"`
	FinalRatio *float64 `json:"final_ratio"`
	MaxRatio   *float64 `json:"max_ratio"`
	// CrossStep is the first measurement with ratio >= 1 (null: never).
	CrossStep *int `json:"cross_step"`
	// SettleStep is the first measurement after the crossing back below
	// 2/eta; from it on the run is at the edge of stability, and
	// EdgeMin/EdgeMax bound the ratio there.
	SettleStep *int     `json:"settle_step"`
	EdgeMin    *float64 `json:"edge_ratio_min"`
	EdgeMax    *float64 `json:"edge_ratio_max"`
	// Smoothness is the largest |eigenvalue| seen, an estimate of L along
	// the run.
	Smoothness float64 `json:"smoothness"`
}

type lsTrace struct {
	Initial   float64 `json:"initial"`
	InitialSE float64 `json:"initial_se"`
	Final     float64 `json:"final"`
	FinalSE   float64 `json:"final_se"`
}

type lsLojasiewicz struct {
	Theta  float64 `json:"theta"`
	C      float64 `json:"c"`
	Lo     float64 `json:"lo"`
	Hi     float64 `json:"hi"`
	Level  float64 `json:"level"`
	Points int     `json:"points"`
	Tail   float64 `json:"tail"`
}

type lsPL struct {
	// Mu is the smallest PL ratio over the last Window measurements (all
	// when 0): the empirical PL constant.
	Mu         *float64 `json:"mu"`
	Window     int      `json:"window"`
	FinalRatio *float64 `json:"final_ratio"`
}

type lsPLStar struct {
	Examples int      `json:"examples"`
	Initial  *float64 `json:"initial"`
	Final    *float64 `json:"final"`
}

type lsNoise struct {
	BSimpleInitial *float64 `json:"b_simple_initial"`
	BSimpleFinal   *float64 `json:"b_simple_final"`
	CovTraceFinal  float64  `json:"grad_cov_trace_final"`
	// MinibatchVariance is E|g_B - G|^2 at the last measurement.
	MinibatchVariance []landscape.BatchVariance `json:"minibatch_variance,omitempty"`
}

type lsEval struct {
	Loss     *float64 `json:"loss"`
	Accuracy *float64 `json:"accuracy,omitempty"`
}

// lsLojWide is the interval width from which the report says that the
// Lojasiewicz exponent is not determined by the run (PL gives 1/2, x^4
// gives 3/4: an interval wider than this cannot tell them apart).
const lsLojWide = 0.5

// lsLojLevel is the coverage of the Lojasiewicz exponent's interval.
const lsLojLevel = 0.95

// fill computes the summary from the probe's measurements.
func (s *landscapeSummary) fill(p interface {
	History() []landscape.Measurement
	Trajectory() *landscape.Trajectory
}, cfg landscapeConfig) {
	h := p.History()
	s.Measurements = len(h)
	if len(h) == 0 {
		return
	}
	first, last := h[0], h[len(h)-1]
	sh := &s.Sharpness
	sh.Initial, sh.Final = first.Sharpness[0], last.Sharpness[0]
	sh.Max, sh.MaxStep = math.Inf(-1), first.Step
	for _, m := range h {
		if m.Sharpness[0] > sh.Max {
			sh.Max, sh.MaxStep = m.Sharpness[0], m.Step
		}
		if m.Smoothness != nil {
			sh.Smoothness = max(sh.Smoothness, *m.Smoothness)
		}
		if r := m.StabilityRatio; r != nil {
			if sh.MaxRatio == nil || *r > *sh.MaxRatio {
				sh.MaxRatio = lsNum(*r)
			}
			if sh.CrossStep == nil && *r >= 1 {
				sh.CrossStep = &m.Step
			}
			if sh.CrossStep != nil && sh.SettleStep == nil && *r < 1 {
				sh.SettleStep = &m.Step
			}
			if sh.SettleStep != nil {
				if sh.EdgeMin == nil || *r < *sh.EdgeMin {
					sh.EdgeMin = lsNum(*r)
				}
				if sh.EdgeMax == nil || *r > *sh.EdgeMax {
					sh.EdgeMax = lsNum(*r)
				}
			}
		}
	}
	if last.StabilityRatio != nil {
		sh.FinalRatio = lsNum(*last.StabilityRatio)
	}
	if first.Trace != nil {
		s.Trace = &lsTrace{Initial: *first.Trace, InitialSE: *first.TraceStdErr, Final: *last.Trace, FinalSE: *last.TraceStdErr}
	}
	if first.TraceCov != nil {
		s.Noise = &lsNoise{BSimpleInitial: first.BSimple, BSimpleFinal: last.BSimple, CovTraceFinal: *last.TraceCov, MinibatchVariance: last.BatchVars}
	}
	s.PL = lsPL{Mu: last.PLMu, Window: cfg.PLWindow, FinalRatio: last.PLRatio}
	fit, err := landscape.FitLojasiewicz(p.Trajectory(), landscape.LojasiewiczOptions{
		FStar: cfg.FStar, Tail: cfg.LojTail, Level: lsLojLevel, Rand: rand.New(rand.NewPCG(cfg.Seed, 0x10a5)),
	})
	if err != nil {
		s.LojasiewiczError = err.Error()
		return
	}
	s.Lojasiewicz = &lsLojasiewicz{Theta: fit.Theta, C: fit.C, Lo: fit.Lo, Hi: fit.Hi, Level: lsLojLevel, Points: fit.Points, Tail: cfg.LojTail}
}

func (s *landscapeSummary) write(path string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("landscape.json: %w", err)
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// lsLojBound is how close to the ends of FitLojasiewicz's search range
// [-2, 4] a theta must be to say that no exponent fits.
const lsLojBound = 1e-3

// print writes the table of measurements (at most about 16 rows, always
// with the first, the crossing of 2/eta and the last) and the summary.
func (s *landscapeSummary) print(w io.Writer, h []landscape.Measurement, cfg landscapeConfig) {
	if len(h) == 0 {
		fmt.Fprintln(w, "no measurements")
		return
	}
	fmt.Fprintf(w, "\n%7s  %10s  %10s  %9s  %7s  %20s  %9s  %9s\n", "step", "loss", "|grad|^2", "lambda_1", "l1*lr/2", "Hessian trace (se)", "PL ratio", "B_simple")
	stride := max(1, (len(h)+14)/15)
	for i, m := range h {
		crossing := s.Sharpness.CrossStep != nil && m.Step == *s.Sharpness.CrossStep
		if i%stride != 0 && i != len(h)-1 && !crossing {
			continue
		}
		trace := "-"
		if m.Trace != nil {
			trace = fmt.Sprintf("%.4g (%.2g)", *m.Trace, *m.TraceStdErr)
		}
		fmt.Fprintf(w, "%7d  %10.4g  %10.4g  %9.4g  %7s  %20s  %9s  %9s\n", m.Step, m.Loss, m.GradNormSq, m.Sharpness[0],
			lsFmt(m.StabilityRatio, "%.3f"), trace, lsFmt(m.PLRatio, "%.3g"), lsFmt(m.BSimple, "%.3g"))
	}
	fmt.Fprintln(w)
	sh := s.Sharpness
	fmt.Fprintf(w, "sharpness: %.4g at step 0, max %.4g at step %d, final %.4g", sh.Initial, sh.Max, sh.MaxStep, sh.Final)
	if cfg.LR > 0 {
		fmt.Fprintf(w, "; 2/eta = %.4g", 2/cfg.LR)
	}
	fmt.Fprintln(w)
	switch {
	case sh.CrossStep == nil:
		fmt.Fprintf(w, "edge of stability: not reached (largest lambda_1 eta/2 = %s)\n", lsFmt(sh.MaxRatio, "%.3f"))
	case sh.SettleStep == nil:
		fmt.Fprintf(w, "edge of stability: 2/eta reached at step %d; still above it at the end (lambda_1 eta/2 = %s)\n", *sh.CrossStep, lsFmt(sh.FinalRatio, "%.3f"))
	default:
		fmt.Fprintf(w, "edge of stability: 2/eta reached at step %d (overshoot to %s), back below at step %d, then lambda_1 eta/2 in [%s, %s]\n",
			*sh.CrossStep, lsFmt(sh.MaxRatio, "%.3f"), *sh.SettleStep, lsFmt(sh.EdgeMin, "%.3f"), lsFmt(sh.EdgeMax, "%.3f"))
	}
	if cfg.Opt != "sgd" || cfg.Momentum != 0 || cfg.Param == "mup" || cfg.Param == "mf" || s.Batch < s.Examples {
		fmt.Fprintln(w, "  (2/eta is the threshold of full-batch gradient descent; minibatches, momentum, adaptive steps and per-layer rates move it)")
	}
	if t := s.Trace; t != nil {
		fmt.Fprintf(w, "Hessian trace: %.4g +- %.2g at step 0, %.4g +- %.2g at the end (Hutchinson, %d probes)\n", t.Initial, t.InitialSE, t.Final, t.FinalSE, cfg.TraceProbes)
	}
	if l := s.Lojasiewicz; l != nil {
		fmt.Fprintf(w, "Lojasiewicz exponent: theta = %.3f, %.0f%% interval [%.3f, %.3f], c = %.3g (%d points, f* = %g)\n",
			l.Theta, 100*l.Level, l.Lo, l.Hi, l.C, l.Points, s.FStar)
		if l.Theta < -2+lsLojBound || l.Theta > 4-lsLojBound || l.Lo < -2+lsLojBound || l.Hi > 4-lsLojBound {
			fmt.Fprintln(w, "  (at the edge of the fitted range: |grad f| does not follow a power of f - f* along this run, as when GD oscillates at the edge of stability; try -loj-tail)")
		} else if l.Hi-l.Lo > lsLojWide {
			fmt.Fprintf(w, "  (the interval is wider than %g: the points do not pin theta down; along a run at the edge of stability |grad f| jumps with the oscillation instead of following f - f*; a smaller -lr keeps GD below the edge)\n", lsLojWide)
		}
	} else {
		fmt.Fprintf(w, "Lojasiewicz exponent: not fitted (%s)\n", s.LojasiewiczError)
	}
	fmt.Fprintf(w, "empirical PL constant: mu = %s (smallest PL ratio", lsFmt(s.PL.Mu, "%.4g"))
	if s.PL.Window > 0 {
		fmt.Fprintf(w, " over the last %d measurements", s.PL.Window)
	}
	fmt.Fprintf(w, ", f* = %g)\n", s.FStar)
	if s.PLStar.Examples > 0 {
		fmt.Fprintf(w, "PL*: %s at init, %s at the end (lambda_min of the NTK Gram on %d examples times the loss scale)\n",
			lsFmt(s.PLStar.Initial, "%.4g"), lsFmt(s.PLStar.Final, "%.4g"), s.PLStar.Examples)
	}
	if nz := s.Noise; nz != nil {
		fmt.Fprintf(w, "gradient noise scale B_simple: %s at step 0, %s at the end (critical batch-size estimate)\n",
			lsFmt(nz.BSimpleInitial, "%.4g"), lsFmt(nz.BSimpleFinal, "%.4g"))
	}
	for _, e := range []struct {
		name string
		m    *lsEval
	}{{"train", s.Train}, {"test ", s.Test}} {
		if e.m == nil {
			continue
		}
		if e.m.Accuracy != nil {
			fmt.Fprintf(w, "%s accuracy %.2f%%  loss %s\n", e.name, 100**e.m.Accuracy, lsFmt(e.m.Loss, "%.5f"))
		} else {
			fmt.Fprintf(w, "%s loss %s\n", e.name, lsFmt(e.m.Loss, "%.5f"))
		}
	}
	fmt.Fprintf(w, "%d steps, %d measurements in %.1fs (%s)\n", s.Steps, s.Measurements, s.Seconds, s.Stopped)
}

func lsFmt(v *float64, format string) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf(format, *v)
}

// landscapeFigures draws sharpness.{png,svg} and, when measured,
// trace.{png,svg} and noise.{png,svg}; it returns the names drawn.
func landscapeFigures(dir string, h []landscape.Measurement) ([]string, error) {
	if len(h) == 0 {
		return nil, nil
	}
	var names []string

	// Sharpness: the top eigenvalues and the threshold 2/eta at the
	// step's rate (a curve, so that a schedule shows).
	p := plot.New()
	p.Title.Text = "sharpness (top Hessian eigenvalues)"
	p.X.Label.Text = "step"
	p.Y.Label.Text = "eigenvalue"
	k := len(h[0].Sharpness)
	for i := range k {
		var xy plotter.XYs
		for _, m := range h {
			if i < len(m.Sharpness) {
				xy = append(xy, plotter.XY{X: float64(m.Step), Y: m.Sharpness[i]})
			}
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			return nil, err
		}
		l.Color = plotutil.Color(i)
		p.Add(l)
		p.Legend.Add(fmt.Sprintf("lambda_%d", i+1), l)
	}
	var thr plotter.XYs
	for _, m := range h {
		if m.LR > 0 {
			thr = append(thr, plotter.XY{X: float64(m.Step), Y: 2 / m.LR})
		}
	}
	if len(thr) > 0 {
		l, err := plotter.NewLine(thr)
		if err != nil {
			return nil, err
		}
		l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		p.Add(l)
		p.Legend.Add("2/eta", l)
	}
	p.Legend.Top = false
	p.Legend.Left = false
	if err := landscapeSave(p, dir, "sharpness"); err != nil {
		return nil, err
	}
	names = append(names, "sharpness")

	if h[0].Trace != nil {
		var pts lsErrPoints
		for _, m := range h {
			pts.XYs = append(pts.XYs, plotter.XY{X: float64(m.Step), Y: *m.Trace})
			pts.YErrors = append(pts.YErrors, struct{ Low, High float64 }{*m.TraceStdErr, *m.TraceStdErr})
		}
		p := plot.New()
		p.Title.Text = "Hessian trace (Hutchinson, +- 1 standard error)"
		p.X.Label.Text = "step"
		p.Y.Label.Text = "tr H"
		l, err := plotter.NewLine(pts.XYs)
		if err != nil {
			return nil, err
		}
		l.Color = plotutil.Color(0)
		eb, err := plotter.NewYErrorBars(pts)
		if err != nil {
			return nil, err
		}
		eb.Color = plotutil.Color(0)
		p.Add(l, eb)
		if err := landscapeSave(p, dir, "trace"); err != nil {
			return nil, err
		}
		names = append(names, "trace")
	}

	if h[0].TraceCov != nil {
		// B_simple spans orders of magnitude along a run: log scale,
		// which leaves out the points where it is not positive.
		var xy plotter.XYs
		for _, m := range h {
			if m.BSimple != nil && *m.BSimple > 0 {
				xy = append(xy, plotter.XY{X: float64(m.Step), Y: *m.BSimple})
			}
		}
		if len(xy) > 0 {
			p := plot.New()
			p.Title.Text = "gradient noise scale B_simple = tr(Sigma)/|G|^2"
			p.X.Label.Text = "step"
			p.Y.Label.Text = "B_simple (examples)"
			p.Y.Scale = plot.LogScale{}
			p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
			l, err := plotter.NewLine(xy)
			if err != nil {
				return nil, err
			}
			l.Color = plotutil.Color(0)
			p.Add(l)
			if err := landscapeSave(p, dir, "noise"); err != nil {
				return nil, err
			}
			names = append(names, "noise")
		}
	}
	return names, nil
}

// lsErrPoints are points with symmetric vertical error bars.
type lsErrPoints struct {
	plotter.XYs
	plotter.YErrors
}

func landscapeSave(p *plot.Plot, dir, name string) error {
	for _, ext := range []string{".png", ".svg"} {
		if err := p.Save(6*vg.Inch, 4*vg.Inch, filepath.Join(dir, name+ext)); err != nil {
			return err
		}
	}
	return nil
}

package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"runtime"

	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/internal/settings"
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

-arch also takes a net spec (the grammar of "train fit -arch"), e.g.
conv8k3p1-tanh-maxpool2-flatten-fc10, built on the data's example shape
([1 8 8] for digits) under -param with -wstd and -init as for an MLP
(nn.NewNetWith: fan_in of a conv = in_channels x kernel area); -act does not
apply. PL* of a net takes one backward pass per output of its examples.

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
  train landscape -arch conv8k3p1-tanh-maxpool2-flatten-fc10 -steps 500 -every 25
`

// landscapeConfig is a fit plus the probe's settings. The fit's fields are
// embedded so that config.json is one flat object whose keys are the flag
// names, as for fit.
type landscapeConfig struct {
	fitConfig

	Examples       int     `json:"n" help:"training examples, drawn from the training split (0: all of it)"`
	Inputs         string  `json:"inputs" help:"input scaling fitted on the training split: minmax (each feature to [0, 1]; pixels/16 for digits) | standardize (as fit)"`
	WStd           float64 `json:"wstd" help:"weight scale sigma_w of the init (the std is wstd/sqrt(fan_in) in sp)"`
	Every          int     `json:"every" help:"steps between measurements (one is also taken before the first step)"`
	Subset         int     `json:"subset" help:"examples the probe measures on, a fixed random subset of the -n training examples (0: all)"`
	TopK           int     `json:"top_k" help:"top Hessian eigenvalues to converge"`
	LanczosIters   int     `json:"lanczos_iters" help:"largest number of Hessian-vector products per sharpness measurement"`
	LanczosTol     float64 `json:"lanczos_tol" help:"relative residual tolerance of the eigenvalues"`
	TraceProbes    int     `json:"trace_probes" help:"Rademacher probes of the Hutchinson trace per measurement (0: no trace)"`
	Noise          bool    `json:"noise" help:"measure the gradient noise (per-example gradients on the subset)"`
	NoiseBatches   string  `json:"noise_batches" help:"batch sizes at which to report the minibatch-gradient variance, e.g. \"1,8,64\" (\"auto\": 1,10,100 up to the subset size; \"none\")"`
	FStar          float64 `json:"fstar" help:"optimal loss f* of the PL ratio and the Lojasiewicz fit (0 for a loss the model can drive to zero)"`
	PLWindow       int     `json:"pl_window" help:"measurements the running PL constant is the minimum over (0: all so far)"`
	PLStarExamples int     `json:"plstar" help:"examples of the subset for PL* = lambda_min(NTK Gram) x loss scale, at init and at the end (0: off; mse/half_mse only)"`
	LojTail        float64 `json:"loj_tail" help:"fraction of the measurements, those with the smallest f - f*, the Lojasiewicz fit uses"`
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

// register declares the fit's flags, with the usage texts changed where
// landscape reads them differently, and the probe's own flags.
func (c *landscapeConfig) register(fs *flag.FlagSet) {
	settings.Bind(fs, c)
	reword := map[string]string{
		"arch":       `layer widths, e.g. 64-32-32-10; "auto" = input-32-32-output; or a net spec on the data's examples, e.g. conv8k3p1-tanh-maxpool2-flatten-fc10`,
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
}

// runLandscape parses the landscape flags (with an optional -config file)
// and runs.
func runLandscape(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := defaultLandscape()
	fs := newFlags("landscape", landscapeUsage, stderr)
	cfg.register(fs)
	_, mode, err := parseWithConfig(fs, &cfg, args, stdout)
	if err != nil {
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
	rd, err := openOut("landscape", cfg.Out, mode)
	if err != nil {
		return err
	}
	defer rd.Close()
	if cfg.DType == "f32" || cfg.DType == "float32" {
		return landscapeRun[float32](ctx, cfg, explicit, rd, stdout, stderr)
	}
	return landscapeRun[float64](ctx, cfg, explicit, rd, stdout, stderr)
}

// check validates what can be checked before the data is loaded, naming
// the flag at fault. explicit holds the flags given on the command line.
func (c *landscapeConfig) check(explicit map[string]bool) error {
	err := checkRules("landscape", append(c.trainingRules(),
		rule{c.Epochs == 0 && c.Steps == 0, "-epochs 0 -steps 0: give a positive -steps or -epochs (or both)"},
		rule{c.LogEvery != 0, "-log-every is not used (the probe measures every -every steps); leave it 0"},
		rule{c.CkptEvery != 0, "-ckpt-every is not used (landscape writes no checkpoints); leave it 0"},
		rule{c.Examples < 0, fmt.Sprintf("-n %d is negative", c.Examples)},
		rule{c.Inputs != "minmax" && c.Inputs != "standardize", fmt.Sprintf("-inputs %q: want minmax or standardize", c.Inputs)},
		rule{!positive(c.WStd), fmt.Sprintf("-wstd %v: want a positive number", c.WStd)},
		rule{c.Batch < 0, fmt.Sprintf("-batch %d is negative", c.Batch)},
		rule{c.Every < 1, fmt.Sprintf("-every %d: want >= 1", c.Every)},
		rule{c.Subset < 0, fmt.Sprintf("-subset %d is negative", c.Subset)},
		rule{c.TopK < 1, fmt.Sprintf("-top-k %d: want >= 1", c.TopK)},
		rule{c.LanczosIters < c.TopK, fmt.Sprintf("-lanczos-iters %d: want >= -top-k (%d)", c.LanczosIters, c.TopK)},
		rule{!positive(c.LanczosTol), fmt.Sprintf("-lanczos-tol %v: want a positive number", c.LanczosTol)},
		rule{c.TraceProbes < 0 || c.TraceProbes == 1, fmt.Sprintf("-trace-probes %d: want 0 (off) or >= 2 (the standard error needs two)", c.TraceProbes)},
		rule{!finite(c.FStar), fmt.Sprintf("-fstar %v is not finite", c.FStar)},
		rule{c.PLWindow < 0, fmt.Sprintf("-pl-window %d is negative", c.PLWindow)},
		rule{c.PLStarExamples < 0, fmt.Sprintf("-plstar %d is negative", c.PLStarExamples)},
		rule{!(c.LojTail > 0 && c.LojTail <= 1), fmt.Sprintf("-loj-tail %v: want a fraction in (0, 1]", c.LojTail)},
		rule{explicit["noise-batches"] && !c.Noise, "-noise-batches needs -noise"},
	)...)
	if err != nil {
		return err
	}
	_, err = noiseBatches(c.NoiseBatches, math.MaxInt) // the syntax
	return err
}

// noiseBatches is landscape.ParseNoiseBatches for -noise-batches.
func noiseBatches(spec string, n int) ([]int, error) {
	bs, err := landscape.ParseNoiseBatches(spec, n)
	if err != nil {
		return nil, usagef("landscape: -noise-batches %v", err)
	}
	return bs, nil
}

// landscapeData loads -data, scales the inputs as -inputs says and draws
// the -n training examples.
func landscapeData[T tensor.Float](cfg landscapeConfig) (*task[T], *data.Dataset[T], error) {
	tk, err := loadTask[T](cfg.Data, cfg.TestFrac, cfg.Seed)
	if err != nil {
		return nil, nil, err
	}
	// Min-max scaling of the standardized task is that of the raw features
	// (pixels/16 for digits, the scale of the edge-of-stability setup).
	if cfg.Inputs == "minmax" {
		if _, err := data.FitScaler(data.MinMax, tk.Train, tk.Test); err != nil {
			return nil, nil, usagef("landscape: -inputs minmax: %v", err)
		}
	}
	trainSet := tk.Train
	if cfg.Examples > trainSet.Len() {
		return nil, nil, usagef("landscape: -n %d, but %s has %d training examples", cfg.Examples, tk.Name, trainSet.Len())
	}
	if cfg.Examples > 0 && cfg.Examples < trainSet.Len() {
		trainSet = trainSet.Subset(rand.New(rand.NewPCG(cfg.Seed, 0x6c73)).Perm(trainSet.Len())[:cfg.Examples])
	}
	return tk, trainSet, nil
}

// landscapeStudy builds the study cfg asks for on trainSet (the -n
// examples of tk), checking the flags that depend on the data.
func landscapeStudy[T tensor.Float](cfg landscapeConfig, explicit map[string]bool, tk *task[T], trainSet *data.Dataset[T]) (sc landscape.StudyConfig[T], err error) {
	n := trainSet.Len()
	batch, subset := cmp.Or(cfg.Batch, n), cmp.Or(cfg.Subset, n)
	switch {
	case batch > n:
		return sc, usagef("landscape: -batch %d is larger than the %d training examples (-n)", batch, n)
	case subset > n:
		return sc, usagef("landscape: -subset %d is larger than the %d training examples (-n)", subset, n)
	}
	if cfg.Arch == "auto" || cfg.Arch == "" {
		cfg.Arch = fmt.Sprintf("%d-32-32-%d", trainSet.Dim(), tk.Outputs)
	}
	param, err := landscapeModel(&sc, cfg, explicit, tk, trainSet)
	if err != nil {
		return sc, err
	}
	if sc.Loss, sc.OneHot, err = parseLoss[T](cfg.Loss, tk); err != nil {
		return sc, err
	}
	_, isMSE := sc.Loss.(*train.MSE[T])
	switch {
	case !isMSE && explicit["plstar"] && cfg.PLStarExamples > 0:
		return sc, usagef("landscape: -plstar needs a square loss (-loss mse or half_mse), not %s", cfg.Loss)
	case isMSE && explicit["plstar"] && cfg.PLStarExamples > subset:
		return sc, usagef("landscape: -plstar %d is larger than the probe's subset (%d examples)", cfg.PLStarExamples, subset)
	case isMSE:
		sc.PLStar = min(cfg.PLStarExamples, subset)
	}
	if cfg.Noise {
		if subset < 2 {
			return sc, usagef("landscape: -noise needs a subset of at least 2 examples (-subset, -n)")
		}
		sc.Noise = &landscape.NoiseBudget{}
		if sc.Noise.BatchSizes, err = noiseBatches(cfg.NoiseBatches, subset); err != nil {
			return sc, err
		}
	}
	if sc.Optimizer, err = optimizerFor(cfg.fitConfig, sc.Model.Params()); err != nil {
		return sc, err
	}
	if sc.Schedule, err = scheduleFor(cfg.fitConfig); err != nil {
		return sc, err
	}
	if cfg.TraceProbes > 0 {
		sc.Trace = &landscape.TraceBudget{Probes: cfg.TraceProbes}
	}
	sc.Train, sc.Test, sc.DataName, sc.Batch, sc.Subset = trainSet, tk.Test, tk.Name, batch, subset
	sc.Epochs, sc.Steps, sc.ClipNorm, sc.MaxLossRatio = cfg.Epochs, cfg.Steps, cfg.ClipNorm, cfg.MaxLoss
	sc.Every, sc.Seed, sc.LojTail = cfg.Every, cfg.Seed, cfg.LojTail
	// muP and mean field scale the rates per layer (nn.Param.LRScale).
	sc.PlainGD = cfg.Opt == "sgd" && cfg.Momentum == 0 && param != nn.MuP && param != nn.MeanField
	sc.Sharpness = landscape.SharpnessBudget{K: cfg.TopK, Iters: cfg.LanczosIters, Tol: cfg.LanczosTol}
	sc.PL = landscape.PLBudget{FStar: cfg.FStar, Window: cfg.PLWindow}
	return sc, nil
}

// landscapeModel builds the model of -arch into sc.Model: an MLP of
// widths, or a net spec (nn.NewNetWith on the data's example shape, with
// -param, -init and -wstd as for an MLP), and returns its
// parameterization.
func landscapeModel[T tensor.Float](sc *landscape.StudyConfig[T], cfg landscapeConfig, explicit map[string]bool, tk *task[T], trainSet *data.Dataset[T]) (nn.Parameterization, error) {
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x1417))
	if !isNetSpec(cfg.Arch) {
		dims, err := parseArch(cfg.Arch, trainSet.Dim(), tk.Outputs)
		if err != nil {
			return "", err
		}
		mcfg, err := modelConfig(cfg.fitConfig, dims)
		if err != nil {
			return "", err
		}
		mcfg.WStd = cfg.WStd
		if sc.Model, err = nn.NewMLP[T](mcfg, rng); err != nil {
			return "", usageError{err}
		}
		return mcfg.Parameterization, nil
	}
	switch {
	case explicit["act"]:
		return "", usagef("landscape: -act %s applies to MLPs; a net spec (-arch %s) names its activations itself (e.g. conv8k3p1-%s-...)", cfg.Activation, cfg.Arch, cfg.Activation)
	case hasDropout(cfg.Arch):
		return "", usagef("landscape: -arch %s has dropout, whose random masks make the objective the probe measures a random function; leave it out", cfg.Arch)
	}
	nc, err := netConfig(cfg.fitConfig, trainSet.ExampleShape())
	if err != nil {
		return "", err
	}
	nc.WStd = cfg.WStd
	net, err := nn.NewNetWith[T](nc, rng)
	if err != nil {
		return "", usagef("landscape: -arch: %v", err)
	}
	if out := net.OutputShape(); len(out) != 1 || out[0] != tk.Outputs {
		return "", usagef("landscape: -arch %s: the net's output for one example has shape %v, but %s needs %d outputs (end the spec with fc%d)", cfg.Arch, out, tk.Name, tk.Outputs, tk.Outputs)
	}
	sc.Model = net
	return nc.Parameterization, nil
}

// landscapeRun trains one model as cfg says with the probe attached, and
// writes the outputs into rd.
func landscapeRun[T tensor.Float](ctx context.Context, cfg landscapeConfig, explicit map[string]bool, rd *train.RunDir, stdout, stderr io.Writer) error {
	tk, trainSet, err := landscapeData[T](cfg)
	if err != nil {
		return err
	}
	sc, err := landscapeStudy(cfg, explicit, tk, trainSet)
	if err != nil {
		return err
	}
	b, _ := json.MarshalIndent(cfg, "", "  ")
	if err := rd.Begin(append(b, '\n')); err != nil {
		return err
	}
	// landscape.jsonl grows by one measurement a line, like metrics.jsonl.
	jf, err := os.Create(rd.Path("landscape.jsonl"))
	if err != nil {
		return err
	}
	defer jf.Close()
	// With -json, stdout carries only the JSON lines, so that it can be
	// piped to a JSON tool; the human-readable text moves to stderr.
	human := humanOut(cfg.JSON, stdout, stderr)
	sc.Out = jf
	if cfg.JSON {
		sc.Out = io.MultiWriter(jf, stdout)
	}
	perEpoch := (trainSet.Len() + sc.Batch - 1) / sc.Batch
	prog := train.NewProgress[T](stderr, cfg.Steps)
	if cfg.Epochs > 0 && (cfg.Steps == 0 || cfg.Epochs*perEpoch < cfg.Steps) {
		prog.SetTotal(cfg.Epochs * perEpoch)
	}
	sc.Callbacks = []train.Callback[T]{prog}
	study, err := landscape.NewStudy(sc)
	if err != nil {
		return usageError{err}
	}
	var desc string
	var save func(io.Writer) error
	switch m := sc.Model.(type) {
	case *nn.MLP[T]:
		desc, save = fmt.Sprintf("MLP %s %s/%s", joinInts(m.Config.Dims), cfg.Activation, cfg.Param), m.Save
	case *nn.Net[T]:
		desc, save = fmt.Sprintf("net %s on %v (%d parameters) %s", m.Spec, m.InputShape, nn.NumParams[T](m), cfg.Param), m.Save
	}
	fmt.Fprintf(human, "gradflow landscape: %s (%d train, %d test; %s inputs), %s, loss %s, %s lr %g, batch %d, %s\nprobe: %s\n",
		tk.Name, trainSet.Len(), tk.Test.Len(), cfg.Inputs, desc, cfg.Loss, cfg.Opt, cfg.LR, sc.Batch, cfg.DType, study.Describe())
	res, runErr := study.Run(ctx)
	prog.Done()
	if res == nil {
		return runErr
	}
	// Whatever ended the run, what was measured is written out.
	if err := rd.WriteJSON("landscape.json", res); err != nil {
		return err
	}
	if err := rd.WriteFile(train.ModelFile, save); err != nil {
		return err
	}
	var figures []string
	if !cfg.NoFigures {
		err := rd.Stage(func(dir string) (err error) { figures, err = res.WriteFigures(dir); return err })
		if err != nil {
			return fmt.Errorf("figures: %w", err)
		}
	}
	res.WriteText(human)
	fmt.Fprintf(human, "outputs in %s: config.json landscape.jsonl landscape.json model.safetensors", cfg.Out)
	for _, f := range figures {
		fmt.Fprintf(human, " %s.png/svg", f)
	}
	fmt.Fprintln(human)
	if errors.Is(runErr, context.Canceled) {
		return fmt.Errorf("%w at step %d; the measurements so far are in %s", errInterrupted, res.Steps, cfg.Out)
	}
	return runErr
}

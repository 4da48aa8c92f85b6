package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/gradflow/gradflow/internal/settings"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/optim"
	"github.com/gradflow/gradflow/tensor"
	"github.com/gradflow/gradflow/train"
)

const fitUsage = `usage: train fit [flags]

Trains an MLP or a convolutional net and writes, in -out: config.json,
metrics.jsonl (one JSON object per record), model.safetensors (PyTorch
nn.Sequential key names), checkpoint.ckpt, and loss/accuracy figures (PNG
and SVG). With no flags it trains 64-128-128-10 on the embedded UCI
digits in a few seconds.

-arch is MLP widths (784-512-10, or auto) or, when it has letters, a net
spec: layers joined by '-', each one torch.nn.Sequential module (indices
count activations, pools and flatten, as the state-dict keys do); the
input is one example of the data ([1 8 8] digits, [1 28 28] MNIST):
  conv<C>k<K>[s<S>][p<P>][d<D>][g<G>][nb]  Conv2d to C channels, kernel K, stride S,
                                           padding P, dilation D, groups G; nb: no bias
  fc<N>[nb]                                Linear to N (after flatten or gap)
  relu tanh gelu silu sigmoid ...          activation module
  maxpool<K>[s<S>][p<P>] avgpool<K>[...]   MaxPool2d / AvgPool2d (stride defaults to K)
  gap  flatten                             global average pool [C H W] -> [C]; Flatten
  bn  ln  dropout[<p>]                     BatchNorm1d/2d, LayerNorm, Dropout (p 0.5)
  res(<spec>[,<spec>])                     residual block: body + shortcut (identity if absent)
-param and -init apply to nets as to MLPs (conv fan-in = channels x kernel
area; sp with -init torch is PyTorch's default init); -act is for MLPs.
BatchNorm and Dropout run in eval mode when the test set is evaluated.

A directory that holds a run is never overwritten: continue it with
-resume, or replace it with -overwrite. A run that diverges (a NaN or
infinite loss, or a loss over -max-loss-ratio times the first) stops with
exit status 1 and keeps its last finite state: checkpoint.last-finite.ckpt
and model.last-finite.safetensors; -resume continues from there once -lr,
-clip or -max-loss-ratio is changed.

examples:
  train fit
  train fit -data mnist:../shared/datasets/mnist -arch 784-512-512-10 -epochs 6 -batch 128 -out out/mnist
  train fit -data csv:../shared/datasets/uci/iris.csv -arch 4-16-3 -opt adam -lr 0.01 -out out/iris
  train fit -data mnist:../shared/datasets/mnist -out out/lenet -opt adam -lr 0.002 -batch 128 -epochs 0 -steps 4690 -schedule cosine \
      -arch conv6k5p2-relu-maxpool2-conv16k5-relu-maxpool2-flatten-fc120-relu-fc84-relu-fc10   (LeNet-5: 99.2% test accuracy)
  train fit -arch 'conv16k3p1-bn-relu-res(conv16k3p1-bn-relu-conv16k3p1-bn)-relu-maxpool2-flatten-fc10' -opt adam -lr 0.003 -out out/res
      (a residual CNN on the 8x8 digits: 98.6% test accuracy in about 10 s)
  train fit -data csv:data.csv,label=5  (the label is column 5: numbers count columns from 1)
  train fit -config run.json          (JSON with the flag names as keys; flags given too override it)
  train fit -resume out/fit           (continue an interrupted run; -epochs/-steps may extend it)
  train fit -resume out/fit -lr 0.005 (continue a diverged run from its last finite state)
  train fit -overwrite                (replace the run in out/fit)
`

// fitConfig holds every setting of a fit; it is saved as config.json so
// that -resume rebuilds exactly the same run.
type fitConfig struct {
	Data        string  `json:"data" help:"dataset: digits | mnist:DIR | csv:FILE[,label=COL][,regression] | synthetic:spirals|gaussians|teacher|sinusoid|linear[,n=N][,d=D]\n(csv: COL is a header name or a 1-based column number, negative counting from the end; default the last column)"`
	TestFrac    float64 `json:"test_frac" help:"fraction held out for testing (datasets without a test split)"`
	Arch        string  `json:"arch" help:"MLP layer widths, e.g. 784-512-512-10 (\"auto\" = input-128-128-output), or a net spec with layer names, e.g. conv6k5p2-relu-maxpool2-flatten-fc10 (see above)"`
	Activation  string  `json:"act" help:"hidden activation: relu, tanh, sigmoid, gelu, silu, softplus, erf, leaky_relu, identity"`
	Param       string  `json:"param" help:"parameterization: sp | ntk | mf | mup"`
	Init        string  `json:"init" help:"weight init: torch, default (the parameterization's), he_normal, lecun_normal, glorot_uniform, orthogonal, ..."`
	Loss        string  `json:"loss" help:"loss: ce | mse | half_mse | auto (ce for classes, mse for regression)"`
	Opt         string  `json:"opt" help:"optimizer: sgd | adam | adamw | adagrad | rmsprop"`
	LR          float64 `json:"lr" help:"learning rate"`
	Momentum    float64 `json:"momentum" help:"momentum (sgd; rmsprop, where it defaults to 0 as in PyTorch)"`
	Dampening   float64 `json:"dampening" help:"momentum dampening (sgd)"`
	Nesterov    bool    `json:"nesterov" help:"Nesterov momentum (sgd)"`
	WeightDecay float64 `json:"wd" help:"weight decay (all; decoupled for adamw)"`
	Beta1       float64 `json:"beta1" help:"beta1 of torch's betas (adam, adamw)"`
	Beta2       float64 `json:"beta2" help:"beta2 of torch's betas (adam, adamw)"`
	AMSGrad     bool    `json:"amsgrad" help:"AMSGrad variant (adam, adamw)"`
	Eps         float64 `json:"eps" help:"epsilon (adam, adamw, rmsprop; adagrad, where it defaults to 1e-10 as in PyTorch)"`
	Alpha       float64 `json:"alpha" help:"smoothing constant (rmsprop)"`
	Centered    bool    `json:"centered" help:"centered RMSprop (rmsprop)"`
	LRDecay     float64 `json:"lr_decay" help:"learning rate decay (adagrad)"`
	InitAccum   float64 `json:"initial_accumulator_value" help:"initial sum of squared gradients (adagrad)"`
	Schedule    string  `json:"schedule" help:"lr schedule: constant | cosine | step:EVERY:GAMMA | exp:GAMMA | rm:C:T0:ALPHA (Robbins-Monro C/(T0+t)^ALPHA)"`
	Warmup      int     `json:"warmup" help:"linear warmup steps before the schedule"`
	Average     string  `json:"average" help:"iterate averaging, evaluated as <eval>@avg: none | polyak | from:STEP | tail:FRACTION:STEPS (the last FRACTION of a STEPS-step run)"`
	ClipNorm    float64 `json:"clip" help:"clip the gradient to this global norm (0: off)"`
	MaxLoss     float64 `json:"max_loss_ratio" help:"stop as diverged when a step's loss exceeds this multiple of the first step's (0: off; NaN and Inf always stop)"`
	Batch       int     `json:"batch" help:"batch size"`
	Epochs      int     `json:"epochs" help:"epochs (0: bounded by -steps only)"`
	Steps       int     `json:"steps" help:"step budget (0: bounded by -epochs only)"`
	LogEvery    int     `json:"log_every" help:"steps between metric records (0: once per epoch)"`
	CkptEvery   int     `json:"ckpt_every" help:"steps between checkpoints (0: at the end of every epoch only)"`
	Seed        uint64  `json:"seed" help:"seed of the split, the initialization and the data order"`
	DType       string  `json:"dtype" help:"f32 | f64"`
	Threads     int     `json:"threads" help:"worker threads (GOMAXPROCS); 0 keeps the default"`
	Out         string  `json:"out" help:"output directory"`
	JSON        bool    `json:"json" help:"print the metric records as JSON lines on stdout (the header, progress and summary go to stderr)"`
	NoFigures   bool    `json:"no_figures" help:"skip the PNG/SVG figures"`
}

func defaultFit() fitConfig {
	return fitConfig{
		Data: "digits", TestFrac: 0.2, Arch: "auto", Activation: "relu", Param: "sp", Init: "torch",
		Loss: "auto", Opt: "sgd", LR: 0.05, Momentum: 0.9, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8,
		Alpha: 0.99, Schedule: "constant", Average: "none", MaxLoss: 1e6, Batch: 32, Epochs: 20, Seed: 1, DType: "f32", Out: "out/fit",
	}
}

func (c *fitConfig) register(fs *flag.FlagSet) { settings.Bind(fs, c) }

// fitRun is how a fit was asked for beyond its settings.
type fitRun struct {
	mode train.RunMode
	// saved is a resumed run's config.json with the settings -resume
	// changed in it (-epochs, -steps; -lr, -clip, -max-loss-ratio after a
	// divergence), to record them for the next resume.
	saved fitConfig
}

// runFit parses the fit flags (with an optional -config file and -resume
// directory) and trains.
func runFit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, run, err := parseFit(args, stdout, stderr)
	if err != nil {
		return err
	}
	if cfg.Threads > 0 {
		runtime.GOMAXPROCS(cfg.Threads)
	}
	if cfg.DType == "f64" || cfg.DType == "float64" {
		return fit[float64](ctx, cfg, run, stdout, stderr)
	}
	return fit[float32](ctx, cfg, run, stdout, stderr)
}

// parseFit reads the settings of a fit: defaults, then -config FILE or a
// resumed run's config.json, then the flags; and checks them all.
func parseFit(args []string, stdout, stderr io.Writer) (fitConfig, fitRun, error) {
	cfg, run := defaultFit(), fitRun{mode: train.NewRun}
	// -config and -resume decide the starting values of every other flag,
	// so they are read before the real parse.
	scratch := defaultFit()
	pv, err := preParse("fit", args, func(fs *flag.FlagSet) { scratch.register(fs); fs.Bool("overwrite", false, "") }, "config", "resume")
	if err != nil {
		return cfg, run, err
	}
	configPath, resumeDir := pv["config"], pv["resume"]
	switch {
	case resumeDir != "" && configPath != "":
		return cfg, run, usagef("fit: -resume and -config cannot be combined (the run's own config.json is used)")
	case resumeDir != "":
		path := filepath.Join(resumeDir, train.ConfigFile)
		if _, err := os.Stat(path); err != nil {
			return cfg, run, usagef("fit: -resume %s: no run to continue there (%v)", resumeDir, err)
		}
		_, err = applyConfigFile(&cfg, path)
	case configPath != "":
		_, err = applyConfigFile(&cfg, configPath)
	}
	if err != nil {
		return cfg, run, err
	}
	run.saved = cfg
	fs := newFlags("fit", fitUsage, stderr)
	fs.String("config", "", "JSON file with settings (keys are the flag names)")
	fs.String("resume", "", "continue the run in this output directory (interrupted, or diverged: then from its last finite state)")
	overwrite := fs.Bool("overwrite", false, "replace the run in -out (a directory holding a run is refused otherwise)")
	cfg.register(fs)
	if err := parseFlags(fs, args, stdout); err != nil {
		return cfg, run, err
	}
	switch {
	case resumeDir != "" && *overwrite:
		return cfg, run, usagef("fit: -resume and -overwrite cannot be combined")
	case resumeDir != "":
		run.mode = train.ResumeRun
		if err := checkResume(fs, resumeDir, &cfg, &run.saved); err != nil {
			return cfg, run, err
		}
	default:
		if *overwrite {
			run.mode = train.OverwriteRun
		}
		if err := checkOptFlags(fs, cfg.Opt); err != nil {
			return cfg, run, err
		}
		applyOptDefaults(fs, &cfg)
	}
	return cfg, run, cfg.check()
}

// retryFlags may change when a diverged run is resumed from its last
// finite state.
var retryFlags = []string{"lr", "clip", "max-loss-ratio"}

// checkResume checks the flags given with -resume dir: only the budget and
// how the run shows may change, and for a diverged run what makes it
// diverge (retryFlags), which then must change. saved gets the changes
// that config.json records.
func checkResume(fs *flag.FlagSet, dir string, cfg, saved *fitConfig) error {
	lastFinite := filepath.Join(dir, train.LastFiniteCheckpoint(train.CheckpointFile))
	_, err := os.Stat(lastFinite)
	diverged := err == nil
	changeable := map[string]bool{"epochs": true, "steps": true, "threads": true, "json": true, "resume": true, "no-figures": true}
	var bad error
	retry := false
	fs.Visit(func(f *flag.Flag) {
		switch {
		case bad != nil || changeable[f.Name]:
		case slices.Contains(retryFlags, f.Name) && diverged:
			// The flag's default is the run's value (from its config.json).
			retry = retry || f.Value.String() != f.DefValue
		case slices.Contains(retryFlags, f.Name):
			bad = usagef("fit: -%s cannot change when resuming %s, which did not diverge (only -epochs, -steps, -threads, -json, -no-figures)", f.Name, dir)
		default:
			bad = usagef("fit: -%s cannot change when resuming (only -epochs, -steps, -threads, -json, -no-figures; after a divergence also -lr, -clip, -max-loss-ratio)", f.Name)
		}
	})
	if bad != nil {
		return bad
	}
	if diverged && !retry {
		return usagef("fit: the run in %s diverged (its last finite state is %s); resuming it unchanged would diverge again: give a smaller -lr (it has -lr %g), e.g. train fit -resume %s -lr %g, or -clip N to clip the gradient, or -max-loss-ratio 0 to allow a loss explosion",
			dir, lastFinite, cfg.LR, dir, cfg.LR/10)
	}
	cfg.Out = dir
	saved.Epochs, saved.Steps = cfg.Epochs, cfg.Steps
	saved.LR, saved.ClipNorm, saved.MaxLoss = cfg.LR, cfg.ClipNorm, cfg.MaxLoss
	return nil
}

// check rejects settings no fit can use, naming the flag, before anything
// is loaded or written.
func (c *fitConfig) check() error {
	return checkRules("fit", append(c.trainingRules(),
		rule{c.Epochs == 0 && c.Steps == 0, "-epochs 0 -steps 0: give a positive -epochs or -steps (or both)"},
		rule{c.Batch < 1, fmt.Sprintf("-batch %d: want at least 1", c.Batch)},
		rule{c.LogEvery < 0, fmt.Sprintf("-log-every %d is negative (0: one record per epoch)", c.LogEvery)},
		rule{c.CkptEvery < 0, fmt.Sprintf("-ckpt-every %d is negative (0: a checkpoint per epoch)", c.CkptEvery)},
	)...)
}

// trainingRules are the checks of the settings fit and landscape share.
func (c *fitConfig) trainingRules() []rule {
	nonNeg := func(x float64) bool { return x >= 0 && !math.IsInf(x, 1) }
	unit := func(x float64) bool { return x >= 0 && x < 1 }
	return []rule{
		{!(c.TestFrac > 0 && c.TestFrac < 1), fmt.Sprintf("-test-frac %v: want a fraction in (0, 1) (the held-out part the model is evaluated on)", c.TestFrac)},
		{c.Epochs < 0, fmt.Sprintf("-epochs %d is negative (0: bounded by -steps only)", c.Epochs)},
		{c.Steps < 0, fmt.Sprintf("-steps %d is negative (0: bounded by -epochs only)", c.Steps)},
		{!positive(c.LR), fmt.Sprintf("-lr %v: want a positive finite learning rate", c.LR)},
		{!nonNeg(c.ClipNorm), fmt.Sprintf("-clip %v: want a finite norm >= 0 (0: no clipping)", c.ClipNorm)},
		{!(c.MaxLoss == 0 || c.MaxLoss > 1 && positive(c.MaxLoss)), fmt.Sprintf("-max-loss-ratio %v: want 0 (off) or a finite ratio above 1", c.MaxLoss)},
		{c.Warmup < 0, fmt.Sprintf("-warmup %d is negative", c.Warmup)},
		{c.Threads < 0, fmt.Sprintf("-threads %d is negative (0: keep the default)", c.Threads)},
		{!slices.Contains([]string{"f32", "float32", "f64", "float64"}, c.DType), fmt.Sprintf("-dtype %q: want f32 or f64", c.DType)},
		{!slices.Contains(optim.Names, c.Opt), fmt.Sprintf("-opt %q: want %s", c.Opt, strings.Join(optim.Names, ", "))},
		{!slices.Contains(train.LossNames, c.Loss), fmt.Sprintf("-loss %q: want ce, mse, half_mse or auto", c.Loss)},
		{averageErr(c.Average) != nil, fmt.Sprintf("-average: %v", averageErr(c.Average))},
		// The ranges of optim's configs (PyTorch's), by flag name.
		{!nonNeg(c.Momentum), fmt.Sprintf("-momentum %v: want a finite number >= 0", c.Momentum)},
		{!finite(c.Dampening), fmt.Sprintf("-dampening %v: want a finite number", c.Dampening)},
		{c.Nesterov && (c.Momentum <= 0 || c.Dampening != 0), "-nesterov needs -momentum > 0 and -dampening 0"},
		{!nonNeg(c.WeightDecay), fmt.Sprintf("-wd %v: want a finite number >= 0", c.WeightDecay)},
		{!unit(c.Beta1), fmt.Sprintf("-beta1 %v: want a number in [0, 1)", c.Beta1)},
		{!unit(c.Beta2), fmt.Sprintf("-beta2 %v: want a number in [0, 1)", c.Beta2)},
		{!nonNeg(c.Eps), fmt.Sprintf("-eps %v: want a finite number >= 0", c.Eps)},
		{!nonNeg(c.Alpha), fmt.Sprintf("-alpha %v: want a finite number >= 0", c.Alpha)},
		{!nonNeg(c.LRDecay), fmt.Sprintf("-lr-decay %v: want a finite number >= 0", c.LRDecay)},
		{!nonNeg(c.InitAccum), fmt.Sprintf("-initial-accumulator-value %v: want a finite number >= 0", c.InitAccum)},
	}
}

func modelConfig(cfg fitConfig, dims []int) (nn.MLPConfig, error) {
	act, err := nn.ParseActivation(cfg.Activation)
	if err != nil {
		return nn.MLPConfig{}, usagef("-act: %v", err)
	}
	p, err := nn.ParseParameterization(cfg.Param)
	if err != nil {
		return nn.MLPConfig{}, usagef("-param %q: want sp, ntk, mf or mup", cfg.Param)
	}
	init := nn.Init(cfg.Init)
	if cfg.Init == "default" {
		init = nn.InitDefault
	}
	if p != nn.Standard && cfg.Init == "torch" {
		init = nn.InitDefault // the other parameterizations define their own init
	}
	return nn.MLPConfig{Dims: dims, Activation: act, Parameterization: p, Init: init, AdaptiveLR: optim.Adaptive(cfg.Opt)}, nil
}

// optimizerFor builds -opt with fit's hyperparameter flags through the
// project's optimizer factory; the flags -opt does not take (refused by
// checkOptFlags when set) keep the optimizer's own defaults.
func optimizerFor[T tensor.Float](cfg fitConfig, params []*nn.Param[T]) (optim.Optimizer[T], error) {
	spec := optim.Spec{Name: cfg.Opt, LR: cfg.LR, WeightDecay: cfg.WeightDecay, Momentum: cfg.Momentum,
		Dampening: cfg.Dampening, Nesterov: cfg.Nesterov, Beta1: cfg.Beta1, Beta2: cfg.Beta2, AMSGrad: cfg.AMSGrad,
		Eps: cfg.Eps, Alpha: cfg.Alpha, Centered: cfg.Centered, LRDecay: cfg.LRDecay, InitialAccumulatorValue: cfg.InitAccum,
		Average: cfg.Average}
	o, err := optim.New(params, spec.Trim())
	if err != nil {
		return nil, usageError{err}
	}
	return o, nil
}

// averageErr returns the error of an invalid -average value, or nil.
func averageErr(s string) error {
	_, _, err := optim.ParseAveraging(s)
	return err
}

// checkOptFlags refuses an optimizer hyperparameter that -opt does not
// take when it was set explicitly: given as a flag, or given a value other
// than the default by the -config file. (Unknown -opt values are left to
// check.)
func checkOptFlags(fs *flag.FlagSet, opt string) error {
	if !slices.Contains(optim.Names, opt) {
		return nil
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	defs := flag.NewFlagSet("defaults", flag.ContinueOnError)
	d := defaultFit()
	d.register(defs)
	var err error
	defs.VisitAll(func(f *flag.Flag) {
		ok, by := optim.Takes(opt, strings.ReplaceAll(f.Name, "-", "_"))
		if err == nil && !ok && (set[f.Name] || fs.Lookup(f.Name).Value.String() != f.DefValue) {
			err = usagef("fit: -%s does not apply to -opt %s (it is for %s)", f.Name, opt, strings.Join(by, ", "))
		}
	})
	return err
}

// applyOptDefaults gives the hyperparameters the user left alone (no flag,
// and the -config file, if any, kept fit's default) -opt's PyTorch default
// where it differs from fit's own: fit's -momentum 0.9 and -eps 1e-8 are
// for SGD and Adam, but torch.optim.RMSprop has momentum 0 and
// torch.optim.Adagrad eps 1e-10. config.json records the values used, so
// -resume keeps them.
func applyOptDefaults(fs *flag.FlagSet, cfg *fitConfig) {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	d := defaultFit()
	switch {
	case cfg.Opt == "rmsprop" && !set["momentum"] && cfg.Momentum == d.Momentum:
		cfg.Momentum = 0
	case cfg.Opt == "adagrad" && !set["eps"] && cfg.Eps == d.Eps:
		cfg.Eps = 1e-10
	}
}

// scheduleFor parses -schedule and -warmup.
func scheduleFor(cfg fitConfig) (optim.Schedule, error) {
	s, err := optim.ParseSchedule(cfg.Schedule, cfg.Steps, cfg.Warmup)
	if err != nil {
		return nil, usagef("-%v (cosine: set -steps)", err)
	}
	return s, nil
}

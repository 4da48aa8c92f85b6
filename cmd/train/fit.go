package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/optim"
	"github.com/gradflow/gradflow/tensor"
	"github.com/gradflow/gradflow/train"
)

const fitUsage = `usage: train fit [flags]

Trains an MLP and writes, in --out: config.json, metrics.jsonl (one JSON
object per record), model.safetensors (PyTorch nn.Sequential key names),
checkpoint.ckpt, and loss/accuracy figures (PNG and SVG). With no flags it
trains 64-128-128-10 on the embedded UCI digits in a few seconds.

examples:
  train fit
  train fit -data mnist:../shared/datasets/mnist -arch 784-512-512-10 -epochs 6 -batch 128
  train fit -data csv:iris.csv,label=species -arch 4-16-3 -opt adam -lr 0.01
  train fit -data csv:iris.csv,label=5  (the label is column 5: numbers count columns from 1)
  train fit -config run.json          (JSON with the flag names as keys; flags given too override it)
  train fit -resume out/fit           (continue an interrupted run; -epochs/-steps may extend it)
`

// fitConfig holds every setting of a fit; it is saved as config.json so
// that --resume rebuilds exactly the same run.
type fitConfig struct {
	Data        string  `json:"data" help:"dataset: digits | mnist:DIR | csv:FILE[,label=COL][,regression] | synthetic:spirals|gaussians|teacher|sinusoid|linear[,n=N][,d=D]\n(csv: COL is a header name or a 1-based column number, negative counting from the end; default the last column)"`
	TestFrac    float64 `json:"test_frac" help:"fraction held out for testing (datasets without a test split)"`
	Arch        string  `json:"arch" help:"layer widths, e.g. 784-512-512-10; \"auto\" = input-128-128-output"`
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
	ClipNorm    float64 `json:"clip" help:"clip the gradient to this global norm (0: off)"`
	Batch       int     `json:"batch" help:"batch size"`
	Epochs      int     `json:"epochs" help:"epochs (0: bounded by -steps only)"`
	Steps       int     `json:"steps" help:"step budget (0: bounded by -epochs only)"`
	LogEvery    int     `json:"log_every" help:"steps between metric records (0: once per epoch)"`
	CkptEvery   int     `json:"ckpt_every" help:"steps between checkpoints (0: at the end of every epoch only)"`
	Seed        uint64  `json:"seed" help:"seed of the split, the initialization and the data order"`
	DType       string  `json:"dtype" help:"f32 | f64"`
	Threads     int     `json:"threads" help:"worker threads (GOMAXPROCS); 0 keeps the default"`
	Out         string  `json:"out" help:"output directory"`
	JSON        bool    `json:"json" help:"also print the metric records as JSON lines on stdout"`
	NoFigures   bool    `json:"no_figures" help:"skip the PNG/SVG figures"`
}

func defaultFit() fitConfig {
	return fitConfig{
		Data: "digits", TestFrac: 0.2, Arch: "auto", Activation: "relu", Param: "sp", Init: "torch",
		Loss: "auto", Opt: "sgd", LR: 0.05, Momentum: 0.9, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8,
		Alpha: 0.99, Schedule: "constant", Batch: 32, Epochs: 20, Seed: 1, DType: "f32", Out: "out/fit",
	}
}

func (c *fitConfig) register(fs *flag.FlagSet) { bindFlags(fs, c) }

// runFit parses the fit flags (with an optional -config file and -resume
// directory) and trains.
func runFit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := defaultFit()
	// -config and -resume decide the starting values of every other flag,
	// so they are read before the real parse.
	scratch := defaultFit()
	pv, err := preParse("fit", args, scratch.register, "config", "resume")
	if err != nil {
		return err
	}
	configPath, resumeDir := pv["config"], pv["resume"]
	switch {
	case resumeDir != "" && configPath != "":
		return usagef("fit: -resume and -config cannot be combined (the run's own config.json is used)")
	case resumeDir != "":
		if err := readConfig(filepath.Join(resumeDir, "config.json"), &cfg); err != nil {
			return err
		}
	case configPath != "":
		if err := readConfig(configPath, &cfg); err != nil {
			return err
		}
	}
	fs := newFlags("fit", fitUsage, stderr)
	fs.String("config", "", "JSON file with settings (keys are the flag names)")
	fs.String("resume", "", "continue the interrupted run in this output directory")
	cfg.register(fs)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if resumeDir != "" {
		changeable := map[string]bool{"epochs": true, "steps": true, "threads": true, "json": true, "resume": true, "no-figures": true}
		var bad error
		fs.Visit(func(f *flag.Flag) {
			if !changeable[f.Name] && bad == nil {
				bad = usagef("fit: -%s cannot change when resuming (only -epochs, -steps, -threads, -json)", f.Name)
			}
		})
		if bad != nil {
			return bad
		}
		cfg.Out = resumeDir
	} else if err := checkOptFlags(fs, cfg.Opt); err != nil {
		return err
	} else {
		applyOptDefaults(fs, &cfg)
	}
	if cfg.Threads < 0 {
		return usagef("fit: -threads %d is negative", cfg.Threads)
	}
	if cfg.Threads > 0 {
		runtime.GOMAXPROCS(cfg.Threads)
	}
	switch cfg.DType {
	case "f32", "float32":
		return fit[float32](ctx, cfg, resumeDir != "", stdout, stderr)
	case "f64", "float64":
		return fit[float64](ctx, cfg, resumeDir != "", stdout, stderr)
	}
	return usagef("fit: -dtype %q: want f32 or f64", cfg.DType)
}

func readConfig(path string, cfg *fitConfig) error {
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

// fitParts are the pieces of a fit built from its configuration.
type fitParts[T tensor.Float] struct {
	tk     *task[T]
	dims   []int
	model  *nn.MLP[T]
	loss   train.Loss[T]
	loader *data.Loader[T]
	tr     *train.Trainer[T]
}

// buildFit loads the data and builds the model, loss, optimizer, schedule,
// loader and trainer of cfg; every error is the user's (exit status 2).
func buildFit[T tensor.Float](cfg fitConfig, metrics io.Writer, callbacks ...train.Callback[T]) (*fitParts[T], error) {
	tk, err := loadTask[T](cfg.Data, cfg.TestFrac, cfg.Seed)
	if err != nil {
		return nil, err
	}
	f := &fitParts[T]{tk: tk}
	if f.dims, err = parseArch(cfg.Arch, tk.Train.Dim(), tk.Outputs); err != nil {
		return nil, err
	}
	mcfg, err := modelConfig(cfg, f.dims)
	if err != nil {
		return nil, err
	}
	if f.model, err = nn.NewMLP[T](mcfg, rand.New(rand.NewPCG(cfg.Seed, 0x1417))); err != nil {
		return nil, usageError{err}
	}
	loss, oneHot, err := lossFor[T](cfg.Loss, tk)
	if err != nil {
		return nil, err
	}
	f.loss = loss
	opt, err := optimizerFor(cfg, f.model.Params())
	if err != nil {
		return nil, err
	}
	sched, err := scheduleFor(cfg)
	if err != nil {
		return nil, err
	}
	if f.loader, err = data.NewLoader(tk.Train, data.LoaderConfig{BatchSize: cfg.Batch, Shuffle: true, Seed: cfg.Seed, OneHot: oneHot}); err != nil {
		return nil, usageError{err}
	}
	f.tr, err = train.New(train.Config[T]{
		Model: f.model, Loss: loss, Optimizer: opt, Schedule: sched, Train: f.loader,
		Evals:  []train.Eval[T]{{Name: "test", Data: tk.Test}},
		Epochs: cfg.Epochs, Steps: cfg.Steps, LogEvery: cfg.LogEvery, Metrics: metrics,
		Callbacks: callbacks, ClipNorm: cfg.ClipNorm, Checkpoint: filepath.Join(cfg.Out, "checkpoint.ckpt"), CheckpointEvery: cfg.CkptEvery,
	})
	if err != nil {
		return nil, usageError{err}
	}
	return f, nil
}

// fit trains one model as cfg says.
func fit[T tensor.Float](ctx context.Context, cfg fitConfig, resume bool, stdout, stderr io.Writer) error {
	prog := newProgress[T](stderr, cfg.Epochs, cfg.Steps, 0, !cfg.JSON)
	metrics := &lazyWriter{}
	f, err := buildFit(cfg, metrics, prog)
	if err != nil {
		return err
	}
	prog.perEpch = f.loader.BatchesPerEpoch()
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return usageError{err}
	}
	if !resume {
		b, _ := json.MarshalIndent(cfg, "", "  ")
		if err := os.WriteFile(filepath.Join(cfg.Out, "config.json"), append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	ckpt := filepath.Join(cfg.Out, "checkpoint.ckpt")
	mf, err := openMetrics(f.tr, cfg.Out, resume)
	if err != nil {
		return err
	}
	defer mf.Close()
	metrics.w = mf
	if cfg.JSON {
		metrics.w = io.MultiWriter(mf, stdout)
	}
	fmt.Fprintf(stdout, "gradflow fit: %s (%d train, %d test), MLP %s %s/%s, %s lr %g, batch %d, %s, %d threads\n",
		f.tk.Name, f.tk.Train.Len(), f.tk.Test.Len(), joinInts(f.dims), cfg.Activation, cfg.Param, cfg.Opt, cfg.LR, cfg.Batch, cfg.DType, runtime.GOMAXPROCS(0))
	start, startStep := time.Now(), f.tr.StepCount()
	res, runErr := f.tr.Run(ctx)
	prog.done()
	if runErr != nil && !errors.Is(runErr, context.Canceled) {
		return runErr
	}
	if err := f.model.SaveFile(filepath.Join(cfg.Out, "model.safetensors")); err != nil {
		return err
	}
	if !cfg.NoFigures {
		if err := writeFigures(cfg.Out); err != nil {
			return fmt.Errorf("figures: %w", err)
		}
	}
	if runErr != nil {
		return fmt.Errorf("%w at step %d; checkpoint in %s (continue with: train fit -resume %s)", errInterrupted, res.Steps, ckpt, cfg.Out)
	}
	return reportFit(stdout, f, cfg, res, startStep, time.Since(start))
}

// openMetrics opens metrics.jsonl in dir: truncated for a new run; for a
// resumed one (after restoring the checkpoint into tr) cut back to the
// checkpoint's step and opened for appending.
func openMetrics[T tensor.Float](tr *train.Trainer[T], dir string, resume bool) (*os.File, error) {
	path := filepath.Join(dir, "metrics.jsonl")
	mode := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	if resume {
		if err := tr.Resume(filepath.Join(dir, "checkpoint.ckpt")); err != nil {
			return nil, usageError{err}
		}
		// Records written after the checkpoint (before the run was
		// killed) will be produced again: drop them.
		if err := truncateMetrics(path, tr.StepCount()); err != nil {
			return nil, err
		}
		mode = os.O_CREATE | os.O_WRONLY | os.O_APPEND
	}
	return os.OpenFile(path, mode, 0o644)
}

// reportFit prints the end of a fit: its length and the final train and
// test metrics.
func reportFit[T tensor.Float](stdout io.Writer, f *fitParts[T], cfg fitConfig, res train.Result, startStep int, took time.Duration) error {
	trainLoss, trainAcc, err := f.tr.Evaluate(f.tk.Train)
	if err != nil {
		return err
	}
	last, ok := res.Last.Evals["test"]
	if !ok {
		// No record in this session: a resumed run that had already
		// reached its budget. Its final model is the checkpoint's, so
		// evaluating it gives the metrics of the run's last record.
		l, a, err := f.tr.Evaluate(f.tk.Test)
		if err != nil {
			return err
		}
		last = map[string]float64{"loss": l, "accuracy": a}
	}
	if res.Steps == startStep {
		fmt.Fprintf(stdout, "the run had already finished (step %d, epoch %d: the -%s budget); 0 new steps (raise -epochs or -steps to continue it)\n", res.Steps, res.Epochs, res.Stopped)
	} else {
		fmt.Fprintf(stdout, "done in %.1fs: %d steps, %d epochs (%s)\n", took.Seconds(), res.Steps, res.Epochs, res.Stopped)
	}
	if f.tk.Classes > 0 && f.loss.Classification() {
		fmt.Fprintf(stdout, "train accuracy %.2f%%  loss %.4f\ntest  accuracy %.2f%%  loss %.4f\n", 100*trainAcc, trainLoss, 100*last["accuracy"], last["loss"])
	} else {
		fmt.Fprintf(stdout, "train loss %.5f\ntest  loss %.5f\n", trainLoss, last["loss"])
	}
	fmt.Fprintf(stdout, "outputs in %s: config.json metrics.jsonl model.safetensors checkpoint.ckpt", cfg.Out)
	if !cfg.NoFigures {
		fmt.Fprint(stdout, " loss.png/svg accuracy.png/svg")
	}
	fmt.Fprintln(stdout)
	return nil
}

func joinInts(d []int) string {
	s := make([]string, len(d))
	for i, v := range d {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, "-")
}

// parseArch reads "784-512-10" and checks it against the data; "auto"
// gives input-128-128-output.
func parseArch(arch string, in, out int) ([]int, error) {
	if arch == "auto" || arch == "" {
		return []int{in, 128, 128, out}, nil
	}
	var dims []int
	for _, f := range strings.Split(arch, "-") {
		v, err := strconv.Atoi(f)
		if err != nil || v <= 0 {
			return nil, usagef("-arch %q: %q is not a positive width", arch, f)
		}
		dims = append(dims, v)
	}
	if len(dims) < 2 {
		return nil, usagef("-arch %q: needs at least input and output widths", arch)
	}
	if dims[0] != in {
		return nil, usagef("-arch %q: input width %d, but the data has %d features", arch, dims[0], in)
	}
	if dims[len(dims)-1] != out {
		return nil, usagef("-arch %q: output width %d, but the data needs %d outputs", arch, dims[len(dims)-1], out)
	}
	return dims, nil
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
	adaptive := cfg.Opt == "adam" || cfg.Opt == "adamw" || cfg.Opt == "adagrad" || cfg.Opt == "rmsprop"
	return nn.MLPConfig{Dims: dims, Activation: act, Parameterization: p, Init: init, AdaptiveLR: adaptive}, nil
}

func lossFor[T tensor.Float](name string, tk *task[T]) (train.Loss[T], bool, error) {
	classes := tk.Classes > 0
	switch name {
	case "auto":
		if classes {
			return &train.CrossEntropy[T]{}, false, nil
		}
		return &train.MSE[T]{}, false, nil
	case "ce":
		if !classes {
			return nil, false, usagef("-loss ce needs class labels; %s is a regression dataset", tk.Name)
		}
		return &train.CrossEntropy[T]{}, false, nil
	case "mse", "half_mse":
		return &train.MSE[T]{Half: name == "half_mse", Classes: classes}, classes, nil
	}
	return nil, false, usagef("-loss %q: want ce, mse, half_mse or auto", name)
}

// optimizerFor builds -opt with fit's hyperparameter flags through the
// project's optimizer factory; the flags -opt does not take (refused by
// checkOptFlags when set) keep the optimizer's own defaults.
func optimizerFor[T tensor.Float](cfg fitConfig, params []*nn.Param[T]) (optim.Optimizer[T], error) {
	spec := optim.Spec{Name: cfg.Opt, LR: cfg.LR, WeightDecay: cfg.WeightDecay, Momentum: cfg.Momentum,
		Dampening: cfg.Dampening, Nesterov: cfg.Nesterov, Beta1: cfg.Beta1, Beta2: cfg.Beta2, AMSGrad: cfg.AMSGrad,
		Eps: cfg.Eps, Alpha: cfg.Alpha, Centered: cfg.Centered, LRDecay: cfg.LRDecay, InitialAccumulatorValue: cfg.InitAccum}
	if !slices.Contains(optim.Names, cfg.Opt) {
		return nil, usagef("-opt %q: want %s", cfg.Opt, strings.Join(optim.Names, ", "))
	}
	o, err := optim.New(params, spec.Trim())
	if err != nil {
		return nil, usageError{err}
	}
	return o, nil
}

// checkOptFlags refuses an optimizer hyperparameter that -opt does not
// take when it was set explicitly: given as a flag, or given a value other
// than the default by the -config file. (Unknown -opt values are left to
// optimizerFor.)
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

// lazyWriter forwards to w, which is set once the metrics file is opened
// (after a resume has decided how to open it).
type lazyWriter struct{ w io.Writer }

// Write implements io.Writer.
func (l *lazyWriter) Write(p []byte) (int, error) { return l.w.Write(p) }

// truncateMetrics keeps the records of path up to step (inclusive).
func truncateMetrics(path string, step int) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var keep []byte
	for line := range strings.Lines(string(b)) {
		var r struct {
			Step int `json:"step"`
		}
		if json.Unmarshal([]byte(line), &r) != nil || r.Step > step {
			break // a torn last line or a record past the checkpoint
		}
		keep = append(keep, line...)
	}
	return os.WriteFile(path, keep, 0o644)
}

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

	"github.com/gradflow/gradflow/internal/progress"
	"github.com/gradflow/gradflow/internal/settings"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/ntk"
	"github.com/gradflow/gradflow/tensor"
	"github.com/gradflow/gradflow/train"
)

const ntkUsage = `usage: train ntk [flags]

Computes the empirical neural tangent kernel Theta = J J^T of an MLP (at
initialization, or -model) on -n training points and between -n-test test
points and them (traced over the outputs, or n*k x n*k with -full), and what
it says about training: spectrum, largest stable learning rate, alignment
with the targets, test scores of kernel regression (ridge -diag-reg), of the
linearized network and of the network; the same for the analytic
infinite-width NTK when there is one (relu, leaky_relu, erf or identity,
-param ntk or sp with its default init), and the distance of the two. This
is ntk.Study; go doc github.com/gradflow/gradflow/ntk.Study has the formulas.

The training points are sorted by class so that the kernel heatmap shows the
class blocks. Writes, in -out: config.json (the settings, reusable with
-config), ntk.json, spectrum.png/svg, kernel.png/svg, and with -csv
kernel.csv (and kernel_analytic.csv). With -model, the data split (and
-data, -test-frac) default to those of the fit run's config.json next to the
model file, so test points are points the model never saw.

-config FILE reads the settings from a JSON object whose keys are the flag
names with _ for - (as in the config.json this writes); a key in the file
counts as given, flags given too override it.

With -arch a net spec (letters, e.g. conv{w}k3p1-res(relu-conv{w}k3p1)-
relu-flatten-fc10, {w} standing for -width), the data must be images
(digits, mnist:DIR) and the study is that of a convolutional net in
neural-tangents' NTK parameterization (weights N(0,1), multipliers -wstd
/sqrt(fan_in) and -bstd, eval mode): the empirical NTK and NNGP kernel of
one network, their Monte Carlo mean over -mc-seeds networks, the analytic
infinite-width kernels (ntk.ConvArchOf; nets with max pooling, batch norm
or strided convolutions have none, and the output says which layer), the
relative Frobenius distances of the finite kernels from the analytic ones,
and the test accuracy of the NNGP posterior and of the NTK-GP at t=inf with
each kernel (-diag-reg). -widths W1,W2,... adds the convergence of the
Monte Carlo kernels to the analytic ones over those widths on 16 training
points, with fitted slopes (about -0.5). This is ntk.CNNStudy and
ntk.CNNConvergence. Writes config.json, cnn_ntk.json, cnn_ntk.png/svg (the
kernel entries against the analytic ones) and with -widths
convergence.json, convergence.png/svg; -json prints one JSON line per
kernel, posterior and width, the summary last.

examples:
  train ntk
  train ntk -arch 'conv{w}k3p1-res(relu-conv{w}k3p1)-relu-flatten-fc10' -wstd 1.4 -bstd 0.1
  train ntk -arch 'conv{w}k3p1-relu-flatten-fc10' -n 64 -n-test 64 -widths 8,16,32,64
  train ntk -n 300 -arch 64-512-512-10 -act erf
  train fit -out out/fit && train ntk -model out/fit/model.safetensors
  train ntk -data mnist:../shared/datasets/mnist -n 1000 -arch 784-1024-1024-10 -budget 512
  train ntk -config out/ntk/config.json -n 512 -out out/ntk512
`

// ntkConfig holds the settings of one ntk run.
type ntkConfig struct {
	Data      string  `json:"data" help:"dataset: digits | mnist:DIR | csv:FILE[,label=COL (header name or 1-based number)][,regression] | synthetic:NAME[,n=N][,d=D] (as for fit)"`
	TestFrac  float64 `json:"test_frac" help:"fraction held out for testing (datasets without a test split)"`
	N         int     `json:"n" help:"use at most this many training points for the kernel (a seeded random subset)"`
	NTest     int     `json:"n_test" help:"use at most this many test points for the predictions"`
	Model     string  `json:"model" help:"model.safetensors written by train fit, or a PyTorch Sequential's state dict saved with safetensors (give its activation with -act) (default: a new model at initialization)"`
	Arch      string  `json:"arch" help:"layer widths of the model at init, e.g. 64-512-512-10; \"auto\" = input-128-128-output (wider is closer to the analytic kernel)"`
	Act       string  `json:"act" help:"hidden activation of the model at init, or of a PyTorch state dict given with -model: relu, leaky_relu, erf, identity (these have analytic kernels), tanh, sigmoid, gelu, silu, softplus"`
	Param     string  `json:"param" help:"parameterization of the model at init: ntk | sp | mf | mup (analytic kernel: ntk and sp)"`
	Init      string  `json:"init" help:"weight init of the model at init: default (the parameterization's, which the analytic kernel assumes), torch, he_normal, ..."`
	WStd      float64 `json:"wstd" help:"weight scale sigma_w of the model at init (neural-tangents' W_std)"`
	BStd      float64 `json:"bstd" help:"bias scale sigma_b of the model at init (neural-tangents' b_std; 0 and -param ntk: no biases)"`
	Seed      uint64  `json:"seed" help:"seed of the subsets, the initialization (the same as train fit -seed) and the split (with -model: the fit run's, unless -data or -test-frac is given)"`
	DType     string  `json:"dtype" help:"f64 | f32: precision of the model and the empirical kernel (the analysis is always float64)"`
	Full      bool    `json:"full" help:"use the full n*k x n*k kernel over outputs instead of the trace over them"`
	BudgetMB  int     `json:"budget" help:"scratch memory for the empirical kernel in MB (0: 1024); larger inputs are processed in chunks"`
	DiagReg   float64 `json:"diag_reg" help:"ridge of kernel regression, relative to the mean diagonal of the kernel (neural-tangents' diag_reg)"`
	Threads   int     `json:"threads" help:"worker threads (GOMAXPROCS); 0 keeps the default"`
	Out       string  `json:"out" help:"output directory"`
	CSV       bool    `json:"csv" help:"also write the training kernels as CSV (kernel.csv, kernel_analytic.csv)"`
	JSON      bool    `json:"json" help:"print the results (ntk.json) as one JSON line on stdout (the summary goes to stderr)"`
	NoFigures bool    `json:"no_figures" help:"skip the PNG/SVG figures"`
	Width     int     `json:"width" help:"with -arch a net spec: the number substituted for {w} (and K times it for {Kw})"`
	MCSeeds   int     `json:"mc_seeds" help:"with -arch a net spec: networks of the Monte Carlo kernel estimate (0: none)"`
	Widths    string  `json:"widths" help:"with -arch a net spec holding {w}: comma-separated widths of a convergence sweep of the Monte Carlo kernels to the analytic ones (e.g. 8,16,32,64)"`

	// torchAct is -act given with -model: the activation of a plain
	// PyTorch state dict, which does not record it.
	torchAct string
	// splitSeed seeds the train/test split: Seed, or with -model the
	// seed of its fit run (see fromModel).
	splitSeed uint64
	// fitInit is the weight init of -model's fit run, when its
	// config.json was found: a model file does not record it.
	fitInit *nn.Init
	// configJSON is the config.json to write in Out.
	configJSON []byte
}

func defaultNTK() ntkConfig {
	return ntkConfig{
		Data: "digits", TestFrac: 0.2, N: 256, NTest: 256, Arch: "auto", Act: "relu", Param: "ntk",
		Init: "default", WStd: 1, Seed: 1, DType: "f64", DiagReg: 1e-4, Out: "out/ntk",
		Width: 32, MCSeeds: 8,
	}
}

// runNTK parses the ntk flags and runs the analysis.
func runNTK(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := defaultNTK()
	fs := newFlags("ntk", ntkUsage, stderr)
	settings.Bind(fs, &cfg)
	fromFile, mode, err := parseWithConfig(fs, &cfg, args, stdout)
	if err != nil {
		return err
	}
	// A setting in the -config file counts as given, like a flag: the
	// config.json written below then repeats the run exactly.
	flags, set := map[string]bool{}, map[string]bool{}
	fs.Visit(func(f *flag.Flag) { flags[f.Name], set[f.Name] = true, true })
	for name := range fromFile {
		set[name] = true
	}
	given := func(name string) string {
		if !flags[name] {
			return fmt.Sprintf("-%s (in %s)", name, fs.Lookup("config").Value)
		}
		return "-" + name
	}
	if err := cfg.check(); err != nil {
		return err
	}
	// config.json records the settings as given, before -model fills in
	// the data split of its fit run: with -model it leaves out the keys
	// that describe a new model, and -act, -data and -test-frac unless
	// they were given, so that a rerun from it inherits them again.
	cfg.configJSON, err = configJSON("ntk", &cfg, func(name string) bool {
		if slices.Contains(cnnFlags, name) {
			// Settings of the net study only: an MLP run's config.json
			// stays as it was before nets.
			return !isNetSpec(cfg.Arch)
		}
		inherited := !set[name] && (name == "act" || name == "data" || name == "test-frac")
		return cfg.Model != "" && (slices.Contains(newModelFlags, name) || inherited)
	})
	if err != nil {
		return err
	}
	if isNetSpec(cfg.Arch) {
		if err := cfg.checkNet(set); err != nil {
			return err
		}
	} else {
		for _, name := range cnnFlags {
			if set[name] {
				return usagef("ntk: -%s applies to a net spec given with -arch (e.g. conv{w}k3p1-relu-flatten-fc10), not to the MLP %q", name, cfg.Arch)
			}
		}
	}
	if err := cfg.fromModel(set, given); err != nil {
		return err
	}
	if cfg.Threads > 0 {
		runtime.GOMAXPROCS(cfg.Threads)
	}
	rd, err := openOut("ntk", cfg.Out, mode)
	if err != nil {
		return err
	}
	defer rd.Close()
	switch {
	case isNetSpec(cfg.Arch) && (cfg.DType == "f32" || cfg.DType == "float32"):
		return ntkNetRun[float32](ctx, cfg, rd, stdout, stderr)
	case isNetSpec(cfg.Arch):
		return ntkNetRun[float64](ctx, cfg, rd, stdout, stderr)
	case cfg.DType == "f32" || cfg.DType == "float32":
		return ntkRun[float32](ctx, cfg, rd, stdout, stderr)
	}
	return ntkRun[float64](ctx, cfg, rd, stdout, stderr)
}

// check rejects settings no run can use.
func (c *ntkConfig) check() error {
	return checkRules("ntk",
		rule{c.N < 1, fmt.Sprintf("-n %d: need at least one training point", c.N)},
		rule{c.NTest < 1, fmt.Sprintf("-n-test %d: need at least one test point", c.NTest)},
		rule{c.BudgetMB < 0, fmt.Sprintf("-budget %d is negative", c.BudgetMB)},
		rule{c.DiagReg < 0 || !finite(c.DiagReg), fmt.Sprintf("-diag-reg %v must be finite and non-negative", c.DiagReg)},
		rule{c.Threads < 0, fmt.Sprintf("-threads %d is negative", c.Threads)},
		rule{!(c.TestFrac > 0 && c.TestFrac < 1), fmt.Sprintf("-test-frac %v must be in (0, 1)", c.TestFrac)},
		rule{!slices.Contains([]string{"f32", "float32", "f64", "float64"}, c.DType), fmt.Sprintf("-dtype %q: want f64 or f32", c.DType)},
	)
}

// newModelFlags describe a model at initialization; the file of -model
// records its own.
var newModelFlags = []string{"arch", "param", "init", "wstd", "bstd"}

// fromModel checks -model against the other settings given (set) and
// takes the data split and weight init of its fit run, whose config.json
// sits next to it; -data or -test-frac given make a new split.
func (c *ntkConfig) fromModel(set map[string]bool, given func(string) string) error {
	c.splitSeed = c.Seed
	if c.Model == "" {
		return nil
	}
	for _, name := range newModelFlags {
		if set[name] {
			return usagef("ntk: %s describes a new model and cannot be combined with -model (the model file records its architecture)", given(name))
		}
	}
	if set["act"] {
		c.torchAct = c.Act
	}
	if _, err := os.Stat(c.Model); err != nil {
		return usageError{fmt.Errorf("ntk: -model: %w", err)}
	}
	path := filepath.Join(filepath.Dir(c.Model), "config.json")
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil // a model from elsewhere
	}
	fc := defaultFit()
	if _, err := applyConfigFile(&fc, path); err != nil {
		return err
	}
	if mc, err := modelConfig(fc, nil); err == nil {
		c.fitInit = &mc.Init
	}
	// The model's held-out points are those of its fit run: same data,
	// fraction and split seed, unless the user says otherwise.
	if !set["data"] {
		c.Data = fc.Data
	}
	if !set["test-frac"] {
		c.TestFrac = fc.TestFrac
	}
	if !set["data"] && !set["test-frac"] {
		c.splitSeed = fc.Seed
	}
	return nil
}

// ntkRun loads the data and the model in precision T, runs ntk.Study and
// writes its results.
func ntkRun[T tensor.Float](ctx context.Context, cfg ntkConfig, rd *train.RunDir, stdout, stderr io.Writer) error {
	tk, err := loadTask[T](cfg.Data, cfg.TestFrac, cfg.splitSeed)
	if err != nil {
		return err
	}
	model, err := ntkModel[T](cfg, tk)
	if err != nil {
		return err
	}
	sc := ntk.StudyConfig{
		N: cfg.N, NTest: cfg.NTest, Seed: cfg.Seed, Full: cfg.Full,
		MemoryBudget: int64(cfg.BudgetMB) << 20, DiagReg: cfg.DiagReg,
	}
	if cfg.fitInit != nil {
		// A model file does not record its weight init (it loads as the
		// default); the fit run's config does, and the analytic kernel is
		// the limit of the parameterization's own init only.
		infinite := model.Config
		infinite.Init = *cfg.fitInit
		sc.Infinite = &infinite
	}
	stop := progress.New(stderr).Busy(fmt.Sprintf("ntk: computing the kernels of %d training and %d test points", min(cfg.N, tk.Train.Len()), min(cfg.NTest, tk.Test.Len())))
	res, err := ntk.Study(ctx, model, tk.Train, tk.Test, sc)
	stop()
	switch {
	case err != nil && ctx.Err() != nil:
		return fmt.Errorf("%w before the analysis finished (nothing written)", errInterrupted)
	case errors.Is(err, ntk.ErrKernelTooLarge):
		return usageError{fmt.Errorf("%w; use a smaller -n", err)}
	case err != nil:
		return err
	}
	res.Data, res.SplitSeed, res.DType, res.Model.Source = tk.Name, cfg.splitSeed, cfg.DType, "init"
	if cfg.Model != "" {
		res.Model.Source = cfg.Model
		if cfg.fitInit == nil {
			res.Model.Init = "unknown (assumed default)"
		}
	}
	return writeNTK(cfg, res, rd, humanOut(cfg.JSON, stdout, stderr), stdout)
}

// ntkModel loads -model or builds a model at initialization, and checks
// that it fits the data.
func ntkModel[T tensor.Float](cfg ntkConfig, tk *task[T]) (*nn.MLP[T], error) {
	if cfg.Model == "" {
		return ntkInitModel(cfg, tk)
	}
	var model *nn.MLP[T]
	var err error
	if cfg.torchAct != "" {
		// A PyTorch state dict (or a gradflow file whose activation
		// must then agree).
		model, err = nn.LoadTorchFile[T](cfg.Model, nn.TorchOptions{Activation: nn.Activation(cfg.torchAct)})
	} else {
		model, err = nn.LoadFile[T](cfg.Model)
		if err != nil && strings.Contains(err.Error(), "nn.LoadTorch") {
			err = fmt.Errorf("%w; for a PyTorch state dict give the hidden activation with -act", err)
		}
	}
	if err != nil {
		return nil, usageError{err}
	}
	dims := model.Config.Dims
	if dims[0] != tk.Train.Dim() {
		return nil, usagef("-model %s: input width %d, but the data has %d features", cfg.Model, dims[0], tk.Train.Dim())
	}
	if dims[len(dims)-1] != tk.Outputs {
		return nil, usagef("-model %s: output width %d, but the data needs %d outputs", cfg.Model, dims[len(dims)-1], tk.Outputs)
	}
	return model, nil
}

// ntkInitModel builds the model at initialization that -arch, -act,
// -param, -init, -wstd, -bstd and -seed describe.
func ntkInitModel[T tensor.Float](cfg ntkConfig, tk *task[T]) (*nn.MLP[T], error) {
	dims, err := parseArch(cfg.Arch, tk.Train.Dim(), tk.Outputs)
	if err != nil {
		return nil, err
	}
	if !(cfg.WStd > 0) || cfg.BStd < 0 {
		return nil, usagef("ntk: -wstd %v must be positive and -bstd %v non-negative", cfg.WStd, cfg.BStd)
	}
	mcfg, err := modelConfig(fitConfig{Activation: cfg.Act, Param: cfg.Param, Init: cfg.Init, Opt: "sgd"}, dims)
	if err != nil {
		return nil, err
	}
	mcfg.WStd, mcfg.BStd = cfg.WStd, cfg.BStd
	// Same stream as train fit, so -seed gives fit's initial model.
	model, err := nn.NewMLP[T](mcfg, rand.New(rand.NewPCG(cfg.Seed, 0x1417)))
	if err != nil {
		return nil, usageError{err}
	}
	return model, nil
}

// writeNTK writes the study and config.json into rd, and prints the
// summary to human (and with -json the JSON line of ntk.json to stdout).
func writeNTK(cfg ntkConfig, res *ntk.StudyResult, rd *train.RunDir, human, stdout io.Writer) error {
	if err := rd.Begin(cfg.configJSON); err != nil {
		return err
	}
	var written []string
	err := rd.Stage(func(dir string) (err error) {
		written, err = res.Save(dir, ntk.SaveOptions{CSV: cfg.CSV, Figures: !cfg.NoFigures})
		return err
	})
	if err != nil {
		return err
	}
	if err := res.WriteSummary(human); err != nil {
		return err
	}
	fmt.Fprintf(human, "outputs in %s: config.json %s\n", cfg.Out, strings.Join(written, " "))
	if cfg.JSON {
		return json.NewEncoder(stdout).Encode(res) // json.Marshal's bytes and a newline
	}
	return nil
}

// cnnFlags are the settings of the net study only (-arch a net spec).
var cnnFlags = []string{"width", "mc-seeds", "widths"}

// checkNet rejects settings the net study does not take; set holds the
// flags given (on the command line or in -config).
func (c *ntkConfig) checkNet(set map[string]bool) error {
	for _, name := range []string{"model", "full", "init", "act"} {
		if set[name] {
			why := map[string]string{
				"model": "-model loads an MLP; the net study builds nets at initialization from -arch",
				"full":  "the net study uses kernels traced over the outputs",
				"init":  "the nets are in the NTK parameterization with N(0,1) weights, which the analytic kernel assumes",
				"act":   "a net spec names its activations itself (e.g. conv16k3p1-tanh-...)",
			}[name]
			return usagef("ntk: -%s does not apply to a net spec (-arch %s): %s", name, c.Arch, why)
		}
	}
	if set["param"] && c.Param != "ntk" {
		return usagef("ntk: -param %s: the net study uses the NTK parameterization, the one its analytic kernel (ConvArch) describes", c.Param)
	}
	if c.Width < 1 {
		return usagef("ntk: -width %d must be at least 1", c.Width)
	}
	if c.MCSeeds < 0 || c.MCSeeds == 1 {
		return usagef("ntk: -mc-seeds %d: want 0 (no Monte Carlo estimate) or at least 2 (for a standard error)", c.MCSeeds)
	}
	if !(c.WStd > 0) || c.BStd < 0 {
		return usagef("ntk: -wstd %v must be positive and -bstd %v non-negative", c.WStd, c.BStd)
	}
	if _, err := nn.NetSpecWidth(c.Arch, c.Width); err != nil {
		return usagef("ntk: -arch: %v", err)
	}
	if _, err := c.widthList(); err != nil {
		return err
	}
	return nil
}

// widthList parses -widths (nil when not given).
func (c *ntkConfig) widthList() ([]int, error) {
	if c.Widths == "" {
		return nil, nil
	}
	var ws []int
	for _, f := range strings.Split(c.Widths, ",") {
		w, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || w < 1 {
			return nil, usagef("ntk: -widths %q: %q is not a positive width", c.Widths, f)
		}
		ws = append(ws, w)
	}
	if len(ws) < 3 {
		return nil, usagef("ntk: -widths %q: give at least 3 widths for a slope with an interval", c.Widths)
	}
	if !nn.IsNetSpecTemplate(c.Arch) {
		return nil, usagef("ntk: -widths needs {w} in -arch where the channels go, e.g. conv{w}k3p1-relu-flatten-fc10")
	}
	return ws, nil
}

// convergencePoints is the number of training points of the -widths
// sweep: it builds Repeats x mc-seeds nets per width, so it keeps the
// kernels small.
const convergencePoints = 16

// ntkNetRun runs the net study (ntk.CNNStudy, and ntk.CNNConvergence with
// -widths) in precision T and writes its results.
func ntkNetRun[T tensor.Float](ctx context.Context, cfg ntkConfig, rd *train.RunDir, stdout, stderr io.Writer) error {
	tk, err := loadTask[T](cfg.Data, cfg.TestFrac, cfg.splitSeed)
	if err != nil {
		return err
	}
	shape := tk.Train.ExampleShape()
	if len(shape) != 3 || tk.Classes == 0 {
		return usagef("ntk: -arch %s is a convolutional net, -data %s has %s; use images with labels: digits or mnist:DIR", cfg.Arch, cfg.Data,
			map[bool]string{true: "no classes", false: fmt.Sprintf("flat examples of shape %v", shape)}[len(shape) == 3])
	}
	spec, _ := nn.NetSpecWidth(cfg.Arch, cfg.Width) // checked by checkNet
	net, err := nn.NewNet[T](spec, shape, rand.New(rand.NewPCG(cfg.Seed, 1)))
	if err != nil {
		return usagef("ntk: -arch: %v", err)
	}
	if out := net.OutputShape(); len(out) != 1 || out[0] != tk.Outputs {
		return usagef("ntk: -arch %s: the net's output for one example has shape %v, but %s needs %d outputs (end the spec with fc%d)", spec, out, tk.Name, tk.Outputs, tk.Outputs)
	}
	sc := ntk.CNNStudyConfig{
		Spec: spec, N: cfg.N, NTest: cfg.NTest, Seed: cfg.Seed, WStd: cfg.WStd, BStd: cfg.BStd,
		MCSeeds: cfg.MCSeeds, DiagReg: cfg.DiagReg, MemoryBudget: int64(cfg.BudgetMB) << 20,
	}
	stop := progress.New(stderr).Busy(fmt.Sprintf("ntk: kernels of %s on %d training and %d test points (%d networks)",
		spec, min(cfg.N, tk.Train.Len()), min(cfg.NTest, tk.Test.Len()), max(cfg.MCSeeds, 1)))
	res, err := ntk.CNNStudy(ctx, tk.Train, tk.Test, sc)
	stop()
	if err := studyErr(ctx, err); err != nil {
		return err
	}
	res.Data = tk.Name
	var conv *ntk.ConvergenceResult
	widths, _ := cfg.widthList()
	if widths != nil {
		x := tensor.New[float64](min(convergencePoints, tk.Train.Len()), tk.Train.Dim())
		perm := rand.New(rand.NewPCG(cfg.Seed, 0x5eed)).Perm(tk.Train.Len())
		for i := 0; i < x.Dim(0); i++ {
			for j, v := range tk.Train.X.Rows(perm[i], perm[i]+1).Data() {
				x.Data()[i*x.Dim(1)+j] = float64(v)
			}
		}
		stop := progress.New(stderr).Busy(fmt.Sprintf("ntk: convergence over widths %v (%d x %d networks each)", widths, 4, max(cfg.MCSeeds, 2)))
		conv, err = ntk.CNNConvergence(x, ntk.ConvergenceConfig{
			Template: cfg.Arch, InputShape: shape, Widths: widths, Seeds: max(cfg.MCSeeds, 2), Repeats: 4,
			FirstSeed: cfg.Seed, WStd: cfg.WStd, BStd: cfg.BStd, Options: ntk.Options{MemoryBudget: int64(cfg.BudgetMB) << 20},
		})
		stop()
		if err := studyErr(ctx, err); err != nil {
			return err
		}
	}
	return writeNetNTK(cfg, res, conv, rd, humanOut(cfg.JSON, stdout, stderr), stdout)
}

// studyErr maps the error of a study to the CLI's: interrupted, a kernel
// too large for memory (a usage error), or the error itself.
func studyErr(ctx context.Context, err error) error {
	switch {
	case err != nil && ctx.Err() != nil:
		return fmt.Errorf("%w before the analysis finished (nothing written)", errInterrupted)
	case errors.Is(err, ntk.ErrKernelTooLarge):
		return usageError{fmt.Errorf("%w; use a smaller -n", err)}
	}
	return err
}

// writeNetNTK writes the net study into rd (config.json, cnn_ntk.json,
// the figures, convergence.json) and prints its summary to human; with
// -json it prints one JSON line per kernel, posterior and width to
// stdout, and the summary last.
func writeNetNTK(cfg ntkConfig, res *ntk.CNNStudyResult, conv *ntk.ConvergenceResult, rd *train.RunDir, human, stdout io.Writer) error {
	if err := rd.Begin(cfg.configJSON); err != nil {
		return err
	}
	written := []string{"cnn_ntk.json"}
	err := rd.Stage(func(dir string) error {
		if err := writeJSONFile(filepath.Join(dir, "cnn_ntk.json"), res); err != nil {
			return err
		}
		if conv != nil {
			written = append(written, "convergence.json")
			if err := writeJSONFile(filepath.Join(dir, "convergence.json"), conv); err != nil {
				return err
			}
		}
		if cfg.NoFigures {
			return nil
		}
		if ok, err := res.SaveFigure(dir); err != nil {
			return err
		} else if ok {
			written = append(written, "cnn_ntk.png/svg")
		}
		if conv != nil {
			written = append(written, "convergence.png/svg")
			return conv.SaveFigure(dir)
		}
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(human, "net %s on %v (%d parameters), NTK parameterization W_std %g b_std %g; %s: %d training, %d test points\n",
		res.Spec, res.InputShape, res.Params, res.WStd, res.BStd, res.Data, res.NTrain, res.NTest)
	if res.Analytic {
		fmt.Fprintln(human, "kernels, relative Frobenius distance from the analytic (ConvArch) kernels:")
	} else {
		fmt.Fprintf(human, "no analytic kernel: %s\nkernels:\n", res.AnalyticSkipped)
	}
	for _, k := range res.Kernels {
		fmt.Fprintf(human, "  %-12s %3d network(s)", k.Name, k.Networks)
		if k.NTKErr != nil {
			fmt.Fprintf(human, "  NTK %.4f  NNGP %.4f", *k.NTKErr, *k.NNGPErr)
		}
		if k.Networks > 1 && k.NTKErr != nil {
			fmt.Fprintf(human, "  (standard errors %.4f, %.4f)", k.NTKStdErr, k.NNGPStdErr)
		}
		fmt.Fprintf(human, "  mean diagonal of the NTK %.4g\n", k.MeanDiagNTK)
	}
	fmt.Fprintf(human, "test accuracy (MSE) of the posteriors, diag_reg %g:\n", res.DiagReg)
	for i := 0; i+1 < len(res.Posteriors); i += 2 {
		a, b := res.Posteriors[i], res.Posteriors[i+1]
		fmt.Fprintf(human, "  %-12s NNGP %.4f (%.4f)  NTK-GP t=inf %.4f (%.4f)\n", a.Kernel, *a.Accuracy, a.MSE, *b.Accuracy, b.MSE)
	}
	if conv != nil {
		fmt.Fprintf(human, "convergence to the analytic kernels on %d training points (%d estimates of %d networks per width):\n", convergencePoints, conv.Repeats, conv.Seeds)
		for _, p := range conv.Points {
			fmt.Fprintf(human, "  width %5d  %8d parameters  NTK %.4f (one network %.4f)  NNGP %.4f (one network %.4f)\n",
				p.Width, p.Params, p.NTKError, p.NTKSeedRMS, p.NNGPError, p.NNGPSeedRMS)
		}
		for _, f := range []struct {
			name string
			fit  ntk.SlopeFit
		}{{"NTK Monte Carlo", conv.NTK}, {"NTK one network", conv.NTKPerSeed}, {"NNGP Monte Carlo", conv.NNGP}, {"NNGP one network", conv.NNGPPerSeed}} {
			fmt.Fprintf(human, "  slope %-17s %+.3f  95%% interval [%+.3f, %+.3f]  (width^-1/2: -0.5)\n", f.name, f.fit.Slope, f.fit.Lo, f.fit.Hi)
		}
	}
	fmt.Fprintf(human, "outputs in %s: config.json %s\n", cfg.Out, strings.Join(written, " "))
	if !cfg.JSON {
		return nil
	}
	enc := json.NewEncoder(stdout)
	for _, k := range res.Kernels {
		if err := enc.Encode(k); err != nil {
			return err
		}
	}
	for _, p := range res.Posteriors {
		if err := enc.Encode(p); err != nil {
			return err
		}
	}
	if conv != nil {
		for _, p := range conv.Points {
			if err := enc.Encode(struct {
				Kind string `json:"kind"`
				ntk.ConvergencePoint
			}{"width", p}); err != nil {
				return err
			}
		}
	}
	return enc.Encode(struct {
		*ntk.CNNStudyResult
		Convergence *ntk.ConvergenceResult `json:"convergence,omitempty"`
	}{res, conv})
}

// writeJSONFile writes v as indented JSON to path.
func writeJSONFile(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

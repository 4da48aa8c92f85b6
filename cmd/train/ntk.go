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
	"strings"

	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/ntk"
	"github.com/gradflow/gradflow/tensor"
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

examples:
  train ntk
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
	JSON      bool    `json:"json" help:"also print the results (ntk.json) as one JSON line on stdout, after the summary"`
	NoFigures bool    `json:"no_figures" help:"skip the PNG/SVG figures"`

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
	}
}

// runNTK parses the ntk flags and runs the analysis.
func runNTK(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := defaultNTK()
	fs := newFlags("ntk", ntkUsage, stderr)
	bindFlags(fs, &cfg)
	fromFile, err := parseWithConfig(fs, &cfg, args, stdout)
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
		inherited := !set[name] && (name == "act" || name == "data" || name == "test-frac")
		return cfg.Model != "" && (slices.Contains(newModelFlags, name) || inherited)
	})
	if err != nil {
		return err
	}
	if err := cfg.fromModel(set, given); err != nil {
		return err
	}
	if cfg.Threads > 0 {
		runtime.GOMAXPROCS(cfg.Threads)
	}
	switch cfg.DType {
	case "f64", "float64":
		return ntkRun[float64](ctx, cfg, stdout)
	case "f32", "float32":
		return ntkRun[float32](ctx, cfg, stdout)
	}
	return usagef("ntk: -dtype %q: want f64 or f32", cfg.DType)
}

// check rejects settings no run can use.
func (c *ntkConfig) check() error {
	return checkRules("ntk",
		rule{c.N < 1, fmt.Sprintf("-n %d: need at least one training point", c.N)},
		rule{c.NTest < 1, fmt.Sprintf("-n-test %d: need at least one test point", c.NTest)},
		rule{c.BudgetMB < 0, fmt.Sprintf("-budget %d is negative", c.BudgetMB)},
		rule{c.DiagReg < 0 || !finite(c.DiagReg), fmt.Sprintf("-diag-reg %v must be finite and non-negative", c.DiagReg)},
		rule{c.Threads < 0, fmt.Sprintf("-threads %d is negative", c.Threads)},
		rule{c.TestFrac <= 0 || c.TestFrac >= 1, fmt.Sprintf("-test-frac %v must be in (0, 1)", c.TestFrac)},
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
	if err := readConfig(path, &fc); err != nil {
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
func ntkRun[T tensor.Float](ctx context.Context, cfg ntkConfig, stdout io.Writer) error {
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
	res, err := ntk.Study(ctx, model, tk.Train, tk.Test, sc)
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
	return writeNTK(cfg, res, stdout)
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

// writeNTK writes the study and config.json into -out, and prints the
// summary (and with -json the JSON line of ntk.json).
func writeNTK(cfg ntkConfig, res *ntk.StudyResult, stdout io.Writer) error {
	if err := prepareOut(cfg.Out, cfg.configJSON); err != nil {
		return err
	}
	written, err := res.Save(cfg.Out, ntk.SaveOptions{CSV: cfg.CSV, Figures: !cfg.NoFigures})
	if err != nil {
		return err
	}
	if err := res.WriteSummary(stdout); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "outputs in %s: config.json %s\n", cfg.Out, strings.Join(written, " "))
	if cfg.JSON {
		return json.NewEncoder(stdout).Encode(res) // json.Marshal's bytes and a newline
	}
	return nil
}

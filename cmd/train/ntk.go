package main

import (
	"bufio"
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
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/ntk"
	"github.com/gradflow/gradflow/tensor"
)

const ntkUsage = `usage: train ntk [flags]

Computes the empirical neural tangent kernel of an MLP, at initialization or
loaded from a model.safetensors written by "train fit", on a subset of the
data, and what the kernel says about training:

  - the empirical NTK Theta = J J^T on -n training points (traced over the
    outputs as neural-tangents does, or the full n*k x n*k kernel with -full)
    and between -n-test test points and the training points;
  - the analytic infinite-width NTK of the same architecture when the
    activation has one (relu, leaky_relu, erf, identity) and the
    parameterization is ntk or sp with its default init, and the relative
    Frobenius distance ||Theta_emp - Theta_inf||_F / ||Theta_inf||_F;
  - the spectrum: eigenvalues, lambda_min, lambda_max, condition number and
    the largest stable gradient-descent learning rate 2N/lambda_max for the
    loss 0.5*mean (N = number of training outputs);
  - the kernel-target alignment with the one-hot (or regression) targets;
  - test accuracy and MSE of infinite-time kernel regression with each
    kernel (ridge -diag-reg * trace/n, as neural-tangents), of the
    linearized network trained to convergence on the MSE, and of the
    network itself.

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
	Data      string
	TestFrac  float64
	N, NTest  int
	Model     string
	Arch      string
	Act       string
	Param     string
	Init      string
	WStd      float64
	BStd      float64
	Seed      uint64
	DType     string
	Full      bool
	BudgetMB  int
	DiagReg   float64
	Threads   int
	Out       string
	CSV       bool
	JSON      bool
	NoFigures bool

	// torchAct is -act given with -model: the activation of a plain
	// PyTorch state dict, which does not record it.
	torchAct string
	// configJSON is the config.json to write in Out.
	configJSON []byte
}

func defaultNTK() ntkConfig {
	return ntkConfig{
		Data: "digits", TestFrac: 0.2, N: 256, NTest: 256, Arch: "auto", Act: "relu", Param: "ntk",
		Init: "default", WStd: 1, Seed: 1, DType: "f64", DiagReg: 1e-4, Out: "out/ntk",
	}
}

func (c *ntkConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.Data, "data", c.Data, "dataset: digits | mnist:DIR | csv:FILE[,label=COL (header name or 1-based number)][,regression] | synthetic:NAME[,n=N][,d=D] (as for fit)")
	fs.Float64Var(&c.TestFrac, "test-frac", c.TestFrac, "fraction held out for testing (datasets without a test split)")
	fs.IntVar(&c.N, "n", c.N, "use at most this many training points for the kernel (a seeded random subset)")
	fs.IntVar(&c.NTest, "n-test", c.NTest, "use at most this many test points for the predictions")
	fs.StringVar(&c.Model, "model", c.Model, "model.safetensors written by train fit, or a PyTorch Sequential's state dict saved with safetensors (give its activation with -act) (default: a new model at initialization)")
	fs.StringVar(&c.Arch, "arch", c.Arch, "layer widths of the model at init, e.g. 64-512-512-10; \"auto\" = input-128-128-output (wider is closer to the analytic kernel)")
	fs.StringVar(&c.Act, "act", c.Act, "hidden activation of the model at init, or of a PyTorch state dict given with -model: relu, leaky_relu, erf, identity (these have analytic kernels), tanh, sigmoid, gelu, silu, softplus")
	fs.StringVar(&c.Param, "param", c.Param, "parameterization of the model at init: ntk | sp | mf | mup (analytic kernel: ntk and sp)")
	fs.StringVar(&c.Init, "init", c.Init, "weight init of the model at init: default (the parameterization's, which the analytic kernel assumes), torch, he_normal, ...")
	fs.Float64Var(&c.WStd, "wstd", c.WStd, "weight scale sigma_w of the model at init (neural-tangents' W_std)")
	fs.Float64Var(&c.BStd, "bstd", c.BStd, "bias scale sigma_b of the model at init (neural-tangents' b_std; 0 and -param ntk: no biases)")
	fs.Uint64Var(&c.Seed, "seed", c.Seed, "seed of the subsets, the initialization (the same as train fit -seed) and the split (with -model: the fit run's, unless -data or -test-frac is given)")
	fs.StringVar(&c.DType, "dtype", c.DType, "f64 | f32: precision of the model and the empirical kernel (the analysis is always float64)")
	fs.BoolVar(&c.Full, "full", c.Full, "use the full n*k x n*k kernel over outputs instead of the trace over them")
	fs.IntVar(&c.BudgetMB, "budget", c.BudgetMB, "scratch memory for the empirical kernel in MB (0: 1024); larger inputs are processed in chunks")
	fs.Float64Var(&c.DiagReg, "diag-reg", c.DiagReg, "ridge of kernel regression, relative to the mean diagonal of the kernel (neural-tangents' diag_reg)")
	fs.IntVar(&c.Threads, "threads", c.Threads, "worker threads (GOMAXPROCS); 0 keeps the default")
	fs.StringVar(&c.Out, "out", c.Out, "output directory")
	fs.BoolVar(&c.CSV, "csv", c.CSV, "also write the training kernels as CSV (kernel.csv, kernel_analytic.csv)")
	fs.BoolVar(&c.JSON, "json", c.JSON, "also print the results (ntk.json) as one JSON line on stdout, after the summary")
	fs.BoolVar(&c.NoFigures, "no-figures", c.NoFigures, "skip the PNG/SVG figures")
}

// runNTK parses the ntk flags and runs the analysis.
func runNTK(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := defaultNTK()
	fs := newFlags("ntk", ntkUsage, stderr)
	cfg.register(fs)
	scratch := defaultNTK()
	fromFile, err := parseWithConfig(fs, args, stdout, scratch.register)
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
	switch {
	case cfg.N < 1:
		return usagef("ntk: -n %d: need at least one training point", cfg.N)
	case cfg.NTest < 1:
		return usagef("ntk: -n-test %d: need at least one test point", cfg.NTest)
	case cfg.BudgetMB < 0:
		return usagef("ntk: -budget %d is negative", cfg.BudgetMB)
	case cfg.DiagReg < 0 || math.IsNaN(cfg.DiagReg) || math.IsInf(cfg.DiagReg, 0):
		return usagef("ntk: -diag-reg %v must be finite and non-negative", cfg.DiagReg)
	case cfg.Threads < 0:
		return usagef("ntk: -threads %d is negative", cfg.Threads)
	case cfg.TestFrac <= 0 || cfg.TestFrac >= 1:
		return usagef("ntk: -test-frac %v must be in (0, 1)", cfg.TestFrac)
	}
	// config.json records the settings as given, before -model fills in
	// the data split of its fit run: with -model it leaves out the keys
	// that describe a new model, and -act, -data and -test-frac unless
	// they were given, so that a rerun from it inherits them again.
	cfg.configJSON, err = flagConfig(fs, func(name string) bool {
		if cfg.Model == "" {
			return false
		}
		switch name {
		case "arch", "param", "init", "wstd", "bstd":
			return true
		case "act", "data", "test-frac":
			return !set[name]
		}
		return false
	})
	if err != nil {
		return err
	}
	split := splitSource{seed: cfg.Seed}
	if cfg.Model != "" {
		for _, name := range []string{"arch", "param", "init", "wstd", "bstd"} {
			if set[name] {
				return usagef("ntk: %s describes a new model and cannot be combined with -model (the model file records its architecture)", given(name))
			}
		}
		if set["act"] {
			cfg.torchAct = cfg.Act
		}
		if _, err := os.Stat(cfg.Model); err != nil {
			return usageError{fmt.Errorf("ntk: -model: %w", err)}
		}
		fc, err := fitConfigNextTo(cfg.Model)
		if err != nil {
			return err
		}
		if fc != nil {
			split.fit = fc
			// The model's held-out points are those of its fit run: same
			// data, fraction and split seed, unless the user says otherwise.
			if !set["data"] {
				cfg.Data = fc.Data
			}
			if !set["test-frac"] {
				cfg.TestFrac = fc.TestFrac
			}
			if !set["data"] && !set["test-frac"] {
				split.seed = fc.Seed
			}
		}
	}
	if cfg.Threads > 0 {
		runtime.GOMAXPROCS(cfg.Threads)
	}
	switch cfg.DType {
	case "f64", "float64":
		return ntkRun[float64](ctx, cfg, split, stdout)
	case "f32", "float32":
		return ntkRun[float32](ctx, cfg, split, stdout)
	}
	return usagef("ntk: -dtype %q: want f64 or f32", cfg.DType)
}

// splitSource says where the train/test split comes from: the seed, and
// the config of the fit run that produced -model, if one was found.
type splitSource struct {
	seed uint64
	fit  *fitConfig
}

// fitConfigNextTo reads the config.json that train fit writes beside its
// model.safetensors; a missing file is not an error (the model may come
// from elsewhere), a malformed one is.
func fitConfigNextTo(model string) (*fitConfig, error) {
	path := filepath.Join(filepath.Dir(model), "config.json")
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	fc := defaultFit()
	if err := readConfig(path, &fc); err != nil {
		return nil, err
	}
	return &fc, nil
}

// ntkReport is everything ntk computes; it is written as ntk.json.
type ntkReport struct {
	Data      string    `json:"data"`
	SplitSeed uint64    `json:"split_seed"`
	Seed      uint64    `json:"seed"`
	NTrain    int       `json:"n_train"`
	NTest     int       `json:"n_test"`
	Outputs   int       `json:"outputs"`
	Classes   int       `json:"classes"`
	Model     modelInfo `json:"model"`
	DType     string    `json:"dtype"`
	Full      bool      `json:"full"`
	DiagReg   float64   `json:"diag_reg"`
	// KernelDim is the side of the training kernel: n, or n*k with Full.
	KernelDim int          `json:"kernel_dim"`
	Empirical kernelReport `json:"empirical"`
	// Analytic is nil when the architecture has no closed-form kernel;
	// AnalyticSkipped then says why.
	Analytic        *kernelReport `json:"analytic"`
	AnalyticSkipped string        `json:"analytic_skipped,omitempty"`
	// RelFrobenius is ||Theta_emp - Theta_inf||_F / ||Theta_inf||_F on the
	// training points (nil without an analytic kernel).
	RelFrobenius *float64 `json:"empirical_vs_analytic_rel_frobenius"`
	// Network is the model's own test performance; Linearized is the
	// network's linearization trained to convergence on 0.5*MSE,
	// f_test(0) + K_test,train K^-1 (y - f_train(0)).
	Network    prediction `json:"network"`
	Linearized prediction `json:"linearized"`
	// TrainRows are the rows of the training split used, in kernel order.
	TrainRows []int   `json:"train_rows"`
	Seconds   float64 `json:"seconds_empirical"`
}

type modelInfo struct {
	Source           string  `json:"source"` // "init" or the model file
	Dims             []int   `json:"dims"`
	Activation       string  `json:"activation"`
	Parameterization string  `json:"parameterization"`
	Init             string  `json:"init"`
	WStd             float64 `json:"w_std"`
	BStd             float64 `json:"b_std"`
	Params           int     `json:"params"`
}

// kernelReport describes one training kernel and its kernel regression.
type kernelReport struct {
	Name         string   `json:"name"`
	LambdaMin    float64  `json:"lambda_min"`
	LambdaMax    float64  `json:"lambda_max"`
	Condition    *float64 `json:"condition"` // nil when lambda_min <= 0
	MaxLR        float64  `json:"max_learning_rate"`
	Alignment    float64  `json:"alignment"`
	MeanDiagonal float64  `json:"mean_diagonal"`
	// Regression is infinite-time kernel regression from zero outputs.
	Regression prediction `json:"kernel_regression"`
	// Eigenvalues in descending order, not clamped: slightly negative
	// values show rounding.
	Eigenvalues []float64 `json:"eigenvalues"`
}

// prediction is a test-set score; Accuracy is nil for regression.
type prediction struct {
	Accuracy *float64 `json:"test_accuracy"`
	MSE      float64  `json:"test_mse"`
}

// ntkRun computes the kernels of one model in precision T.
func ntkRun[T tensor.Float](ctx context.Context, cfg ntkConfig, split splitSource, stdout io.Writer) error {
	tk, err := loadTask[T](cfg.Data, cfg.TestFrac, split.seed)
	if err != nil {
		return err
	}
	model, info, err := ntkModel[T](cfg, tk)
	if err != nil {
		return err
	}
	analyticCfg := model.Config
	if cfg.Model != "" {
		// A model file does not record its initializer; the fit run's
		// config does, and the analytic kernel is only the limit of the
		// parameterization's own init.
		analyticCfg.Init = nn.InitDefault
		info.Init = "unknown (assumed default)"
		if split.fit != nil {
			if mc, err := modelConfig(*split.fit, model.Config.Dims); err == nil {
				analyticCfg.Init = mc.Init
				info.Init = initName(mc.Init)
			}
		}
	}

	rng := rand.New(rand.NewPCG(cfg.Seed, 0x4e7b))
	trainRows := subsetRows(rng, tk.train.Len(), cfg.N, tk.train.Labels)
	testRows := subsetRows(rng, tk.test.Len(), cfg.NTest, tk.test.Labels)
	trainSet, testSet := tk.train.Subset(trainRows), tk.test.Subset(testRows)
	n, m, k := len(trainRows), len(testRows), tk.outputs
	if dim := kernelSide(n, k, cfg.Full); dim > maxKernelSide {
		// The analysis holds a few dense dim x dim matrices and
		// diagonalizes one in O(dim^3): refuse rather than exhaust memory.
		what := fmt.Sprintf("-n %d", n)
		if cfg.Full {
			what += fmt.Sprintf(" with -full, %d outputs", k)
		}
		return usagef("ntk: a %d x %d training kernel (%s) needs about %.0f GB; use a smaller -n (kernels up to %d x %d)",
			dim, dim, what, 4*8*float64(dim)*float64(dim)/1e9, maxKernelSide, maxKernelSide)
	}
	yTrain, err := targets(trainSet.Labels, trainSet.Y, k)
	if err != nil {
		return err
	}
	yTest, err := targets(testSet.Labels, testSet.Y, k)
	if err != nil {
		return err
	}
	rep := &ntkReport{
		Data: tk.name, SplitSeed: split.seed, Seed: cfg.Seed, NTrain: n, NTest: m, Outputs: k, Classes: tk.classes,
		Model: info, DType: cfg.DType, Full: cfg.Full, DiagReg: cfg.DiagReg, TrainRows: trainRows,
	}
	interrupted := func() error {
		if ctx.Err() != nil {
			return fmt.Errorf("%w before the analysis finished (nothing written)", errInterrupted)
		}
		return nil
	}

	// The empirical kernels, in T, then flattened to float64 matrices.
	opts := ntk.Options{Full: cfg.Full, MemoryBudget: int64(cfg.BudgetMB) << 20}
	start := time.Now()
	kt, err := ntk.Empirical(model, trainSet.X, nil, opts)
	if err != nil {
		return fmt.Errorf("empirical NTK: %w", err)
	}
	if err := interrupted(); err != nil {
		return err
	}
	kst, err := ntk.Empirical(model, testSet.X, trainSet.X, opts)
	if err != nil {
		return fmt.Errorf("empirical NTK (test x train): %w", err)
	}
	rep.Seconds = time.Since(start).Seconds()
	if err := interrupted(); err != nil {
		return err
	}
	empTrain, empTest := kernelMatrix(kt), kernelMatrix(kst)
	rep.KernelDim, _ = empTrain.Dims()

	// With the full kernel, outputs are indexed (point, output) in the
	// kernel's order, so targets and outputs become single columns.
	shape := func(y *mat.Dense) *mat.Dense {
		if !cfg.Full {
			return y
		}
		r, c := y.Dims()
		return mat.NewDense(r*c, 1, mat.DenseCopyOf(y).RawMatrix().Data)
	}
	f0Train, f0Test := forwardDense(model, trainSet.X), forwardDense(model, testSet.X)
	rep.Network = score(f0Test, yTest, testSet.Labels)

	emp, pred, err := analyzeKernel("empirical NTK", empTrain, empTest, shape(yTrain), yTest, testSet.Labels, cfg, k)
	if err != nil {
		return err
	}
	rep.Empirical = *emp
	_, lin, err := pred.Infinite(shape(f0Train), shape(f0Test), empTest)
	if err != nil {
		return fmt.Errorf("linearized prediction: %w", err)
	}
	rep.Linearized = score(unshape(lin, m, k), yTest, testSet.Labels)
	if err := interrupted(); err != nil {
		return err
	}

	var anaTrain *mat.Dense
	arch, err := ntk.ArchOf(analyticCfg)
	if err != nil {
		rep.AnalyticSkipped = err.Error()
	} else {
		xTrain, xTest := denseOf(trainSet.X), denseOf(testSet.X)
		kTrain, err := arch.Kernels(xTrain, nil)
		if err != nil {
			return fmt.Errorf("analytic NTK: %w", err)
		}
		kTest, err := arch.Kernels(xTest, xTrain)
		if err != nil {
			return fmt.Errorf("analytic NTK (test x train): %w", err)
		}
		anaTest := kTest.NTK
		anaTrain = kTrain.NTK
		if cfg.Full {
			// Infinitely wide, the outputs are independent: Theta ⊗ I_k.
			anaTrain, anaTest = kronIdentity(anaTrain, k), kronIdentity(anaTest, k)
		}
		ana, _, err := analyzeKernel("analytic NTK", anaTrain, anaTest, shape(yTrain), yTest, testSet.Labels, cfg, k)
		if err != nil {
			return err
		}
		rep.Analytic = ana
		var diff mat.Dense
		diff.Sub(empTrain, anaTrain)
		rel := mat.Norm(&diff, 2) / mat.Norm(anaTrain, 2)
		rep.RelFrobenius = &rel
	}

	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return usageError{err}
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(cfg.Out, "ntk.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	if err := writeFlagConfig(cfg.Out, cfg.configJSON); err != nil {
		return err
	}
	written := []string{"config.json", "ntk.json"}
	if cfg.CSV {
		if err := writeMatrixCSV(filepath.Join(cfg.Out, "kernel.csv"), empTrain); err != nil {
			return err
		}
		written = append(written, "kernel.csv")
		if anaTrain != nil {
			if err := writeMatrixCSV(filepath.Join(cfg.Out, "kernel_analytic.csv"), anaTrain); err != nil {
				return err
			}
			written = append(written, "kernel_analytic.csv")
		}
	}
	if !cfg.NoFigures {
		if err := spectrumFigure(cfg.Out, rep); err != nil {
			return fmt.Errorf("figures: %w", err)
		}
		if err := kernelFigure(cfg.Out, empTrain, tk.classes > 0, cfg.Full); err != nil {
			return fmt.Errorf("figures: %w", err)
		}
		written = append(written, "spectrum.png/svg", "kernel.png/svg")
	}
	printNTK(stdout, rep, cfg.Out, written)
	if cfg.JSON {
		line, err := json.Marshal(rep)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(stdout, "%s\n", line); err != nil {
			return err
		}
	}
	return nil
}

// maxKernelSide bounds the side of the training kernel: 16384 points take
// about 8.6 GB for the kernel and its copies.
const maxKernelSide = 16384

// kernelSide is the side of the training kernel of n points with k
// outputs: n traced, n*k full.
func kernelSide(n, k int, full bool) int {
	if full {
		return n * k
	}
	return n
}

// ntkModel loads -model or builds a model at initialization, and checks
// that it fits the data.
func ntkModel[T tensor.Float](cfg ntkConfig, tk *task[T]) (*nn.MLP[T], modelInfo, error) {
	var model *nn.MLP[T]
	info := modelInfo{Source: "init", Init: cfg.Init}
	if cfg.Model != "" {
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
			return nil, info, usageError{err}
		}
		dims := model.Config.Dims
		if dims[0] != tk.train.Dim() {
			return nil, info, usagef("-model %s: input width %d, but the data has %d features", cfg.Model, dims[0], tk.train.Dim())
		}
		if dims[len(dims)-1] != tk.outputs {
			return nil, info, usagef("-model %s: output width %d, but the data needs %d outputs", cfg.Model, dims[len(dims)-1], tk.outputs)
		}
		info.Source = cfg.Model
	} else {
		dims, err := parseArch(cfg.Arch, tk.train.Dim(), tk.outputs)
		if err != nil {
			return nil, info, err
		}
		if !(cfg.WStd > 0) || cfg.BStd < 0 {
			return nil, info, usagef("ntk: -wstd %v must be positive and -bstd %v non-negative", cfg.WStd, cfg.BStd)
		}
		mcfg, err := modelConfig(fitConfig{Activation: cfg.Act, Param: cfg.Param, Init: cfg.Init, Opt: "sgd"}, dims)
		if err != nil {
			return nil, info, err
		}
		mcfg.WStd, mcfg.BStd = cfg.WStd, cfg.BStd
		// Same stream as train fit, so -seed gives fit's initial model.
		model, err = nn.NewMLP[T](mcfg, rand.New(rand.NewPCG(cfg.Seed, 0x1417)))
		if err != nil {
			return nil, info, usageError{err}
		}
		info.Init = initName(model.Config.Init)
	}
	c := model.Config
	info.Dims = c.Dims
	info.Activation = string(c.Activation)
	info.Parameterization = string(c.Parameterization)
	info.WStd, info.BStd = c.WStd, c.BStd
	info.Params = nn.NumParams[T](model)
	return model, info, nil
}

func initName(i nn.Init) string {
	if i == nn.InitDefault {
		return "default"
	}
	return string(i)
}

// subsetRows returns min(want, n) distinct rows of [0, n) drawn with rng,
// sorted by class (then row) when there are labels so that kernel
// matrices show their class blocks, else by row.
func subsetRows(rng *rand.Rand, n, want int, labels []int32) []int {
	rows := rng.Perm(n)[:min(want, n)]
	slices.SortFunc(rows, func(a, b int) int {
		if labels != nil && labels[a] != labels[b] {
			return cmp.Compare(labels[a], labels[b])
		}
		return cmp.Compare(a, b)
	})
	return rows
}

// targets returns the regression targets of a subset: one-hot class
// indicators for labelled data, else Y.
func targets[T tensor.Float](labels []int32, y *tensor.Tensor[T], k int) (*mat.Dense, error) {
	if labels != nil {
		out := mat.NewDense(len(labels), k, nil)
		for i, c := range labels {
			out.Set(i, int(c), 1)
		}
		return out, nil
	}
	if y == nil {
		return nil, usagef("the data has neither labels nor targets")
	}
	return denseOf(y), nil
}

// denseOf copies a 2-D tensor into a float64 gonum matrix.
func denseOf[T tensor.Float](t *tensor.Tensor[T]) *mat.Dense {
	r, c := t.Dim(0), t.Dim(1)
	d := make([]float64, r*c)
	for i, v := range t.Data() {
		d[i] = float64(v)
	}
	return mat.NewDense(r, c, d)
}

// kernelMatrix turns Empirical's result into a float64 matrix: [n1, n2]
// as is, and the full [n1, n2, k, k] as the (n1 k) x (n2 k) matrix with
// row i*k+a and column j*k+b.
func kernelMatrix[T tensor.Float](t *tensor.Tensor[T]) *mat.Dense {
	if t.NDim() == 2 {
		return denseOf(t)
	}
	n1, n2, k := t.Dim(0), t.Dim(1), t.Dim(2)
	src := t.Data()
	out := mat.NewDense(n1*k, n2*k, nil)
	for i := 0; i < n1; i++ {
		for j := 0; j < n2; j++ {
			for a := 0; a < k; a++ {
				for b := 0; b < k; b++ {
					out.Set(i*k+a, j*k+b, float64(src[((i*n2+j)*k+a)*k+b]))
				}
			}
		}
	}
	return out
}

// kronIdentity returns K ⊗ I_k in the same (point, output) order as
// kernelMatrix.
func kronIdentity(kern *mat.Dense, k int) *mat.Dense {
	r, c := kern.Dims()
	out := mat.NewDense(r*k, c*k, nil)
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			v := kern.At(i, j)
			for a := 0; a < k; a++ {
				out.Set(i*k+a, j*k+a, v)
			}
		}
	}
	return out
}

// unshape undoes the single-column layout of full-kernel outputs.
func unshape(f *mat.Dense, m, k int) *mat.Dense {
	if r, c := f.Dims(); r == m && c == k {
		return f
	}
	out := mat.NewDense(m, k, nil)
	for i := 0; i < m; i++ {
		for a := 0; a < k; a++ {
			out.Set(i, a, f.At(i*k+a, 0))
		}
	}
	return out
}

// forwardDense returns the model's outputs on x as a float64 matrix.
func forwardDense[T tensor.Float](model *nn.MLP[T], x *tensor.Tensor[T]) *mat.Dense {
	tape := autograd.NewTape[T]()
	tape.SetGradEnabled(false)
	return denseOf(model.Forward(tape, tape.Const(x)).Value())
}

// score returns the MSE of f against y (mean over all entries) and, with
// labels, the argmax accuracy.
func score(f, y *mat.Dense, labels []int32) prediction {
	r, c := f.Dims()
	var se float64
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			d := f.At(i, j) - y.At(i, j)
			se += d * d
		}
	}
	p := prediction{MSE: se / float64(r*c)}
	if labels != nil {
		ok := 0
		for i, l := range labels {
			if argmax(f.RawRowView(i)) == int(l) {
				ok++
			}
		}
		acc := float64(ok) / float64(r)
		p.Accuracy = &acc
	}
	return p
}

func argmax(v []float64) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// analyzeKernel computes the spectrum, alignment and kernel-regression
// prediction of the training kernel kTrain (with kTest the test x train
// kernel) and returns the predictor for further predictions.
func analyzeKernel(name string, kTrain, kTest, yTrain, yTest *mat.Dense, labels []int32, cfg ntkConfig, k int) (*kernelReport, *ntk.Predictor, error) {
	dim, _ := kTrain.Dims()
	sym := mat.NewSymDense(dim, nil)
	for i := 0; i < dim; i++ {
		for j := i; j < dim; j++ {
			// Average the two triangles: an exactly symmetric empirical
			// kernel is unchanged, and rounding in others is split evenly.
			sym.SetSym(i, j, 0.5*(kTrain.At(i, j)+kTrain.At(j, i)))
		}
	}
	ev, err := ntk.Spectrum(sym)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	rep := &kernelReport{Name: name, LambdaMin: ev[0], LambdaMax: ev[len(ev)-1], MeanDiagonal: mat.Trace(sym) / float64(dim)}
	if rep.LambdaMin > 0 {
		c := rep.LambdaMax / rep.LambdaMin
		rep.Condition = &c
	}
	rep.Eigenvalues = slices.Clone(ev)
	slices.Reverse(rep.Eigenvalues)
	// N counts training outputs: n*k for the traced kernel, which stands
	// for Theta ⊗ I_k, and the kernel's side for the full one.
	outputs := dim * k
	if cfg.Full {
		outputs = dim
	}
	if rep.MaxLR, err = ntk.MaxLearningRate(sym, outputs, 0); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	if rep.Alignment, err = ntk.KernelAlignment(sym, yTrain); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	pred, err := ntk.NewPredictor(sym, yTrain, ntk.PredictOptions{DiagReg: cfg.DiagReg})
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	_, fTest, err := pred.Infinite(nil, nil, kTest)
	if err != nil {
		return nil, nil, fmt.Errorf("%s kernel regression: %w (raise -diag-reg)", name, err)
	}
	m, _ := yTest.Dims()
	rep.Regression = score(unshape(fTest, m, k), yTest, labels)
	return rep, pred, nil
}

// writeMatrixCSV writes m one row per line, with full float64 precision.
func writeMatrixCSV(path string, m *mat.Dense) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	r, c := m.Dims()
	var buf []byte
	for i := 0; i < r; i++ {
		buf = buf[:0]
		for j := 0; j < c; j++ {
			if j > 0 {
				buf = append(buf, ',')
			}
			buf = strconv.AppendFloat(buf, m.At(i, j), 'g', -1, 64)
		}
		buf = append(buf, '\n')
		w.Write(buf)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// spectrumFigure draws the eigenvalues of the training kernels in
// descending order on a log scale, as spectrum.{png,svg}. Eigenvalues <= 0
// (rounding) cannot be drawn on a log axis and are left out.
func spectrumFigure(dir string, rep *ntkReport) error {
	p := plot.New()
	p.Title.Text = "NTK spectrum on the training points"
	p.X.Label.Text = "index"
	p.Y.Label.Text = "eigenvalue"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	var args []any
	add := func(label string, ev []float64) {
		var xy plotter.XYs
		for i, v := range ev {
			if v > 0 {
				xy = append(xy, plotter.XY{X: float64(i + 1), Y: v})
			}
		}
		if len(xy) > 0 {
			args = append(args, label, xy)
		}
	}
	add("empirical", rep.Empirical.Eigenvalues)
	if rep.Analytic != nil {
		add("analytic (infinite width)", rep.Analytic.Eigenvalues)
	}
	p.Legend.Top = true
	if len(args) == 0 {
		return errors.New("no positive eigenvalue to draw")
	}
	if err := plotutil.AddLines(p, args...); err != nil {
		return err
	}
	return saveBoth(p, dir, "spectrum", 6*vg.Inch, 4*vg.Inch)
}

// kernelGrid presents a matrix to plotter.HeatMap with row 0 at the top.
type kernelGrid struct{ m *mat.Dense }

// Dims implements plotter.GridXYZ (columns, rows).
func (g kernelGrid) Dims() (c, r int) { r, c = g.m.Dims(); return c, r }

// Z is the kernel entry drawn at column c, row r (row 0 at the bottom).
func (g kernelGrid) Z(c, r int) float64 { n, _ := g.m.Dims(); return g.m.At(n-1-r, c) }

// X is the coordinate of column c.
func (g kernelGrid) X(c int) float64 { return float64(c) }

// Y is the coordinate of row r.
func (g kernelGrid) Y(r int) float64 { return float64(r) }

// kernelFigure draws the training kernel normalized to unit diagonal,
// Theta_ij / sqrt(Theta_ii Theta_jj), as a heatmap, kernel.{png,svg}. The
// normalization keeps a few points of large norm (standardized features
// that are rare in the training split) from washing out the class
// structure. The heatmap is rasterized so that the SVG stays small for
// any n.
func kernelFigure(dir string, k *mat.Dense, byClass, full bool) error {
	n, _ := k.Dims()
	norm := mat.NewDense(n, n, nil)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			d := math.Sqrt(k.At(i, i) * k.At(j, j))
			if d > 0 {
				norm.Set(i, j, k.At(i, j)/d)
			}
		}
	}
	p := plot.New()
	p.Title.Text = "empirical NTK / sqrt(diag x diag) on the training points"
	if byClass {
		p.Title.Text += ",\nsorted by class"
	}
	p.X.Label.Text = "point"
	if full {
		p.X.Label.Text = "point x output"
	}
	p.Y.Label.Text = p.X.Label.Text
	h := plotter.NewHeatMap(kernelGrid{norm}, moreland.Kindlmann().Palette(256))
	h.Rasterized = true
	p.Add(h)
	// The heatmap's y axis runs upward; place the ticks at rows counted
	// from the top, as in a printed matrix.
	p.Y.Tick.Marker = plot.TickerFunc(func(lo, hi float64) []plot.Tick {
		ticks := plot.DefaultTicks{}.Ticks(0, float64(n-1))
		for i := range ticks {
			ticks[i].Value = float64(n-1) - ticks[i].Value
		}
		return ticks
	})
	return saveBoth(p, dir, "kernel", 5.5*vg.Inch, 5*vg.Inch)
}

func saveBoth(p *plot.Plot, dir, name string, w, h vg.Length) error {
	for _, ext := range []string{".png", ".svg"} {
		if err := p.Save(w, h, filepath.Join(dir, name+ext)); err != nil {
			return err
		}
	}
	return nil
}

// printNTK writes the human summary.
func printNTK(w io.Writer, r *ntkReport, out string, written []string) {
	kind := "traced over outputs"
	if r.Full {
		kind = fmt.Sprintf("full, %d x %d", r.KernelDim, r.KernelDim)
	}
	src := "at init (seed " + strconv.FormatUint(r.Seed, 10) + ")"
	if r.Model.Source != "init" {
		src = "from " + r.Model.Source
	}
	fmt.Fprintf(w, "gradflow ntk: %s, %d train x %d test points, MLP %s %s/%s %s, %d parameters, %s, kernel %s\n",
		r.Data, r.NTrain, r.NTest, joinInts(r.Model.Dims), r.Model.Activation, r.Model.Parameterization, src, r.Model.Params, r.DType, kind)
	printKernel := func(k *kernelReport) {
		cond := "inf (lambda_min <= 0)"
		if k.Condition != nil {
			cond = fmt.Sprintf("%.3g", *k.Condition)
		}
		fmt.Fprintf(w, "  lambda_max %.4g  lambda_min %.4g  condition %s  mean diagonal %.4g\n", k.LambdaMax, k.LambdaMin, cond, k.MeanDiagonal)
		fmt.Fprintf(w, "  max stable GD learning rate 2N/lambda_max = %.4g   kernel-target alignment %.4f\n", k.MaxLR, k.Alignment)
	}
	fmt.Fprintf(w, "empirical NTK (%.2fs):\n", r.Seconds)
	printKernel(&r.Empirical)
	if r.Analytic != nil {
		fmt.Fprintf(w, "analytic NTK (infinite width, W_std %g, b_std %g):\n", r.Model.WStd, r.Model.BStd)
		printKernel(r.Analytic)
		note := ""
		if r.Model.Source != "init" {
			note = " (includes the change of the kernel during training)"
		}
		fmt.Fprintf(w, "  ||empirical - analytic||_F / ||analytic||_F = %.4f%s\n", *r.RelFrobenius, note)
	} else {
		fmt.Fprintf(w, "analytic NTK: skipped: %s\n", r.AnalyticSkipped)
	}
	fmt.Fprintf(w, "test predictions on %d points (diag_reg %g):\n", r.NTest, r.DiagReg)
	line := func(name string, p prediction) {
		acc := "     -"
		if p.Accuracy != nil {
			acc = fmt.Sprintf("%5.1f%%", 100**p.Accuracy)
		}
		fmt.Fprintf(w, "  %-42s accuracy %s  mse %.4f\n", name, acc, p.MSE)
	}
	line("network itself", r.Network)
	line("linearized network, trained to convergence", r.Linearized)
	line("kernel regression, empirical NTK", r.Empirical.Regression)
	if r.Analytic != nil {
		line("kernel regression, analytic NTK", r.Analytic.Regression)
	}
	fmt.Fprintf(w, "outputs in %s:", out)
	for _, f := range written {
		fmt.Fprint(w, " ", f)
	}
	fmt.Fprintln(w)
}

package main

import (
	"encoding/csv"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gradflow/gradflow/nn"
)

// ntkResult is the part of ntk.json the tests read.
type ntkResult struct {
	NTrain    int `json:"n_train"`
	NTest     int `json:"n_test"`
	Outputs   int `json:"outputs"`
	KernelDim int `json:"kernel_dim"`
	Model     struct {
		Source string `json:"source"`
		Dims   []int  `json:"dims"`
	} `json:"model"`
	Empirical       ntkKernelResult  `json:"empirical"`
	Analytic        *ntkKernelResult `json:"analytic"`
	AnalyticSkipped string           `json:"analytic_skipped"`
	RelFrobenius    *float64         `json:"empirical_vs_analytic_rel_frobenius"`
	Network         ntkPrediction    `json:"network"`
	Linearized      ntkPrediction    `json:"linearized"`
}

type ntkKernelResult struct {
	LambdaMin    float64       `json:"lambda_min"`
	LambdaMax    float64       `json:"lambda_max"`
	Condition    *float64      `json:"condition"`
	MaxLR        float64       `json:"max_learning_rate"`
	Alignment    float64       `json:"alignment"`
	MeanDiagonal float64       `json:"mean_diagonal"`
	Regression   ntkPrediction `json:"kernel_regression"`
	Eigenvalues  []float64     `json:"eigenvalues"`
}

type ntkPrediction struct {
	Accuracy *float64 `json:"test_accuracy"`
	MSE      float64  `json:"test_mse"`
}

func readNTK(t *testing.T, dir string) ntkResult {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "ntk.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r ntkResult
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("ntk.json: %v", err)
	}
	return r
}

// checkSpectrum checks what holds for any kernel: eigenvalues in
// descending order with the reported extremes, lambda_min >= 0 up to
// rounding, and the derived numbers consistent with them. The rounding
// tolerance 1e-10 lambda_max is generous: a symmetric eigensolver's
// backward error is a modest multiple of n eps ||K||, about 1e-13 ||K|| here.
func checkSpectrum(t *testing.T, name string, k ntkKernelResult, dim, outputs int) {
	t.Helper()
	ev := k.Eigenvalues
	if len(ev) != dim {
		t.Fatalf("%s: %d eigenvalues, want %d", name, len(ev), dim)
	}
	for i := 1; i < len(ev); i++ {
		if ev[i] > ev[i-1] {
			t.Fatalf("%s: eigenvalues not descending at %d: %g > %g", name, i, ev[i], ev[i-1])
		}
	}
	if ev[0] != k.LambdaMax || ev[len(ev)-1] != k.LambdaMin {
		t.Errorf("%s: lambda_max %g, lambda_min %g disagree with the spectrum's ends %g, %g", name, k.LambdaMax, k.LambdaMin, ev[0], ev[len(ev)-1])
	}
	if !(k.LambdaMax > 0) || k.LambdaMin < -1e-10*k.LambdaMax {
		t.Errorf("%s: lambda_min %g, lambda_max %g: not positive semidefinite up to rounding", name, k.LambdaMin, k.LambdaMax)
	}
	if k.LambdaMin > 0 && (k.Condition == nil || math.Abs(*k.Condition-k.LambdaMax/k.LambdaMin) > 1e-12**k.Condition) {
		t.Errorf("%s: condition %v, want lambda_max/lambda_min = %g", name, k.Condition, k.LambdaMax/k.LambdaMin)
	}
	// 2N/lambda_max for the loss 0.5*mean over N training outputs.
	if want := 2 * float64(outputs) / k.LambdaMax; math.Abs(k.MaxLR-want) > 1e-12*want {
		t.Errorf("%s: max learning rate %g, want 2N/lambda_max = %g", name, k.MaxLR, want)
	}
	// The kernel and Y Y^T are both PSD, so their Frobenius inner product
	// is non-negative; Cauchy-Schwarz bounds the alignment by 1.
	if !(k.Alignment > 0 && k.Alignment <= 1+1e-12) {
		t.Errorf("%s: alignment %g outside (0, 1]", name, k.Alignment)
	}
}

// TestNTKAtInit: the default model at init on digits. The kernel file
// parses and is symmetric with a positive diagonal, the spectrum is that of
// a PSD matrix, the empirical kernel of a width-128 net is near the
// analytic one, and kernel regression with either kernel classifies the
// test digits.
func TestNTKAtInit(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := runCLI(t, "ntk", "-n", "300", "-n-test", "200", "-out", dir, "-csv", "-json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"empirical NTK", "analytic NTK", "kernel regression, empirical NTK", "lambda_min", dir} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	r := readNTK(t, dir)
	if r.NTrain != 300 || r.NTest != 200 || r.KernelDim != 300 || r.Outputs != 10 || r.Model.Source != "init" {
		t.Fatalf("n_train %d, n_test %d, kernel_dim %d, outputs %d, source %q; want 300, 200, 300, 10, init",
			r.NTrain, r.NTest, r.KernelDim, r.Outputs, r.Model.Source)
	}
	checkSpectrum(t, "empirical", r.Empirical, 300, 300*10)
	if r.Analytic == nil || r.RelFrobenius == nil {
		t.Fatalf("no analytic kernel for a ReLU net in the NTK parameterization (%s)", r.AnalyticSkipped)
	}
	checkSpectrum(t, "analytic", *r.Analytic, 300, 300*10)
	// At width 128 and depth 2 the empirical kernel fluctuates around the
	// analytic one by O(depth/sqrt(width)), about 0.3 here; a kernel of the
	// wrong scale or recursion misses it by more than 0.5.
	if rel := *r.RelFrobenius; math.IsNaN(rel) || rel <= 0 || rel > 0.5 {
		t.Errorf("relative Frobenius difference empirical vs analytic %g, want finite in (0, 0.5]", rel)
	}
	// Kernel regression with 300 digits: the NTK is a good kernel for
	// them (about 95% here); 80% leaves room for any reasonable draw.
	for name, p := range map[string]ntkPrediction{"empirical": r.Empirical.Regression, "analytic": r.Analytic.Regression, "linearized": r.Linearized} {
		if p.Accuracy == nil || *p.Accuracy < 0.8 || !(p.MSE < 0.1) {
			t.Errorf("%s kernel regression: accuracy %v, mse %g; want > 0.8 and < 0.1", name, p.Accuracy, p.MSE)
		}
	}
	if a := r.Network.Accuracy; a == nil || *a < 0 || *a > 1 {
		t.Errorf("network accuracy %v not in [0, 1]", a)
	}

	k := readMatrixCSV(t, filepath.Join(dir, "kernel.csv"))
	if len(k) != 300 || len(k[0]) != 300 {
		t.Fatalf("kernel.csv is %d x %d, want 300 x 300", len(k), len(k[0]))
	}
	var maxAbs, asym, trace float64
	for i := range k {
		if !(k[i][i] > 0) {
			t.Fatalf("kernel.csv: diagonal entry %d is %g, want > 0 (|J(x)|^2)", i, k[i][i])
		}
		trace += k[i][i]
		for j := range k {
			maxAbs = math.Max(maxAbs, math.Abs(k[i][j]))
			asym = math.Max(asym, math.Abs(k[i][j]-k[j][i]))
		}
	}
	if asym > 1e-12*maxAbs {
		t.Errorf("kernel.csv: max |K_ij - K_ji| = %g, max |K| = %g: not symmetric", asym, maxAbs)
	}
	if md := trace / 300; math.Abs(md-r.Empirical.MeanDiagonal) > 1e-12*md {
		t.Errorf("kernel.csv mean diagonal %g, ntk.json %g", md, r.Empirical.MeanDiagonal)
	}
	for _, f := range []string{"kernel_analytic.csv", "spectrum.png", "spectrum.svg", "kernel.png", "kernel.svg"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("output %s missing or empty (%v)", f, err)
		}
	}
	// -json: the last stdout line is the same record as ntk.json.
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var line ntkResult
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &line); err != nil {
		t.Fatalf("-json: last line %q: %v", lines[len(lines)-1], err)
	}
	if line.Empirical.LambdaMax != r.Empirical.LambdaMax || *line.RelFrobenius != *r.RelFrobenius {
		t.Errorf("-json line and ntk.json disagree")
	}
}

// TestNTKWidth: the empirical kernel approaches the analytic one as the
// width grows (Jacot et al. 2018), seen through the CLI.
func TestNTKWidth(t *testing.T) {
	rel := map[string]float64{}
	for _, arch := range []string{"64-64-10", "64-2048-10"} {
		dir := t.TempDir()
		if code, _, errs := runCLI(t, "ntk", "-n", "100", "-n-test", "20", "-arch", arch, "-out", dir, "-no-figures"); code != 0 {
			t.Fatalf("%s: exit %d: %s", arch, code, errs)
		}
		r := readNTK(t, dir)
		if r.RelFrobenius == nil {
			t.Fatalf("%s: no analytic kernel: %s", arch, r.AnalyticSkipped)
		}
		rel[arch] = *r.RelFrobenius
	}
	// The fluctuations scale as width^-1/2: 32 times the width should
	// shrink them about 5.7-fold; asking for 2-fold leaves room for the
	// randomness of one seed.
	if !(rel["64-2048-10"] < rel["64-64-10"]/2) {
		t.Errorf("relative difference from the analytic NTK: %g at width 64, %g at width 2048; want it to shrink at least 2-fold",
			rel["64-64-10"], rel["64-2048-10"])
	}
}

// TestNTKFull: the full kernel over outputs in float32 has n*k rows, a PSD
// spectrum, and still predicts the digits.
func TestNTKFull(t *testing.T) {
	dir := t.TempDir()
	code, _, errs := runCLI(t, "ntk", "-full", "-dtype", "f32", "-n", "60", "-n-test", "60", "-out", dir, "-no-figures")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	r := readNTK(t, dir)
	if r.KernelDim != 600 {
		t.Fatalf("kernel_dim %d, want 60*10", r.KernelDim)
	}
	// float32 kernels carry relative rounding of about 1e-7, which the
	// spectrum's small end shows: allow lambda_min down to -1e-5 lambda_max.
	if r.Empirical.LambdaMin < -1e-5*r.Empirical.LambdaMax {
		t.Errorf("lambda_min %g, lambda_max %g: not PSD up to float32 rounding", r.Empirical.LambdaMin, r.Empirical.LambdaMax)
	}
	if want := 2 * 600 / r.Empirical.LambdaMax; math.Abs(r.Empirical.MaxLR-want) > 1e-12*want {
		t.Errorf("max learning rate %g, want 2N/lambda_max = %g with N = n*k", r.Empirical.MaxLR, want)
	}
	// 60 training digits (6 per class) are few: ask for well above chance.
	if a := r.Empirical.Regression.Accuracy; a == nil || *a < 0.5 {
		t.Errorf("kernel regression accuracy %v with 60 training digits, want >= 0.5", a)
	}
}

// TestNTKFromFit: the kernel of a model trained by fit. The split comes from
// the fit run's config.json, so the network's test accuracy matches the one
// fit reported on the same held-out points; a model trained with torch's
// init has no analytic kernel, and says so.
func TestNTKFromFit(t *testing.T) {
	fitDir := t.TempDir()
	if code, _, errs := runCLI(t, "fit", "-out", fitDir, "-epochs", "3", "-no-figures"); code != 0 {
		t.Fatalf("fit: exit %d: %s", code, errs)
	}
	recs := readMetrics(t, filepath.Join(fitDir, "metrics.jsonl"))
	fitAcc := recs[len(recs)-1]["eval"].(map[string]any)["test"].(map[string]any)["accuracy"].(float64)

	dir := t.TempDir()
	model := filepath.Join(fitDir, "model.safetensors")
	code, out, errs := runCLI(t, "ntk", "-model", model, "-n", "300", "-n-test", "100000", "-out", dir)
	if code != 0 {
		t.Fatalf("ntk: exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "from "+model) {
		t.Errorf("summary does not name the model:\n%s", out)
	}
	r := readNTK(t, dir)
	if r.Model.Source != model || len(r.Model.Dims) != 4 || r.Model.Dims[0] != 64 {
		t.Fatalf("model %+v, want %s with dims 64-128-128-10", r.Model, model)
	}
	checkSpectrum(t, "empirical", r.Empirical, 300, 300*10)
	if r.Analytic != nil || !strings.Contains(r.AnalyticSkipped, "torch") {
		t.Errorf("analytic kernel for a torch-initialized model: %v, skipped %q; want none, naming the init", r.Analytic, r.AnalyticSkipped)
	}
	// The whole test split (fit's) is used; the network's accuracy on it is
	// fit's, up to a prediction or two flipped by the different dtype
	// (fit ran in float32, ntk loads the weights into float64).
	if r.Network.Accuracy == nil || math.Abs(*r.Network.Accuracy-fitAcc) > 2.0/float64(r.NTest) {
		t.Errorf("network test accuracy %v on %d points, fit reported %g", r.Network.Accuracy, r.NTest, fitAcc)
	}
	for name, p := range map[string]ntkPrediction{"kernel regression": r.Empirical.Regression, "linearized": r.Linearized} {
		if p.Accuracy == nil || *p.Accuracy < 0.8 {
			t.Errorf("%s with the trained kernel: accuracy %v, want > 0.8", name, p.Accuracy)
		}
	}

	// An NTK-parameterized model keeps its analytic counterpart; after
	// training the difference includes the kernel's drift, and is finite.
	// (float64: nn.Load's file-size check counts biases that a bias-free
	// NTK-parameterized float32 model does not have, and refuses it.)
	ntkDir := t.TempDir()
	if code, _, errs := runCLI(t, "fit", "-out", ntkDir, "-param", "ntk", "-lr", "0.5", "-epochs", "1", "-dtype", "f64", "-no-figures"); code != 0 {
		t.Fatalf("fit -param ntk: exit %d: %s", code, errs)
	}
	dir = t.TempDir()
	if code, _, errs := runCLI(t, "ntk", "-model", filepath.Join(ntkDir, "model.safetensors"), "-n", "100", "-n-test", "50", "-out", dir, "-no-figures"); code != 0 {
		t.Fatalf("ntk: exit %d: %s", code, errs)
	}
	r = readNTK(t, dir)
	if r.RelFrobenius == nil || math.IsNaN(*r.RelFrobenius) || math.IsInf(*r.RelFrobenius, 0) {
		t.Errorf("NTK-parameterized model: relative difference %v (%s), want a finite number", r.RelFrobenius, r.AnalyticSkipped)
	}
}

// TestNTKUsageErrors: bad input exits 2 with one line naming the problem.
func TestNTKUsageErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.safetensors")
	os.WriteFile(garbage, []byte("not a model"), 0o644)
	small := filepath.Join(dir, "small")
	if code, _, errs := runCLI(t, "fit", "-arch", "64-8-10", "-epochs", "1", "-out", small, "-no-figures"); code != 0 {
		t.Fatalf("fit: exit %d: %s", code, errs)
	}
	model := filepath.Join(small, "model.safetensors")
	out := filepath.Join(dir, "out")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-n", "0"}, "-n 0"},
		{[]string{"-n-test", "-3"}, "-n-test -3"},
		{[]string{"-n", "x"}, "-n"},
		{[]string{"-nope"}, "nope"},
		{[]string{"extra"}, "unexpected argument"},
		{[]string{"-dtype", "f16"}, "f16"},
		{[]string{"-budget", "-1"}, "-budget"},
		{[]string{"-diag-reg", "-1"}, "-diag-reg"},
		{[]string{"-test-frac", "1.5"}, "-test-frac"},
		{[]string{"-arch", "10-32-10"}, "input width 10, but the data has 64"},
		{[]string{"-act", "swish"}, "swish"},
		{[]string{"-param", "xl"}, "xl"},
		{[]string{"-wstd", "0"}, "-wstd"},
		{[]string{"-data", "nope"}, "nope"},
		{[]string{"-data", "csv:" + filepath.Join(dir, "missing.csv")}, "missing.csv"},
		{[]string{"-model", filepath.Join(dir, "missing.safetensors")}, "missing.safetensors"},
		{[]string{"-model", garbage}, "garbage.safetensors"},
		{[]string{"-model", model, "-arch", "64-10"}, "cannot be combined with -model"},
		{[]string{"-model", model, "-data", "synthetic:linear"}, "input width 64, but the data has 10"},
		{[]string{"-n", "20000", "-data", "synthetic:linear,n=30000"}, "smaller -n"},
	}
	for _, c := range cases {
		args := append([]string{"ntk", "-out", out, "-no-figures"}, c.args...)
		code, _, errs := runCLI(t, args...)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", c.args, code, errs)
			continue
		}
		lines := strings.Split(strings.TrimSpace(errs), "\n")
		if len(lines) != 1 || !strings.Contains(errs, c.want) || strings.Contains(errs, "goroutine") {
			t.Errorf("%v: stderr %q, want one line mentioning %q", c.args, errs, c.want)
		}
	}
	code, help, _ := runCLI(t, "ntk", "-h")
	if code != 0 || !strings.Contains(help, "train ntk -model") || !strings.Contains(help, "-diag-reg") {
		t.Errorf("ntk -h: exit %d, help lacks an example or a flag:\n%s", code, help)
	}
}

func readMatrixCSV(t *testing.T, path string) [][]float64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	m := make([][]float64, len(rows))
	for i, row := range rows {
		m[i] = make([]float64, len(row))
		for j, s := range row {
			if m[i][j], err = strconv.ParseFloat(s, 64); err != nil {
				t.Fatalf("%s: row %d column %d: %v", path, i+1, j+1, err)
			}
		}
	}
	return m
}

// TestNTKTorchStateDict: -model takes a plain PyTorch state dict (no
// gradflow metadata) when -act names its activation, and without -act the
// error says to give it.
func TestNTKTorchStateDict(t *testing.T) {
	dir := t.TempDir()
	m, err := nn.NewMLP[float64](nn.MLPConfig{Dims: []int{64, 16, 10}, Activation: nn.Tanh}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "torch.safetensors")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := nn.WriteSafetensors(f, m.Params(), nil); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out := filepath.Join(dir, "out")
	code, _, errs := runCLI(t, "ntk", "-model", path, "-n", "32", "-n-test", "16", "-out", out, "-no-figures")
	if code != 2 || !strings.Contains(errs, "-act") {
		t.Fatalf("without -act: exit %d, stderr %q; want exit 2 naming -act", code, errs)
	}
	code, stdout, errs := runCLI(t, "ntk", "-model", path, "-act", "tanh", "-n", "32", "-n-test", "16", "-out", out, "-no-figures")
	if code != 0 {
		t.Fatalf("with -act tanh: exit %d: %s", code, errs)
	}
	if !strings.Contains(stdout, path) {
		t.Errorf("the summary does not name the model file %s:\n%s", path, stdout)
	}
}

package main

import (
	"bytes"
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
	"github.com/gradflow/gradflow/ntk"
)

func readNTK(t *testing.T, dir string) ntk.StudyResult {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "ntk.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r ntk.StudyResult
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("ntk.json: %v", err)
	}
	return r
}

// TestNTKAtInit: the default model at init on digits, through the CLI (the
// analysis itself is ntk.Study's, tested in package ntk). The flags reach
// the study, the summary names every part, the files are written, the
// -json line is ntk.json, and kernel.csv is the training kernel of the
// record.
func TestNTKAtInit(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := runCLI(t, "ntk", "-n", "300", "-n-test", "200", "-diag-reg", "0.001", "-out", dir, "-csv", "-json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"gradflow ntk: digits, 300 train x 200 test points, MLP 64-128-128-10 relu/ntk at init (seed 1)",
		"empirical NTK", "analytic NTK", "kernel regression, empirical NTK", "lambda_min", "outputs in " + dir + ": config.json ntk.json kernel.csv"} {
		if !strings.Contains(errs, want) {
			t.Errorf("summary (on stderr with -json) lacks %q:\n%s", want, errs)
		}
	}
	r := readNTK(t, dir)
	if r.NTrain != 300 || r.NTest != 200 || r.KernelDim != 300 || r.Outputs != 10 || r.Model.Source != "init" || r.Data != "digits" ||
		r.DiagReg != 0.001 || r.Model.Init != "default" || r.DType != "f64" {
		t.Fatalf("n_train %d, n_test %d, kernel_dim %d, outputs %d, source %q, data %q, diag_reg %g, init %q, dtype %q; want 300, 200, 300, 10, init, digits, 0.001, default, f64",
			r.NTrain, r.NTest, r.KernelDim, r.Outputs, r.Model.Source, r.Data, r.DiagReg, r.Model.Init, r.DType)
	}
	if r.Analytic == nil || r.RelFrobenius == nil {
		t.Fatalf("no analytic kernel for a ReLU net in the NTK parameterization (%s)", r.AnalyticSkipped)
	}
	k := readMatrixCSV(t, filepath.Join(dir, "kernel.csv"))
	if len(k) != 300 || len(k[0]) != 300 {
		t.Fatalf("kernel.csv is %d x %d, want 300 x 300", len(k), len(k[0]))
	}
	var trace float64
	for i := range k {
		trace += k[i][i]
	}
	if md := trace / 300; math.Abs(md-r.Empirical.MeanDiagonal) > 1e-12*md {
		t.Errorf("kernel.csv mean diagonal %g, ntk.json %g", md, r.Empirical.MeanDiagonal)
	}
	for _, f := range []string{"kernel_analytic.csv", "spectrum.png", "spectrum.svg", "kernel.png", "kernel.svg"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("output %s missing or empty (%v)", f, err)
		}
	}
	// -json: stdout is one line, ntk.json compacted.
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 1 {
		t.Errorf("-json: stdout has %d lines, want the JSON line only", len(lines))
	}
	file, err := os.ReadFile(filepath.Join(dir, "ntk.json"))
	if err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, file); err != nil {
		t.Fatal(err)
	}
	if lines[len(lines)-1] != compact.String() {
		t.Errorf("-json line and ntk.json differ:\n%s\n%s", lines[len(lines)-1], compact.String())
	}
}

// TestNTKFull: -full and -dtype f32 reach the study: the kernel has n*k
// rows and the record says so.
func TestNTKFull(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := runCLI(t, "ntk", "-full", "-dtype", "f32", "-n", "20", "-n-test", "10", "-out", dir, "-no-figures")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	r := readNTK(t, dir)
	if r.KernelDim != 200 || !r.Full || r.DType != "f32" || len(r.Empirical.Eigenvalues) != 200 {
		t.Fatalf("kernel_dim %d, full %v, dtype %s, %d eigenvalues; want 200, true, f32, 200", r.KernelDim, r.Full, r.DType, len(r.Empirical.Eigenvalues))
	}
	if !strings.Contains(out, "f32, kernel full, 200 x 200") {
		t.Errorf("summary does not describe the full float32 kernel:\n%s", out)
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
	if len(r.Empirical.Eigenvalues) != 300 || r.Model.Init != "torch" {
		t.Errorf("%d eigenvalues, init %q; want 300 and the fit run's torch", len(r.Empirical.Eigenvalues), r.Model.Init)
	}
	if r.Analytic != nil || !strings.Contains(r.AnalyticSkipped, "torch") {
		t.Errorf("analytic kernel for a torch-initialized model: %v, skipped %q; want none, naming the init", r.Analytic, r.AnalyticSkipped)
	}
	// The whole test split (fit's) is used; the network's accuracy on it is
	// fit's, up to a prediction or two flipped by the different dtype
	// (fit ran in float32, ntk loads the weights into float64).
	if r.Network.Accuracy == nil || math.Abs(*r.Network.Accuracy-fitAcc) > 2.0/float64(r.NTest) {
		t.Errorf("network test accuracy %v on %d points, fit reported %g", r.Network.Accuracy, r.NTest, fitAcc)
	}
	for name, p := range map[string]ntk.TestScore{"kernel regression": r.Empirical.Regression, "linearized": r.Linearized} {
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

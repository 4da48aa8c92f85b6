package ntk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/tensor"
)

// digits returns the embedded UCI digits split 80/20 (stratified) and
// standardized with the training statistics, as "train ntk" loads them.
func digits[T tensor.Float](t testing.TB) (train, test *data.Dataset[T]) {
	t.Helper()
	ds, err := data.Digits[T]()
	if err != nil {
		t.Fatal(err)
	}
	train, _, test, err = ds.Split(rand.New(rand.NewPCG(1, 0x5eed)), data.SplitSpec{Test: 0.2, Stratify: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := data.FitScaler(data.Standardize, train, test); err != nil {
		t.Fatal(err)
	}
	return train, test
}

// runStudy runs Study on a fresh model built from mc (seed 1).
func runStudy[T tensor.Float](t testing.TB, mc nn.MLPConfig, train, test *data.Dataset[T], cfg StudyConfig) *StudyResult {
	t.Helper()
	m, err := nn.NewMLP[T](mc, rand.New(rand.NewPCG(1, 0x1417)))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Study(context.Background(), m, train, test, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// checkSpectrum checks what holds for any kernel: eigenvalues in
// descending order with the reported extremes, lambda_min >= 0 up to
// rounding (tol relative to lambda_max), and the derived numbers
// consistent with them.
func checkSpectrum(t *testing.T, k *StudyKernel, dim, outputs int, tol float64) {
	t.Helper()
	ev := k.Eigenvalues
	if len(ev) != dim {
		t.Fatalf("%s: %d eigenvalues, want %d", k.Name, len(ev), dim)
	}
	if !slices.IsSortedFunc(ev, func(a, b float64) int { return -cmpFloat(a, b) }) {
		t.Fatalf("%s: eigenvalues not in descending order", k.Name)
	}
	if ev[0] != k.LambdaMax || ev[len(ev)-1] != k.LambdaMin {
		t.Errorf("%s: lambda_max %g, lambda_min %g disagree with the spectrum's ends %g, %g", k.Name, k.LambdaMax, k.LambdaMin, ev[0], ev[len(ev)-1])
	}
	if !(k.LambdaMax > 0) || k.LambdaMin < -tol*k.LambdaMax {
		t.Errorf("%s: lambda_min %g, lambda_max %g: not positive semidefinite up to rounding", k.Name, k.LambdaMin, k.LambdaMax)
	}
	if k.LambdaMin > 0 && (k.Condition == nil || math.Abs(*k.Condition-k.LambdaMax/k.LambdaMin) > 1e-12**k.Condition) {
		t.Errorf("%s: condition %v, want lambda_max/lambda_min = %g", k.Name, k.Condition, k.LambdaMax/k.LambdaMin)
	}
	// 2N/lambda_max for the loss 0.5*mean over N training outputs.
	if want := 2 * float64(outputs) / k.LambdaMax; math.Abs(k.MaxLR-want) > 1e-12*want {
		t.Errorf("%s: max learning rate %g, want 2N/lambda_max = %g", k.Name, k.MaxLR, want)
	}
	// The kernel and Y Y^T are both PSD, so their Frobenius inner product
	// is non-negative; Cauchy-Schwarz bounds the alignment by 1.
	if !(k.Alignment > 0 && k.Alignment <= 1+1e-12) {
		t.Errorf("%s: alignment %g outside (0, 1]", k.Name, k.Alignment)
	}
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// The default study of "train ntk" on 300 digits: both spectra are those
// of PSD matrices (eigensolver backward error ~ n eps ||K||, about 1e-13
// here; 1e-10 is generous), the empirical kernel of a width-128 net is
// near the analytic one, and kernel regression with either kernel
// classifies the test digits.
func TestStudyDigits(t *testing.T) {
	train, test := digits[float64](t)
	mc := nn.MLPConfig{Dims: []int{64, 128, 128, 10}, Parameterization: nn.NTK, WStd: 1}
	r := runStudy(t, mc, train, test, StudyConfig{N: 300, NTest: 200, Seed: 1, DiagReg: 1e-4})
	if r.NTrain != 300 || r.NTest != 200 || r.KernelDim != 300 || r.Outputs != 10 || r.Classes != 10 || r.DType != "f64" {
		t.Fatalf("n_train %d, n_test %d, kernel_dim %d, outputs %d, classes %d, dtype %s; want 300, 200, 300, 10, 10, f64",
			r.NTrain, r.NTest, r.KernelDim, r.Outputs, r.Classes, r.DType)
	}
	checkSpectrum(t, &r.Empirical, 300, 300*10, 1e-10)
	if r.Analytic == nil || r.RelFrobenius == nil || r.AnalyticKernel == nil {
		t.Fatalf("no analytic kernel for a ReLU net in the NTK parameterization (%s)", r.AnalyticSkipped)
	}
	checkSpectrum(t, r.Analytic, 300, 300*10, 1e-10)
	// At width 128 and depth 2 the empirical kernel fluctuates around the
	// analytic one by O(depth/sqrt(width)), about 0.3 here; a kernel of the
	// wrong scale or recursion misses it by more than 0.5.
	if rel := *r.RelFrobenius; math.IsNaN(rel) || rel <= 0 || rel > 0.5 {
		t.Errorf("relative Frobenius difference empirical vs analytic %g, want finite in (0, 0.5]", rel)
	}
	// Kernel regression with 300 digits: the NTK is a good kernel for
	// them (about 95% here); 80% leaves room for any reasonable draw.
	for name, p := range map[string]TestScore{"empirical": r.Empirical.Regression, "analytic": r.Analytic.Regression, "linearized": r.Linearized} {
		if p.Accuracy == nil || *p.Accuracy < 0.8 || !(p.MSE < 0.1) {
			t.Errorf("%s kernel regression: accuracy %v, mse %g; want > 0.8 and < 0.1", name, p.Accuracy, p.MSE)
		}
	}
	if a := r.Network.Accuracy; a == nil || *a < 0 || *a > 1 {
		t.Errorf("network accuracy %v not in [0, 1]", a)
	}
	// The kernel rows: distinct training rows sorted by class, and the
	// kernel's diagonal |J(x)|^2 > 0 with the reported mean.
	if !slices.IsSortedFunc(r.TrainRows, func(a, b int) int { return int(train.Labels[a]) - int(train.Labels[b]) }) {
		t.Error("training rows are not sorted by class")
	}
	if u := slices.Compact(slices.Sorted(slices.Values(r.TrainRows))); len(u) != 300 {
		t.Errorf("%d distinct training rows, want 300", len(u))
	}
	k := r.EmpiricalKernel
	if md := mat.Trace(k) / 300; math.Abs(md-r.Empirical.MeanDiagonal) > 1e-12*md || !(md > 0) {
		t.Errorf("kernel mean diagonal %g, reported %g", md, r.Empirical.MeanDiagonal)
	}
}

// The empirical kernel approaches the analytic one as the width grows
// (Jacot et al. 2018): the fluctuations scale as width^-1/2, so 32 times
// the width should shrink them about 5.7-fold; asking for 2-fold leaves
// room for the randomness of one seed.
func TestStudyWidth(t *testing.T) {
	train, test := digits[float64](t)
	rel := map[int]float64{}
	for _, w := range []int{64, 2048} {
		mc := nn.MLPConfig{Dims: []int{64, w, 10}, Parameterization: nn.NTK}
		r := runStudy(t, mc, train, test, StudyConfig{N: 100, NTest: 20, Seed: 1, DiagReg: 1e-4})
		if r.RelFrobenius == nil {
			t.Fatalf("width %d: no analytic kernel: %s", w, r.AnalyticSkipped)
		}
		rel[w] = *r.RelFrobenius
	}
	if !(rel[2048] < rel[64]/2) {
		t.Errorf("relative difference from the analytic NTK: %g at width 64, %g at width 2048; want it to shrink at least 2-fold", rel[64], rel[2048])
	}
}

// The full kernel over outputs in float32 has n*k rows, a PSD spectrum up
// to float32 rounding (relative 1e-7, which the small end of the spectrum
// shows: allow -1e-5 lambda_max), N = n*k training outputs, and still
// predicts the digits; the analytic counterpart is Theta ⊗ I_k.
func TestStudyFullFloat32(t *testing.T) {
	train, test := digits[float32](t)
	mc := nn.MLPConfig{Dims: []int{64, 128, 128, 10}, Parameterization: nn.NTK, WStd: 1}
	r := runStudy(t, mc, train, test, StudyConfig{N: 60, NTest: 60, Seed: 1, Full: true, DiagReg: 1e-4})
	if r.KernelDim != 600 || r.DType != "f32" || !r.Full {
		t.Fatalf("kernel_dim %d, dtype %s, full %v; want 600, f32, true", r.KernelDim, r.DType, r.Full)
	}
	checkSpectrum(t, &r.Empirical, 600, 600, 1e-5)
	// 60 training digits (6 per class) are few: ask for well above chance.
	if a := r.Empirical.Regression.Accuracy; a == nil || *a < 0.5 {
		t.Errorf("kernel regression accuracy %v with 60 training digits, want >= 0.5", a)
	}
	a := r.AnalyticKernel
	if a == nil || a.At(0, 1) != 0 || a.At(10, 0) != a.At(11, 1) || a.At(10, 0) == 0 {
		t.Errorf("analytic full kernel is not Theta ⊗ I_10 in (point, output) order")
	}
}

// With one output the full kernel is the traced one, so the two studies
// agree up to the rounding of different GEMM shapes (1e-10 relative).
func TestStudyFullOneOutput(t *testing.T) {
	ds, err := data.Sinusoid[float64](rand.New(rand.NewPCG(3, 4)), 120, 1, 0.05)
	if err != nil {
		t.Fatal(err)
	}
	train, test := ds.Subset(seq(0, 80)), ds.Subset(seq(80, 120))
	mc := nn.MLPConfig{Dims: []int{1, 64, 1}, Activation: nn.Erf, Parameterization: nn.NTK, BStd: 0.2}
	traced := runStudy(t, mc, train, test, StudyConfig{DiagReg: 1e-3})
	full := runStudy(t, mc, train, test, StudyConfig{DiagReg: 1e-3, Full: true})
	if traced.Empirical.Regression.Accuracy != nil || traced.Classes != 0 {
		t.Errorf("regression data: accuracy %v, classes %d; want none", traced.Empirical.Regression.Accuracy, traced.Classes)
	}
	for _, p := range [][2]float64{
		{traced.Empirical.LambdaMax, full.Empirical.LambdaMax},
		{traced.Empirical.Regression.MSE, full.Empirical.Regression.MSE},
		{traced.Linearized.MSE, full.Linearized.MSE},
		{traced.Analytic.Regression.MSE, full.Analytic.Regression.MSE},
		{*traced.RelFrobenius, *full.RelFrobenius},
	} {
		if !relClose(p[0], p[1], 1e-10) {
			t.Errorf("traced %v, full %v", p[0], p[1])
		}
	}
}

func seq(lo, hi int) []int {
	s := make([]int, hi-lo)
	for i := range s {
		s[i] = lo + i
	}
	return s
}

// StudyConfig.Infinite names the init the model had: a torch init has no
// analytic kernel, and AnalyticSkipped says so.
func TestStudyInfinite(t *testing.T) {
	train, test := digits[float64](t)
	mc := nn.MLPConfig{Dims: []int{64, 32, 10}, Parameterization: nn.NTK}
	inf := mc
	inf.Init = nn.InitTorch
	r := runStudy(t, mc, train, test, StudyConfig{N: 30, NTest: 10, Infinite: &inf})
	if r.Analytic != nil || r.RelFrobenius != nil || r.AnalyticKernel != nil || !strings.Contains(r.AnalyticSkipped, "torch") || r.Model.Init != "torch" {
		t.Errorf("analytic %v, skipped %q, init %q; want none, naming torch", r.Analytic, r.AnalyticSkipped, r.Model.Init)
	}
}

// The JSON form is an interface (ntk.json, train ntk -json): these keys,
// in this order.
func TestStudyJSONKeys(t *testing.T) {
	train, test := digits[float64](t)
	r := runStudy(t, nn.MLPConfig{Dims: []int{64, 16, 10}, Parameterization: nn.NTK}, train, test, StudyConfig{N: 20, NTest: 10})
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, line := range strings.Split(string(b), "\n") {
		if k, ok := strings.CutPrefix(line, `  "`); ok && !strings.HasPrefix(k, " ") {
			keys = append(keys, k[:strings.IndexByte(k, '"')])
		}
	}
	want := []string{"data", "split_seed", "seed", "n_train", "n_test", "outputs", "classes", "model", "dtype", "full",
		"diag_reg", "kernel_dim", "empirical", "analytic", "empirical_vs_analytic_rel_frobenius", "network", "linearized",
		"train_rows", "seconds_empirical"}
	if !slices.Equal(keys, want) {
		t.Errorf("top-level keys\n%v\nwant\n%v", keys, want)
	}
	for _, k := range []string{`"lambda_min"`, `"max_learning_rate"`, `"kernel_regression"`, `"test_accuracy"`, `"eigenvalues"`, `"w_std"`, `"params"`} {
		if !bytes.Contains(b, []byte(k)) {
			t.Errorf("JSON lacks %s", k)
		}
	}
}

// Inputs Study cannot use are errors that name them.
func TestStudyErrors(t *testing.T) {
	train, test := digits[float64](t)
	m, err := nn.NewMLP[float64](nn.MLPConfig{Dims: []int{64, 8, 10}}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	noTargets := &data.Dataset[float64]{X: train.X}
	// 1700 points x 10 outputs: a 17000 x 17000 full kernel.
	big := &data.Dataset[float64]{X: tensor.New[float64](1700, 64), Labels: make([]int32, 1700), NumClasses: 10}
	wide, err := nn.NewMLP[float64](nn.MLPConfig{Dims: []int{65, 8, 10}}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		m           *nn.MLP[float64]
		train, test *data.Dataset[float64]
		cfg         StudyConfig
		want        string
	}{
		{m, train, test, StudyConfig{DiagReg: -1}, "DiagReg"},
		{m, train, test, StudyConfig{DiagReg: math.NaN()}, "DiagReg"},
		{m, noTargets, test, StudyConfig{}, "neither labels nor targets"},
		{m, train, &data.Dataset[float64]{X: test.X, Y: tensor.New[float64](test.Len(), 10)}, StudyConfig{}, "both have labels"},
		{wide, train, test, StudyConfig{}, "65"},
		{nil, train, test, StudyConfig{}, "model"},
		{m, big, test, StudyConfig{Full: true}, "17000 x 17000"},
	}
	for i, c := range cases {
		_, err := Study(context.Background(), c.m, c.train, c.test, c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("case %d: error %v, want one naming %q", i, err, c.want)
		}
	}
	if _, err = Study(context.Background(), m, big, test, StudyConfig{Full: true}); !errors.Is(err, ErrKernelTooLarge) {
		t.Errorf("a 17000 x 17000 kernel: %v, want ErrKernelTooLarge", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Study(ctx, m, train, test, StudyConfig{N: 10, NTest: 10}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v, want context.Canceled", err)
	}
}

// WriteSummary names the data, the model and every kernel; Save writes
// ntk.json (the result), the CSV kernels that read back exactly, and the
// figures.
func TestStudyWrite(t *testing.T) {
	train, test := digits[float64](t)
	r := runStudy(t, nn.MLPConfig{Dims: []int{64, 32, 10}, Parameterization: nn.NTK}, train, test, StudyConfig{N: 40, NTest: 20, Seed: 3})
	r.Data, r.Model.Source = "digits", "init"
	var b strings.Builder
	if err := r.WriteSummary(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"gradflow ntk: digits, 40 train x 20 test points, MLP 64-32-10 relu/ntk at init (seed 3)", "empirical NTK", "analytic NTK (infinite width",
		"kernel regression, analytic NTK", "linearized network"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, b.String())
		}
	}
	dir := t.TempDir()
	written, err := r.Save(dir, SaveOptions{CSV: true, Figures: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"ntk.json", "kernel.csv", "kernel_analytic.csv", "spectrum.png/svg", "kernel.png/svg"}; !slices.Equal(written, want) {
		t.Errorf("written %v, want %v", written, want)
	}
	for _, f := range []string{"spectrum.png", "spectrum.svg", "kernel.png", "kernel.svg"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s missing or empty (%v)", f, err)
		}
	}
	var back StudyResult
	if b, err := os.ReadFile(filepath.Join(dir, "ntk.json")); err != nil || json.Unmarshal(b, &back) != nil || back.Empirical.LambdaMax != r.Empirical.LambdaMax {
		t.Errorf("ntk.json does not read back as the result (%v)", err)
	}
	csvText, err := os.ReadFile(filepath.Join(dir, "kernel.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows := strings.Split(strings.TrimSpace(string(csvText)), "\n")
	if len(rows) != 40 || len(strings.Split(rows[7], ",")) != 40 {
		t.Fatalf("kernel.csv has %d rows", len(rows))
	}
	if f := strings.Split(rows[7], ",")[3]; f != strconv.FormatFloat(r.EmpiricalKernel.At(7, 3), 'g', -1, 64) {
		t.Errorf("kernel.csv (7, 3) = %s, kernel %v", f, r.EmpiricalKernel.At(7, 3))
	}
}

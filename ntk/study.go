package ntk

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/tensor"
)

// StudyConfig configures Study.
type StudyConfig struct {
	// N and NTest are the numbers of training and test points: a random
	// subset drawn with Seed, or every point when a set is smaller or the
	// number is 0.
	N, NTest int
	// Seed seeds the choice of the subsets.
	Seed uint64
	// Full analyzes the full nk x nk kernel over the k outputs instead of
	// neural-tangents' trace over them (Options.Full).
	Full bool
	// MemoryBudget bounds the scratch memory of the empirical kernels in
	// bytes (Options.MemoryBudget; 0 is DefaultMemoryBudget).
	MemoryBudget int64
	// DiagReg is the ridge of kernel regression relative to the mean
	// diagonal of the kernel (PredictOptions.DiagReg, neural-tangents'
	// diag_reg); it must be finite and non-negative.
	DiagReg float64
	// Infinite is the configuration whose infinite-width limit the
	// empirical kernel is compared with; nil means the model's own
	// Config. A model loaded from a file does not record its weight
	// initializer, and there is an analytic kernel only for the
	// parameterization's own (ArchOf), so the caller says which it was.
	Infinite *nn.MLPConfig
}

// StudyResult is what Study computes. Its JSON form is the ntk.json of
// "train ntk" and the line "train ntk -json" prints: the field names and
// their order are read by scripts and must not change.
type StudyResult struct {
	// Data and SplitSeed name the dataset and the seed of its train/test
	// split; Study leaves them to the caller, which knows them.
	Data      string     `json:"data"`
	SplitSeed uint64     `json:"split_seed"`
	Seed      uint64     `json:"seed"` // StudyConfig.Seed
	NTrain    int        `json:"n_train"`
	NTest     int        `json:"n_test"`
	Outputs   int        `json:"outputs"`
	Classes   int        `json:"classes"` // 0 for regression
	Model     StudyModel `json:"model"`
	DType     string     `json:"dtype"` // precision of the model and the empirical kernel: f64 or f32
	Full      bool       `json:"full"`
	DiagReg   float64    `json:"diag_reg"`
	// KernelDim is the side of the training kernel: n, or n*k with Full.
	KernelDim int         `json:"kernel_dim"`
	Empirical StudyKernel `json:"empirical"`
	// Analytic is nil when the architecture has no closed-form kernel;
	// AnalyticSkipped then says why.
	Analytic        *StudyKernel `json:"analytic"`
	AnalyticSkipped string       `json:"analytic_skipped,omitempty"`
	// RelFrobenius is ||Theta_emp - Theta_inf||_F / ||Theta_inf||_F on the
	// training points (nil without an analytic kernel).
	RelFrobenius *float64 `json:"empirical_vs_analytic_rel_frobenius"`
	// Network is the model's own test performance; Linearized is the
	// network's linearization trained to convergence on 0.5*MSE,
	// f_test(0) + K_test,train K^-1 (y - f_train(0)).
	Network    TestScore `json:"network"`
	Linearized TestScore `json:"linearized"`
	// TrainRows are the rows of the training set used, in kernel order:
	// sorted by class (then row) so that a heatmap of the kernel shows
	// the class blocks.
	TrainRows []int `json:"train_rows"`
	// Seconds is the wall-clock time of the empirical kernels.
	Seconds float64 `json:"seconds_empirical"`

	// EmpiricalKernel and AnalyticKernel are the training kernels
	// analyzed (KernelDim x KernelDim, rows in TrainRows order, with Full
	// (point, output) order i*k+a, the analytic one Theta ⊗ I_k), for
	// figures and files; AnalyticKernel is nil when Analytic is.
	EmpiricalKernel *mat.SymDense `json:"-"`
	AnalyticKernel  *mat.SymDense `json:"-"`
}

// StudyModel describes the model of a study.
type StudyModel struct {
	// Source says where the model came from ("init" or a file in train
	// ntk); Study leaves it to the caller.
	Source           string  `json:"source"`
	Dims             []int   `json:"dims"`
	Activation       string  `json:"activation"`
	Parameterization string  `json:"parameterization"`
	Init             string  `json:"init"` // of StudyConfig.Infinite, or the model's
	WStd             float64 `json:"w_std"`
	BStd             float64 `json:"b_std"`
	Params           int     `json:"params"`
}

// StudyKernel describes one training kernel and its kernel regression.
type StudyKernel struct {
	Name      string   `json:"name"`
	LambdaMin float64  `json:"lambda_min"`
	LambdaMax float64  `json:"lambda_max"`
	Condition *float64 `json:"condition"` // nil when lambda_min <= 0
	// MaxLR is 2N/lambda_max (MaxLearningRate), N the number of training
	// outputs.
	MaxLR        float64 `json:"max_learning_rate"`
	Alignment    float64 `json:"alignment"` // KernelAlignment with the targets
	MeanDiagonal float64 `json:"mean_diagonal"`
	// Regression is infinite-time kernel regression from zero outputs.
	Regression TestScore `json:"kernel_regression"`
	// Eigenvalues in descending order, not clamped: slightly negative
	// values show rounding.
	Eigenvalues []float64 `json:"eigenvalues"`
}

// TestScore is a score on the test points: the mean squared error over
// all outputs and, for labelled data, the argmax accuracy (nil for
// regression).
type TestScore struct {
	Accuracy *float64 `json:"test_accuracy"`
	MSE      float64  `json:"test_mse"`
}

// MaxStudySide bounds the side of the training kernel Study accepts: the
// study holds a few dense side x side matrices and diagonalizes them in
// O(side^3); 16384 already takes about 8.6 GB.
const MaxStudySide = 16384

// ErrKernelTooLarge is wrapped by the error of a Study whose training
// kernel would be larger than MaxStudySide.
var ErrKernelTooLarge = errors.New("ntk: kernel too large")

// Study computes what the empirical NTK of model says about training it
// on a subset of train, tested on a subset of test (the targets are
// one-hot class indicators for labelled data, else Y):
//
//   - the empirical NTK on the training points and between the test and
//     the training points (EmpiricalGram, EmpiricalCross), traced or full;
//   - its spectrum, condition number, largest stable learning rate 2N/
//     lambda_max, kernel-target alignment, and the test score of
//     infinite-time kernel regression with it (Predictor.Infinite with
//     the ridge DiagReg);
//   - the test scores of the network itself and of its linearization
//     trained to convergence on 0.5*MSE;
//   - the same kernel analysis for the analytic infinite-width NTK when
//     ArchOf(StudyConfig.Infinite) has one (else AnalyticSkipped says
//     why), and the relative Frobenius distance between the two kernels.
//
// Everything runs in float64 except the empirical kernels, which are
// computed in the model's precision T. Errors name the input at fault
// (mismatched widths, no targets, a kernel over MaxStudySide, which
// wraps ErrKernelTooLarge), a failed computation, or ctx's error when it
// is done between the stages.
func Study[T tensor.Float](ctx context.Context, model *nn.MLP[T], train, test *data.Dataset[T], cfg StudyConfig) (*StudyResult, error) {
	if ctx == nil {
		return nil, errors.New("ntk.Study: ctx is nil (use context.Background())")
	}
	s, err := newStudy(model, train, test, cfg)
	if err != nil {
		return nil, err
	}
	if err := s.empirical(ctx); err != nil {
		return nil, err
	}
	if err := s.analytic(); err != nil {
		return nil, err
	}
	return s.res, nil
}

// study holds the state of one Study: the subsets, their targets and the
// result being filled in.
type study[T tensor.Float] struct {
	cfg         StudyConfig
	model       *nn.MLP[T]
	infinite    nn.MLPConfig // StudyConfig.Infinite or the model's Config
	train, test *data.Dataset[T]
	k           int
	// yTrain and yTest are the targets, n x k and m x k; yFit are the
	// training targets in the layout of the kernel: yTrain, or with Full
	// one column in (point, output) order.
	yTrain, yTest, yFit *mat.Dense
	res                 *StudyResult
}

// newStudy checks the inputs, draws the subsets and fills in the parts
// of the result that describe them.
func newStudy[T tensor.Float](model *nn.MLP[T], train, test *data.Dataset[T], cfg StudyConfig) (*study[T], error) {
	switch {
	case model == nil:
		return nil, errNil("Study", "the model")
	case train == nil:
		return nil, errNil("Study", "the training data")
	case test == nil:
		return nil, errNil("Study", "the test data")
	case train.X == nil:
		return nil, errors.New("ntk.Study: the training data has no inputs (X is nil)")
	case test.X == nil:
		return nil, errors.New("ntk.Study: the test data has no inputs (X is nil)")
	}
	if r := cfg.DiagReg; r < 0 || math.IsNaN(r) || math.IsInf(r, 0) {
		return nil, fmt.Errorf("ntk: StudyConfig.DiagReg %v must be finite and non-negative", r)
	}
	k, err := studyOutputs(model, train, test)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x4e7b))
	trainRows := subsetRows(rng, train.Len(), cfg.N, train.Labels)
	testRows := subsetRows(rng, test.Len(), cfg.NTest, test.Labels)
	n := len(trainRows)
	if side := studySide(n, k, cfg.Full); side > MaxStudySide {
		what := fmt.Sprintf("%d points", n)
		if cfg.Full {
			what += fmt.Sprintf(" x %d outputs", k)
		}
		return nil, fmt.Errorf("%w: a %d x %d training kernel (%s) needs about %.0f GB (Study allows up to %d x %d)",
			ErrKernelTooLarge, side, side, what, 4*8*float64(side)*float64(side)/1e9, MaxStudySide, MaxStudySide)
	}
	s := &study[T]{cfg: cfg, model: model, infinite: model.Config, train: train.Subset(trainRows), test: test.Subset(testRows), k: k}
	if cfg.Infinite != nil {
		s.infinite = *cfg.Infinite
	}
	s.yTrain, s.yTest = targets(s.train, k), targets(s.test, k)
	s.yFit = s.column(s.yTrain)
	c := model.Config
	s.res = &StudyResult{
		Seed: cfg.Seed, NTrain: n, NTest: len(testRows), Outputs: k, Classes: train.NumClasses,
		Model: StudyModel{
			Dims: c.Dims, Activation: string(c.Activation), Parameterization: string(c.Parameterization),
			Init: initName(s.infinite.Init), WStd: c.WStd, BStd: c.BStd, Params: nn.NumParams[T](model),
		},
		DType: dtypeName[T](), Full: cfg.Full, DiagReg: cfg.DiagReg, KernelDim: studySide(n, k, cfg.Full), TrainRows: trainRows,
	}
	return s, nil
}

// studyOutputs checks that the model fits the data and returns the
// number of outputs: the classes of labelled data, else the width of Y.
func studyOutputs[T tensor.Float](model *nn.MLP[T], train, test *data.Dataset[T]) (int, error) {
	dims := model.Config.Dims
	for _, ds := range []*data.Dataset[T]{train, test} {
		if ds.X.NDim() != 2 || ds.Len() == 0 || ds.Dim() != dims[0] {
			return 0, fmt.Errorf("ntk: data of shape %v, but the model takes [n, %d] inputs", ds.X.Shape(), dims[0])
		}
		if ds.Labels == nil && ds.Y == nil {
			return 0, errors.New("ntk: the data has neither labels nor targets")
		}
	}
	if (train.Labels == nil) != (test.Labels == nil) {
		return 0, errors.New("ntk: the training and test data must both have labels, or both targets")
	}
	k := train.NumClasses
	if train.Labels == nil {
		k = train.Y.Dim(1)
		if test.Y.Dim(1) != k {
			return 0, fmt.Errorf("ntk: training targets have %d columns, test targets %d", k, test.Y.Dim(1))
		}
	}
	if dims[len(dims)-1] != k {
		return 0, fmt.Errorf("ntk: model output width %d, but the data needs %d outputs", dims[len(dims)-1], k)
	}
	return k, nil
}

// studySide is the side of the training kernel of n points with k
// outputs: n traced, n*k full.
func studySide(n, k int, full bool) int {
	if full {
		return n * k
	}
	return n
}

func dtypeName[T tensor.Float]() string {
	if _, ok := any(T(0)).(float32); ok {
		return "f32"
	}
	return "f64"
}

func initName(i nn.Init) string {
	if i == nn.InitDefault {
		return "default"
	}
	return string(i)
}

// subsetRows returns min(want, n) distinct rows of [0, n) (all n when want
// <= 0) drawn with rng, sorted by class (then row) when there are labels
// so that kernel matrices show their class blocks, else by row.
func subsetRows(rng *rand.Rand, n, want int, labels []int32) []int {
	if want <= 0 {
		want = n
	}
	rows := rng.Perm(n)[:min(want, n)]
	slices.SortFunc(rows, func(a, b int) int {
		if labels != nil && labels[a] != labels[b] {
			return cmp.Compare(labels[a], labels[b])
		}
		return cmp.Compare(a, b)
	})
	return rows
}

// targets returns the regression targets of ds: one-hot class indicators
// for labelled data, else Y (viewed, not copied, in float64).
func targets[T tensor.Float](ds *data.Dataset[T], k int) *mat.Dense {
	if ds.Labels == nil {
		return matrixOf(ds.Y)
	}
	out := mat.NewDense(len(ds.Labels), k, nil)
	for i, c := range ds.Labels {
		out.Set(i, int(c), 1)
	}
	return out
}

// empirical computes and analyzes the empirical kernels, and scores the
// network and its linearization.
func (s *study[T]) empirical(ctx context.Context) error {
	res := s.res
	opts := Options{Full: s.cfg.Full, MemoryBudget: s.cfg.MemoryBudget}
	start := time.Now()
	kTrain, err := EmpiricalGram(nil, s.model, s.train.X, opts)
	if err != nil {
		return fmt.Errorf("empirical NTK: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("ntk: study stopped: %w", err)
	}
	kTest, err := EmpiricalCross(nil, s.model, s.test.X, s.train.X, opts)
	if err != nil {
		return fmt.Errorf("empirical NTK (test x train): %w", err)
	}
	res.Seconds = time.Since(start).Seconds()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("ntk: study stopped: %w", err)
	}
	res.EmpiricalKernel = kTrain

	f0Train, f0Test := s.forward(s.train.X), s.forward(s.test.X)
	res.Network = score(f0Test, s.yTest, s.test.Labels)
	emp, pred, err := s.analyze("empirical NTK", kTrain, kTest)
	if err != nil {
		return err
	}
	res.Empirical = *emp
	_, lin, err := pred.Infinite(s.column(f0Train), s.column(f0Test), kTest)
	if err != nil {
		return fmt.Errorf("linearized prediction: %w", err)
	}
	res.Linearized = score(s.rows(lin), s.yTest, s.test.Labels)
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("ntk: study stopped: %w", err)
	}
	return nil
}

// analytic computes and analyzes the infinite-width kernels, if the
// architecture has them.
func (s *study[T]) analytic() error {
	arch, err := ArchOf(s.infinite)
	if err != nil {
		s.res.AnalyticSkipped = err.Error()
		return nil
	}
	n, m := s.train.Len(), s.test.Len()
	if entries := n*(n+1)/2 + n*m; arch.Numeric() && entries*(arch.Depth+1) > maxNumericEntries {
		// Quadrature costs about 1 ms per kernel entry and layer (measured:
		// 1,830 in under 2 s with tanh), most of an hour at the default sizes.
		s.res.AnalyticSkipped = fmt.Sprintf("activation %q has no closed-form kernel, and quadrature for %d x %d training and %d x %d test entries over %d layers "+
			"would take about %.0f s; use at most %d training and test points (-n, -n-test) for it",
			arch.Act, n, n, m, n, arch.Depth+1, float64(entries*(arch.Depth+1))*0.001, numericSide(arch.Depth+1))
		return nil
	}
	xTrain, xTest := matrixOf(s.train.X), matrixOf(s.test.X)
	g, err := arch.Gram(xTrain)
	if err != nil {
		return fmt.Errorf("analytic NTK: %w", err)
	}
	cross, err := arch.Kernels(xTest, xTrain)
	if err != nil {
		return fmt.Errorf("analytic NTK (test x train): %w", err)
	}
	kTrain, kTest := g.NTK, cross.NTK
	if s.cfg.Full {
		// Infinitely wide, the outputs are independent: Theta ⊗ I_k.
		n, m := kTrain.SymmetricDim(), s.res.NTest
		kTrain = mat.NewSymDense(n*s.k, kronIdentity(kTrain, s.k))
		kTest = mat.NewDense(m*s.k, n*s.k, kronIdentity(kTest, s.k))
	}
	ana, _, err := s.analyze("analytic NTK", kTrain, kTest)
	if err != nil {
		return err
	}
	s.res.Analytic, s.res.AnalyticKernel = ana, kTrain
	emp, inf := denseView(s.res.EmpiricalKernel), denseView(kTrain)
	var diff mat.Dense
	diff.Sub(emp, inf)
	rel := mat.Norm(&diff, 2) / mat.Norm(inf, 2)
	s.res.RelFrobenius = &rel
	return nil
}

// maxNumericEntries bounds the kernel entries times layers that Study
// computes by quadrature (about 1 ms each): about 30 s.
const maxNumericEntries = 30000

// numericSide returns the largest n such that n training and n test
// points stay within maxNumericEntries for a network of the given layers.
func numericSide(layers int) int {
	n := 1
	for (n+1)*(n+2)/2+(n+1)*(n+1) <= maxNumericEntries/layers {
		n++
	}
	return n
}

// analyze computes the spectrum, alignment and kernel-regression score
// of the training kernel kTrain (kTest the test x train kernel) and
// returns the predictor for further predictions.
func (s *study[T]) analyze(name string, kTrain *mat.SymDense, kTest *mat.Dense) (*StudyKernel, *Predictor, error) {
	dim := kTrain.SymmetricDim()
	ev, err := Spectrum(kTrain)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	rep := &StudyKernel{Name: name, LambdaMin: ev[0], LambdaMax: ev[len(ev)-1], MeanDiagonal: mat.Trace(kTrain) / float64(dim)}
	if rep.LambdaMin > 0 {
		c := rep.LambdaMax / rep.LambdaMin
		rep.Condition = &c
	}
	rep.Eigenvalues = slices.Clone(ev)
	slices.Reverse(rep.Eigenvalues)
	// N counts training outputs: n*k for the traced kernel, which stands
	// for Theta ⊗ I_k, and the kernel's side for the full one.
	outputs := dim * s.k
	if s.cfg.Full {
		outputs = dim
	}
	if rep.MaxLR, err = maxLearningRate(ev, outputs, 0); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	if rep.Alignment, err = KernelAlignment(kTrain, s.yFit); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	pred, err := NewPredictor(kTrain, s.yFit, PredictOptions{DiagReg: s.cfg.DiagReg})
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	_, fTest, err := pred.Infinite(nil, nil, kTest)
	if err != nil {
		return nil, nil, fmt.Errorf("%s kernel regression: %w (raise the ridge DiagReg)", name, err)
	}
	rep.Regression = score(s.rows(fTest), s.yTest, s.test.Labels)
	return rep, pred, nil
}

// forward returns the model's outputs on x as a float64 matrix.
func (s *study[T]) forward(x *tensor.Tensor[T]) *mat.Dense {
	tape := autograd.NewTape[T]()
	tape.SetGradEnabled(false)
	return matrixOf(s.model.Forward(tape, tape.Const(x)).Value())
}

// column returns outputs or targets f (r x k) in the layout of the
// kernel: f itself when traced, with Full a copy as one column in
// (point, output) order.
func (s *study[T]) column(f *mat.Dense) *mat.Dense {
	if !s.cfg.Full {
		return f
	}
	r, c := f.Dims()
	return mat.NewDense(r*c, 1, mat.DenseCopyOf(f).RawMatrix().Data)
}

// rows undoes column: m x k outputs from a full kernel's single column.
func (s *study[T]) rows(f *mat.Dense) *mat.Dense {
	if !s.cfg.Full {
		return f
	}
	r, _ := f.Dims()
	return mat.NewDense(r/s.k, s.k, mat.DenseCopyOf(f).RawMatrix().Data)
}

// kronIdentity returns the storage of K ⊗ I_k (r k x c k for an r x c
// K) in the (point, output) order of full kernels: entry (i*k+a, j*k+a)
// is K_ij.
func kronIdentity(kern mat.Matrix, k int) []float64 {
	r, c := kern.Dims()
	out := make([]float64, r*k*c*k)
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			v := kern.At(i, j)
			for a := 0; a < k; a++ {
				out[(i*k+a)*c*k+j*k+a] = v
			}
		}
	}
	return out
}

// denseView returns a symmetric matrix whose storage holds both
// triangles (the kernels of this package) as a *mat.Dense on the same
// storage: the general-matrix routines (mat.Norm's Frobenius sum) then
// visit the elements in the same order as for any other kernel.
func denseView(s *mat.SymDense) *mat.Dense {
	n := s.SymmetricDim()
	return mat.NewDense(n, n, s.RawSymmetric().Data)
}

// score returns the MSE of f against y (mean over all entries) and, with
// labels, the argmax accuracy.
func score(f, y *mat.Dense, labels []int32) TestScore {
	r, c := f.Dims()
	var se float64
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			d := f.At(i, j) - y.At(i, j)
			se += d * d
		}
	}
	p := TestScore{MSE: se / float64(r*c)}
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

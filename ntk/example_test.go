package ntk_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"gonum.org/v1/gonum/mat"

	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/ntk"
	"github.com/gradflow/gradflow/optim"
	"github.com/gradflow/gradflow/tensor"
	"github.com/gradflow/gradflow/train"
)

// The infinite-width NTK of a ReLU network with He scaling: Theta(x, x) =
// 2 (L+1) |x|^2 / d.
func ExampleArch_Kernels() {
	x := mat.NewDense(2, 2, []float64{1, 0, 0.6, 0.8})
	k, err := ntk.Arch{Depth: 2, Act: nn.ReLU, WStd: math.Sqrt2}.Kernels(x, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("NTK:\n%.4f\n", mat.Formatted(k.NTK))
	// Output:
	// NTK:
	// ⎡3.0000  1.5444⎤
	// ⎣1.5444  3.0000⎦
}

// The empirical NTK of a small NTK-parameterized MLP, traced over its two
// outputs.
func ExampleEmpirical() {
	m, err := nn.NewMLP[float64](nn.MLPConfig{Dims: []int{3, 64, 2}, Parameterization: nn.NTK}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		fmt.Println(err)
		return
	}
	x := tensor.FromSlice([]float64{1, 0, 0, 0, 1, 0}, 2, 3)
	theta, err := ntk.Empirical[float64](m, x, nil, ntk.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(theta.Shape(), theta.At(0, 1) == theta.At(1, 0))
	// Output: [2 2] true
}

// Kernel-regime predictions for gradient descent on 0.5*mean squared error.
func ExamplePredictor() {
	k := mat.NewSymDense(2, []float64{2, 1, 1, 2})
	y := mat.NewDense(2, 1, []float64{1, -1})
	p, err := ntk.NewPredictor(k, y, ntk.PredictOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	eta, _ := ntk.MaxLearningRate(k, 2, 0)
	fmt.Printf("max learning rate %.4g\n", eta)
	f, _, _ := p.Flow(2, nil, nil, nil) // t = eta * time
	fmt.Printf("f_train(2) = %.4f\n", mat.Formatted(f.T()))
	_, ftest, _ := p.Infinite(nil, nil, mat.NewDense(1, 2, []float64{1, 0}))
	fmt.Printf("kernel regression at a test point: %.4f\n", ftest.At(0, 0))
	// Output:
	// max learning rate 1.333
	// f_train(2) = [ 0.6321  -0.6321]
	// kernel regression at a test point: 1.0000
}

// The empirical NTK flows into the kernel-regime predictor as it is:
// EmpiricalGram returns the training kernel as the gonum symmetric matrix
// NewPredictor and MaxLearningRate take, EmpiricalCross the test x train
// kernel the predictions take. Kernel regression interpolates: predicting
// at two training inputs gives back their targets.
func ExampleEmpiricalGram() {
	rng := rand.New(rand.NewPCG(1, 2))
	m, _ := nn.NewMLP[float64](nn.MLPConfig{Dims: []int{3, 256, 1}, Parameterization: nn.NTK}, rng)
	xTrain := tensor.RandN[float64](rng, 0, 1, 8, 3)
	yTrain := mat.NewDense(8, 1, []float64{1, -1, 0.5, 2, 0, -0.5, 1.5, -2})

	kTrain, err := ntk.EmpiricalGram(nil, m, xTrain, ntk.Options{}) // *mat.SymDense, 8 x 8
	if err != nil {
		fmt.Println(err)
		return
	}
	kTest, err := ntk.EmpiricalCross(nil, m, xTrain.Rows(0, 2), xTrain, ntk.Options{}) // *mat.Dense, 2 x 8
	if err != nil {
		fmt.Println(err)
		return
	}
	p, err := ntk.NewPredictor(kTrain, yTrain, ntk.PredictOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	_, f, err := p.Infinite(nil, nil, kTest)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("kernel regression at the first two training inputs: %.4f\n", mat.Formatted(f.T()))
	// Output:
	// kernel regression at the first two training inputs: [ 1.0000  -1.0000]
}

// The analysis of "train ntk" from Go: the empirical NTK of a wide
// NTK-parameterized net at initialization on 200 digits, next to its
// infinite-width limit, and what both predict on 100 test digits. Every
// number the command prints is a field of the result.
func ExampleStudy() {
	ds, _ := data.Digits[float64]()
	train, _, test, _ := ds.Split(rand.New(rand.NewPCG(1, 1)), data.SplitSpec{Test: 0.2, Stratify: true})
	data.FitScaler(data.Standardize, train, test)
	m, _ := nn.NewMLP[float64](nn.MLPConfig{Dims: []int{64, 512, 10}, Parameterization: nn.NTK}, rand.New(rand.NewPCG(2, 2)))

	res, err := ntk.Study(context.Background(), m, train, test, ntk.StudyConfig{N: 200, NTest: 100, DiagReg: 1e-4})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s: %d x %d kernel, lambda_max/lambda_min > 100: %v\n", res.Empirical.Name, res.KernelDim, res.KernelDim, *res.Empirical.Condition > 100)
	fmt.Printf("within 20%% of the analytic NTK: %v\n", *res.RelFrobenius < 0.2)
	fmt.Printf("kernel regression accuracy above 90%%: empirical %v, analytic %v\n",
		*res.Empirical.Regression.Accuracy > 0.9, *res.Analytic.Regression.Accuracy > 0.9)
	// Output:
	// empirical NTK: 200 x 200 kernel, lambda_max/lambda_min > 100: true
	// within 20% of the analytic NTK: true
	// kernel regression accuracy above 90%: empirical true, analytic true
}

// Lazy-training metrics along a run: a wide NTK-parameterized net trained
// by full-batch gradient descent, measured every 25 steps on its training
// inputs. The first JSON line is the record of step 0.
func ExampleLazyProbe() {
	rng := rand.New(rand.NewPCG(1, 2))
	ds := &data.Dataset[float64]{X: tensor.RandN[float64](rng, 0, 1, 16, 3), Y: tensor.RandN[float64](rng, 0, 1, 16, 1)}
	m, _ := nn.NewMLP[float64](nn.MLPConfig{Dims: []int{3, 2048, 1}, Parameterization: nn.NTK}, rng)
	var lines bytes.Buffer
	probe, err := ntk.NewLazyProbe(ntk.LazyConfig[float64]{Model: m, Probe: ds.X, Every: 25, Out: &lines})
	if err != nil {
		fmt.Println(err)
		return
	}
	loader, _ := data.NewLoader(ds, data.LoaderConfig{BatchSize: 16})
	opt, _ := optim.NewSGD(m.Params(), optim.SGDConfig{LR: 0.5})
	tr, _ := train.New(train.Config[float64]{
		Model: m, Loss: &train.MSE[float64]{Half: true}, Optimizer: opt, Train: loader, Steps: 60,
		Callbacks: []train.Callback[float64]{probe},
	})
	if _, err := tr.Run(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	if err := probe.Finish(); err != nil { // adds step 60
		fmt.Println(err)
		return
	}
	fmt.Print(strings.SplitAfter(lines.String(), "\n")[0])
	for _, r := range probe.Records()[1:] {
		fmt.Printf("step %d: drift, weight change and gap below 5%%: %v\n", r.Step, max(r.KernelDrift, r.WeightChange, r.GapRelative) < 0.05)
	}
	// Output:
	// {"step":0,"epoch":0,"kernel_drift":0,"weight_change":0,"params":[{"name":"0.weight","abs":0,"relative":0},{"name":"2.weight","abs":0,"relative":0}],"gap_rms":0,"gap_max":0,"gap_relative":0}
	// step 25: drift, weight change and gap below 5%: true
	// step 50: drift, weight change and gap below 5%: true
	// step 60: drift, weight change and gap below 5%: true
}

package ntk_test

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"

	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/ntk"
	"github.com/gradflow/gradflow/tensor"
)

// The infinite-width NTK of a ReLU network with He scaling: Theta(x, x) =
// 2 (L+1) |x|^2 / d.
func ExampleArch_Kernels() {
	x := mat.NewDense(2, 2, []float64{1, 0, 0.6, 0.8})
	k, err := ntk.Arch{Depth: 2, Act: ntk.ReLU(), WStd: math.Sqrt2}.Kernels(x, nil)
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

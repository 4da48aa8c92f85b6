package autograd_test

import (
	"fmt"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/tensor"
)

// A parameter bound with Leaf receives its gradient from Backward.
func ExampleTape_Backward() {
	tp := autograd.NewTape[float64]()
	w := tensor.FromSlice([]float64{1, 2, 3})
	grad := tensor.New[float64](3)
	x := tp.Leaf(w, grad)
	loss := autograd.Sum(autograd.Mul(x, x)) // |w|^2
	tp.Backward(loss)
	fmt.Println(loss.Item(), grad.Data())
	// Output: 14 [2 4 6]
}

// Grad with CreateGraph makes the gradient differentiable: here the
// Hessian-vector product of f(x) = sum(x^3) is 6 x v.
func ExampleTape_HVP() {
	tp := autograd.NewTape[float64]()
	x := tp.Leaf(tensor.FromSlice([]float64{1, 2}), nil)
	f := autograd.Sum(autograd.Pow(x, 3))
	hv := tp.HVP(f, []*autograd.Var[float64]{x}, []*tensor.Tensor[float64]{tensor.FromSlice([]float64{1, 1})})
	fmt.Println(hv[0].Value().Data())
	// Output: [6 12]
}

// GradCheck compares analytic and finite-difference gradients.
func ExampleGradCheck() {
	f := func(tp *autograd.Tape[float64], xs []*autograd.Var[float64]) *autograd.Var[float64] {
		return autograd.Sum(autograd.Tanh(autograd.MatMul(xs[0], xs[1], false, true)))
	}
	a := tensor.FromSlice([]float64{0.1, -0.2, 0.3, 0.4}, 2, 2)
	b := tensor.FromSlice([]float64{0.5, 0.6, -0.7, 0.8}, 2, 2)
	maxErr, err := autograd.GradCheck(f, []*tensor.Tensor[float64]{a, b}, autograd.GradCheckOptions{})
	fmt.Println(err, maxErr < 1e-8)
	// Output: <nil> true
}

package tensor_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/gradflow/gradflow/tensor"
)

func ExampleNew() {
	x := tensor.New[float64](2, 3)
	x.Set(5, 1, 2)
	fmt.Println(x.Shape(), x.Len())
	fmt.Println(x)
	// Output:
	// [2 3] 6
	// [[0 0 0]
	//  [0 0 5]]
}

func ExampleFromSlice() {
	data := []float32{1, 2, 3, 4, 5, 6}
	x := tensor.FromSlice(data, 3, 2) // shares data
	data[0] = 10
	fmt.Println(x.At(0, 0), x.At(2, 1))
	fmt.Println(x.Reshape(2, -1))
	// Output:
	// 10 6
	// [[10  2  3]
	//  [ 4  5  6]]
}

func ExampleMatMul() {
	a := tensor.FromSlice([]float64{1, 2, 3, 4, 5, 6}, 2, 3)
	b := tensor.FromSlice([]float64{1, 0, 0, 1, 1, 1}, 3, 2)
	fmt.Println(tensor.MatMul(a, b, false, false))
	// a times its own transpose, without forming the transpose:
	fmt.Println(tensor.MatMul(a, a, false, true))
	// Output:
	// [[ 4  5]
	//  [10 11]]
	// [[14 32]
	//  [32 77]]
}

// A Linear layer's forward pass: y = relu(x W^T + b) in one fused call,
// with W stored [out, in] as PyTorch does.
func ExampleMatMulInto() {
	x := tensor.FromSlice([]float64{1, 2, -1, 0}, 2, 2) // batch of 2, 2 features
	w := tensor.FromSlice([]float64{1, 1, 1, -1, 0, 2}, 3, 2)
	b := tensor.FromSlice([]float64{0, 0, 1})
	y := tensor.New[float64](2, 3)
	tensor.MatMulInto(y, x, w, false, true, 1, 0, tensor.Epilogue[float64]{Bias: b, Act: tensor.ReLU})
	fmt.Println(y)
	// Output:
	// [[3 0 5]
	//  [0 0 1]]
}

func ExampleAdd() {
	m := tensor.FromSlice([]float64{1, 2, 3, 4, 5, 6}, 2, 3)
	row := tensor.FromSlice([]float64{10, 20, 30})     // shape [3]: added to every row
	col := tensor.FromSlice([]float64{100, 200}, 2, 1) // shape [2 1]: added to every column
	fmt.Println(tensor.Add(m, row))
	fmt.Println(tensor.Add(m, col))
	_, err := tensor.BroadcastShapes(m.Shape(), []int{2})
	fmt.Println(err)
	// Output:
	// [[11 22 33]
	//  [14 25 36]]
	// [[101 102 103]
	//  [204 205 206]]
	// tensor: shapes [2 3] and [2] do not broadcast
}

func ExampleSumAxis() {
	x := tensor.FromSlice([]float64{1, 2, 3, 4, 5, 6}, 2, 3)
	fmt.Println(tensor.SumAxis(x, 0, false)) // column sums
	fmt.Println(tensor.SumAxis(x, 1, true))  // row sums, kept as a column
	fmt.Println(tensor.ArgMaxAxis(x, 1))
	// Output:
	// [5 7 9]
	// [[ 6]
	//  [15]]
	// [2 2]
}

// SumTo undoes broadcasting in a backward pass: the gradient of a bias
// added to every row is the column sum of the output gradient.
func ExampleSumTo() {
	grad := tensor.FromSlice([]float64{1, 2, 3, 4, 5, 6}, 2, 3)
	biasGrad := tensor.New[float64](3)
	fmt.Println(tensor.SumTo(biasGrad, grad))
	// Output:
	// [5 7 9]
}

func ExampleRandN() {
	rng := rand.New(rand.NewPCG(1, 2)) // same seed, same tensor
	a := tensor.RandN(rng, 0.0, 1.0, 2, 2)
	b := tensor.RandN(rand.New(rand.NewPCG(1, 2)), 0.0, 1.0, 2, 2)
	fmt.Println(tensor.Equal(a, b))
	// Output:
	// true
}

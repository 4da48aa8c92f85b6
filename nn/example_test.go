package nn_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/tensor"
)

// A training step: forward on a tape, loss, Backward into Param.Grad, an
// SGD update scaled by each parameter's LRScale, Reset for the next step.
func ExampleMLP() {
	rng := rand.New(rand.NewPCG(1, 2))
	m, err := nn.NewMLP[float32](nn.MLPConfig{Dims: []int{4, 16, 3}, Activation: nn.ReLU}, rng)
	if err != nil {
		panic(err)
	}
	x := tensor.RandN(rng, float32(0), 1, 8, 4)
	labels := []int32{0, 1, 2, 0, 1, 2, 0, 1}
	tp := autograd.NewTape[float32]()
	var first, last float32
	for step := 0; step < 50; step++ {
		tp.Reset()
		nn.ZeroGrad[float32](m)
		loss := autograd.CrossEntropy(m.Forward(tp, tp.Const(x)), labels)
		tp.Backward(loss)
		for _, p := range m.Params() {
			tensor.Axpy(-0.5*float32(p.LRScale), p.Grad, p.Value)
		}
		if step == 0 {
			first = loss.Item()
		}
		last = loss.Item()
	}
	fmt.Println(m.Params()[0].Name, m.Params()[0].Value.Shape(), last < first/2)
	// Output: 0.weight [16 4] true
}

// Save writes a safetensors file with torch.nn.Sequential key names; Load
// rebuilds the model from the file alone.
func ExampleLoad() {
	m, _ := nn.NewMLP[float64](nn.MLPConfig{Dims: []int{3, 8, 2}, Parameterization: nn.MuP}, rand.New(rand.NewPCG(1, 2)))
	var buf bytes.Buffer
	if err := m.Save(&buf); err != nil {
		panic(err)
	}
	m2, err := nn.Load[float64](&buf)
	fmt.Println(err, m2.Config.Parameterization, m2.Config.Dims, tensor.Equal(m.Params()[2].Value, m2.Params()[2].Value))
	// Output: <nil> mup [3 8 2] true
}

// Per-example gradients from one batched backward pass.
func ExamplePerExampleGrads() {
	m, _ := nn.NewMLP[float64](nn.MLPConfig{Dims: []int{3, 4, 1}, Activation: nn.Tanh}, rand.New(rand.NewPCG(1, 2)))
	x := tensor.RandN(rand.New(rand.NewPCG(3, 4)), 0.0, 1.0, 5, 3)
	seed := tensor.Ones[float64](5, 1) // d f / d params for each example
	g := nn.PerExampleGrads(m, x, seed)
	fmt.Println(g.Shape(), nn.NumParams[float64](m))
	// Output: [5 21] 21
}

// Predict runs a model on a batch without a tape or gradients: the
// inference call. A batch the model cannot take is an error, not a panic.
func ExamplePredict() {
	m, err := nn.NewMLP[float32](nn.MLPConfig{Dims: []int{4, 16, 3}, Activation: nn.ReLU}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		panic(err)
	}
	x := tensor.RandN(rand.New(rand.NewPCG(3, 4)), float32(0), 1, 5, 4)
	scores, err := nn.Predict[float32](m, x)
	if err != nil {
		panic(err)
	}
	fmt.Println(scores.Shape())

	_, err = nn.Predict[float32](m, tensor.New[float32](5, 3))
	fmt.Println(err)
	// Output:
	// [5 3]
	// nn.Predict: x has 3 columns, but the model takes 4 inputs
}

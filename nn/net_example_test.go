package nn_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/tensor"
)

// A convolutional net from a spec: LeNet-5 on 28x28 images. It takes
// rows of 784 pixels, like every dataset of gradflow, and names its
// parameters as PyTorch's torch.nn.Sequential does.
func ExampleNewNet() {
	rng := rand.New(rand.NewPCG(1, 2))
	net, err := nn.NewNet[float32]("conv6k5p2-relu-maxpool2-conv16k5-relu-maxpool2-flatten-fc120-relu-fc84-relu-fc10", []int{1, 28, 28}, rng)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range net.Params()[:4] {
		fmt.Println(p.Name, p.Value.Shape())
	}
	fmt.Println(nn.NumParams[float32](net), "parameters, output", net.OutputShape())

	tp := autograd.NewTape[float32]()
	y := net.Forward(tp, tp.Const(tensor.New[float32](2, 784)))
	fmt.Println("batch of 2 ->", y.Shape())

	_, err = nn.NewNet[float32]("conv6k5-maxpool2-conv16k5-maxpool2-conv32k5-flatten-fc10", []int{1, 28, 28}, rng)
	fmt.Println(err)
	// Output:
	// 0.weight [6 1 5 5]
	// 0.bias [6]
	// 3.weight [16 6 5 5]
	// 3.bias [16]
	// 61706 parameters, output [10]
	// batch of 2 -> [2 10]
	// nn.NewNet: conv32k5 on [16 4 4]: kernel 5 larger than the padded input 4
}

// Saving and loading a net with BatchNorm: the file holds the parameters,
// the running statistics and the spec, and LoadNet rebuilds the net from
// it alone.
func ExampleLoadNet() {
	net, err := nn.NewNet[float64]("conv4k3p1-bn-relu-gap-fc3", []int{1, 8, 8}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		fmt.Println(err)
		return
	}
	var file bytes.Buffer
	if err := net.Save(&file); err != nil {
		fmt.Println(err)
		return
	}
	back, err := nn.LoadNet[float64](&file)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(back.Spec, back.InputShape)
	for _, b := range back.Buffers() {
		fmt.Println(b.Name, b.Value.Shape())
	}
	// Output:
	// conv4k3p1-bn-relu-gap-fc3 [1 8 8]
	// 1.running_mean [4]
	// 1.running_var [4]
	// 1.num_batches_tracked []
}

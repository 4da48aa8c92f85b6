package ntk_test

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/gradflow/gradflow/ntk"
)

// The NNGP posterior and the NTK-GP of a ReLU network on four training
// points and one test point.
func ExampleNNGPPosterior() {
	x := mat.NewDense(4, 2, []float64{1, 0, 0, 1, -1, 0, 0, -1})
	y := mat.NewDense(4, 1, []float64{1, 0.5, -1, -0.5})
	xs := mat.NewDense(1, 2, []float64{0.6, 0.8})
	arch := ntk.Arch{Depth: 2, WStd: math.Sqrt2, BStd: 0.1}
	g, _ := arch.Gram(x)
	kt, _ := arch.Kernels(xs, x)
	gs, _ := arch.Gram(xs)
	kern := ntk.GPKernels{TrainNNGP: g.NNGP, TrainNTK: g.NTK, TestTrainNNGP: kt.NNGP, TestTrainNTK: kt.NTK, TestNNGP: gs.NNGP}
	post, err := ntk.NNGPPosterior(kern, y, ntk.PredictOptions{DiagReg: 1e-6})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("NNGP:   mean %.4f, variance %.4f\n", post.Mean.At(0, 0), post.Var[0])
	gp, err := ntk.NewNTKGP(kern, y, ntk.PredictOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range []float64{1, 10, math.Inf(1)} {
		p, _ := gp.At(t)
		fmt.Printf("NTK-GP t=%v: mean %.4f, variance %.4f\n", t, p.Mean.At(0, 0), p.Var[0])
	}
	// Output:
	// NNGP:   mean 0.9299, variance 0.1343
	// NTK-GP t=1: mean 0.3905, variance 0.3158
	// NTK-GP t=10: mean 0.7854, variance 0.1463
	// NTK-GP t=+Inf: mean 0.7862, variance 0.1462
}

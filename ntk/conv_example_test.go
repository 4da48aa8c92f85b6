package ntk_test

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/ntk"
)

// The CNN-GP and CNTK with global average pooling (Novak et al. 2019,
// Arora et al. 2019) of three 1x3x3 images: two ReLU convolutions of 3x3
// filters with SAME padding. The two diagonals are mirror images, so
// their kernels with themselves and with the (symmetric) cross agree.
func ExampleConvArch() {
	x := mat.NewDense(3, 9, []float64{
		1, 0, 0, 0, 1, 0, 0, 0, 1, // a diagonal
		0, 0, 1, 0, 1, 0, 1, 0, 0, // the other diagonal
		0, 1, 0, 1, 1, 1, 0, 1, 0, // a cross
	})
	arch := ntk.ConvArch{Layers: []ntk.ConvLayer{
		ntk.Conv(3, ntk.Same, math.Sqrt2, 0), ntk.Act(nn.ReLU),
		ntk.Conv(3, ntk.Same, math.Sqrt2, 0), ntk.Act(nn.ReLU),
		ntk.GlobalAvgPool(), ntk.Dense(1, 0),
	}}
	g, err := arch.Gram(x, [3]int{1, 3, 3})
	if err != nil {
		fmt.Println(err)
		return
	}
	cost, _ := arch.Cost([3]int{1, 3, 3})
	fmt.Println("all pixel pairs:", cost.FullPixelPairs)
	fmt.Printf("NNGP\n%.4f\n", mat.Formatted(g.NNGP))
	fmt.Printf("NTK\n%.4f\n", mat.Formatted(g.NTK))
	// Output:
	// all pixel pairs: true
	// NNGP
	// ⎡0.0692  0.0646  0.0957⎤
	// ⎢0.0646  0.0692  0.0957⎥
	// ⎣0.0957  0.0957  0.1451⎦
	// NTK
	// ⎡0.1242  0.0979  0.1580⎤
	// ⎢0.0979  0.1242  0.1580⎥
	// ⎣0.1580  0.1580  0.2778⎦
}

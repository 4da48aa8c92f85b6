package nn_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/gradflow/gradflow/nn"
)

// A CNN under muP for Adam: the table NewNetWith applies, by weight layer.
// The hidden conv's fan_in is its input channels times the kernel area,
// 8*9 = 72, so Adam's rate on it is eta/72; the readout reads 16*4*4 = 256
// features with the multiplier 1/256.
func ExampleNewNetWith() {
	cfg := nn.NetConfig{
		Spec:             "conv8k3p1-relu-conv16k3p1-relu-maxpool2-flatten-fc10",
		InputShape:       []int{1, 8, 8},
		Parameterization: nn.MuP,
		AdaptiveLR:       true,
	}
	net, err := nn.NewNetWith[float32](cfg, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		fmt.Println(err)
		return
	}
	ss, _ := cfg.Scalings()
	for _, s := range ss {
		fmt.Printf("%-3s %-6s fan_in %3d  alpha %.5f  Adam LRScale %.5f\n", s.Prefix, s.Role, s.FanIn, s.Alpha, s.LRWeight)
	}
	fmt.Println(nn.NumParams[float32](net), "parameters")
	// Output:
	// 0.  input  fan_in   9  alpha 1.00000  Adam LRScale 1.00000
	// 2.  hidden fan_in  72  alpha 1.00000  Adam LRScale 0.01389
	// 6.  output fan_in 256  alpha 0.00391  Adam LRScale 1.00000
	// 3818 parameters
}

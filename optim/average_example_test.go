package optim_test

import (
	"fmt"

	"github.com/gradflow/gradflow/optim"
	"github.com/gradflow/gradflow/tensor"
)

// Polyak-Ruppert averaging of SGD on f(x) = x^2/2 with a gradient noise
// that alternates +1, -1: the last iterate keeps oscillating, the average
// of the last half of the run sits near the minimum 0.
func ExampleAveraged() {
	p := &optim.Param[float64]{Name: "x", Value: tensor.FromSlice([]float64{3}), Grad: tensor.New[float64](1)}
	opt, err := optim.New([]*optim.Param[float64]{p}, optim.Spec{Name: "sgd", LR: 0.5, Average: "tail:0.5:100"})
	if err != nil {
		panic(err)
	}
	for t := range 100 {
		noise := 1.0
		if t%2 == 1 {
			noise = -1
		}
		p.Grad.Data()[0] = p.Value.Data()[0] + noise
		opt.Step()
	}
	av := opt.(*optim.Averaged[float64])
	avg := make([]float64, 1)
	av.Average(0, avg)
	fmt.Printf("last iterate %.3f, average of the last %d iterates %.3f\n", p.Value.Data()[0], av.Count(), avg[0])
	av.SwapIn() // evaluate the model at the average here
	fmt.Printf("swapped in: %.3f\n", p.Value.Data()[0])
	av.SwapOut()
	fmt.Printf("swapped out: %.3f\n", p.Value.Data()[0])
	// Output:
	// last iterate 0.333, average of the last 50 iterates 0.000
	// swapped in: 0.000
	// swapped out: 0.333
}

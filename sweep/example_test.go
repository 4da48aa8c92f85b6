package sweep_test

import (
	"context"
	"fmt"
	"os"

	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/sweep"
)

// Run a small width sweep, then fit the width exponent of the NTK
// parameterization's weight change.
func ExampleRun() {
	dir, _ := os.MkdirTemp("", "sweep")
	defer os.RemoveAll(dir)
	cfg := sweep.Config{
		Dataset:           sweep.Dataset{Kind: "teacher", N: 32, Dim: 4, Seed: 1},
		Widths:            []int{64, 256},
		Parameterizations: []nn.Parameterization{nn.NTK},
		Seeds:             []uint64{1, 2},
		LRs:               []float64{0.5},
		Steps:             20,
		KernelEvery:       -1,
	}
	if err := sweep.Run(context.Background(), cfg, dir, sweep.All, 2, nil); err != nil {
		panic(err)
	}
	rep, err := sweep.Analyze(dir)
	if err != nil {
		panic(err)
	}
	fit, err := rep.Fit("weight_change", sweep.Group{Parameterization: "ntk", LR: 0.5, Optimizer: "sgd"}, -1)
	if err != nil {
		panic(err)
	}
	fmt.Println("weight change falls with width:", fit.Slope < -0.2)
	// Output: weight change falls with width: true
}

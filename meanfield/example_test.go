package meanfield_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/meanfield"
	"github.com/gradflow/gradflow/tensor"
)

// Train a mean-field network and an NTK-scaled one of the same width on the
// same data and compare how far their neurons move.
func ExampleRun() {
	ds, _, err := data.TeacherStudent[float64](rand.New(rand.NewPCG(1, 1)), 32, data.TeacherConfig{Dims: []int{4, 4, 1}, Activation: tensor.Tanh})
	if err != nil {
		panic(err)
	}
	for _, regime := range []meanfield.Regime{meanfield.MeanField, meanfield.NTK} {
		tr, err := meanfield.Run(meanfield.RunConfig{
			Net:  meanfield.Config{InputDim: 4, Width: 1024, Regime: regime},
			Seed: 1, LR: 1, Steps: 50, Every: 50,
		}, ds.X, ds.Y)
		if err != nil {
			panic(err)
		}
		last := tr.Last()
		fmt.Printf("%-9s displacement > 0.5: %v, loss decreased: %v\n", regime, last.Displacement > 0.5, last.Loss < tr.Records[0].Loss)
	}
	// Output:
	// meanfield displacement > 0.5: true, loss decreased: true
	// ntk       displacement > 0.5: false, loss decreased: true
}

// Compare the particle measures of two widths with the sliced 2-Wasserstein
// distance: at initialization both are samples of the same Gaussian.
func ExampleSlicedW2() {
	a, _ := meanfield.New(meanfield.Config{InputDim: 2, Width: 4000}, meanfield.NewRNG(1))
	b, _ := meanfield.New(meanfield.Config{InputDim: 2, Width: 1000}, meanfield.NewRNG(2))
	d, err := meanfield.SlicedW2(a.Particles().Points, b.Particles().Points, 64, rand.New(rand.NewPCG(0, 0)))
	if err != nil {
		panic(err)
	}
	fmt.Printf("SW2 small: %v\n", d < 0.1)
	// Output: SW2 small: true
}

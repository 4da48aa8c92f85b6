package meanfield_test

import (
	"context"
	"fmt"
	"math"
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

// Propagation of chaos: a mean-field network of width m and one 16 times
// wider, started from the same first m particles and trained for the same
// time, end O(m^-1/2) apart.
func ExampleChaos() {
	res, err := meanfield.Chaos(context.Background(), meanfield.ChaosConfig{
		Widths: []int{16, 64, 256}, Seeds: 2, N: 16, Dim: 4, Seed: 1, LR: 1, Steps: 30})
	if err != nil {
		panic(err)
	}
	for _, r := range res.Rows {
		fmt.Printf("m %3d vs %4d: coupled distance %.2f\n", r.Width, r.RefWidth, r.Coupled)
	}
	fmt.Printf("slope of the coupled distance within 0.15 of -1/2: %v\n", math.Abs(*res.CoupledSlope.Slope+0.5) < 0.15)
	// Output:
	// m  16 vs  256: coupled distance 0.38
	// m  64 vs 1024: coupled distance 0.20
	// m 256 vs 4096: coupled distance 0.08
	// slope of the coupled distance within 0.15 of -1/2: true
}

// The energy (the loss) of a network and the rate at which gradient descent
// dissipates it: each Run record has both, along the time t = steps * lr.
func ExampleNet_Energy() {
	ds, _, err := data.TeacherStudent[float64](rand.New(rand.NewPCG(1, 1)), 32, data.TeacherConfig{Dims: []int{4, 4, 1}, Activation: tensor.Tanh})
	if err != nil {
		panic(err)
	}
	cfg := meanfield.RunConfig{Net: meanfield.Config{InputDim: 4, Width: 256}, Seed: 1, LR: 0.1, Steps: 10}
	tr, err := meanfield.Run(cfg, ds.X, ds.Y)
	if err != nil {
		panic(err)
	}
	net, _ := meanfield.New(cfg.Net, meanfield.NewRNG(cfg.Seed))
	e, d := net.Energy(ds.X, ds.Y)
	fmt.Println("record 0 is the initial energy and dissipation:", e == tr.Records[0].Loss, d == tr.Records[0].Dissipation)
	r0, r1 := tr.Records[0], tr.Records[1]
	fmt.Printf("first step: decrease %.2g, dt (D0 + D1)/2 %.2g\n", r0.Loss-r1.Loss, (r1.Time-r0.Time)*(r0.Dissipation+r1.Dissipation)/2)
	// Output:
	// record 0 is the initial energy and dissipation: true true
	// first step: decrease 0.001, dt (D0 + D1)/2 0.001
}

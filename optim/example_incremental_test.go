package optim_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/gradflow/gradflow/optim"
	"github.com/gradflow/gradflow/tensor"
)

// IAG visits the terms of a finite sum in cyclic order and steps along the
// average of their stored gradients; with a constant step it reaches the
// exact minimizer (here the mean of a).
func ExampleNewIAG() {
	p := &optim.Param[float64]{Name: "x", Value: tensor.New[float64](1), Grad: tensor.New[float64](1)}
	f := &sumOfSquares{a: []float64{1, 2, 3, 10}, p: p}
	opt, err := optim.NewIAG([]*optim.Param[float64]{p}, f, optim.VRConfig[float64]{LR: 0.2})
	if err != nil {
		fmt.Println(err)
		return
	}
	for step := 0; step < 400; step++ {
		opt.Step()
	}
	fmt.Printf("%.6f\n", p.Value.Data()[0])
	// Output: 4.000000
}

// The stochastic prox-linear method recovers the signal of noiseless robust
// phase retrieval (up to sign) from a random start, and the Moreau-envelope
// gradient, the stationarity measure of weakly convex problems, vanishes
// there.
func ExampleMoreauGradNorm() {
	rng := rand.New(rand.NewPCG(1, 2))
	f, err := optim.NewPhaseRetrieval(rng, optim.PhaseRetrievalConfig{M: 100, D: 5})
	if err != nil {
		fmt.Println(err)
		return
	}
	x0 := []float64{0.1, -0.2, 0.3, 0.1, 0.2}
	m, err := optim.NewModelBased(f, x0, optim.ModelBasedConfig{Model: optim.ProxLinearModel, LR: 0.1}, rng)
	if err != nil {
		fmt.Println(err)
		return
	}
	rhobar := 2 * f.Rho()
	g0, _ := optim.MoreauGradNorm(f, x0, rhobar, optim.MoreauOptions{})
	for m.Steps() < 3000 {
		m.Step()
	}
	g, _ := optim.MoreauGradNorm(f, m.X(), rhobar, optim.MoreauOptions{})
	fmt.Printf("start: envelope gradient %.2f\nafter 3000 steps: error < 1e-12: %v, envelope gradient < 1e-5: %v\n",
		g0, f.DistToSignal(m.X()) < 1e-12, g < 1e-5)
	// Output:
	// start: envelope gradient 0.18
	// after 3000 steps: error < 1e-12: true, envelope gradient < 1e-5: true
}

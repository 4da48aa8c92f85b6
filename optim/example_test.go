package optim_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/gradflow/gradflow/optim"
	"github.com/gradflow/gradflow/tensor"
)

// Minimize f(x) = sum (x_i - 3)^2 / 2 with SGD and heavy-ball momentum.
func ExampleNewSGD() {
	p := &optim.Param[float64]{Name: "x", Value: tensor.FromSlice([]float64{0, 10}), Grad: tensor.New[float64](2)}
	opt, err := optim.NewSGD([]*optim.Param[float64]{p}, optim.SGDConfig{LR: 0.1, Momentum: 0.9})
	if err != nil {
		fmt.Println(err)
		return
	}
	for step := 0; step < 200; step++ {
		for i, v := range p.Value.Data() {
			p.Grad.Data()[i] = v - 3
		}
		opt.Step()
	}
	fmt.Printf("%.4f\n", p.Value.Data())
	// Output: [3.0000 3.0000]
}

// AdamW with two parameter groups (the second without weight decay, as is
// usual for biases), a linear warmup into a cosine schedule, and gradient
// clipping.
func ExampleNewAdamW() {
	w := &optim.Param[float64]{Name: "0.weight", Value: tensor.FromSlice([]float64{1, -1}), Grad: tensor.New[float64](2)}
	b := &optim.Param[float64]{Name: "0.bias", Value: tensor.FromSlice([]float64{0.5}), Grad: tensor.New[float64](1)}
	cfg := optim.DefaultAdamW()
	cfg.LR = 0.1
	opt, err := optim.NewAdamW([]*optim.Param[float64]{w}, cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	noDecay := cfg
	noDecay.WeightDecay = 0
	if err := opt.AddGroup(noDecay, b); err != nil {
		fmt.Println(err)
		return
	}
	sched, err := optim.NewScheduler[float64](opt, optim.Warmup{Steps: 10, Start: 0.1, Then: optim.Cosine{Total: 290, Min: 0.01}})
	if err != nil {
		fmt.Println(err)
		return
	}
	params := []*optim.Param[float64]{w, b}
	for step := 0; step < 300; step++ {
		// Gradient of (w0 + w1 + b - 2)^2 / 2.
		r := w.Value.Data()[0] + w.Value.Data()[1] + b.Value.Data()[0] - 2
		w.Grad.Data()[0], w.Grad.Data()[1], b.Grad.Data()[0] = r, r, r
		optim.ClipGradNorm(params, 1)
		opt.Step()
		if err := sched.Step(); err != nil {
			fmt.Println(err)
			return
		}
	}
	fmt.Printf("fit: %.3f\n", w.Value.Data()[0]+w.Value.Data()[1]+b.Value.Data()[0])
	// Output: fit: 2.000
}

// FISTA with an L1 penalty finds the sparse solution of a small LASSO.
func ExampleNewFISTA() {
	// F(x) = 0.5 |x - c|^2 + 0.5 |x|_1: the solution soft-thresholds c at 0.5.
	c := []float64{2, 0.3, -1, -0.2}
	p := &optim.Param[float64]{Name: "x", Value: tensor.New[float64](4), Grad: tensor.New[float64](4)}
	opt, err := optim.NewFISTA([]*optim.Param[float64]{p}, optim.FISTAConfig[float64]{
		LR: 1, Prox: optim.L1[float64]{Lambda: 0.5}, Restart: optim.GradientRestart})
	if err != nil {
		fmt.Println(err)
		return
	}
	for step := 0; step < 50; step++ {
		for i, v := range p.Value.Data() {
			p.Grad.Data()[i] = v - c[i]
		}
		opt.Step()
	}
	opt.UseIterate()
	fmt.Println(p.Value.Data())
	// Output: [1.5 0 -0.5 0]
}

// sumOfSquares is the finite sum (1/n) sum_i (x - a_i)^2 / 2 over one
// scalar parameter; its minimizer is the mean of the a_i.
type sumOfSquares struct {
	a []float64
	p *optim.Param[float64]
}

func (s *sumOfSquares) Len() int { return len(s.a) }

func (s *sumOfSquares) Grad(batch []int) {
	x, g := s.p.Value.Data()[0], 0.0
	for _, i := range batch {
		g += x - s.a[i]
	}
	s.p.Grad.Data()[0] = g / float64(len(batch))
}

// SVRG converges to the exact minimizer of a finite sum with a constant
// step, where SGD would keep fluctuating.
func ExampleNewSVRG() {
	p := &optim.Param[float64]{Name: "x", Value: tensor.New[float64](1), Grad: tensor.New[float64](1)}
	f := &sumOfSquares{a: []float64{1, 2, 3, 10}, p: p}
	opt, err := optim.NewSVRG([]*optim.Param[float64]{p}, f, optim.VRConfig[float64]{LR: 0.3}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		fmt.Println(err)
		return
	}
	for step := 0; step < 200; step++ {
		opt.Step()
	}
	fmt.Printf("%.6f\n", p.Value.Data()[0])
	// Output: 4.000000
}

// The Robbins-Monro step sizes c/(t0 + t)^alpha satisfy sum eta = inf and
// sum eta^2 < inf exactly when 1/2 < alpha <= 1.
func ExampleRobbinsMonro() {
	for _, alpha := range []float64{0.5, 0.75, 1, 1.5} {
		s := optim.RobbinsMonro{C: 1, T0: 10, Alpha: alpha}
		fmt.Printf("alpha %.2f: eta_0 = %.4f, conditions hold: %v\n", alpha, s.Factor(0), s.SatisfiesRobbinsMonro())
	}
	// Output:
	// alpha 0.50: eta_0 = 0.3162, conditions hold: false
	// alpha 0.75: eta_0 = 0.1778, conditions hold: true
	// alpha 1.00: eta_0 = 0.1000, conditions hold: true
	// alpha 1.50: eta_0 = 0.0316, conditions hold: false
}

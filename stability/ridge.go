package stability

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"

	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/internal/powerlaw"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/optim"
	"github.com/gradflow/gradflow/tensor"
	"github.com/gradflow/gradflow/train"
)

// RidgeConfig describes the strongly convex (hence PL) experiment: ridge
// regression F_S(w) = (1/n) sum_k (w.x_k - y_k)^2 / 2 + (Lambda/2) |w|^2 on
// Gaussian data x ~ N(0, I_Dim), y = w*.x + Noise * N(0, 1), |w*| = 1,
// trained to convergence by full-batch gradient descent through the
// training step, for every training-set size in Ns.
type RidgeConfig struct {
	Ns     []int   `json:"ns"`     // default 100, 200, 400, 800, 1600
	Dim    int     `json:"dim"`    // default 10
	Lambda float64 `json:"lambda"` // default 0.1
	Noise  float64 `json:"noise"`  // default 0.5
	// Reps is the number of (S, S^(i)) pairs per size (default 100): each
	// draws its own S, index i and replacement.
	Reps int    `json:"reps"`
	Seed uint64 `json:"seed"`
	// Tol is the gradient norm at which a run counts as converged
	// (default 1e-10).
	Tol float64 `json:"tol"`
}

func (c RidgeConfig) withDefaults() RidgeConfig {
	if c.Ns == nil {
		c.Ns = []int{100, 200, 400, 800, 1600}
	}
	if c.Dim == 0 {
		c.Dim = 10
	}
	if c.Lambda == 0 {
		c.Lambda = 0.1
	}
	if c.Noise == 0 {
		c.Noise = 0.5
	}
	if c.Reps == 0 {
		c.Reps = 100
	}
	if c.Tol == 0 {
		c.Tol = 1e-10
	}
	return c
}

// check refuses a configuration Ridge cannot run (defaults filled in).
func (c RidgeConfig) check() error {
	switch {
	case c.Dim < 1 || c.Reps < 2 || !(c.Lambda > 0) || !(c.Noise >= 0) || !(c.Tol > 0):
		return fmt.Errorf("stability.Ridge: Dim = %d, Reps = %d, Lambda = %g, Noise = %g, Tol = %g: want Dim >= 1, Reps >= 2, Lambda > 0, Noise >= 0, Tol > 0", c.Dim, c.Reps, c.Lambda, c.Noise, c.Tol)
	case len(c.Ns) == 0:
		return fmt.Errorf("stability.Ridge: no training-set sizes (Ns)")
	}
	for _, n := range c.Ns {
		if n < 2 {
			return fmt.Errorf("stability.Ridge: training-set size %d, want >= 2", n)
		}
	}
	return nil
}

// RidgeRow is the outcome at one training-set size: means over the pairs
// with standard errors.
type RidgeRow struct {
	N int `json:"n"`
	// Delta is |w_S - w_S'| at convergence; Bound is 2 G/(mu n) with mu the
	// PL (here: strong convexity) constant of F_S, the smallest eigenvalue
	// of X^T X/n + Lambda, and G the larger of the per-example gradient
	// norms of the two differing examples at w_S'. Both are means over
	// pairs; BoundHolds counts the pairs where Delta <= Bound.
	Delta      float64 `json:"delta"`
	DeltaSE    float64 `json:"delta_se"`
	Bound      float64 `json:"bound"`
	BoundHolds int     `json:"bound_holds"`
	Mu         float64 `json:"mu"`
	G          float64 `json:"g"`
	// Gap is the generalization gap R(w_S) - R_S(w_S) of the squared loss
	// (population risk in closed form: (|w - w*|^2 + Noise^2)/2), averaged
	// with the control variate R(w*) - R_S(w*) subtracted: it has mean zero
	// (R_S(w*) is an average of Noise^2 eps^2/2), so the mean is unchanged,
	// and it cancels most of the O(n^-1/2) fluctuation of the training
	// loss that would otherwise swamp the O(1/n) gap;
	// StabilityGap is the replace-one stability estimate of its
	// expectation, mean of l(w_S'; z_i) - l(w_S; z_i), which equals E Gap
	// exactly (Bousquet and Elisseeff 2002, Lemma 7).
	Gap            float64 `json:"gap"`
	GapSE          float64 `json:"gap_se"`
	StabilityGap   float64 `json:"stability_gap"`
	StabilityGapSE float64 `json:"stability_gap_se"`
	Steps          float64 `json:"steps"` // mean steps to convergence
}

// RidgeResult is the outcome of Ridge.
type RidgeResult struct {
	Config RidgeConfig `json:"config"`
	Rows   []RidgeRow  `json:"rows"`
	// DeltaSlope, GapSlope and StabilityGapSlope are the log-log slopes
	// against n (theory: -1 for each).
	DeltaSlope        float64 `json:"delta_slope"`
	GapSlope          float64 `json:"gap_slope"`
	StabilityGapSlope float64 `json:"stability_gap_slope"`
}

// Ridge runs the ridge experiment of cfg.
func Ridge(ctx context.Context, cfg RidgeConfig) (*RidgeResult, error) {
	cfg = cfg.withDefaults()
	if err := cfg.check(); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x41d6e))
	wstar := make([]float64, cfg.Dim)
	for i := range wstar {
		wstar[i] = rng.NormFloat64()
	}
	scaleTo(wstar, 1)
	res := &RidgeResult{Config: cfg}
	for _, n := range cfg.Ns {
		row, err := ridgeRow(ctx, cfg, n, wstar, rng)
		if err != nil {
			return nil, err
		}
		res.Rows = append(res.Rows, row)
	}
	ns, d, g, sg := make([]float64, len(res.Rows)), make([]float64, len(res.Rows)), make([]float64, len(res.Rows)), make([]float64, len(res.Rows))
	for i, r := range res.Rows {
		ns[i], d[i], g[i], sg[i] = float64(r.N), r.Delta, r.Gap, r.StabilityGap
	}
	res.DeltaSlope, res.GapSlope, res.StabilityGapSlope = powerlaw.Slope(ns, d), powerlaw.Slope(ns, g), powerlaw.Slope(ns, sg)
	return res, nil
}

func ridgeRow(ctx context.Context, cfg RidgeConfig, n int, wstar []float64, rng *rand.Rand) (RidgeRow, error) {
	row := RidgeRow{N: n}
	var delta, gap, sgap moments
	var bound, mu, g, steps float64
	for range cfg.Reps {
		if err := ctx.Err(); err != nil {
			return row, err
		}
		s := gaussianRegression(n+1, wstar, cfg.Noise, rng)
		i := rng.IntN(n)
		train1 := s.Subset(seq(n))
		other := swapped(train1, s.Subset([]int{n}), i, 0)
		wa, ka, err := ridgeFit(cfg, train1)
		if err != nil {
			return row, err
		}
		wb, kb, err := ridgeFit(cfg, other)
		if err != nil {
			return row, err
		}
		steps += float64(ka+kb) / 2
		dv := distance(wa, wb)
		delta.add(dv)
		m := ridgeMu(train1, cfg.Lambda)
		zi, zr := rowOf(train1, i), rowOf(other, i)
		gi := math.Max(exampleGradNorm(wb, zi), exampleGradNorm(wb, zr))
		b := 2 * gi / (m * float64(n))
		bound += b
		mu += m
		g += gi
		if dv <= b*(1+1e-9) {
			row.BoundHolds++
		}
		pop := 0.5 * (sq(distance(wa, wstar)) + cfg.Noise*cfg.Noise)
		// Control variate: R(w*) - R_S(w*) has mean zero and carries the
		// same O(n^-1/2) fluctuation of the training loss as the gap.
		cv := 0.5*cfg.Noise*cfg.Noise - trainLoss(wstar, train1)
		gap.add(pop - trainLoss(wa, train1) - cv)
		sgap.add(exampleLoss(wb, zi) - exampleLoss(wa, zi))
	}
	r := float64(cfg.Reps)
	row.Delta, row.DeltaSE = delta.mean(), delta.se()
	row.Bound, row.Mu, row.G, row.Steps = bound/r, mu/r, g/r, steps/r
	row.Gap, row.GapSE = gap.mean(), gap.se()
	row.StabilityGap, row.StabilityGapSE = sgap.mean(), sgap.se()
	return row, nil
}

// ridgeFit trains the bias-free linear model on ds by full-batch gradient
// descent with weight decay Lambda (the ridge penalty) at step 1/beta,
// beta = lambda_max(X^T X/n) + Lambda, until the gradient norm is below
// Tol; it returns the weights and the number of steps.
func ridgeFit(cfg RidgeConfig, ds *data.Dataset[float64]) ([]float64, int, error) {
	lin := nn.NewLinearFrom[float64]("0", tensor.New[float64](1, cfg.Dim), nil)
	spec, err := optim.DefaultSpec("sgd")
	if err != nil {
		return nil, 0, err
	}
	spec.LR = 1 / (ridgeBeta(ds) + cfg.Lambda)
	spec.WeightDecay = cfg.Lambda
	opt, err := optim.New(lin.Params(), spec)
	if err != nil {
		return nil, 0, err
	}
	st, err := train.NewStepper(train.StepConfig[float64]{Model: lin, Loss: &train.MSE[float64]{Half: true}, Optimizer: opt})
	if err != nil {
		return nil, 0, err
	}
	b := train.FullBatch(ds)
	w := lin.Weight.Value.Data()
	g := make([]float64, cfg.Dim)
	for k := 1; k <= 100000; k++ {
		if _, err := st.Step(b); err != nil {
			return nil, 0, err
		}
		// The step reports the gradient of the data term before the
		// update; convergence is judged on the full objective's gradient
		// at the new point.
		fullGrad(w, ds, cfg.Lambda, g)
		if norm(g) <= cfg.Tol {
			return append([]float64(nil), w...), k, nil
		}
	}
	return nil, 0, fmt.Errorf("stability.Ridge: gradient descent did not reach gradient norm %g in 100000 steps", cfg.Tol)
}

// fullGrad writes the gradient of F_S at w into g.
func fullGrad(w []float64, ds *data.Dataset[float64], lambda float64, g []float64) {
	n, d := ds.Len(), ds.Dim()
	x, y := ds.X.Data(), ds.Y.Data()
	for j := range g {
		g[j] = lambda * w[j]
	}
	for k := range n {
		xk := x[k*d : (k+1)*d]
		r := dot(w, xk) - y[k]
		for j := range g {
			g[j] += r * xk[j] / float64(n)
		}
	}
}

// ridgeMu is the smallest eigenvalue of X^T X/n + lambda, the strong
// convexity and PL constant of F_S.
func ridgeMu(ds *data.Dataset[float64], lambda float64) float64 {
	ev := gramEigen(ds)
	return ev[0] + lambda
}

// ridgeBeta is the largest eigenvalue of X^T X/n.
func ridgeBeta(ds *data.Dataset[float64]) float64 {
	ev := gramEigen(ds)
	return ev[len(ev)-1]
}

func gramEigen(ds *data.Dataset[float64]) []float64 {
	n, d := ds.Len(), ds.Dim()
	x := mat.NewDense(n, d, ds.X.Data())
	var g mat.SymDense
	g.SymOuterK(1/float64(n), x.T())
	var es mat.EigenSym
	if !es.Factorize(&g, false) {
		return []float64{math.NaN()}
	}
	return es.Values(nil)
}

// gaussianRegression draws n rows x ~ N(0, I), y = w*.x + noise N(0, 1).
func gaussianRegression(n int, wstar []float64, noise float64, rng *rand.Rand) *data.Dataset[float64] {
	d := len(wstar)
	x := tensor.New[float64](n, d)
	y := tensor.New[float64](n, 1)
	xd, yd := x.Data(), y.Data()
	for k := range n {
		for j := range d {
			xd[k*d+j] = rng.NormFloat64()
		}
		yd[k] = dot(wstar, xd[k*d:(k+1)*d]) + noise*rng.NormFloat64()
	}
	return &data.Dataset[float64]{X: x, Y: y}
}

// example is one (x, y) pair.
type example struct {
	x []float64
	y float64
}

func rowOf(ds *data.Dataset[float64], i int) example {
	d := ds.Dim()
	return example{x: ds.X.Data()[i*d : (i+1)*d], y: ds.Y.Data()[i]}
}

// exampleLoss is (w.x - y)^2/2.
func exampleLoss(w []float64, z example) float64 { return sq(dot(w, z.x)-z.y) / 2 }

// exampleGradNorm is |(w.x - y) x|, the norm of the per-example gradient.
func exampleGradNorm(w []float64, z example) float64 {
	return math.Abs(dot(w, z.x)-z.y) * norm(z.x)
}

// trainLoss is the mean squared-error term (1/n) sum (w.x - y)^2/2.
func trainLoss(w []float64, ds *data.Dataset[float64]) float64 {
	var s float64
	for k := range ds.Len() {
		s += exampleLoss(w, rowOf(ds, k))
	}
	return s / float64(ds.Len())
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func norm(a []float64) float64 { return math.Sqrt(dot(a, a)) }

func scaleTo(a []float64, r float64) {
	s := r / norm(a)
	for i := range a {
		a[i] *= s
	}
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

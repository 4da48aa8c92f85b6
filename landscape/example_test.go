package landscape_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"

	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/landscape"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/optim"
	"github.com/gradflow/gradflow/train"
)

// A study of a small regression run: full-batch gradient descent with a
// probe measuring every 20 steps. The result holds the summary that "train
// landscape" prints and writes as landscape.json, and every measurement.
func ExampleStudy() {
	rng := rand.New(rand.NewPCG(1, 2))
	ds, _, _ := data.LinearRegression[float64](rng, 64, 4, 0.1)
	model, _ := nn.NewMLP[float64](nn.MLPConfig{Dims: []int{4, 16, 1}, Activation: nn.Tanh}, rng)
	opt, _ := optim.NewSGD(model.Params(), optim.SGDConfig{LR: 0.1})
	study, err := landscape.NewStudy(landscape.StudyConfig[float64]{
		Model: model, Loss: &train.MSE[float64]{Half: true}, Optimizer: opt, Train: ds, DataName: "linear",
		Steps: 200, PlainGD: true, Every: 20, Seed: 1,
		Trace: &landscape.TraceBudget{Probes: 10}, PLStar: 8,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("probe:", study.Describe())
	res, err := study.Run(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s, MLP %s: %d steps (%s), %d measurements\n", res.Data, res.Arch, res.Steps, res.Stopped, len(res.History))
	fmt.Printf("loss fell: %v\n", res.History[len(res.History)-1].Loss < res.History[0].Loss)
	fmt.Printf("sharpness below 2/eta = %g throughout: %v\n", 2/res.LR, res.Sharpness.CrossStep == nil)
	fmt.Printf("PL* positive at init: %v\n", *res.PLStar.Initial > 0)
	fmt.Printf("Lojasiewicz exponent fitted on %d points\n", res.Lojasiewicz.Points)
	// Output:
	// probe: every 20 steps on 64 examples; Lanczos top 1 (<= 50 HVPs); trace 10 probes; noise off; PL* on 8 examples
	// linear, MLP 4-16-1: 200 steps (steps), 11 measurements
	// loss fell: true
	// sharpness below 2/eta = 20 throughout: true
	// PL* positive at init: true
	// Lojasiewicz exponent fitted on 11 points
}

// The top eigenvalues of a quadratic's Hessian by Lanczos.
func ExampleLanczos() {
	// A diagonal Hessian with eigenvalues 1, 2, ..., 10, with eigenvectors the
	// columns of Q (here the identity; any orthogonal Q works).
	eigs := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	q, _ := landscape.NewQuadratic(identity(10), eigs, nil, 0)
	rng := rand.New(rand.NewPCG(1, 1))
	res, _ := landscape.Lanczos(q, make([]float64, 10), landscape.EigenOptions{K: 2, Iters: 10, Rand: rng})
	fmt.Printf("top eigenvalues %.6f %.6f\n", res.Values[0], res.Values[1])
	fmt.Printf("smoothness L = %.6f\n", res.Smoothness())
	// Output:
	// top eigenvalues 10.000000 9.000000
	// smoothness L = 10.000000
}

// The trace of a Hessian from Hessian-vector products only.
func ExampleHutchinsonTrace() {
	q := landscape.Quartic(4) // Hessian diag(12 x_i^2)
	x := []float64{1, 1, 1, 1}
	rng := rand.New(rand.NewPCG(1, 1))
	est, _ := landscape.HutchinsonTrace(q, x, landscape.TraceOptions{Probes: 10, Rand: rng})
	// A diagonal Hessian is estimated exactly by Rademacher probes.
	fmt.Printf("trace %.1f +- %.1f\n", est.Trace, est.StdErr)
	// Output:
	// trace 48.0 +- 0.0
}

// The Lojasiewicz exponent of f(x) = x^4 from a gradient-descent run.
func ExampleFitLojasiewicz() {
	f := landscape.Quartic(1)
	x := []float64{1}
	g := make([]float64, 1)
	var tr landscape.Trajectory
	for k := range 500 {
		v := f.Grad(x, g)
		tr.Append(k, v, g[0]*g[0])
		x[0] -= 0.05 * g[0]
	}
	fit, _ := landscape.FitLojasiewicz(&tr, landscape.LojasiewiczOptions{Rand: rand.New(rand.NewPCG(1, 1))})
	fmt.Printf("theta = %.3f, c = %.3f\n", fit.Theta, fit.C)
	// Output:
	// theta = 0.750, c = 4.000
}

// The PL constant of a least-squares problem: the PL* constant of its
// Jacobian A with scale 1.
func ExamplePLStar() {
	a := mat.NewDense(2, 3, []float64{
		1, 0, 0,
		0, 2, 0,
	})
	mu, _ := landscape.PLStar(a, 1) // lambda_min(A A^T) = 1
	fmt.Printf("mu = %.3f\n", mu)
	// Output:
	// mu = 1.000
}

// The simple noise scale of per-example gradients.
func ExampleGradientNoise() {
	// Four per-example gradients in R^2 with mean (1, 0).
	g := mat.NewDense(4, 2, []float64{
		2, 1,
		0, 1,
		2, -1,
		0, -1,
	})
	s, _ := landscape.GradientNoise(g)
	v, _ := s.MinibatchVariance(2, false)
	fmt.Printf("|G|^2 = %.3f, tr Sigma = %.3f, B_simple = %.3f, E|g_2 - G|^2 = %.3f\n", s.GradNormSq, s.TraceCov, s.BSimple, v)
	// Output:
	// |G|^2 = 1.000, tr Sigma = 2.667, B_simple = 2.667, E|g_2 - G|^2 = 0.667
}

func identity(n int) *mat.Dense {
	q := mat.NewDense(n, n, nil)
	for i := range n {
		q.Set(i, i, 1)
	}
	return q
}

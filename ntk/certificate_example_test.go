package ntk_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/ntk"
	"github.com/gradflow/gradflow/optim"
	"github.com/gradflow/gradflow/tensor"
	"github.com/gradflow/gradflow/train"
)

// Du et al.'s certificate and the PL* constant along one full-batch run of
// the two-layer ReLU network with fixed output signs: the loss bound
// |y - u(k)|^2 <= (1 - eta lambda0/2)^k |y - u(0)|^2 is checked after every
// step, lambda_min of the tangent kernel is tracked every 10 steps.
func ExampleDuCertificate() {
	const n, d, m = 8, 6, 1024
	rng := rand.New(rand.NewPCG(1, 2))
	x, err := data.Sphere[float64](rng, n, d)
	if err != nil {
		fmt.Println(err)
		return
	}
	ds := &data.Dataset[float64]{X: x, Y: tensor.RandN[float64](rng, 0, 1, n, 1)}
	net, err := ntk.NewDuNet(rng, d, m)
	if err != nil {
		fmt.Println(err)
		return
	}
	// The loss is 0.5 mean (y - u)^2, so Du's step size is lr / n (the
	// default LossScale 1/n).
	cert, err := ntk.NewDuCertificate(ntk.DuConfig{Net: net, X: ds.X, Y: ds.Y})
	if err != nil {
		fmt.Println(err)
		return
	}
	pl, err := ntk.NewPLStarProbe(ntk.PLStarConfig[float64]{Model: net, X: ds.X, Every: 10})
	if err != nil {
		fmt.Println(err)
		return
	}
	eta := 1 / cert.Result().LambdaMaxInf
	ld, err := data.NewLoader(ds, data.LoaderConfig{BatchSize: n})
	if err != nil {
		fmt.Println(err)
		return
	}
	opt, err := optim.NewSGD(net.Params(), optim.SGDConfig{LR: eta * n})
	if err != nil {
		fmt.Println(err)
		return
	}
	tr, err := train.New(train.Config[float64]{Model: net, Loss: &train.MSE[float64]{Half: true}, Optimizer: opt,
		Train: ld, Steps: 100, Callbacks: []train.Callback[float64]{cert, pl}})
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := tr.Run(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	r := cert.Result()
	fmt.Printf("lambda0 = %.3f, steps %d, bound violations %d\n", r.Lambda0, r.Steps, r.Violations)
	fmt.Println("lambda_min(H(k)) >= lambda0/2 all along:", r.AboveHalfLambda0)
	fmt.Println("residual below 1e-6 of its start:", r.Residual < 1e-6*r.Residual0)
	fmt.Println("PL* minimum >= half its initial value:", pl.Result().MinRatio >= 0.5)
	// Output:
	// lambda0 = 0.126, steps 100, bound violations 0
	// lambda_min(H(k)) >= lambda0/2 all along: true
	// residual below 1e-6 of its start: true
	// PL* minimum >= half its initial value: true
}

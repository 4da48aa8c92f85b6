package train_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/optim"
	"github.com/gradflow/gradflow/train"
)

// Train a 64-128-10 MLP on the embedded UCI digits.
func Example() {
	check := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	ds, err := data.Digits[float32]()
	check(err)
	trainSet, _, testSet, err := ds.Split(rand.New(rand.NewPCG(1, 1)), data.SplitSpec{Test: 0.2, Stratify: true})
	check(err)
	_, err = data.FitScaler(data.Standardize, trainSet, testSet)
	check(err)

	model, err := nn.NewMLP[float32](nn.MLPConfig{Dims: []int{64, 128, 10}, Init: nn.InitTorch}, rand.New(rand.NewPCG(2, 2)))
	check(err)
	opt, err := optim.NewSGD(model.Params(), optim.SGDConfig{LR: 0.05, Momentum: 0.9})
	check(err)
	loader, err := data.NewLoader(trainSet, data.LoaderConfig{BatchSize: 32, Shuffle: true, Seed: 3})
	check(err)

	tr, err := train.New(train.Config[float32]{
		Model: model, Loss: &train.CrossEntropy[float32]{}, Optimizer: opt, Train: loader,
		Evals: []train.Eval[float32]{{Name: "test", Data: testSet}}, Epochs: 10,
	})
	check(err)
	res, err := tr.Run(context.Background())
	check(err)
	fmt.Printf("%d steps, test accuracy above 95%%: %v\n", res.Steps, res.Last.Evals["test"]["accuracy"] > 0.95)
	// Output: 450 steps, test accuracy above 95%: true
}

// The training step on its own: full-batch gradient descent with Adam
// (chosen by name, PyTorch's defaults) on 256 digits, with the divergence
// guard, clipping and a schedule that every gradflow loop shares.
func ExampleStepper() {
	ds, _ := data.Digits[float64]()
	ds = ds.Subset(rangeRows(256))
	model, _ := nn.NewMLP[float64](nn.MLPConfig{Dims: []int{64, 64, 10}}, rand.New(rand.NewPCG(1, 1)))
	spec, _ := optim.DefaultSpec("adam") // lr 1e-3, betas (0.9, 0.999), eps 1e-8
	spec.LR = 0.01
	opt, err := optim.New(model.Params(), spec)
	if err != nil {
		panic(err)
	}
	st, err := train.NewStepper(train.StepConfig[float64]{
		Model: model, Loss: &train.CrossEntropy[float64]{}, Optimizer: opt,
		ClipNorm: 10, Schedule: optim.Cosine{Total: 100},
	})
	if err != nil {
		panic(err)
	}
	batch := train.FullBatch(ds)
	var first, last float64
	for st.Count() < 100 {
		s, err := st.Step(batch) // a *train.DivergenceError if the loss or gradient is not finite
		if err != nil {
			panic(err)
		}
		if s.Step == 1 {
			first = s.Loss
		}
		last = s.Loss
	}
	fmt.Printf("loss fell below a tenth: %v\n", last < first/10)
	// Output: loss fell below a tenth: true
}

func rangeRows(n int) []int {
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i
	}
	return rows
}

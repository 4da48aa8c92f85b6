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
	ds, _ := data.Digits[float32]()
	trainSet, _, testSet, _ := ds.Split(rand.New(rand.NewPCG(1, 1)), data.SplitSpec{Test: 0.2, Stratify: true})
	data.FitScaler(data.Standardize, trainSet, testSet)

	model, _ := nn.NewMLP[float32](nn.MLPConfig{Dims: []int{64, 128, 10}, Init: nn.InitTorch}, rand.New(rand.NewPCG(2, 2)))
	opt, _ := optim.NewSGD(model.Params(), optim.SGDConfig{LR: 0.05, Momentum: 0.9})
	loader, _ := data.NewLoader(trainSet, data.LoaderConfig{BatchSize: 32, Shuffle: true, Seed: 3})

	tr, _ := train.New(train.Config[float32]{
		Model: model, Loss: &train.CrossEntropy[float32]{}, Optimizer: opt, Train: loader,
		Evals: []train.Eval[float32]{{Name: "test", Data: testSet}}, Epochs: 10,
	})
	res, err := tr.Run(context.Background())
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d steps, test accuracy above 95%%: %v\n", res.Steps, res.Last.Evals["test"]["accuracy"] > 0.95)
	// Output: 450 steps, test accuracy above 95%: true
}

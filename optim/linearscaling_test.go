package optim_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/optim"
	"github.com/gradflow/gradflow/train"
)

// lossAfter trains a digits MLP (same initialization every call) with SGD
// at batch b and rate optim.LinearScaledLR(lr, 16, b) with a linear warmup
// of warm steps, through train.Stepper, for the given number of examples,
// and returns the training loss.
func lossAfter(t *testing.T, tk *data.Task[float64], lr float64, b, warm, examples int) float64 {
	t.Helper()
	m, err := nn.NewMLP[float64](nn.MLPConfig{Dims: []int{tk.Train.Dim(), 32, tk.Outputs}, Activation: nn.Tanh}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	opt, err := optim.NewSGD(m.Params(), optim.SGDConfig{LR: optim.LinearScaledLR(lr, 16, b)})
	if err != nil {
		t.Fatal(err)
	}
	var sched optim.Schedule
	if warm > 0 {
		sched = optim.Warmup{Steps: warm, Start: 16 / float64(b)}
	}
	loss := &train.CrossEntropy[float64]{}
	st, err := train.NewStepper(train.StepConfig[float64]{Model: m, Loss: loss, Optimizer: opt, Schedule: sched})
	if err != nil {
		t.Fatal(err)
	}
	ld, err := data.NewLoader(tk.Train, data.LoaderConfig{BatchSize: b, Order: data.OrderReplacement, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	for k := 0; k < examples/b; k++ {
		if !ld.Next() && !ld.Next() {
			t.Fatal("loader gave no batch")
		}
		if _, err := st.Step(ld.Batch()); err != nil {
			return math.Inf(1) // diverged: the rule broke
		}
	}
	l, _, err := train.Evaluate(nn.Module[float64](m), train.Loss[float64](loss), tk.Train, 1024, nil)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestLinearScaledLR measures the linear scaling rule with warmup (Goyal
// et al. 2017) on the digits MLP: after the same number of examples
// (6400, about 4.5 epochs), batch 16 at rate 0.05 and batch 16k at rate
// 0.05 k (warmup over the first 5 steps) reach training losses within 10%
// of each other for k = 2 and 4, where k eta stays small; at k = 64
// (batch 1024, rate 3.2, 6 steps) the rule breaks: the loss is more than
// 1.5 times the small-batch one, or the run diverges.
func TestLinearScaledLR(t *testing.T) {
	tk, err := data.LoadTask[float64]("digits", 0.2, 1)
	if err != nil {
		t.Fatal(err)
	}
	const examples = 6400
	base := lossAfter(t, tk, 0.05, 16, 0, examples)
	for _, k := range []int{2, 4} {
		l := lossAfter(t, tk, 0.05, 16*k, 5, examples)
		t.Logf("k = %d: loss %.4f vs %.4f at batch 16", k, l, base)
		if math.Abs(l/base-1) > 0.10 {
			t.Errorf("k = %d: loss %.4f vs %.4f at batch 16: outside the 10%% band where the rule should hold", k, l, base)
		}
	}
	l := lossAfter(t, tk, 0.05, 16*64, 5, examples)
	t.Logf("k = 64: loss %.4f vs %.4f", l, base)
	if !(l > 1.5*base) {
		t.Errorf("k = 64: loss %.4f vs %.4f at batch 16: want the rule to break (more than 1.5 times the loss)", l, base)
	}
}

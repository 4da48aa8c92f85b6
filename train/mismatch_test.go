package train

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/optim"
)

// TestOptimizerOfAnotherModel: an optimizer built over the parameters of
// another model (same architecture, so the names agree) would leave the
// trained model unchanged. New and NewStepper refuse it, naming the first
// parameter of the model the optimizer does not hold and the fields at
// fault.
func TestOptimizerOfAnotherModel(t *testing.T) {
	a := newSetup[float64](t, 1, 8, 0.05)
	b := newSetup[float64](t, 2, 8, 0.05)
	cfg := a.config()
	cfg.Steps = 1
	cfg.Optimizer = b.opt
	_, err := New(cfg)
	want := `Config.Optimizer does not update parameter "0.weight" of Config.Model`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("New: error %v, want one containing %q", err, want)
	}
	_, err = NewStepper(StepConfig[float64]{Model: a.model, Loss: &CrossEntropy[float64]{}, Optimizer: b.opt})
	want = `StepConfig.Optimizer does not update parameter "0.weight" of StepConfig.Model`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("NewStepper: error %v, want one containing %q", err, want)
	}

	// An optimizer over part of the model: the first parameter it lacks
	// is named.
	part, err := optim.NewSGD(a.model.Params()[:2], optim.SGDConfig{LR: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Optimizer = part
	_, err = New(cfg)
	want = `Config.Optimizer does not update parameter "2.weight" of Config.Model (parameter 2 of 4)`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("New, partial optimizer: error %v, want one containing %q", err, want)
	}

	// The parameters in any groups count: two groups covering the model
	// are accepted.
	two, err := optim.NewSGD(a.model.Params()[:2], optim.SGDConfig{LR: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	if err := two.AddGroup(optim.SGDConfig{LR: 0.01}, a.model.Params()[2:]...); err != nil {
		t.Fatal(err)
	}
	cfg.Optimizer = two
	if _, err := New(cfg); err != nil {
		t.Errorf("two groups over the model's parameters: %v", err)
	}
}

// TestNilModelNamesField: a nil model of a concrete type (a nil *nn.MLP in
// the interface) is reported as nil, not as a runtime error.
func TestNilModelNamesField(t *testing.T) {
	s := newSetup[float64](t, 1, 8, 0.05)
	var m *nn.MLP[float64]
	cfg := s.config()
	cfg.Steps = 1
	cfg.Model = m
	if _, err := New(cfg); err == nil || err.Error() != "train: Config.Model is nil" {
		t.Errorf("New: error %v, want train: Config.Model is nil", err)
	}
	if _, err := NewStepper(StepConfig[float64]{Model: m, Loss: &CrossEntropy[float64]{}, Optimizer: s.opt}); err == nil || err.Error() != "train: StepConfig.Model is nil" {
		t.Errorf("NewStepper: error %v, want train: StepConfig.Model is nil", err)
	}
	var o *optim.SGD[float64]
	if _, err := NewStepper(StepConfig[float64]{Model: s.model, Loss: &CrossEntropy[float64]{}, Optimizer: o}); err == nil || err.Error() != "train: StepConfig.Optimizer is nil" {
		t.Errorf("NewStepper: error %v, want train: StepConfig.Optimizer is nil", err)
	}
}

// TestEvaluateBadInputs: Evaluate returns errors that name the argument
// for a nil model, loss or dataset and for data the model does not take,
// never a runtime error.
func TestEvaluateBadInputs(t *testing.T) {
	s := newSetup[float64](t, 1, 8, 0.05)
	ce := &CrossEntropy[float64]{}
	var nilMLP *nn.MLP[float64]
	wide, err := nn.NewMLP[float64](nn.MLPConfig{Dims: []int{65, 4, 10}}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		err  func() error
		want string
	}{
		{"nil model", func() error { _, _, err := Evaluate[float64](nil, ce, s.test, 0, nil); return err }, "train.Evaluate: the model is nil"},
		{"nil *MLP", func() error { _, _, err := Evaluate[float64](nilMLP, ce, s.test, 0, nil); return err }, "train.Evaluate: the model is nil"},
		{"nil loss", func() error { _, _, err := Evaluate[float64](s.model, nil, s.test, 0, nil); return err }, "train.Evaluate: the loss is nil"},
		{"nil dataset", func() error { _, _, err := Evaluate(s.model, ce, nil, 0, nil); return err }, "the dataset is nil"},
		{"width", func() error { _, _, err := Evaluate[float64](wide, ce, s.test, 0, nil); return err }, "the dataset has 64 features per example, but the model takes 65 inputs"},
	}
	for _, c := range cases {
		err := c.err()
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "runtime error") {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

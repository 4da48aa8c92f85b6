package train

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/internal/testutil"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/optim"
)

// TestStepperMatchesTrainer: a Stepper fed the loader's batches and a
// Trainer running the same configuration reach bit-identical parameters,
// so the loops built on the Stepper train exactly as Trainer does.
func TestStepperMatchesTrainer(t *testing.T) {
	a := newSetup[float64](t, 3, 32, 0.05)
	b := newSetup[float64](t, 3, 32, 0.05)
	cfg := a.config()
	cfg.Steps, cfg.ClipNorm, cfg.Schedule = 70, 0.5, optim.Cosine{Total: 70}
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	st, err := NewStepper(StepConfig[float64]{Model: b.model, Loss: &CrossEntropy[float64]{}, Optimizer: b.opt, ClipNorm: 0.5, Schedule: optim.Cosine{Total: 70}})
	if err != nil {
		t.Fatal(err)
	}
	var last *Step[float64]
	for st.Count() < 70 {
		if !b.loader.Next() {
			continue
		}
		if last, err = st.Step(b.loader.Batch()); err != nil {
			t.Fatal(err)
		}
	}
	if want := 0.5 * (1 + math.Cos(math.Pi*69/70)) * 0.05; math.Abs(last.LR-want) > 1e-15 {
		t.Errorf("last step's learning rate %v, want the cosine schedule's %v", last.LR, want)
	}
	for i, p := range a.model.Params() {
		q := b.model.Params()[i]
		for j, v := range p.Value.Data() {
			if v != q.Value.Data()[j] {
				t.Fatalf("%s[%d]: Trainer %v, Stepper %v", p.Name, j, v, q.Value.Data()[j])
			}
		}
	}
}

// TestStepperDivergence: a non-finite loss stops the step before the
// update, with the step number and the value, and leaves the parameters as
// they were.
func TestStepperDivergence(t *testing.T) {
	s := newSetup[float64](t, 1, 16, 0.05)
	st, err := NewStepper(StepConfig[float64]{Model: s.model, Loss: &CrossEntropy[float64]{}, Optimizer: s.opt})
	if err != nil {
		t.Fatal(err)
	}
	s.loader.Next()
	if _, err := st.Step(s.loader.Batch()); err != nil {
		t.Fatal(err)
	}
	before := append([]float64(nil), s.model.Params()[0].Value.Data()...)
	s.model.Params()[2].Value.Data()[0] = math.Inf(1) // output weight: logits become Inf/NaN
	s.loader.Next()
	_, err = st.Step(s.loader.Batch())
	var div *DivergenceError
	if !errors.As(err, &div) || div.Step != 2 || div.What != "loss" {
		t.Fatalf("error %v, want a divergence of the loss at step 2", err)
	}
	for j, v := range s.model.Params()[0].Value.Data() {
		if v != before[j] {
			t.Fatalf("first weight[%d] changed on a diverged step: %v -> %v", j, before[j], v)
		}
	}
	if st.Count() != 1 {
		t.Errorf("Count %d after a diverged step, want 1", st.Count())
	}
}

// TestNewStepperErrors: nil parts and a bad clip norm are errors that say
// which.
func TestNewStepperErrors(t *testing.T) {
	s := newSetup[float32](t, 1, 8, 0.05)
	ok := StepConfig[float32]{Model: s.model, Loss: &CrossEntropy[float32]{}, Optimizer: s.opt}
	for name, c := range map[string]StepConfig[float32]{
		"StepConfig.Model":     {Loss: ok.Loss, Optimizer: ok.Optimizer},
		"StepConfig.Loss":      {Model: ok.Model, Optimizer: ok.Optimizer},
		"StepConfig.Optimizer": {Model: ok.Model, Loss: ok.Loss},
		"StepConfig.ClipNorm":  {Model: ok.Model, Loss: ok.Loss, Optimizer: ok.Optimizer, ClipNorm: math.NaN()},
	} {
		if _, err := NewStepper(c); err == nil || !contains(err.Error(), name) {
			t.Errorf("%s: error %v, want one naming %q", name, err, name)
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// TestStepperAllocs: the step itself allocates nothing in steady state.
func TestStepperAllocs(t *testing.T) {
	s := newSetup[float32](t, 1, 64, 0.01)
	st, err := NewStepper(StepConfig[float32]{Model: s.model, Loss: &CrossEntropy[float32]{}, Optimizer: s.opt, ClipNorm: 1})
	if err != nil {
		t.Fatal(err)
	}
	b := FullBatch(s.train)
	for range 3 {
		if _, err := st.Step(b); err != nil {
			t.Fatal(err)
		}
	}
	if a := testing.AllocsPerRun(20, func() {
		if _, err := st.Step(b); err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Fatalf("%v allocations per step", a)
	}
}

// TestRunAllocsFullBatch: full-batch gradient descent through Trainer.Run
// (an epoch and a record per step, as in sweeps and mean-field runs)
// allocates nothing per step.
func TestRunAllocsFullBatch(t *testing.T) {
	ds, err := data.Digits[float64]()
	if err != nil {
		t.Fatal(err)
	}
	ds = ds.Subset([]int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
	prepare := func(steps int) func() error {
		m, err := nn.NewMLP[float64](nn.MLPConfig{Dims: []int{64, 32, 10}}, rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			t.Fatal(err)
		}
		opt, err := optim.New(m.Params(), optim.Spec{Name: "sgd", LR: 0.01})
		if err != nil {
			t.Fatal(err)
		}
		ld, err := data.NewLoader(ds, data.LoaderConfig{BatchSize: ds.Len()})
		if err != nil {
			t.Fatal(err)
		}
		tr, err := New(Config[float64]{Model: m, Loss: &CrossEntropy[float64]{}, Optimizer: opt, Train: ld, Steps: steps})
		if err != nil {
			t.Fatal(err)
		}
		return func() error { _, err := tr.Run(context.Background()); return err }
	}
	a, err := testutil.AllocsPerStep(100, prepare)
	if err != nil {
		t.Fatal(err)
	}
	if a > 0.05 {
		t.Fatalf("%.2f allocations per step of a full-batch run, want 0", a)
	}
}

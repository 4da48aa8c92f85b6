package train

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/internal/testutil"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/optim"
	"github.com/gradflow/gradflow/tensor"
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

// TestDivergedRunKeepsLastFiniteState: a run that diverges (here: its
// loss explodes past 1000 times the first) writes the
// state before the diverged step to the last-finite checkpoint (the
// regular one keeps its earlier step), says so in the error, and a
// trainer with a smaller learning rate resumes from it, retrying that
// step with the same batch.
func TestDivergedRunKeepsLastFiniteState(t *testing.T) {
	dir := t.TempDir()
	ckpt := filepath.Join(dir, "run.ckpt")
	s := newSetup[float64](t, 1, 32, 5)
	cfg := s.config()
	cfg.Epochs, cfg.Checkpoint, cfg.CheckpointEvery, cfg.MaxLossRatio = 5, ckpt, 3, 1000
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.Run(context.Background())
	var div *DivergenceError
	if !errors.As(err, &div) || res.Stopped != "diverged" {
		t.Fatalf("run at lr 5: stopped %q, error %v; want a divergence", res.Stopped, err)
	}
	if want := filepath.Join(dir, "run.last-finite.ckpt"); div.Checkpoint != want || !strings.Contains(err.Error(), want) {
		t.Fatalf("divergence checkpoint %q (error %q), want %q", div.Checkpoint, err, want)
	}
	t.Logf("%v", err)
	// The regular checkpoint holds an earlier step than the diverged one.
	rc := newSetup[float64](t, 1, 32, 5).config()
	rc.Epochs = 5
	r, err := New(rc)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Resume(ckpt); err != nil {
		t.Fatal(err)
	}
	if r.StepCount() >= div.Step-1 {
		t.Errorf("regular checkpoint at step %d, diverged at %d: it should not have been overwritten by the diverged state", r.StepCount(), div.Step)
	}
	// Resume from the last finite state with a sane rate: the run goes on
	// from step div.Step-1 and stays finite.
	s2 := newSetup[float64](t, 1, 32, 0.01)
	cfg2 := s2.config()
	cfg2.Steps = div.Step + 20
	tr2, err := New(cfg2)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr2.Resume(div.Checkpoint); err != nil {
		t.Fatal(err)
	}
	if tr2.StepCount() != div.Step-1 {
		t.Fatalf("resumed at step %d, want %d", tr2.StepCount(), div.Step-1)
	}
	if _, err := tr2.Run(context.Background()); err != nil {
		t.Fatalf("resumed run with lr 0.01: %v", err)
	}
}

// TestLossExplosion: with MaxLossRatio set, a loss that grows past that
// multiple of the first one stops the step as a divergence, before the
// update; without it the same run goes on.
func TestLossExplosion(t *testing.T) {
	run := func(ratio float64) (*Stepper[float64], error) {
		s := newSetup[float64](t, 1, 32, 5)
		st, err := NewStepper(StepConfig[float64]{Model: s.model, Loss: &CrossEntropy[float64]{}, Optimizer: s.opt, MaxLossRatio: ratio})
		if err != nil {
			t.Fatal(err)
		}
		b := FullBatch(s.train)
		for range 30 {
			if _, err := st.Step(b); err != nil {
				return st, err
			}
		}
		return st, nil
	}
	st, err := run(3)
	var div *DivergenceError
	if !errors.As(err, &div) || div.What != "loss explosion" || !(div.Value > 3*div.Initial) {
		t.Fatalf("lr 5 with MaxLossRatio 3: %v, want a loss explosion", err)
	}
	if st.Count() != div.Step-1 {
		t.Errorf("count %d after an explosion at step %d", st.Count(), div.Step)
	}
	if _, err := run(0); errors.As(err, &div) && div.What == "loss explosion" {
		t.Errorf("MaxLossRatio 0 still checks: %v", err)
	}
}

// TestDivergedRunRecords: the steps before a divergence are recorded
// (metrics show the climb), after the last regular record.
func TestDivergedRunRecords(t *testing.T) {
	s := newSetup[float64](t, 1, 32, 5)
	var metrics strings.Builder
	cfg := s.config()
	cfg.Epochs, cfg.MaxLossRatio, cfg.Metrics, cfg.Evals = 5, 1000, &metrics, nil
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.Run(context.Background())
	var div *DivergenceError
	if !errors.As(err, &div) {
		t.Fatalf("want a divergence, got %v", err)
	}
	if res.Last.Step != div.Step-1 || !strings.Contains(metrics.String(), `"step":`) {
		t.Fatalf("last record at step %d (metrics %q), want one at %d", res.Last.Step, metrics.String(), div.Step-1)
	}
}

// TestWriteRecordNonFinite: a record with NaN and Inf values (evaluating
// diverged parameters) is written with nulls (a NaN accuracy is left
// out, as an absent one), not lost.
func TestWriteRecordNonFinite(t *testing.T) {
	acc := math.NaN()
	r := Record{Step: 3, Loss: math.Inf(1), Accuracy: &acc, GradNorm: math.NaN(), LR: 0.1,
		Evals: map[string]map[string]float64{"test": {"loss": math.NaN(), "accuracy": 0.5}}}
	var b strings.Builder
	if err := writeRecord(&b, &r); err != nil {
		t.Fatal(err)
	}
	want := `{"step":3,"epoch":0,"loss":null,"grad_norm":null,"lr":0.1,"samples_per_sec":0,"time":0,"eval":{"test":{"accuracy":0.5,"loss":null}}}` + "\n"
	if b.String() != want {
		t.Errorf("got  %s want %s", b.String(), want)
	}
}

// TestStepperSetsGradients: a step sets the gradients (Tape.BackwardFresh)
// to what zeroing them and back-propagating gives, whatever they held
// before; a parameter of the optimizer outside the model ends the step
// with a zero gradient, as ZeroGrad left it before; and a step that stops
// before its backward pass leaves zero gradients.
func TestStepperSetsGradients(t *testing.T) {
	s := newSetup[float64](t, 1, 16, 0.05)
	extra := nn.NewParam[float64]("extra", tensor.New[float64](3))
	opt, err := optim.NewSGD(append(s.model.Params(), extra), optim.SGDConfig{LR: 0.05, Momentum: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	st, err := NewStepper(StepConfig[float64]{Model: s.model, Loss: &CrossEntropy[float64]{}, Optimizer: opt})
	if err != nil {
		t.Fatal(err)
	}
	if st.fresh == nil {
		t.Fatal("the stepper does not set gradients in the backward pass")
	}
	loss := &CrossEntropy[float64]{}
	for step := 0; step < 3; step++ {
		s.loader.Next()
		b := s.loader.Batch()
		// The reference: zero, forward, backward on a tape of its own.
		ref := map[*nn.Param[float64]][]float64{}
		for _, p := range s.model.Params() {
			p.ZeroGrad()
		}
		tp := autograd.NewTape[float64]()
		tp.Backward(loss.Eval(s.model.Forward(tp, tp.Const(b.X)), b))
		for _, p := range s.model.Params() {
			ref[p] = append([]float64(nil), p.Grad.Data()...)
			for i := range p.Grad.Data() {
				p.Grad.Data()[i] = math.NaN()
			}
		}
		for i := range extra.Grad.Data() {
			extra.Grad.Data()[i] = math.NaN()
		}
		if _, err := st.Step(b); err != nil {
			t.Fatal(err)
		}
		for p, want := range ref {
			for i, v := range p.Grad.Data() {
				if v != want[i] {
					t.Fatalf("step %d: %s grad[%d] = %v, want %v", step, p.Name, i, v, want[i])
				}
			}
		}
		for i, v := range extra.Grad.Data() {
			if v != 0 {
				t.Fatalf("step %d: the extra parameter's grad[%d] = %v, want 0", step, i, v)
			}
		}
	}
	// A diverged step leaves zero gradients.
	for _, p := range s.model.Params() {
		p.Grad.Data()[0] = math.NaN()
	}
	s.model.Params()[2].Value.Data()[0] = math.Inf(1)
	s.loader.Next()
	if _, err := st.Step(s.loader.Batch()); err == nil {
		t.Fatal("no divergence error")
	}
	for _, p := range s.model.Params() {
		for i, v := range p.Grad.Data() {
			if v != 0 {
				t.Fatalf("after a diverged step %s grad[%d] = %v, want 0", p.Name, i, v)
			}
		}
	}
}

package train

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/optim"
)

// setup builds the digits task: standardized features, a stratified 80/20
// split, an MLP 64-h-10 and SGD with momentum.
type setup[T nn.Float] struct {
	model       *nn.MLP[T]
	opt         *optim.SGD[T]
	train, test *data.Dataset[T]
	loader      *data.Loader[T]
}

func newSetup[T nn.Float](t testing.TB, initSeed uint64, hidden int, lr float64) *setup[T] {
	t.Helper()
	ds, err := data.Digits[T]()
	if err != nil {
		t.Fatal(err)
	}
	tr, _, te, err := ds.Split(rand.New(rand.NewPCG(1, 2)), data.SplitSpec{Test: 0.2, Stratify: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := data.FitScaler(data.Standardize, tr, te); err != nil {
		t.Fatal(err)
	}
	m, err := nn.NewMLP[T](nn.MLPConfig{Dims: []int{64, hidden, 10}}, rand.New(rand.NewPCG(initSeed, 7)))
	if err != nil {
		t.Fatal(err)
	}
	opt, err := optim.NewSGD(m.Params(), optim.SGDConfig{LR: lr, Momentum: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	ld, err := data.NewLoader(tr, data.LoaderConfig{BatchSize: 32, Shuffle: true, Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	return &setup[T]{model: m, opt: opt, train: tr, test: te, loader: ld}
}

func (s *setup[T]) config() Config[T] {
	return Config[T]{
		Model: s.model, Loss: &CrossEntropy[T]{}, Optimizer: s.opt, Train: s.loader,
		Evals: []Eval[T]{{Name: "test", Data: s.test}},
	}
}

// TestTrainDigits: a 64-64-10 MLP reaches >= 95% test accuracy on the
// embedded digits in 10 epochs (an MLP of this size reaches about 97%;
// 95% leaves room for seeds while catching a broken loop, which stays near
// 10%), and every metrics line parses.
func TestTrainDigits(t *testing.T) {
	s := newSetup[float32](t, 1, 64, 0.05)
	var metrics bytes.Buffer
	cfg := s.config()
	cfg.Epochs, cfg.LogEvery, cfg.Metrics = 10, 20, &metrics
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Stopped != "epochs" || res.Epochs != 10 {
		t.Fatalf("stopped by %q after %d epochs", res.Stopped, res.Epochs)
	}
	acc := res.Last.Evals["test"]["accuracy"]
	if acc < 0.95 {
		t.Fatalf("test accuracy %.3f, want >= 0.95", acc)
	}
	sc := bufio.NewScanner(&metrics)
	lines := 0
	for sc.Scan() {
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("metrics line %d: %v: %s", lines+1, err, sc.Text())
		}
		if r.Step <= 0 || r.SamplesPerSec <= 0 || r.Evals["test"] == nil {
			t.Fatalf("metrics line %d incomplete: %s", lines+1, sc.Text())
		}
		lines++
	}
	// 1437 training rows / 32 = 45 steps per epoch: 22 step records + 10
	// epoch records, less the 2 epoch ends (steps 180, 360) that a step
	// record already covered.
	if want := 450/20 + 10 - 2; lines != want {
		t.Fatalf("%d metrics lines, want %d", lines, want)
	}
}

// TestResumeBitIdentical: a run interrupted mid-epoch (step 30 of 45) and
// resumed into a trainer whose model was initialized differently ends with
// bit-identical parameters and the same final record as an uninterrupted
// run.
func TestResumeBitIdentical(t *testing.T) {
	const total = 100
	run := func(s *setup[float64], steps int, ckpt string, resume bool) (*Trainer[float64], Result) {
		return runCheckpointed(t, s.config(), steps, ckpt, resume)
	}
	ref := newSetup[float64](t, 1, 32, 0.05)
	_, refRes := run(ref, total, "", false)

	ckpt := filepath.Join(t.TempDir(), "run.ckpt")
	first := newSetup[float64](t, 1, 32, 0.05)
	run(first, 30, ckpt, false)
	second := newSetup[float64](t, 99, 32, 0.05) // different init: everything must come from the checkpoint
	_, res := run(second, total, ckpt, true)

	for i, p := range ref.model.Params() {
		q := second.model.Params()[i]
		for j, v := range p.Value.Data() {
			if math.Float64bits(v) != math.Float64bits(q.Value.Data()[j]) {
				t.Fatalf("%s[%d]: resumed %v, uninterrupted %v", p.Name, j, q.Value.Data()[j], v)
			}
		}
	}
	if res.Steps != refRes.Steps || res.Last.Loss != refRes.Last.Loss || res.Last.Evals["test"]["loss"] != refRes.Last.Evals["test"]["loss"] {
		t.Fatalf("final record differs: resumed %+v, uninterrupted %+v", res.Last, refRes.Last)
	}
}

// runCheckpointed runs cfg for steps steps recording every 7, first
// resuming from ckpt if resume, and saving a checkpoint to ckpt at the end
// if ckpt is set and not resumed from.
func runCheckpointed(t *testing.T, cfg Config[float64], steps int, ckpt string, resume bool) (*Trainer[float64], Result) {
	t.Helper()
	cfg.Steps, cfg.LogEvery = steps, 7
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if resume {
		if err := tr.Resume(ckpt); err != nil {
			t.Fatal(err)
		}
	}
	res, err := tr.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if ckpt != "" && !resume {
		if err := tr.SaveCheckpoint(ckpt); err != nil {
			t.Fatal(err)
		}
	}
	return tr, res
}

// TestCorruptCheckpoint: truncation, a flipped byte and a foreign file are
// refused with ErrCorruptCheckpoint, and leave the trainer unchanged.
func TestCorruptCheckpoint(t *testing.T) {
	s := newSetup[float64](t, 1, 16, 0.05)
	cfg := s.config()
	cfg.Steps = 5
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "good.ckpt")
	if err := tr.SaveCheckpoint(good); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(good)
	before := append([]float64(nil), s.model.Params()[0].Value.Data()...)
	for name, bad := range map[string][]byte{
		"truncated": b[:len(b)/2],
		"flipped":   flip(b, len(b)/3),
		"foreign":   []byte("PK\x03\x04 this is a zip file, not a checkpoint at all............................"),
		"empty":     nil,
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, bad, 0o644)
		err := tr.Resume(p)
		if !errors.Is(err, ErrCorruptCheckpoint) {
			t.Errorf("%s: got %v, want ErrCorruptCheckpoint", name, err)
		}
	}
	for i, v := range s.model.Params()[0].Value.Data() {
		if v != before[i] {
			t.Fatal("a refused checkpoint changed the parameters")
		}
	}
	if err := tr.Resume(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing file accepted")
	}
}

func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 0x40
	return c
}

// TestDivergenceGuard: an absurd learning rate makes the loss overflow;
// the run stops with a DivergenceError naming the step, and the parameters
// are finite (their values from before the failing step).
func TestDivergenceGuard(t *testing.T) {
	s := newSetup[float32](t, 1, 64, 1e6)
	cfg := s.config()
	cfg.Epochs = 5
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = tr.Run(context.Background())
	var de *DivergenceError
	if !errors.As(err, &de) {
		t.Fatalf("got %v, want a DivergenceError", err)
	}
	if de.Step != tr.StepCount()+1 {
		t.Fatalf("error names step %d, trainer is at %d", de.Step, tr.StepCount())
	}
	for _, p := range s.model.Params() {
		for _, v := range p.Value.Data() {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("%s holds %v after the guard stopped the run", p.Name, v)
			}
		}
	}
}

// TestEarlyStop: with a patience of 2 records on test loss and a learning
// rate of 0 (no progress possible), the run stops after 3 records.
func TestEarlyStop(t *testing.T) {
	s := newSetup[float64](t, 1, 16, 0)
	cfg := s.config()
	cfg.Epochs, cfg.LogEvery = 50, 5
	cfg.EarlyStop = &EarlyStop{Metric: "test.loss", Patience: 2}
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Stopped != "early_stop" || res.Steps != 15 {
		t.Fatalf("stopped by %q at step %d, want early_stop at 15", res.Stopped, res.Steps)
	}
	cfg.EarlyStop = &EarlyStop{Metric: "nope.loss", Patience: 1}
	if _, err := New(cfg); err == nil {
		t.Fatal("unknown early-stop metric accepted")
	}
}

// TestStepAllocs: a training step in steady state allocates nothing.
func TestStepAllocs(t *testing.T) {
	s := newSetup[float32](t, 1, 64, 0.01)
	cfg := s.config()
	cfg.Steps = 1
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	step := func() {
		if !s.loader.Next() {
			s.loader.Next()
		}
		if err := tr.trainStep(s.loader.Batch()); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 3; i++ {
		step()
	}
	if a := testing.AllocsPerRun(20, step); a != 0 {
		t.Fatalf("%v allocations per step", a)
	}
}

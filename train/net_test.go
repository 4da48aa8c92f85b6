package train

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/optim"
)

// netSetup is a small convolutional net with BatchNorm and Dropout on 32
// digits, with its optimizer and loader.
func netSetup(t *testing.T) (*nn.Net[float32], *data.Dataset[float32], Config[float32]) {
	t.Helper()
	ds, err := data.Digits[float32]()
	if err != nil {
		t.Fatal(err)
	}
	rows := make([]int, 32)
	for i := range rows {
		rows[i] = i
	}
	ds = ds.Subset(rows)
	net, err := nn.NewNet[float32]("conv4k3p1-bn-relu-res(conv4k3p1-bn-relu-conv4k3p1-bn)-relu-maxpool2-dropout0.2-flatten-fc10", ds.Shape, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	opt, err := optim.New(net.Params(), optim.Spec{Name: "sgd", LR: 0.05, Momentum: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	ld, err := data.NewLoader(ds, data.LoaderConfig{BatchSize: 8, Shuffle: true, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	return net, ds, Config[float32]{Model: net, Loss: &CrossEntropy[float32]{}, Optimizer: opt, Train: ld, Steps: 4}
}

// TestNetStepAllocs: a training step of a convolutional net with
// BatchNorm, a residual block and dropout allocates nothing in steady
// state, like an MLP's.
func TestNetStepAllocs(t *testing.T) {
	_, _, cfg := netSetup(t)
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	step := func() {
		if !cfg.Train.Next() {
			cfg.Train.Next()
		}
		if err := tr.trainStep(cfg.Train.Batch()); err != nil {
			t.Fatal(err)
		}
	}
	for range 5 {
		step()
	}
	if a := testing.AllocsPerRun(10, step); a != 0 {
		t.Fatalf("%v allocations per step", a)
	}
}

// TestEvaluateInEvalMode: evaluation runs the net in evaluation mode (the
// running statistics do not move, dropout is off, so two evaluations
// agree exactly) and puts it back in training mode; New's check of the
// data leaves the statistics alone too.
func TestEvaluateInEvalMode(t *testing.T) {
	net, ds, cfg := netSetup(t)
	rm := net.Buffers()[0].Value
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rm.Data(), make([]float32, 4)) {
		t.Fatalf("New moved the running mean to %v", rm.Data())
	}
	if _, err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	before := rm.Clone()
	l1, a1, err := tr.Evaluate(ds)
	if err != nil {
		t.Fatal(err)
	}
	l2, a2, err := Evaluate[float32](net, &CrossEntropy[float32]{}, ds, 1024, nil)
	if err != nil {
		t.Fatal(err)
	}
	if l1 != l2 || a1 != a2 {
		t.Errorf("evaluations differ: loss %v and %v, accuracy %v and %v (dropout on, or batch statistics used)", l1, l2, a1, a2)
	}
	if !slices.Equal(rm.Data(), before.Data()) {
		t.Errorf("evaluation moved the running mean from %v to %v", before.Data(), rm.Data())
	}
	if !nn.SetTraining[float32](net, true) {
		t.Error("the net was left in evaluation mode after Evaluate")
	}
}

// TestNetCheckpointBuffers: a checkpoint holds the running statistics, and
// resuming restores them.
func TestNetCheckpointBuffers(t *testing.T) {
	net, _, cfg := netSetup(t)
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ckpt")
	if err := tr.SaveCheckpoint(path); err != nil {
		t.Fatal(err)
	}
	want := net.Buffers()[1].Value.Clone()
	count := net.Buffers()[2].Value.Data()[0]
	if count != 4 {
		t.Errorf("num_batches_tracked = %v after 4 steps, want 4", count)
	}
	net2, _, cfg2 := netSetup(t)
	tr2, err := New(cfg2)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr2.Resume(path); err != nil {
		t.Fatal(err)
	}
	if got := net2.Buffers()[1].Value; !slices.Equal(got.Data(), want.Data()) {
		t.Errorf("resumed running_var %v, want %v", got.Data(), want.Data())
	}
	if got := net2.Buffers()[2].Value.Data()[0]; got != count {
		t.Errorf("resumed num_batches_tracked %v, want %v", got, count)
	}
}

package nn

import (
	"math"
	"runtime"
	"testing"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/tensor"
)

// trainer is a minimal training step (forward, cross-entropy, backward,
// plain SGD), the path ARCHITECTURE.md requires to be allocation-free.
type trainer[T Float] struct {
	m      *MLP[T]
	tp     *autograd.Tape[T]
	x      *tensor.Tensor[T]
	labels []int32
	lr     T
}

func newTrainer[T Float](dims []int, batch int) *trainer[T] {
	m, err := NewMLP[T](MLPConfig{Dims: dims, Init: InitTorch}, newRNG(1))
	if err != nil {
		panic(err)
	}
	rng := newRNG(2)
	labels := make([]int32, batch)
	for i := range labels {
		labels[i] = int32(rng.IntN(dims[len(dims)-1]))
	}
	return &trainer[T]{m: m, tp: autograd.NewTape[T](), x: tensor.RandN(rng, T(0), T(1), batch, dims[0]), labels: labels, lr: 0.01}
}

func (tr *trainer[T]) step() T {
	tr.tp.Reset()
	ZeroGrad[T](tr.m)
	loss := autograd.CrossEntropy(tr.m.Forward(tr.tp, tr.tp.Const(tr.x)), tr.labels)
	tr.tp.Backward(loss)
	for _, p := range tr.m.Params() {
		tensor.Axpy(-tr.lr*T(p.LRScale), p.Grad, p.Value)
	}
	return loss.Item()
}

// TestTrainingStepAllocs asserts the steady state of a training step makes
// zero heap allocations, in float32 and float64.
func TestTrainingStepAllocs(t *testing.T) {
	t.Run("f32", func(t *testing.T) {
		tr := newTrainer[float32]([]int{784, 64, 64, 10}, 32)
		tr.step()
		if n := testing.AllocsPerRun(5, func() { tr.step() }); n != 0 {
			t.Errorf("%v allocations per step, want 0", n)
		}
	})
	t.Run("f64", func(t *testing.T) {
		tr := newTrainer[float64]([]int{784, 64, 64, 10}, 32)
		tr.step()
		if n := testing.AllocsPerRun(5, func() { tr.step() }); n != 0 {
			t.Errorf("%v allocations per step, want 0", n)
		}
	})
}

// TestTrainingStepLearns checks that the step decreases the loss of a
// fixed batch (30 SGD steps on 32 random examples must fit better).
func TestTrainingStepLearns(t *testing.T) {
	tr := newTrainer[float64]([]int{20, 32, 5}, 32)
	tr.x = tensor.RandN(newRNG(3), 0.0, 1.0, 32, 20)
	tr.lr = 0.2
	first := tr.step()
	var last float64
	for i := 0; i < 30; i++ {
		last = tr.step()
	}
	if !(last < 0.7*first) {
		t.Errorf("loss %v -> %v after 30 steps, want a decrease by 30%%", first, last)
	}
}

func benchStep[T Float](b *testing.B) {
	const batch = 128
	tr := newTrainer[T]([]int{784, 512, 512, 10}, batch)
	tr.step()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		tr.step()
	}
	b.ReportMetric(float64(batch)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
}

// BenchmarkMLPStep measures one training step (forward, cross-entropy,
// backward, SGD update) of an MLP 784-512-512-10 on a batch of 128.
func BenchmarkMLPStep(b *testing.B) {
	b.Run("f32", benchStep[float32])
	b.Run("f64", benchStep[float64])
}

// BenchmarkOpOverhead measures the tape's cost per op on 2x2 tensors,
// where the arithmetic is negligible: forward of 4 ops plus their
// backward, reported per recorded op.
func BenchmarkOpOverhead(b *testing.B) {
	tp := autograd.NewTape[float32]()
	x := tensor.RandN(newRNG(1), float32(0), 1, 2, 2)
	w := tensor.RandN(newRNG(2), float32(0), 1, 2, 2)
	gw := tensor.New[float32](2, 2)
	step := func() {
		tp.Reset()
		a := tp.Leaf(w, gw)
		y := autograd.Tanh(autograd.Mul(autograd.Add(tp.Const(x), a), a))
		tp.Backward(autograd.Sum(y))
	}
	step()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		step()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/4, "ns/op-recorded")
}

// TestTrainingStepDeterministic checks that training gives the same bits
// whatever GOMAXPROCS is: the layer is large enough for the GEMMs to split
// over workers, and nothing in a step may depend on how they split.
func TestTrainingStepDeterministic(t *testing.T) {
	run := func(procs int) []float32 {
		prev := runtime.GOMAXPROCS(procs)
		defer runtime.GOMAXPROCS(prev)
		tr := newTrainer[float32]([]int{784, 256, 10}, 128)
		for i := 0; i < 3; i++ {
			tr.step()
		}
		var out []float32
		for _, p := range tr.m.Params() {
			out = append(out, p.Value.Data()...)
		}
		return out
	}
	want := run(1)
	for _, procs := range []int{2, 3} {
		got := run(procs)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("GOMAXPROCS=%d: parameter element %d is %v, with 1 it is %v", procs, i, got[i], want[i])
			}
		}
	}
}

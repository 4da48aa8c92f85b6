package autograd

import (
	"testing"
	"time"

	"github.com/gradflow/gradflow/internal/simd"
	"github.com/gradflow/gradflow/tensor"
)

// convLayer is one layer of the benchmarks: its input (a constant for the
// first layer of a network, else a leaf whose gradient is wanted, as the
// output of a previous layer would be) and its parameters bound to
// gradient tensors, as nn binds them.
type convLayer struct {
	x, w, b, gw, gb *tensor.Tensor[float32]
	xGrad           bool
	p               ConvParams
	pool            bool // a 2x2 max pool instead of a convolution
}

func newConvLayer(x, w []int, p ConvParams, xGrad bool) *convLayer {
	rng := newRNG(11)
	l := &convLayer{x: tensor.RandN(rng, float32(0), 1, x...), xGrad: xGrad, p: p}
	if w != nil {
		l.w = tensor.RandN(rng, float32(0), 0.1, w...)
		l.b = tensor.RandN(rng, float32(0), 0.1, w[0])
		l.gw, l.gb = tensor.New[float32](w...), tensor.New[float32](w[0])
	}
	return l
}

// step runs the layer forward (ReLU fused) and its backward pass from
// the sum of its outputs.
func (l *convLayer) step(tp *Tape[float32]) {
	tp.Reset()
	x := tp.Const(l.x)
	if l.xGrad {
		x = tp.Leaf(l.x, nil)
	}
	var y *Var[float32]
	if l.pool {
		y = MaxPool2D(x, PoolParams{Kernel: [2]int{2, 2}})
	} else {
		y = Conv2D(x, tp.Leaf(l.w, l.gw), tp.Leaf(l.b, l.gb), 1, tensor.ReLU, l.p)
	}
	tp.Backward(Sum(y))
}

func benchLayer(b *testing.B, l *convLayer) {
	tp := NewTape[float32]()
	l.step(tp)
	b.ReportAllocs()
	b.ResetTimer()
	c0 := processCPU()
	for i := 0; i < b.N; i++ {
		l.step(tp)
	}
	reportCPU(b, c0)
}

// reportCPU reports the process's CPU time per operation since c0
// (processCPU), the number to compare on a busy machine (run with -cpu 1).
func reportCPU(b *testing.B, c0 time.Duration) {
	b.ReportMetric(float64(processCPU()-c0)/float64(b.N), "cpu-ns/op")
}

// The LeNet-5 layers on MNIST at batch 64 and a ResNet-style 3x3 layer.
var (
	lenetConv1 = func() *convLayer {
		return newConvLayer([]int{64, 1, 28, 28}, []int{6, 1, 5, 5}, ConvParams{Padding: [2]int{2, 2}}, false)
	}
	lenetPool1 = func() *convLayer {
		l := newConvLayer([]int{64, 6, 28, 28}, nil, ConvParams{}, true)
		l.pool = true
		return l
	}
	lenetConv2 = func() *convLayer { return newConvLayer([]int{64, 6, 14, 14}, []int{16, 6, 5, 5}, ConvParams{}, true) }
	lenetPool2 = func() *convLayer {
		l := newConvLayer([]int{64, 16, 10, 10}, nil, ConvParams{}, true)
		l.pool = true
		return l
	}
	resnet3x3 = func() *convLayer {
		return newConvLayer([]int{64, 16, 28, 28}, []int{16, 16, 3, 3}, ConvParams{Padding: [2]int{1, 1}}, true)
	}
)

func BenchmarkConvLeNetConv1(b *testing.B) { benchLayer(b, lenetConv1()) }
func BenchmarkConvLeNetPool1(b *testing.B) { benchLayer(b, lenetPool1()) }
func BenchmarkConvLeNetConv2(b *testing.B) { benchLayer(b, lenetConv2()) }
func BenchmarkConvLeNetPool2(b *testing.B) { benchLayer(b, lenetPool2()) }
func BenchmarkConvResNet3x3(b *testing.B)  { benchLayer(b, resnet3x3()) }

// lenetStack is the convolutional part of LeNet-5 as one step:
// conv 1->6 5x5 pad 2, ReLU, max pool 2, conv 6->16 5x5, ReLU, max pool 2.
type lenetStack struct {
	x                  *tensor.Tensor[float32]
	w1, b1, w2, b2     *tensor.Tensor[float32]
	gw1, gb1, gw2, gb2 *tensor.Tensor[float32]
}

func newLenetStack(batch int) *lenetStack {
	rng := newRNG(12)
	s := &lenetStack{
		x:  tensor.RandN(rng, float32(0), 1, batch, 1, 28, 28),
		w1: tensor.RandN(rng, float32(0), 0.2, 6, 1, 5, 5), b1: tensor.RandN(rng, float32(0), 0.1, 6),
		w2: tensor.RandN(rng, float32(0), 0.1, 16, 6, 5, 5), b2: tensor.RandN(rng, float32(0), 0.1, 16),
	}
	s.gw1, s.gb1 = tensor.New[float32](6, 1, 5, 5), tensor.New[float32](6)
	s.gw2, s.gb2 = tensor.New[float32](16, 6, 5, 5), tensor.New[float32](16)
	return s
}

func (s *lenetStack) step(tp *Tape[float32]) {
	tp.Reset()
	pool := PoolParams{Kernel: [2]int{2, 2}}
	h := Conv2D(tp.Const(s.x), tp.Leaf(s.w1, s.gw1), tp.Leaf(s.b1, s.gb1), 1, tensor.ReLU, ConvParams{Padding: [2]int{2, 2}})
	h = MaxPool2D(h, pool)
	h = Conv2D(h, tp.Leaf(s.w2, s.gw2), tp.Leaf(s.b2, s.gb2), 1, tensor.ReLU, ConvParams{})
	h = MaxPool2D(h, pool)
	tp.Backward(Sum(h))
}

func BenchmarkConvLeNetStack(b *testing.B) {
	s := newLenetStack(64)
	tp := NewTape[float32]()
	s.step(tp)
	b.ReportAllocs()
	b.ResetTimer()
	c0 := processCPU()
	for i := 0; i < b.N; i++ {
		s.step(tp)
	}
	reportCPU(b, c0)
}

// lenetStep is a whole LeNet-5 training step at batch 64, the step of
// bench/cnn_torch.py's lenet5: the conv stack, Flatten, Linear 400-120-84-10
// with ReLU, softmax cross-entropy, backward into zeroed gradients, and
// SGD with momentum 0.9 (the update simd.MomentumUpdate, as optim.SGD).
type lenetStep struct {
	stack  *lenetStack
	w3, b3 *tensor.Tensor[float32]
	w4, b4 *tensor.Tensor[float32]
	w5, b5 *tensor.Tensor[float32]
	params []*tensor.Tensor[float32]
	grads  []*tensor.Tensor[float32]
	bufs   []*tensor.Tensor[float32]
	labels []int32
}

func newLenetStep(batch int) *lenetStep {
	rng := newRNG(13)
	s := &lenetStep{stack: newLenetStack(batch)}
	lin := func(out, in int) (*tensor.Tensor[float32], *tensor.Tensor[float32]) {
		return tensor.RandN(rng, float32(0), 0.05, out, in), tensor.RandN(rng, float32(0), 0.05, out)
	}
	s.w3, s.b3 = lin(120, 400)
	s.w4, s.b4 = lin(84, 120)
	s.w5, s.b5 = lin(10, 84)
	st := s.stack
	s.params = []*tensor.Tensor[float32]{st.w1, st.b1, st.w2, st.b2, s.w3, s.b3, s.w4, s.b4, s.w5, s.b5}
	s.grads = []*tensor.Tensor[float32]{st.gw1, st.gb1, st.gw2, st.gb2}
	for _, p := range s.params[4:] {
		s.grads = append(s.grads, tensor.New[float32](p.Shape()...))
	}
	for _, p := range s.params {
		s.bufs = append(s.bufs, tensor.New[float32](p.Shape()...))
	}
	s.labels = make([]int32, batch)
	for i := range s.labels {
		s.labels[i] = int32(i % 10)
	}
	return s
}

func (s *lenetStep) step(tp *Tape[float32]) {
	tp.Reset()
	for _, g := range s.grads {
		clear(g.Data())
	}
	st, g := s.stack, s.grads
	pool := PoolParams{Kernel: [2]int{2, 2}}
	h := Conv2D(tp.Const(st.x), tp.Leaf(st.w1, g[0]), tp.Leaf(st.b1, g[1]), 1, tensor.ReLU, ConvParams{Padding: [2]int{2, 2}})
	h = MaxPool2D(h, pool)
	h = Conv2D(h, tp.Leaf(st.w2, g[2]), tp.Leaf(st.b2, g[3]), 1, tensor.ReLU, ConvParams{})
	h = MaxPool2D(h, pool)
	h = Reshape(h, h.Shape()[0], 400)
	h = Linear(h, tp.Leaf(s.w3, g[4]), tp.Leaf(s.b3, g[5]), 1, tensor.ReLU)
	h = Linear(h, tp.Leaf(s.w4, g[6]), tp.Leaf(s.b4, g[7]), 1, tensor.ReLU)
	h = Linear(h, tp.Leaf(s.w5, g[8]), tp.Leaf(s.b5, g[9]), 1, "")
	tp.Backward(CrossEntropy(h, s.labels))
	for i, p := range s.params {
		simd.MomentumUpdate(p.Data(), s.grads[i].Data(), s.bufs[i].Data(), 0.9, 1, -0.01)
	}
}

// BenchmarkConvLeNetStep is the whole training step; compare its cpu-ns/op
// with bench/conv_torch.py's Step.
func BenchmarkConvLeNetStep(b *testing.B) {
	s := newLenetStep(64)
	tp := NewTape[float32]()
	s.step(tp)
	b.ReportAllocs()
	b.ResetTimer()
	c0 := processCPU()
	for i := 0; i < b.N; i++ {
		s.step(tp)
	}
	reportCPU(b, c0)
}

package autograd

import (
	"testing"

	"github.com/gradflow/gradflow/tensor"
)

// The normalization benchmarks time one forward and backward pass, the
// backward seeded with a fixed upstream gradient (like PyTorch's
// y.backward(g)), on a reset tape as in a training step.

// BenchmarkBatchNorm: training mode with running statistics on
// [64, 16, 28, 28] float32, the shape of a small convolutional layer on
// MNIST-sized images.
func BenchmarkBatchNorm(b *testing.B) {
	rng := newRNG(61)
	x := tensor.RandN(rng, float32(0), 1, 64, 16, 28, 28)
	g := tensor.RandN(rng, float32(0), 1, 64, 16, 28, 28)
	w, bias := tensor.RandN(rng, float32(1), 0.1, 16), tensor.RandN(rng, float32(0), 0.1, 16)
	rm, rv := tensor.New[float32](16), tensor.Full(float32(1), 16)
	tp := NewTape[float32]()
	ins := make([]*Var[float32], 3)
	var out []*Var[float32]
	b.ReportAllocs()
	b.SetBytes(int64(4 * x.Len()))
	for b.Loop() {
		tp.Reset()
		ins[0], ins[1], ins[2] = tp.Leaf(x, nil), tp.Leaf(w, nil), tp.Leaf(bias, nil)
		y := BatchNorm(ins[0], ins[1], ins[2], rm, rv, true, 0.1, 1e-5)
		out = tp.GradInto(out, y, ins, GradOptions[float32]{Seed: tp.Const(g)})
	}
}

// BenchmarkLayerNorm: [64, 512] float32 normalized over the last axis, a
// transformer-sized row.
func BenchmarkLayerNorm(b *testing.B) {
	rng := newRNG(62)
	x := tensor.RandN(rng, float32(0), 1, 64, 512)
	g := tensor.RandN(rng, float32(0), 1, 64, 512)
	w, bias := tensor.RandN(rng, float32(1), 0.1, 512), tensor.RandN(rng, float32(0), 0.1, 512)
	tp := NewTape[float32]()
	ins := make([]*Var[float32], 3)
	var out []*Var[float32]
	b.ReportAllocs()
	b.SetBytes(int64(4 * x.Len()))
	for b.Loop() {
		tp.Reset()
		ins[0], ins[1], ins[2] = tp.Leaf(x, nil), tp.Leaf(w, nil), tp.Leaf(bias, nil)
		y := LayerNorm(ins[0], ins[1], ins[2], 1, 1e-5)
		out = tp.GradInto(out, y, ins, GradOptions[float32]{Seed: tp.Const(g)})
	}
}

// BenchmarkBatchNormFeatures: training mode on [256, 1024] float32, a
// BatchNorm after a fully connected layer (channel pieces of one element,
// the row-by-row layout).
func BenchmarkBatchNormFeatures(b *testing.B) {
	rng := newRNG(63)
	x := tensor.RandN(rng, float32(0), 1, 256, 1024)
	g := tensor.RandN(rng, float32(0), 1, 256, 1024)
	w, bias := tensor.RandN(rng, float32(1), 0.1, 1024), tensor.RandN(rng, float32(0), 0.1, 1024)
	rm, rv := tensor.New[float32](1024), tensor.Full(float32(1), 1024)
	tp := NewTape[float32]()
	ins := make([]*Var[float32], 3)
	var out []*Var[float32]
	b.ReportAllocs()
	b.SetBytes(int64(4 * x.Len()))
	for b.Loop() {
		tp.Reset()
		ins[0], ins[1], ins[2] = tp.Leaf(x, nil), tp.Leaf(w, nil), tp.Leaf(bias, nil)
		y := BatchNorm(ins[0], ins[1], ins[2], rm, rv, true, 0.1, 1e-5)
		out = tp.GradInto(out, y, ins, GradOptions[float32]{Seed: tp.Const(g)})
	}
}

package nn

import (
	"fmt"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/tensor"
)

// BatchNorm is batch normalization (Ioffe and Szegedy 2015) over the
// channel axis 1 of x [N, C] or [N, C, H, W]: torch.nn.BatchNorm1d or
// BatchNorm2d by the input's rank, with their defaults (momentum 0.1, eps
// 1e-5, affine, running statistics tracked).
//
// In training mode (the mode it is built in) it normalizes with the
// batch's mean and biased variance, updates RunningMean and RunningVar in
// place as running = (1 - Momentum) running + Momentum batch (the unbiased
// variance, as PyTorch) and counts the batch in NumBatchesTracked. In
// evaluation mode (SetTraining(false)) it normalizes with the running
// statistics. Weight (gamma, init 1) and Bias (beta, init 0) are the
// parameters "weight" and "bias"; the statistics are the buffers
// "running_mean", "running_var" and "num_batches_tracked" (an I64 scalar
// in files, as torch.int64).
type BatchNorm[T Float] struct {
	Weight, Bias      *Param[T]
	RunningMean       *tensor.Tensor[T] // [C], init 0
	RunningVar        *tensor.Tensor[T] // [C], init 1
	NumBatchesTracked *tensor.Tensor[T] // scalar count of training batches
	Momentum, Eps     float64
	Training          bool
	params            []*Param[T]
	buffers           []*Buffer[T]
}

// NewBatchNorm returns batch normalization of c channels with PyTorch's
// initialization and defaults, in training mode; prefix names the
// parameters and buffers (prefix+"weight", prefix+"running_mean", ...). It
// panics if c < 1 (spec parsers check first).
func NewBatchNorm[T Float](prefix string, c int) *BatchNorm[T] {
	if c < 1 {
		panic(fmt.Sprintf("nn.NewBatchNorm: %d channels, want at least 1", c))
	}
	bn := &BatchNorm[T]{
		Weight:            NewParam(prefix+"weight", tensor.Ones[T](c)),
		Bias:              NewParam(prefix+"bias", tensor.New[T](c)),
		RunningMean:       tensor.New[T](c),
		RunningVar:        tensor.Ones[T](c),
		NumBatchesTracked: tensor.New[T](),
		Momentum:          0.1,
		Eps:               1e-5,
		Training:          true,
	}
	bn.params = []*Param[T]{bn.Weight, bn.Bias}
	bn.buffers = []*Buffer[T]{
		{Name: prefix + "running_mean", Value: bn.RunningMean},
		{Name: prefix + "running_var", Value: bn.RunningVar},
		{Name: prefix + "num_batches_tracked", Value: bn.NumBatchesTracked, Int: true},
	}
	return bn
}

// Channels returns the number of channels C.
func (bn *BatchNorm[T]) Channels() int { return bn.RunningMean.Len() }

// Params returns the weight and the bias.
func (bn *BatchNorm[T]) Params() []*Param[T] { return bn.params }

// Buffers returns running_mean, running_var and num_batches_tracked.
func (bn *BatchNorm[T]) Buffers() []*Buffer[T] { return bn.buffers }

// SetTraining sets the mode and returns the previous one.
func (bn *BatchNorm[T]) SetTraining(training bool) bool {
	was := bn.Training
	bn.Training = training
	return was
}

// Forward records the normalization of x; in training mode it also
// updates the running statistics, once per call, as PyTorch's forward
// does.
func (bn *BatchNorm[T]) Forward(t *autograd.Tape[T], x *autograd.Var[T]) *autograd.Var[T] {
	y := autograd.BatchNorm(x, bn.Weight.Var(t), bn.Bias.Var(t), bn.RunningMean, bn.RunningVar, bn.Training, bn.Momentum, bn.Eps)
	if bn.Training {
		bn.NumBatchesTracked.Data()[0]++
	}
	return y
}

// outShape checks the channels of one example, [C] or [C H W].
func (bn *BatchNorm[T]) outShape(in []int) ([]int, error) {
	if len(in) != 1 && len(in) != 3 {
		return nil, fmt.Errorf("batch normalization takes [C] or [C H W] examples, got %s", shapeStr(in))
	}
	if in[0] != bn.Channels() {
		return nil, fmt.Errorf("%d channels, the normalization has %d", in[0], bn.Channels())
	}
	return in, nil
}

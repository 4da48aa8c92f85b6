package train

import (
	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/tensor"
)

// Loss turns a model's output on a batch into a scalar loss recorded on the
// output's tape. Classification reports whether the model's output are
// class logits, so that accuracy is measured.
type Loss[T tensor.Float] interface {
	Eval(out *autograd.Var[T], b *data.Batch[T]) *autograd.Var[T]
	Classification() bool
	Name() string
}

// CrossEntropy is the softmax cross-entropy of logits against the batch's
// class labels (torch.nn.CrossEntropyLoss, mean over the batch).
type CrossEntropy[T tensor.Float] struct{}

// Eval implements Loss.
func (*CrossEntropy[T]) Eval(out *autograd.Var[T], b *data.Batch[T]) *autograd.Var[T] {
	if b.Labels == nil {
		panic("train.CrossEntropy: the batch has no class labels")
	}
	return autograd.CrossEntropy(out, b.Labels)
}

// Classification implements Loss.
func (*CrossEntropy[T]) Classification() bool { return true }

// Name implements Loss.
func (*CrossEntropy[T]) Name() string { return "cross_entropy" }

// MSE is a squared error against the batch's real targets Y (or one-hot
// labels when the loader is configured with OneHot). Half selects
// 0.5*mean (the neural-tangents convention) instead of mean.
type MSE[T tensor.Float] struct {
	Half bool
	// Classes makes accuracy be measured as argmax(output) == label.
	Classes bool
	y       *autograd.Var[T]
}

// Eval implements Loss.
func (m *MSE[T]) Eval(out *autograd.Var[T], b *data.Batch[T]) *autograd.Var[T] {
	if b.Y == nil {
		panic("train.MSE: the batch has no real targets Y (use a regression dataset or the loader's OneHot)")
	}
	y := out.Tape().Const(b.Y)
	if m.Half {
		return nn.HalfMSE(out, y)
	}
	return nn.MSE(out, y)
}

// Classification implements Loss.
func (m *MSE[T]) Classification() bool { return m.Classes }

// Name implements Loss.
func (m *MSE[T]) Name() string {
	if m.Half {
		return "half_mse"
	}
	return "mse"
}

// correct counts the rows of logits whose argmax is the label.
func correct[T tensor.Float](logits *tensor.Tensor[T], labels []int32) int {
	return nn.Correct(logits, labels)
}

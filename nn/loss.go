package nn

import (
	"math"
	"strconv"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/tensor"
)

// MSE returns mean((pred - target)^2) over all elements: torch.nn.MSELoss
// with reduction "mean".
func MSE[T Float](pred, target *autograd.Var[T]) *autograd.Var[T] {
	checkSame("MSE", pred, target)
	r := autograd.Sub(pred, target)
	return autograd.Mean(autograd.Mul(r, r))
}

// HalfMSE returns 0.5 * mean((pred - target)^2): the convention of
// neural-tangents' gradient-descent predictions (loss 0.5 * mean), whose
// gradient is the plain residual over the count.
func HalfMSE[T Float](pred, target *autograd.Var[T]) *autograd.Var[T] {
	return autograd.Scale(MSE(pred, target), 0.5)
}

// SoftCrossEntropy returns -mean_i sum_c p_ic log softmax(z_i)_c for
// logits and target probabilities of the same shape [n, c] (each row of
// targets summing to 1, e.g. label smoothing or distillation), as
// torch.nn.CrossEntropyLoss with probability targets.
func SoftCrossEntropy[T Float](logits, targets *autograd.Var[T]) *autograd.Var[T] {
	checkSame("SoftCrossEntropy", logits, targets)
	n := float64(logits.Shape()[0])
	return autograd.Scale(autograd.Sum(autograd.Mul(targets, autograd.LogSoftmax(logits, 1))), -1/n)
}

// BCEWithLogits returns the mean binary cross-entropy of logits z against
// targets y in [0, 1]: mean(softplus(z) - y z), the stable form of
// -[y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))], as
// torch.nn.BCEWithLogitsLoss.
func BCEWithLogits[T Float](logits, targets *autograd.Var[T]) *autograd.Var[T] {
	checkSame("BCEWithLogits", logits, targets)
	return autograd.Mean(autograd.Sub(autograd.Softplus(logits), autograd.Mul(targets, logits)))
}

// Huber returns the mean Huber loss with threshold delta > 0: 0.5 r^2 where
// |r| <= delta and delta (|r| - delta/2) elsewhere, r = pred - target, as
// torch.nn.HuberLoss.
func Huber[T Float](pred, target *autograd.Var[T], delta float64) *autograd.Var[T] {
	checkSame("Huber", pred, target)
	if !(delta > 0) {
		panic("nn.Huber: delta " + strconv.FormatFloat(delta, 'g', -1, 64) + " must be positive")
	}
	r := autograd.Sub(pred, target)
	// With c = r clipped to [-delta, delta], 0.5 r^2 - 0.5 (r - c)^2 is the
	// Huber function on both branches, in differentiable ops.
	c := autograd.Clamp(r, -delta, delta)
	e := autograd.Sub(r, c)
	return autograd.Mean(autograd.Scale(autograd.Sub(autograd.Mul(r, r), autograd.Mul(e, e)), 0.5))
}

// Accuracy returns the fraction of rows of logits [n, c] whose largest
// entry is at the label's index (NaN for no rows).
func Accuracy[T Float](logits *tensor.Tensor[T], labels []int32) float64 {
	if len(labels) == 0 {
		Correct(logits, labels) // shape check
		return math.NaN()
	}
	return float64(Correct(logits, labels)) / float64(len(labels))
}

// Correct returns the number of rows of logits [n, c] whose largest entry
// (the first, on ties) is at the label's index.
func Correct[T Float](logits *tensor.Tensor[T], labels []int32) int {
	if logits.NDim() != 2 || logits.Dim(0) != len(labels) {
		panic("nn.Correct: logits shape " + shapeStr(logits.Shape()) + " with " + strconv.Itoa(len(labels)) + " labels")
	}
	c, d, hit := logits.Dim(1), logits.Data(), 0
	for i, y := range labels {
		row := d[i*c : (i+1)*c]
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		if best == int(y) {
			hit++
		}
	}
	return hit
}

func checkSame[T Float](name string, a, b *autograd.Var[T]) {
	if !sameShape(a.Shape(), b.Shape()) {
		panic("nn." + name + ": shapes " + shapeStr(a.Shape()) + " and " + shapeStr(b.Shape()) + " differ")
	}
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

package flow

import (
	"fmt"
	"math"
	"strconv"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/internal/nilcheck"
	"github.com/gradflow/gradflow/optim"
	"github.com/gradflow/gradflow/tensor"
	"github.com/gradflow/gradflow/train"
)

// SVAGCoefficients returns the weights of the two minibatch gradients of
// SVAG with parameter l >= 1 (Li, Malladi and Arora 2021):
//
//	c1 = (1 + sqrt(2l - 1))/2,  c2 = (1 - sqrt(2l - 1))/2,
//
// so that c1 + c2 = 1 and c1^2 + c2^2 = l: c1 g1 + c2 g2, for independent
// minibatch gradients g1, g2 of mean grad L and covariance Sigma, has mean
// grad L and covariance l Sigma. l = 1 gives (1, 0), plain SGD.
func SVAGCoefficients(l float64) (c1, c2 float64) {
	s := math.Sqrt(2*l - 1)
	return (1 + s) / 2, (1 - s) / 2
}

// SVAG is the loss of SVAG, the stochastic variance amplified gradient
// (Li, Malladi and Arora 2021), for training with train.Trainer or
// train.Stepper: on a batch of 2B rows, two independent minibatches of B
// rows each drawn with replacement (SVAGLoaderConfig), it is
//
//	c1 Base(first B rows) + c2 Base(last B rows)
//
// with c1, c2 from SVAGCoefficients(L), whose gradient has mean grad L and
// covariance L Sigma. Stepping with learning rate eta/L (SVAGSpec), SVAG
// runs L steps per unit eta of time with L times the gradient variance:
// L = 1 is SGD with batch B, and as L grows the iterates converge weakly to
// the SME dX = -grad L dt + sqrt(eta Sigma) dW, with error O(1/L) (their
// Theorem 4.3). It needs Base to be a mean over examples of a per-example
// loss of the example's output (train.MSE and train.CrossEntropy are).
//
// The loss value reported is c1 L1 + c2 L2, an unbiased but noisy estimate
// of the minibatch loss that can be negative when L > 1 (c2 < 0). A batch
// of one row (train.New checks a model and loss on one example) is taken
// as both minibatches, which gives Base on it since c1 + c2 = 1; any other
// odd number of rows is a programmer error and panics.
type SVAG[T tensor.Float] struct {
	Base train.Loss[T]
	// L is SVAG's amplification l >= 1.
	L      float64
	halves [2]data.Batch[T]
}

// NewSVAG returns the SVAG loss of base with amplification l >= 1.
func NewSVAG[T tensor.Float](base train.Loss[T], l float64) (*SVAG[T], error) {
	if nilcheck.Nil(base) {
		return nil, fmt.Errorf("flow.NewSVAG: base loss is nil")
	}
	if !(l >= 1) || math.IsInf(l, 0) {
		return nil, fmt.Errorf("flow.NewSVAG: l = %v, want a finite l >= 1", l)
	}
	return &SVAG[T]{Base: base, L: l}, nil
}

// Eval implements train.Loss.
func (s *SVAG[T]) Eval(out *autograd.Var[T], b *data.Batch[T]) *autograd.Var[T] {
	n := out.Shape()[0]
	if n == 1 {
		return s.Base.Eval(out, b)
	}
	if n%2 != 0 {
		panic(fmt.Sprintf("flow.SVAG: output of shape %v: SVAG needs a batch of 2B rows (two minibatches of B)", out.Shape()))
	}
	h := n / 2
	c1, c2 := SVAGCoefficients(s.L)
	l1 := s.Base.Eval(autograd.Rows(out, 0, h), s.half(0, b, 0, h))
	l2 := s.Base.Eval(autograd.Rows(out, h, n), s.half(1, b, h, n))
	return autograd.Add(autograd.Scale(l1, c1), autograd.Scale(l2, c2))
}

// half returns rows i..j-1 of b as the reused batch s.halves[k].
func (s *SVAG[T]) half(k int, b *data.Batch[T], i, j int) *data.Batch[T] {
	h := &s.halves[k]
	*h = data.Batch[T]{}
	if b.X != nil {
		h.X = b.X.Rows(i, j)
	}
	if b.Y != nil {
		h.Y = b.Y.Rows(i, j)
	}
	if b.Labels != nil {
		h.Labels = b.Labels[i:j]
	}
	if b.Rows != nil {
		h.Rows = b.Rows[i:j]
	}
	return h
}

// Classification implements train.Loss.
func (s *SVAG[T]) Classification() bool { return s.Base.Classification() }

// Name implements train.Loss: "svag_l<L>_<base>".
func (s *SVAG[T]) Name() string {
	return "svag_l" + strconv.FormatFloat(s.L, 'g', -1, 64) + "_" + s.Base.Name()
}

// SVAGSpec returns spec with its learning rate divided by l: SVAG's step
// eta/l for the rate eta of the SGD it amplifies (build it with optim.New;
// plain SGD, optim.DefaultSpec("sgd") with LR set, is what the theory
// covers).
func SVAGSpec(spec optim.Spec, l float64) optim.Spec {
	spec.LR /= l
	return spec
}

// SVAGLoaderConfig returns the loader settings SVAG needs for minibatches
// of batch examples: batches of 2*batch rows drawn with replacement, so
// that the two halves are independent minibatches.
func SVAGLoaderConfig(batch int, seed uint64) data.LoaderConfig {
	return data.LoaderConfig{BatchSize: 2 * batch, Order: data.OrderReplacement, Seed: seed}
}

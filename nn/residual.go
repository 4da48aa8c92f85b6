package nn

import (
	"fmt"
	"slices"

	"github.com/gradflow/gradflow/autograd"
)

// Residual is a residual block (He et al. 2016): Body(x) + Shortcut(x),
// with the identity as shortcut when Shortcut is nil (then Body must keep
// the shape of x). Body is usually a Sequential of convolutions and
// normalizations and Shortcut a 1x1 convolution (with a BatchNorm) that
// matches the channels and stride. Its parameters and buffers are named as
// those of a torch module with submodules body and shortcut:
// "<prefix>body.0.weight", "<prefix>shortcut.0.weight"; the activation that
// usually follows the sum is a separate module after the block.
type Residual[T Float] struct {
	Body, Shortcut Module[T]
	params         []*Param[T]
	buffers        []*Buffer[T]
}

// NewResidual returns the block Body(x) + Shortcut(x) (shortcut nil: the
// identity). The submodules' parameters should be named with the prefixes
// "<block>.body." and "<block>.shortcut.".
func NewResidual[T Float](body, shortcut Module[T]) *Residual[T] {
	r := &Residual[T]{Body: body, Shortcut: shortcut}
	ms := []Module[T]{body}
	if shortcut != nil {
		ms = append(ms, shortcut)
	}
	for _, m := range ms {
		r.params = append(r.params, m.Params()...)
	}
	r.buffers = collectBuffers(ms)
	return r
}

// Params returns the body's parameters, then the shortcut's.
func (r *Residual[T]) Params() []*Param[T] { return r.params }

// Buffers returns the body's buffers, then the shortcut's.
func (r *Residual[T]) Buffers() []*Buffer[T] { return r.buffers }

// SetTraining switches the body and the shortcut.
func (r *Residual[T]) SetTraining(training bool) bool {
	was := SetTraining(r.Body, training)
	if r.Shortcut != nil && SetTraining(r.Shortcut, training) {
		was = true
	}
	return was
}

// Forward records Body(x) + Shortcut(x).
func (r *Residual[T]) Forward(t *autograd.Tape[T], x *autograd.Var[T]) *autograd.Var[T] {
	s := x
	if r.Shortcut != nil {
		s = r.Shortcut.Forward(t, x)
	}
	return autograd.Add(r.Body.Forward(t, x), s)
}

func (r *Residual[T]) outShape(in []int) ([]int, error) {
	body, err := moduleShape(r.Body, in)
	if err != nil {
		return nil, fmt.Errorf("body: %w", err)
	}
	short := in
	if r.Shortcut != nil {
		if short, err = moduleShape(r.Shortcut, in); err != nil {
			return nil, fmt.Errorf("shortcut: %w", err)
		}
	}
	if !slices.Equal(body, short) {
		what := "the identity shortcut"
		if r.Shortcut != nil {
			what = "the shortcut"
		}
		return nil, fmt.Errorf("the body maps %s to %s but %s gives %s: add a shortcut that matches them", shapeStr(in), shapeStr(body), what, shapeStr(short))
	}
	return body, nil
}

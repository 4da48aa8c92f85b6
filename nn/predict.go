package nn

import (
	"errors"
	"fmt"
	"sync"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/internal/nilcheck"
	"github.com/gradflow/gradflow/tensor"
)

// Predict returns the output of m on the rows of x [n, d]: the inference
// call. The caller makes no tape: Predict runs m.Forward with gradients
// off on a tape from a pool (its arena reused across calls), leaves the
// parameters and their gradients alone, and returns a new tensor the
// caller owns. Modules with modes (see Moder) run in evaluation mode and
// are put back in the mode they were in.
//
// A nil model or x, an x that is not 2-D, or an x whose width differs from
// the model's input width (see InputWidth) is an error naming the shapes;
// so is any panic of m.Forward on x (a module that rejects the shape).
// Like Forward, Predict binds the model's parameters to its tape, so calls
// on one model must not run concurrently with each other or with training.
func Predict[T Float](m Module[T], x *tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	switch {
	case nilcheck.Nil(m):
		return nil, errors.New("nn.Predict: the model is nil")
	case x == nil:
		return nil, errors.New("nn.Predict: x is nil")
	}
	d, known := InputWidth(m)
	if x.NDim() != 2 {
		want := "[n d]"
		if known {
			want = fmt.Sprintf("[n %d]", d)
		}
		return nil, fmt.Errorf("nn.Predict: x has shape %s, want %s", shapeStr(x.Shape()), want)
	}
	if known && x.Dim(1) != d {
		return nil, fmt.Errorf("nn.Predict: x has %d columns, but the model takes %d inputs", x.Dim(1), d)
	}
	pool := tapePool[T]()
	tp, _ := pool.Get().(*autograd.Tape[T])
	if tp == nil {
		tp = autograd.NewTape[T]()
	}
	tp.SetGradEnabled(false)
	// Inference is evaluation: BatchNorm uses (and keeps) its running
	// statistics, Dropout is off; the model's mode is restored after.
	was := SetTraining(m, false)
	out, err := forwardCaught(m, x, tp)
	SetTraining(m, was)
	if err != nil {
		// The tape is dropped: a panic may have left it mid-operation.
		return nil, fmt.Errorf("nn.Predict: the model rejects x of shape %s: %v", shapeStr(x.Shape()), err)
	}
	tp.Reset()
	pool.Put(tp)
	return out, nil
}

// forwardCaught returns a copy of m's output on x recorded on tp, or the
// value of a panic of m.Forward as an error.
func forwardCaught[T Float](m Module[T], x *tensor.Tensor[T], tp *autograd.Tape[T]) (out *tensor.Tensor[T], err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("%v", r)
		}
	}()
	return m.Forward(tp, tp.Const(x)).Value().Clone(), nil
}

// The tapes of Predict, one pool per element type.
var tapes32, tapes64 sync.Pool

func tapePool[T Float]() *sync.Pool {
	if _, ok := any(T(0)).(float32); ok {
		return &tapes32
	}
	return &tapes64
}

// InputWidth returns the input width d of the modules that state one: an
// *MLP (Dims[0]), a *Linear, a *Net (the product of its input shape) and a
// *Sequential whose first module states one. ok is false for other
// modules.
func InputWidth[T Float](m Module[T]) (d int, ok bool) {
	switch m := m.(type) {
	case *MLP[T]:
		if m != nil && len(m.Config.Dims) > 0 {
			return m.Config.Dims[0], true
		}
	case *Linear[T]:
		if m != nil && m.Weight != nil && m.Weight.Value != nil && m.Weight.Value.NDim() == 2 {
			return m.In(), true
		}
	case *Net[T]:
		if m != nil {
			return m.InputWidth(), true
		}
	case *Sequential[T]:
		if m != nil && len(m.Modules) > 0 {
			return InputWidth(m.Modules[0])
		}
	}
	return 0, false
}

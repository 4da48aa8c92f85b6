package nn

import "github.com/gradflow/gradflow/autograd"

// Sequential applies its modules in order, like torch.nn.Sequential. It
// passes SetTraining on to its modules and lists their buffers after
// their parameters are listed, in module order. Its parameter and buffer
// lists are made by NewSequential: build a new Sequential rather than
// changing Modules.
type Sequential[T Float] struct {
	Modules []Module[T]
	params  []*Param[T]
	buffers []*Buffer[T]
}

// NewSequential returns the composition of ms, applied first to last.
func NewSequential[T Float](ms ...Module[T]) *Sequential[T] {
	s := &Sequential[T]{Modules: ms}
	for _, m := range ms {
		s.params = append(s.params, m.Params()...)
	}
	s.buffers = collectBuffers(ms)
	return s
}

// Buffers returns the buffers of every module in order.
func (s *Sequential[T]) Buffers() []*Buffer[T] { return s.buffers }

// SetTraining switches every module that has modes (see Moder).
func (s *Sequential[T]) SetTraining(training bool) bool { return setAll(s.Modules, training) }

// Params returns the parameters of every module in order.
func (s *Sequential[T]) Params() []*Param[T] { return s.params }

// Forward records the modules applied in turn to x.
func (s *Sequential[T]) Forward(t *autograd.Tape[T], x *autograd.Var[T]) *autograd.Var[T] {
	for _, m := range s.Modules {
		x = m.Forward(t, x)
	}
	return x
}

// Func is a parameterless module made from a function, for activations and
// reshapes inside a Sequential.
type Func[T Float] func(t *autograd.Tape[T], x *autograd.Var[T]) *autograd.Var[T]

// Params returns nil: a Func has no parameters.
func (f Func[T]) Params() []*Param[T] { return nil }

// Forward applies f.
func (f Func[T]) Forward(t *autograd.Tape[T], x *autograd.Var[T]) *autograd.Var[T] { return f(t, x) }

// Act returns the module applying activation a.
func Act[T Float](a Activation) Func[T] {
	return func(_ *autograd.Tape[T], x *autograd.Var[T]) *autograd.Var[T] { return Apply(a, x) }
}

package nn

import (
	"fmt"
	"slices"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/tensor"
)

// LayerNorm is layer normalization (Ba, Kiros and Hinton 2016) over the
// trailing axes of x whose sizes are Shape: torch.nn.LayerNorm(Shape) with
// its defaults (eps 1e-5, elementwise affine with weight 1 and bias 0).
// Unlike BatchNorm it treats each example alone, so it has no modes and
// no buffers.
type LayerNorm[T Float] struct {
	Weight, Bias *Param[T] // of shape Shape
	Shape        []int     // the normalized trailing axes
	Eps          float64
	params       []*Param[T]
}

// NewLayerNorm returns layer normalization over trailing axes of the given
// shape; prefix names the parameters. It panics for an empty shape or a
// size below 1 (spec parsers check first).
func NewLayerNorm[T Float](prefix string, shape ...int) *LayerNorm[T] {
	if len(shape) == 0 || slices.Min(shape) < 1 {
		panic(fmt.Sprintf("nn.NewLayerNorm: normalized shape %v, want at least one axis of size at least 1", shape))
	}
	ln := &LayerNorm[T]{
		Weight: NewParam(prefix+"weight", tensor.Ones[T](shape...)),
		Bias:   NewParam(prefix+"bias", tensor.New[T](shape...)),
		Shape:  slices.Clone(shape),
		Eps:    1e-5,
	}
	ln.params = []*Param[T]{ln.Weight, ln.Bias}
	return ln
}

// Params returns the weight and the bias.
func (ln *LayerNorm[T]) Params() []*Param[T] { return ln.params }

// Forward records the normalization of x over its last len(Shape) axes.
func (ln *LayerNorm[T]) Forward(t *autograd.Tape[T], x *autograd.Var[T]) *autograd.Var[T] {
	return autograd.LayerNorm(x, ln.Weight.Var(t), ln.Bias.Var(t), len(ln.Shape), ln.Eps)
}

// outShape checks that one example ends with Shape.
func (ln *LayerNorm[T]) outShape(in []int) ([]int, error) {
	if len(in) < len(ln.Shape) || !slices.Equal(in[len(in)-len(ln.Shape):], ln.Shape) {
		return nil, fmt.Errorf("layer normalization over %s does not fit examples of shape %s", shapeStr(ln.Shape), shapeStr(in))
	}
	return in, nil
}

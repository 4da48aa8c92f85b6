package nn

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/tensor"
)

// Linear is the affine map y = Alpha * x W^T + BiasMult * b, optionally
// followed by an activation, for a batch x [n, In]. W is [Out, In] and b is
// [Out], as in torch.nn.Linear; Alpha and BiasMult are the forward
// multipliers of the NTK, mean-field and muP parameterizations (1 in the
// standard one). The bias is accumulated by the GEMM itself and a ReLU is
// applied in the same pass; other activations are recorded after it
// (autograd.Linear).
type Linear[T Float] struct {
	Weight   *Param[T]
	Bias     *Param[T] // nil for no bias
	Alpha    float64
	BiasMult float64
	Act      Activation // applied after the affine map; "" means identity
	params   []*Param[T]
}

// NewLinear returns a Linear layer in -> out with PyTorch's default
// initialization (weight and bias uniform on +-1/sqrt(in)), multipliers 1
// and no activation. prefix names the parameters (prefix+"weight",
// prefix+"bias"). It returns an error if rng is nil or a width is below 1.
func NewLinear[T Float](rng *rand.Rand, prefix string, in, out int, bias bool) (*Linear[T], error) {
	if rng == nil {
		return nil, errNilRNG("nn.NewLinear")
	}
	if in < 1 || out < 1 {
		return nil, fmt.Errorf("nn.NewLinear: in = %d, out = %d: widths must be at least 1", in, out)
	}
	w := tensor.New[T](out, in)
	TorchLinearWeight(w, rng)
	var b *tensor.Tensor[T]
	if bias {
		b = tensor.New[T](out)
		TorchLinearBias(b, in, rng)
	}
	return NewLinearFrom(prefix, w, b), nil
}

// errNilRNG is the error of a constructor that draws random weights and was
// given no random source.
func errNilRNG(fn string) error {
	return errors.New(fn + ": rng is nil (want a seeded *rand.Rand, e.g. rand.New(rand.NewPCG(seed, 1)))")
}

// NewLinearFrom returns a Linear layer holding w [out, in] and b [out] (or
// nil) without copying them.
func NewLinearFrom[T Float](prefix string, w, b *tensor.Tensor[T]) *Linear[T] {
	if w.NDim() != 2 || b != nil && (b.NDim() != 1 || b.Dim(0) != w.Dim(0)) {
		bs := "none"
		if b != nil {
			bs = shapeStr(b.Shape())
		}
		panic("nn.NewLinearFrom: weight shape " + shapeStr(w.Shape()) + " and bias shape " + bs + " do not form a layer")
	}
	l := &Linear[T]{Weight: NewParam(prefix+"weight", w), Alpha: 1, BiasMult: 1}
	l.params = []*Param[T]{l.Weight}
	if b != nil {
		l.Bias = NewParam(prefix+"bias", b)
		l.params = append(l.params, l.Bias)
	}
	return l
}

// In returns the input width.
func (l *Linear[T]) In() int { return l.Weight.Value.Dim(1) }

// Out returns the output width.
func (l *Linear[T]) Out() int { return l.Weight.Value.Dim(0) }

// Params returns the weight and, if present, the bias.
func (l *Linear[T]) Params() []*Param[T] { return l.params }

// Forward records the layer applied to x [n, In].
func (l *Linear[T]) Forward(t *autograd.Tape[T], x *autograd.Var[T]) *autograd.Var[T] {
	var b *autograd.Var[T]
	if l.Bias != nil {
		b = l.Bias.Var(t)
		if l.BiasMult != 1 {
			b = autograd.Scale(b, l.BiasMult)
		}
	}
	return autograd.Linear(x, l.Weight.Var(t), b, l.Alpha, l.Act)
}

func shapeStr(s []int) string {
	b := []byte{'['}
	for i, d := range s {
		if i > 0 {
			b = append(b, ' ')
		}
		b = strconv.AppendInt(b, int64(d), 10)
	}
	return string(append(b, ']'))
}

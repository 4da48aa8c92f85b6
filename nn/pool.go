package nn

import (
	"fmt"
	"slices"

	"github.com/gradflow/gradflow/autograd"
)

// MaxPool2D takes the maximum over each window of x [N, C, H, W]:
// torch.nn.MaxPool2d(kernel, stride, padding) with floor rounding of the
// output size (ceil_mode False). A zero Stride means the kernel size.
type MaxPool2D[T Float] struct {
	Pool autograd.PoolParams
}

// Params returns nil: pooling has no parameters.
func (p *MaxPool2D[T]) Params() []*Param[T] { return nil }

// Forward records the pooling of x.
func (p *MaxPool2D[T]) Forward(_ *autograd.Tape[T], x *autograd.Var[T]) *autograd.Var[T] {
	return autograd.MaxPool2D(x, p.Pool)
}

func (p *MaxPool2D[T]) outShape(in []int) ([]int, error) { return poolShape(in, p.Pool) }

// AvgPool2D takes the mean over each window of x [N, C, H, W]:
// torch.nn.AvgPool2d(kernel, stride, padding, count_include_pad = not
// Pool.ExcludePad), floor rounding. A zero Stride means the kernel size.
type AvgPool2D[T Float] struct {
	Pool autograd.PoolParams
}

// Params returns nil: pooling has no parameters.
func (p *AvgPool2D[T]) Params() []*Param[T] { return nil }

// Forward records the pooling of x.
func (p *AvgPool2D[T]) Forward(_ *autograd.Tape[T], x *autograd.Var[T]) *autograd.Var[T] {
	return autograd.AvgPool2D(x, p.Pool)
}

func (p *AvgPool2D[T]) outShape(in []int) ([]int, error) { return poolShape(in, p.Pool) }

// poolShape maps one example [C H W] through a pooling window, refusing
// what torch.nn.MaxPool2d refuses.
func poolShape(in []int, p autograd.PoolParams) ([]int, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("pooling takes [C H W] examples, got %s", shapeStr(in))
	}
	out := []int{in[0], 0, 0}
	for i := range 2 {
		k, s, pad := p.Kernel[i], p.Stride[i], p.Padding[i]
		if s == 0 {
			s = k
		}
		switch {
		case k < 1 || s < 1:
			return nil, fmt.Errorf("pooling window %v with stride %v: want sizes of at least 1", p.Kernel, p.Stride)
		case pad < 0 || 2*pad > k:
			return nil, fmt.Errorf("pooling padding %d: want between 0 and half the window %d", pad, k)
		case k > in[1+i]+2*pad:
			return nil, fmt.Errorf("pooling window %d larger than the padded input %d", k, in[1+i]+2*pad)
		}
		out[1+i] = (in[1+i]+2*pad-k)/s + 1
	}
	return out, nil
}

// GlobalAvgPool averages each channel of x [N, C, H, W] over its spatial
// axes, giving [N, C]: torch.nn.AdaptiveAvgPool2d(1) followed by
// torch.nn.Flatten(), as one module.
type GlobalAvgPool[T Float] struct{}

// Params returns nil: pooling has no parameters.
func (GlobalAvgPool[T]) Params() []*Param[T] { return nil }

// Forward records the pooling of x.
func (GlobalAvgPool[T]) Forward(_ *autograd.Tape[T], x *autograd.Var[T]) *autograd.Var[T] {
	return autograd.GlobalAvgPool(x)
}

func (GlobalAvgPool[T]) outShape(in []int) ([]int, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("global average pooling takes [C H W] examples, got %s", shapeStr(in))
	}
	return in[:1:1], nil
}

// Flatten reshapes x [N, d1, d2, ...] to [N, d1*d2*...] without copying:
// torch.nn.Flatten().
type Flatten[T Float] struct{}

// Params returns nil: a reshape has no parameters.
func (Flatten[T]) Params() []*Param[T] { return nil }

// Forward records the reshape.
func (Flatten[T]) Forward(_ *autograd.Tape[T], x *autograd.Var[T]) *autograd.Var[T] {
	if x.Value().NDim() == 2 {
		return x
	}
	return autograd.Reshape(x, x.Shape()[0], -1)
}

func (Flatten[T]) outShape(in []int) ([]int, error) { return []int{prod(in)}, nil }

// Unflatten reshapes the rows of x [N, prod(Shape)] to examples of shape
// Shape, [N, Shape...], without copying: torch.nn.Unflatten(1, Shape).
// Datasets hold examples as rows, so that loaders, Jacobians and every
// tool on [n, d] matrices work on any model; a convolutional network
// starts with an Unflatten to [C, H, W] (Net does this itself).
type Unflatten[T Float] struct {
	Shape []int
}

// Params returns nil: a reshape has no parameters.
func (u *Unflatten[T]) Params() []*Param[T] { return nil }

// Forward records the reshape. It panics, naming the shapes, when the rows
// of x do not hold prod(Shape) values.
func (u *Unflatten[T]) Forward(_ *autograd.Tape[T], x *autograd.Var[T]) *autograd.Var[T] {
	s := x.Shape()
	if len(s) != 2 || s[1] != prod(u.Shape) {
		panic("nn.Unflatten: input of shape " + shapeStr(s) + " does not hold rows of " + shapeStr(u.Shape) + " examples")
	}
	var dims [8]int
	dims[0] = s[0]
	n := 1 + copy(dims[1:], u.Shape)
	return autograd.Reshape(x, dims[:n]...)
}

func (u *Unflatten[T]) outShape(in []int) ([]int, error) {
	if len(in) != 1 || in[0] != prod(u.Shape) {
		return nil, fmt.Errorf("rows of %s do not hold examples of shape %s", shapeStr(in), shapeStr(u.Shape))
	}
	return slices.Clone(u.Shape), nil
}

// prod returns the product of s (1 for an empty s).
func prod(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

package autograd

import (
	"github.com/gradflow/gradflow/internal/simd"
	"github.com/gradflow/gradflow/tensor"
)

// Relu returns max(a, 0) elementwise. Its derivative at 0 is taken as 0, as
// in PyTorch.
func Relu[T Float](a *Var[T]) *Var[T] {
	t := a.tape
	v := t.newVar()
	tensor.ReluInto(v.out(a.Shape()...), a.value)
	t.record(v, reluOp[T]{}, a, nil)
	return v
}

type reluOp[T Float] struct{}

func (reluOp[T]) name() string { return "Relu" }

// The mask 1[y > 0] is read from the output (equal to 1[a > 0]). When the
// backward pass is not recorded (a training step), g is masked in one
// vector pass (simd.MaskPositive) instead of a scalar loop building the
// mask and a multiplication by it: that pair was a fifth of a ResNet
// step's time, its branches on random signs mispredicting.
func (reluOp[T]) backward(t *Tape[T], v, g *Var[T]) {
	a := v.in[0]
	if !t.wants(a) {
		return
	}
	if !t.recording {
		dz := t.constLike(g.Shape())
		simd.MaskPositive(dz.value.Data(), g.value.Data(), v.value.Data())
		t.accum(a, dz)
		return
	}
	t.accum(a, Mul(g, stepMask(v)))
}

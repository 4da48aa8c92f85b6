package autograd

import "math/rand/v2"

// Dropout zeroes each element of x with probability p and scales the
// others by 1/(1-p) (inverted dropout, as torch.nn.functional.dropout in
// training mode). The mask is drawn from rng, so a seeded rng gives the
// same mask on every run.
func Dropout[T Float](x *Var[T], p float64, rng *rand.Rand) *Var[T] {
	if !(p >= 0 && p <= 1) { // also rejects NaN
		panic("autograd.Dropout: probability " + ftoa(p) + " outside [0, 1] for input shape " + shapeStr(x.Shape()))
	}
	if p == 0 {
		return x
	}
	if rng == nil {
		panic("autograd.Dropout: nil rng with p = " + ftoa(p) + " for input shape " + shapeStr(x.Shape()))
	}
	t := x.tape
	v := t.newVar()
	out := v.out(x.Shape()...)
	// The mask, kept in the scratch, holds the factor of each element: 0
	// or 1/(1-p). The output is x times the mask (so at p = 1 a NaN in x
	// stays NaN, as in PyTorch), and the gradient is g times the mask.
	mask := v.aux(x.Shape()...).Data()
	keep := T(0)
	if p < 1 {
		keep = T(1 / (1 - p))
	}
	xd, yd := x.value.Data(), out.Data()
	for i := range mask {
		// Float64 is uniform on multiples of 2^-53 in [0, 1): the element
		// is kept with probability 1-p exactly (up to that grid).
		if rng.Float64() >= p {
			mask[i] = keep
		} else {
			mask[i] = 0
		}
		yd[i] = xd[i] * mask[i]
	}
	if t.record(v, dropoutOp[T]{}, x, nil) {
		v.f = p
	}
	return v
}

type dropoutOp[T Float] struct{}

func (dropoutOp[T]) name() string { return "Dropout" }

// The mask is a constant, so the gradient g * mask is exact to every
// order.
func (dropoutOp[T]) backward(t *Tape[T], v, g *Var[T]) {
	if x := v.in[0]; t.wants(x) {
		t.accum(x, Mul(g, t.Const(v.scratch)))
	}
}

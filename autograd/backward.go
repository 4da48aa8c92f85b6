package autograd

import (
	"github.com/gradflow/gradflow/tensor"
)

// Backward computes the gradient of loss, which must hold one element, with
// respect to every leaf that requires a gradient, and adds it into the grad
// tensors those leaves were bound to (see Leaf). Like PyTorch it
// accumulates: zero the parameter gradients between steps.
//
// The backward pass itself is not recorded. Its intermediate Vars live on
// the tape until Reset, like those of the forward pass, so a training step
// in steady state allocates nothing. Gradients are added into the bound
// tensors while the pass runs (a layer's weight gradient goes straight from
// the GEMM into it), so those tensors must not be values the recorded
// operations read.
func (t *Tape[T]) Backward(loss *Var[T]) {
	if loss.tape != t {
		panic("autograd.Backward: loss lives on another tape")
	}
	if loss.value.Len() != 1 {
		panic("autograd.Backward: loss of shape " + shapeStr(loss.Shape()) + " is not a scalar; use Grad with a Seed")
	}
	if !loss.needsGrad {
		panic("autograd.Backward: loss does not depend on any leaf that requires a gradient (recorded in no-grad mode?)")
	}
	t.sweep(loss, t.onesLike(loss), false, true)
}

// BackwardFresh is Backward with the gradient tensors in grads set rather
// than added to: the result is that of zeroing them and calling Backward,
// without the pass that zeroes them or the reads of their old values (a
// layer's weight-gradient GEMM writes with beta = 0 instead of 1), as
// PyTorch's zero_grad(set_to_none=True) does for the first backward pass
// after it. A tensor in grads that the loss does not reach is zeroed; bound
// gradient tensors not in grads accumulate as with Backward. The values are
// those of zeroing and accumulating, except that a gradient that comes out
// as -0 stays -0 (0 + -0 would be +0). train.Stepper uses it with the
// optimizer's gradients. grads must not hold a tensor twice.
func (t *Tape[T]) BackwardFresh(loss *Var[T], grads []*tensor.Tensor[T]) {
	t.fresh = append(t.fresh[:0], grads...)
	defer func() {
		for _, g := range t.fresh {
			g.Zero()
		}
		clear(t.fresh)
		t.fresh = t.fresh[:0]
	}()
	t.Backward(loss)
}

// GradOptions configures Grad.
type GradOptions[T Float] struct {
	// CreateGraph records the backward pass on the tape, so that the
	// returned gradients are differentiable functions of the inputs and can
	// be differentiated again (Hessian-vector products, gradient penalties).
	CreateGraph bool
	// Seed is the vector u of the vector-Jacobian product u^T (dy/dx) that
	// Grad computes; it must have y's shape. Nil means ones, which for a
	// scalar y gives the plain gradient. A Seed that requires a gradient
	// (with CreateGraph) makes the result differentiable in u, which turns
	// a VJP into a JVP by a second backward pass.
	Seed *Var[T]
}

// Grad returns the gradients of y with respect to xs (u^T dy/dx for each x,
// with u = opts.Seed or ones) without touching the gradient tensors bound
// to leaves. Each x must require a gradient; an x that y does not depend on
// gets a zero gradient. The results live on the tape until Reset.
func (t *Tape[T]) Grad(y *Var[T], xs []*Var[T], opts GradOptions[T]) []*Var[T] {
	return t.GradInto(nil, y, xs, opts)
}

// GradInto is Grad appending the gradients to dst[:0], so that a caller
// reusing dst allocates nothing.
func (t *Tape[T]) GradInto(dst []*Var[T], y *Var[T], xs []*Var[T], opts GradOptions[T]) []*Var[T] {
	if y.tape != t {
		panic("autograd.Grad: y lives on another tape")
	}
	for _, x := range xs {
		if x.tape != t {
			panic("autograd.Grad: an input lives on another tape")
		}
		if !x.needsGrad {
			panic("autograd.Grad: input of shape " + shapeStr(x.Shape()) + " (" + x.Op() + ") does not require a gradient")
		}
	}
	seed := opts.Seed
	if seed == nil {
		seed = t.onesLike(y)
	} else if !sameShape(seed.Shape(), y.Shape()) {
		panic("autograd.Grad: seed shape " + shapeStr(seed.Shape()) + " differs from output shape " + shapeStr(y.Shape()))
	}
	dst = dst[:0]
	if y.needsGrad {
		t.gen++
		t.markReach(y, xs)
		t.sweepMarked(y, seed, opts.CreateGraph, false)
	}
	for _, x := range xs {
		if y.needsGrad && x.gradGen == t.gen && x.grad != nil {
			dst = append(dst, x.grad)
			continue
		}
		z := t.constLike(x.Shape())
		z.value.Zero()
		dst = append(dst, z)
	}
	return dst
}

// onesLike returns a constant of ones shaped like v.
func (t *Tape[T]) onesLike(v *Var[T]) *Var[T] {
	s := t.constLike(v.Shape())
	s.value.Fill(1)
	return s
}

// markReach stamps with the next generation every Var from which some x
// is reachable backwards, i.e. that lies on a path from an x to y: only
// those need gradients in Grad.
func (t *Tape[T]) markReach(y *Var[T], xs []*Var[T]) {
	g := t.gen
	for _, x := range xs {
		x.reach = g
	}
	for i := 0; i <= y.id; i++ {
		v := t.vars[i]
		if v.op == nil || v.reach == g {
			continue
		}
		if v.in[0] != nil && v.in[0].reach == g || v.in[1] != nil && v.in[1].reach == g {
			v.reach = g
			continue
		}
		for _, in := range v.ins {
			if in != nil && in.reach == g {
				v.reach = g
				break
			}
		}
	}
}

// sweep runs a full backward pass (every Var that requires a gradient) from
// y with gradient seed.
func (t *Tape[T]) sweep(y, seed *Var[T], createGraph, accumulate bool) {
	t.gen++
	t.pruning = false
	t.run(y, seed, createGraph, accumulate)
}

// sweepMarked runs a backward pass restricted to the Vars markReach
// stamped.
func (t *Tape[T]) sweepMarked(y, seed *Var[T], createGraph, accumulate bool) {
	t.pruning = true
	t.run(y, seed, createGraph, accumulate)
	t.pruning = false
}

// run walks the tape from y down to its first Var. Recording order is a
// topological order, so when a Var is reached every consumer has already
// added its share to the Var's gradient.
func (t *Tape[T]) run(y, seed *Var[T], createGraph, accumulate bool) {
	prev := t.recording
	t.recording = createGraph
	t.direct = accumulate && !createGraph
	defer func() { t.recording, t.direct = prev, false }()
	y.grad, y.gradGen = seed, t.gen
	for i := y.id; i >= 0; i-- {
		v := t.vars[i]
		if v.gradGen != t.gen || v.grad == nil {
			continue
		}
		if v.op != nil {
			v.op.backward(t, v, v.grad)
			continue
		}
		if accumulate && v.pgrad != nil {
			if t.claim(v.pgrad) {
				v.pgrad.CopyFrom(v.grad.value)
			} else {
				tensor.AddInto(v.pgrad, v.pgrad, v.grad.value)
			}
		}
	}
}

// HVP returns the Hessian-vector products H v of the scalar loss with
// respect to xs, where H is the Hessian in the concatenated inputs and v is
// given piecewise (vs[i] has xs[i]'s shape). It differentiates the
// recorded gradient: g = Grad(loss, xs, CreateGraph), then Grad(sum_i
// <g_i, v_i>, xs) (Pearlmutter's trick by double backward, as
// torch.autograd.functional.hvp does). Parameter gradients are not touched.
func (t *Tape[T]) HVP(loss *Var[T], xs []*Var[T], vs []*tensor.Tensor[T]) []*Var[T] {
	if len(vs) != len(xs) {
		panic("autograd.HVP: got " + itoa(len(vs)) + " vectors for " + itoa(len(xs)) + " inputs")
	}
	_, hv := t.GradHVP(loss, xs, vs)
	return hv
}

// GradHVP is HVP that also returns the gradient it differentiates, so a
// caller who needs both (a modified gradient flow's field grad L +
// c H grad L) pays for one double backward instead of a backward and a
// double backward. A nil vs means v = the gradient itself: the products
// are then H g, the gradient of |g|^2/2.
func (t *Tape[T]) GradHVP(loss *Var[T], xs []*Var[T], vs []*tensor.Tensor[T]) (grads, hvs []*Var[T]) {
	if vs != nil && len(vs) != len(xs) {
		panic("autograd.GradHVP: got " + itoa(len(vs)) + " vectors for " + itoa(len(xs)) + " inputs")
	}
	gs := t.Grad(loss, xs, GradOptions[T]{CreateGraph: true})
	var dot *Var[T]
	for i, g := range gs {
		v := g.Value()
		if vs != nil {
			v = vs[i]
		}
		if !sameShape(g.Shape(), v.Shape()) {
			panic("autograd.HVP: vector " + itoa(i) + " of shape " + shapeStr(v.Shape()) +
				" for an input of shape " + shapeStr(g.Shape()))
		}
		// With v = g the constant shares g's value, which the second
		// backward reads but never writes.
		d := Sum(Mul(g, t.Const(v)))
		if dot == nil {
			dot = d
		} else {
			dot = Add(dot, d)
		}
	}
	if dot == nil || !dot.needsGrad {
		// The gradient does not depend on xs: the Hessian is zero.
		out := make([]*Var[T], len(xs))
		for i, x := range xs {
			out[i] = t.constLike(x.Shape())
			out[i].value.Zero()
		}
		return gs, out
	}
	return gs, t.Grad(dot, xs, GradOptions[T]{})
}

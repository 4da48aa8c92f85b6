package autograd

import "github.com/gradflow/gradflow/tensor"

// Activation selects the activation a fused Linear applies in the GEMM
// epilogue.
type Activation = tensor.Activation

// The activations Linear can fuse.
const (
	ActIdentity = tensor.ActIdentity
	ActReLU     = tensor.ActReLU
)

// Linear returns act(alpha * x W^T + b) for x [n, in], w [out, in] and b
// [out] (or nil for no bias): PyTorch's nn.Linear with an optional
// multiplier alpha (for NTK and muP parameterizations) and activation. The
// product, the bias and the activation run as one GEMM with an epilogue,
// saving two passes over the output.
func Linear[T Float](x, w, b *Var[T], alpha float64, act Activation) *Var[T] {
	t := sameTape("Linear", x, w)
	xs, ws := x.Shape(), w.Shape()
	if len(xs) != 2 || len(ws) != 2 || xs[1] != ws[1] {
		panic("autograd.Linear: input shape " + shapeStr(xs) + " and weight shape " + shapeStr(ws) +
			" do not match (want [n, in] and [out, in])")
	}
	ep := tensor.Epilogue[T]{Act: act}
	if b != nil {
		sameTape("Linear", x, b)
		if bs := b.Shape(); len(bs) != 1 || bs[0] != ws[0] {
			panic("autograd.Linear: bias shape " + shapeStr(bs) + " does not match weight shape " + shapeStr(ws))
		}
		ep.Bias = b.value
	}
	v := t.newVar()
	tensor.MatMulInto(v.out(xs[0], ws[0]), x.value, w.value, false, true, T(alpha), 0, ep)
	if t.record(v, linearOp[T]{}, x, w) || b != nil && t.record(v, linearOp[T]{}, b, nil) {
		v.in = [2]*Var[T]{x, w}
		v.ins = append(v.ins[:0], b)
		v.f, v.i0 = alpha, int(act)
	}
	return v
}

type linearOp[T Float] struct{}

func (linearOp[T]) name() string { return "Linear" }

// With z = alpha x W^T + b and y = act(z): dz = g * act'(z) (for ReLU the
// mask y > 0, read from the output so z need not be kept), dx = alpha dz W,
// dW = alpha dz^T x, db = sum over rows of dz.
func (linearOp[T]) backward(t *Tape[T], v, g *Var[T]) {
	x, w, b := v.in[0], v.in[1], v.ins[0]
	dz := g
	if Activation(v.i0) == ActReLU {
		dz = Mul(g, stepMask(v))
	}
	if t.wants(x) {
		t.accum(x, matmul(dz, w, false, false, v.f))
	}
	if t.wants(w) {
		t.accum(w, matmul(dz, x, true, false, v.f))
	}
	if b != nil && t.wants(b) {
		t.accum(b, SumAxis(dz, 0, false))
	}
}

// stepMask returns the constant 1[y > 0] shaped like y: the derivative of
// ReLU, whose own derivative is zero almost everywhere, so a constant is
// exact for double backward.
func stepMask[T Float](y *Var[T]) *Var[T] {
	m := y.tape.constLike(y.Shape())
	d, s := m.value.Data(), y.value.Data()
	for i := range d {
		if s[i] > 0 {
			d[i] = 1
		} else {
			d[i] = 0
		}
	}
	return m
}

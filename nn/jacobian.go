package nn

import (
	"strconv"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/tensor"
)

// Jacobians of an MLP f: R^d -> R^k with respect to its P parameters
// (flattened in Params order, each tensor row-major).
//
// Method. Per-example gradients and the full Jacobian use the layer
// structure (the "structured derivatives" of Novak et al. 2022): a Linear
// layer z = alpha h W^T + beta b acts on each example separately, so one
// batched backward pass with seed S [n, k] gives, for every example i, the
// adjoint delta_i = dz/d(<S_i, f(x_i)>) of the layer's pre-activation; the
// example's weight gradient is then the outer product alpha delta_i h_i^T
// and its bias gradient beta delta_i. This costs one forward pass, one
// backward pass per seed (k of them for the full Jacobian) and the n*P
// writes of the result, instead of n backward passes (one per example)
// or n*k of them (one per row of J), and needs no batch-size-1 GEMMs.
//
// J^T u is one backward pass with seed u. J v uses the double-backward
// trick: u -> J^T u is linear, so J v = d/du <J^T u, v>, obtained by
// differentiating the recorded backward pass (about three passes; gradflow
// has no forward mode, and this needs nothing beyond Grad with
// CreateGraph).

// jacForward records m on t with unfused layers and returns the output and
// every layer's input h_l and pre-activation z_l.
func jacForward[T Float](m *MLP[T], t *autograd.Tape[T], x *autograd.Var[T]) (out *autograd.Var[T], hs, zs []*autograd.Var[T]) {
	h := x
	for _, l := range m.Layers {
		var b *autograd.Var[T]
		if l.Bias != nil {
			b = l.Bias.Var(t)
			if l.BiasMult != 1 {
				b = autograd.Scale(b, l.BiasMult)
			}
		}
		z := autograd.Linear(h, l.Weight.Var(t), b, l.Alpha, Identity)
		hs, zs = append(hs, h), append(zs, z)
		act := l.Act
		if act == "" {
			act = Identity
		}
		h = Apply(act, z)
	}
	return h, hs, zs
}

// PerExampleGrads returns G [n, P] whose row i is the gradient, with
// respect to all parameters of m, of <seed_i, f(x_i)> for the inputs x [n,
// d] and seed [n, k]. With seed_i = dl/df at (f(x_i), y_i) the rows are the
// per-example gradients of the loss l (for a mean loss divide by n); their
// mean is the batch gradient. Parameter gradients are not touched. See the
// comment on the method above.
func PerExampleGrads[T Float](m *MLP[T], x, seed *tensor.Tensor[T]) *tensor.Tensor[T] {
	n := x.Dim(0)
	k := m.Config.Dims[len(m.Config.Dims)-1]
	if seed.NDim() != 2 || seed.Dim(0) != n || seed.Dim(1) != k {
		panic("nn.PerExampleGrads: seed shape " + shapeStr(seed.Shape()) + ", want [" + strconv.Itoa(n) + " " + strconv.Itoa(k) + "]")
	}
	g := tensor.New[T](n, NumParams[T](m))
	t := autograd.NewTape[T]()
	out, hs, zs := jacForward(m, t, t.Const(x))
	perExample(m, t, out, hs, zs, t.Const(seed), g, 1, 0)
	return g
}

// perExample writes the per-example gradients of <seed, out> into rows
// row0, row0+stride, ... of g.
func perExample[T Float](m *MLP[T], t *autograd.Tape[T], out *autograd.Var[T], hs, zs []*autograd.Var[T],
	seed *autograd.Var[T], g *tensor.Tensor[T], stride, row0 int) {
	deltas := t.Grad(out, zs, autograd.GradOptions[T]{Seed: seed})
	P := g.Dim(1)
	gd := g.Data()
	col := 0
	for l, layer := range m.Layers {
		h, d := hs[l].Value(), deltas[l].Value()
		in, o := layer.In(), layer.Out()
		hd, dd := h.Data(), d.Data()
		alpha, beta := T(layer.Alpha), T(layer.BiasMult)
		for i := 0; i < h.Dim(0); i++ {
			row := gd[(row0+i*stride)*P:]
			hi, di := hd[i*in:(i+1)*in], dd[i*o:(i+1)*o]
			w := row[col : col+o*in]
			for r := 0; r < o; r++ {
				s := alpha * di[r]
				wr := w[r*in : (r+1)*in]
				for c, hv := range hi {
					wr[c] = s * hv
				}
			}
			if layer.Bias != nil {
				b := row[col+o*in : col+o*in+o]
				for r := range b {
					b[r] = beta * di[r]
				}
			}
		}
		col += o * in
		if layer.Bias != nil {
			col += o
		}
	}
}

// Jacobian returns J [n*k, P], row i*k + c holding d f_c(x_i) / d params,
// for x [n, d]. It processes chunk examples at a time (all at once if
// chunk <= 0) to bound the memory of the intermediate activations; J
// itself takes n*k*P elements, so for large models use JacobianChunks.
func Jacobian[T Float](m *MLP[T], x *tensor.Tensor[T], chunk int) *tensor.Tensor[T] {
	k := m.Config.Dims[len(m.Config.Dims)-1]
	J := tensor.New[T](x.Dim(0)*k, NumParams[T](m))
	JacobianChunks(m, x, chunk, func(i0 int, Jc *tensor.Tensor[T]) {
		copy(J.Data()[i0*k*J.Dim(1):], Jc.Data())
	})
	return J
}

// JacobianChunks computes the Jacobian chunk examples at a time and calls
// fn with the index of the chunk's first example and its rows of J (a
// [m*k, P] tensor for the m examples of the chunk; reused between calls).
func JacobianChunks[T Float](m *MLP[T], x *tensor.Tensor[T], chunk int, fn func(i0 int, J *tensor.Tensor[T])) {
	n := x.Dim(0)
	k := m.Config.Dims[len(m.Config.Dims)-1]
	if chunk <= 0 || chunk > n {
		chunk = n
	}
	P := NumParams[T](m)
	t := autograd.NewTape[T]()
	var buf *tensor.Tensor[T]
	for i0 := 0; i0 < n; i0 += chunk {
		i1 := min(i0+chunk, n)
		if buf == nil || buf.Dim(0) != (i1-i0)*k {
			buf = tensor.New[T]((i1-i0)*k, P)
		}
		t.Reset()
		out, hs, zs := jacForward(m, t, t.Const(x.Rows(i0, i1)))
		seed := tensor.New[T](i1-i0, k)
		sv := t.Const(seed)
		for c := 0; c < k; c++ {
			seed.Zero()
			for i := 0; i < i1-i0; i++ {
				seed.Set(1, i, c)
			}
			perExample(m, t, out, hs, zs, sv, buf, k, c)
		}
		fn(i0, buf)
	}
}

// VJP returns J^T u, flattened [P], for x [n, d] and u [n, k]: the
// gradient of sum_i <u_i, f(x_i)>, by one backward pass.
func VJP[T Float](m *MLP[T], x, u *tensor.Tensor[T]) *tensor.Tensor[T] {
	t := autograd.NewTape[T]()
	out := m.Forward(t, t.Const(x))
	xs := ParamVars(nil, t, m)
	gs := t.Grad(out, xs, autograd.GradOptions[T]{Seed: t.Const(u)})
	return flatten(gs, NumParams[T](m))
}

// JVP returns J v [n, k] for x [n, d] and a parameter direction v [P]
// (flattened in Params order), by the double-backward trick: J v is the
// gradient with respect to u of <J^T u, v>.
func JVP[T Float](m *MLP[T], x, v *tensor.Tensor[T]) *tensor.Tensor[T] {
	P := NumParams[T](m)
	if v.Len() != P {
		panic("nn.JVP: direction of " + strconv.Itoa(v.Len()) + " elements for " + strconv.Itoa(P) + " parameters")
	}
	t := autograd.NewTape[T]()
	out := m.Forward(t, t.Const(x))
	xs := ParamVars(nil, t, m)
	u := t.Leaf(tensor.New[T](out.Shape()...), nil) // the value of u is irrelevant: J^T u is linear in u
	gs := t.Grad(out, xs, autograd.GradOptions[T]{Seed: u, CreateGraph: true})
	var dot *autograd.Var[T]
	off := 0
	for _, g := range gs {
		n := g.Value().Len()
		vi := tensor.FromSlice(v.Data()[off:off+n], g.Shape()...)
		off += n
		d := autograd.Sum(autograd.Mul(g, t.Const(vi)))
		if dot == nil {
			dot = d
		} else {
			dot = autograd.Add(dot, d)
		}
	}
	return t.Grad(dot, []*autograd.Var[T]{u}, autograd.GradOptions[T]{})[0].Value().Clone()
}

func flatten[T Float](gs []*autograd.Var[T], P int) *tensor.Tensor[T] {
	out := tensor.New[T](P)
	off := 0
	for _, g := range gs {
		off += copy(out.Data()[off:], g.Value().Data())
	}
	return out
}

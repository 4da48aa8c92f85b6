package ntk

import (
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/tensor"
)

// denseNet is the layer structure of an MLP as the structured computations
// see it: z_l = Alpha_l h_l W_l^T + BiasMult_l b_l, h_{l+1} = act_l(z_l).
// It reads the layers of an nn.MLP (or a single nn.Linear) without copying.
type denseNet[T tensor.Float] struct {
	layers []*nn.Linear[T]
}

// denseOf returns the structure of m if it is an MLP or a Linear layer.
func denseOf[T tensor.Float](m nn.Module[T]) (denseNet[T], bool) {
	switch v := m.(type) {
	case *nn.MLP[T]:
		return denseNet[T]{layers: v.Layers}, len(v.Layers) > 0
	case *nn.Linear[T]:
		return denseNet[T]{layers: []*nn.Linear[T]{v}}, true
	}
	return denseNet[T]{}, false
}

func (d denseNet[T]) in() int  { return d.layers[0].In() }
func (d denseNet[T]) out() int { return d.layers[len(d.layers)-1].Out() }

// forwardCache holds what the structured Jacobian needs from a forward pass
// over a batch of c inputs: the scaled layer inputs Alpha_l h_l [c, in_l]
// and the activation derivatives act_l'(z_l) [c, out_l], plus the output.
type forwardCache[T tensor.Float] struct {
	hs   []*tensor.Tensor[T] // Alpha_l h_l
	raw  []*tensor.Tensor[T] // h_l (unscaled), for forward-mode products
	ders []*tensor.Tensor[T]
	out  *tensor.Tensor[T]
}

// forward runs the network on x [c, in] with plain tensor operations.
func (d denseNet[T]) forward(x *tensor.Tensor[T]) forwardCache[T] {
	var fc forwardCache[T]
	h := x
	for _, l := range d.layers {
		fc.raw = append(fc.raw, h)
		fc.hs = append(fc.hs, tensor.Scale(h, T(l.Alpha)))
		z := tensor.MatMul(h, l.Weight.Value, false, true)
		if l.Alpha != 1 {
			tensor.ScaleInto(z, z, T(l.Alpha))
		}
		if l.Bias != nil {
			b := l.Bias.Value
			if l.BiasMult != 1 {
				b = tensor.Scale(b, T(l.BiasMult))
			}
			tensor.AddInto(z, z, b)
		}
		act := l.Act
		if act == "" {
			act = nn.Identity // a Linear's default
		}
		var der *tensor.Tensor[T]
		h, der = activate(z, act)
		fc.ders = append(fc.ders, der)
	}
	fc.out = h
	return fc
}

// activate returns act(z) and act'(z) in one pass over z, ReLU and the
// identity inline (their Eval, without its call per element).
func activate[T tensor.Float](z *tensor.Tensor[T], act nn.Activation) (h, der *tensor.Tensor[T]) {
	h, der = tensor.New[T](z.Shape()...), tensor.New[T](z.Shape()...)
	zd, hd, dd := z.Data(), h.Data(), der.Data()
	switch act {
	case nn.ReLU:
		for i, v := range zd {
			if v > 0 {
				hd[i], dd[i] = v, 1
			}
		}
	case nn.Identity:
		copy(hd, zd)
		for i := range dd {
			dd[i] = 1
		}
	default:
		for i, v := range zd {
			f, d := act.Eval(float64(v))
			hd[i], dd[i] = T(f), T(d)
		}
	}
	return h, der
}

// outputGrads returns, for every layer l, G_l [c, k, out_l] with G_l[i, a,
// :] = d f_a(x_i) / d z_l: the backward pass run once per output a, batched
// as a GEMM with c*k rows.
func (d denseNet[T]) outputGrads(fc forwardCache[T]) []*tensor.Tensor[T] {
	L := len(d.layers)
	c := fc.out.Dim(0)
	k := d.out()
	gs := make([]*tensor.Tensor[T], L)
	g := tensor.New[T](c, k, k)
	gd, dd := g.Data(), fc.ders[L-1].Data()
	for i := 0; i < c; i++ {
		for a := 0; a < k; a++ {
			gd[(i*k+a)*k+a] = dd[i*k+a]
		}
	}
	gs[L-1] = g
	for l := L - 2; l >= 0; l-- {
		next := d.layers[l+1]
		out := next.In()
		gl := tensor.MatMulInto(nil, g.Reshape(c*k, next.Out()), next.Weight.Value, false, false, T(next.Alpha), 0, tensor.Epilogue[T]{})
		gl = gl.Reshape(c, k, out)
		tensor.MulInto(gl, gl, fc.ders[l].Reshape(c, 1, out))
		gs[l] = gl
		g = gl
	}
	return gs
}

// structuredFeatures are the per-layer factors of the Jacobian of a batch.
type structuredFeatures[T tensor.Float] struct {
	hs, gs []*tensor.Tensor[T]
}

// rows returns the features of rows [i, j) of the batch (views).
func (f structuredFeatures[T]) rows(i, j int) structuredFeatures[T] {
	r := structuredFeatures[T]{hs: make([]*tensor.Tensor[T], len(f.hs)), gs: make([]*tensor.Tensor[T], len(f.gs))}
	for l := range f.hs {
		r.hs[l], r.gs[l] = f.hs[l].Rows(i, j), f.gs[l].Rows(i, j)
	}
	return r
}

// diagSplit returns the rows per strip of a diagonal block of c rows (c
// itself: no split). With s strips, (1 + 1/s) / 2 of the block's products
// are formed, while strips of at least 128 rows keep the GEMMs efficient.
// Measured on the 784-1024-1024-10 MLP at n = 512, one thread, CPU time
// (medians of 5, one process): whole 0.507 s; strips of 128 rows 0.423 s;
// 128 x 128 sub-blocks on and above the diagonal (the same products in
// more, smaller GEMMs) 0.430 s; 64 x 64 sub-blocks gained only 5%.
func diagSplit(c int) int {
	if !splitDiag || c < 256 {
		return c
	}
	return max(128, (c+3)/4)
}

// splitDiag enables diagSplit (a switch for benchmarks).
var splitDiag = true

func (d denseNet[T]) features(x *tensor.Tensor[T]) structuredFeatures[T] {
	fc := d.forward(x)
	return structuredFeatures[T]{hs: fc.hs, gs: d.outputGrads(fc)}
}

// featureLen returns the number of elements features stores per example.
func (d denseNet[T]) featureLen() int {
	k := d.out()
	n := 0
	for _, l := range d.layers {
		// scaled and raw input, derivative, pre-activation scratch and
		// the output gradients.
		n += 2*l.In() + 2*l.Out() + k*l.Out()
	}
	return n
}

// block adds the NTK between two batches of features to out, at rows i0
// and columns j0. For a Linear layer the Jacobian block of the weight is
// Alpha g h^T, so J J^T over that layer is (Alpha^2 h1.h2) (g1.g2); the
// bias adds BiasMult^2 (g1.g2); with weights (Options.ParamWeight) the
// two terms are multiplied by the weight's and the bias' own. Traced over
// outputs, sum_a g1_a.g2_a is a single GEMM over the flattened [k*out]
// rows.
//
// diag says f1 and f2 are the same rows (a block on the diagonal of a
// kernel of x1 with itself, whose lower triangle mirror overwrites): the
// block is then formed as strips of diagSplit rows, each against the
// columns from its own diagonal on (a staircase of the upper triangle).
func (d denseNet[T]) block(out *tensor.Tensor[T], i0, j0 int, f1, f2 structuredFeatures[T], sel func(string) bool, weight func(string) float64, full, diag bool) {
	if c := f1.hs[0].Dim(0); diag {
		if s := diagSplit(c); s < c {
			for p0 := 0; p0 < c; p0 += s {
				d.block(out, i0+p0, j0+p0, f1.rows(p0, min(p0+s, c)), f1.rows(p0, c), sel, weight, full, false)
			}
			return
		}
	}
	wt := func(p *nn.Param[T]) float64 {
		if weight == nil {
			return 1
		}
		return weight(p.Name)
	}
	k := d.out()
	c1, c2 := f1.hs[0].Dim(0), f2.hs[0].Dim(0)
	for l, layer := range d.layers {
		useW := sel == nil || sel(layer.Weight.Name)
		useB := layer.Bias != nil && (sel == nil || sel(layer.Bias.Name))
		if !useW && !useB {
			continue
		}
		var m *tensor.Tensor[T]
		if useW {
			m = tensor.MatMul(f1.hs[l], f2.hs[l], false, true)
			if w := wt(layer.Weight); w != 1 {
				tensor.ScaleInto(m, m, T(w))
			}
		} else {
			m = tensor.New[T](c1, c2)
		}
		if useB {
			b2 := layer.BiasMult * layer.BiasMult * wt(layer.Bias)
			tensor.AddScalarInto(m, m, T(b2))
		}
		o := layer.Out()
		if full {
			gg := tensor.MatMul(f1.gs[l].Reshape(c1*k, o), f2.gs[l].Reshape(c2*k, o), false, true)
			addFull(out, i0, j0, m, gg, k)
		} else {
			gg := tensor.MatMul(f1.gs[l].Reshape(c1, k*o), f2.gs[l].Reshape(c2, k*o), false, true)
			tensor.MulInto(gg, gg, m)
			addTraced(out, i0, j0, gg, 1/T(k))
		}
	}
}

// addTraced adds s*b [c1, c2] into out [n1, n2] at (i0, j0).
func addTraced[T tensor.Float](out *tensor.Tensor[T], i0, j0 int, b *tensor.Tensor[T], s T) {
	n2 := out.Dim(1)
	c1, c2 := b.Dim(0), b.Dim(1)
	od, bd := out.Data(), b.Data()
	for i := 0; i < c1; i++ {
		row := od[(i0+i)*n2+j0 : (i0+i)*n2+j0+c2]
		for j, v := range bd[i*c2 : (i+1)*c2] {
			row[j] += s * v
		}
	}
}

// addFull adds m[i, j] * gg[i*k+a, j*k+b] into out [n1, n2, k, k] at
// (i0+i, j0+j, a, b); m nil means ones.
func addFull[T tensor.Float](out *tensor.Tensor[T], i0, j0 int, m, gg *tensor.Tensor[T], k int) {
	n2 := out.Dim(1)
	c1, c2 := gg.Dim(0)/k, gg.Dim(1)/k
	od, gd := out.Data(), gg.Data()
	for i := 0; i < c1; i++ {
		for j := 0; j < c2; j++ {
			s := T(1)
			if m != nil {
				s = m.Data()[i*c2+j]
			}
			base := ((i0+i)*n2 + j0 + j) * k * k
			for a := 0; a < k; a++ {
				grow := gd[(i*k+a)*c2*k+j*k : (i*k+a)*c2*k+j*k+k]
				dst := od[base+a*k : base+a*k+k]
				for b, v := range grow {
					dst[b] += s * v
				}
			}
		}
	}
}

// activation returns an nn activation and its derivative, with PyTorch's
// conventions at kinks (ReLU'(0) = 0, LeakyReLU'(0) = slope), as autograd.

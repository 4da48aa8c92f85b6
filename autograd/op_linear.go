package autograd

import (
	"strconv"

	"github.com/gradflow/gradflow/internal/simd"
	"github.com/gradflow/gradflow/tensor"
)

// Linear returns act(alpha * x W^T + b) for x [n, in], w [out, in] and b
// [out] (or nil for no bias): PyTorch's nn.Linear with an optional
// multiplier alpha (for NTK and muP parameterizations) and activation. An
// empty act means identity, as in an Epilogue.
//
// Bias and a Fusable activation are fused into the product
// (tensor.Epilogue): the bias enters the output before the product
// accumulates onto it, as BLAS-based frameworks do with addmm, and the
// ReLU is applied while each block of the output is in cache. Any other
// activation is recorded after the product as a separate op (Activate):
// the kernels do not implement it, and it would cost its own pass over
// the output anyway. The product is split by the output's columns, the
// rows of W (tensor.SplitCols), so that on several cores each core reads
// the rows of W that the weight-gradient product and the optimizer write
// on that same core (see linearBackwardFast).
func Linear[T Float](x, w, b *Var[T], alpha float64, act Activation) *Var[T] {
	t := sameTape("Linear", x, w)
	xs, ws := x.Shape(), w.Shape()
	if len(xs) != 2 || len(ws) != 2 || xs[1] != ws[1] {
		panic("autograd.Linear: input shape " + shapeStr(xs) + " and weight shape " + shapeStr(ws) +
			" do not match (want [n, in] and [out, in])")
	}
	if act != "" && !act.Valid() {
		panic("autograd.Linear: unknown activation " + strconv.Quote(string(act)))
	}
	fused := act
	if !act.Fusable() {
		fused = ""
	}
	v := t.newVar()
	out := v.out(xs[0], ws[0])
	ep := tensor.Epilogue[T]{Act: fused, Split: tensor.SplitCols}
	if b != nil {
		sameTape("Linear", x, b)
		if bs := b.Shape(); len(bs) != 1 || bs[0] != ws[0] {
			panic("autograd.Linear: bias shape " + shapeStr(bs) + " does not match weight shape " + shapeStr(ws))
		}
		ep.Bias = b.value
	}
	tensor.MatMulInto(out, x.value, w.value, false, true, T(alpha), 0, ep)
	if t.record(v, linearOp[T]{}, x, w) || b != nil && t.record(v, linearOp[T]{}, b, nil) {
		v.in = [2]*Var[T]{x, w}
		v.ins = append(v.ins[:0], b)
		v.f, v.flag = alpha, fused == tensor.ReLU
	}
	if fused != act {
		return Activate(act, v)
	}
	return v
}

type linearOp[T Float] struct{}

func (linearOp[T]) name() string { return "Linear" }

// With z = alpha x W^T + b and y = act(z): dz = g * act'(z) (for ReLU the
// mask y > 0, read from the output so z need not be kept), dx = alpha dz W,
// dW = alpha dz^T x, db = sum over rows of dz.
func (linearOp[T]) backward(t *Tape[T], v, g *Var[T]) {
	if !t.recording {
		linearBackwardFast(t, v, g)
		return
	}
	x, w, b := v.in[0], v.in[1], v.ins[0]
	dz := g
	if v.flag { // fused ReLU
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

// linearBackwardFast is the backward rule of Linear when the backward pass
// is not recorded, the case of every training step. It computes the
// values of the recorded rule with fewer passes over memory: the ReLU mask
// and the bias gradient's column sums are one pass over g, and the weight
// (and bias) gradients go straight into the parameter's gradient tensor
// when Backward allows it (GEMM with beta = 1 rather than a product, then
// an addition). dX = dZ W divides its inner dimension, the rows of W, in
// the row shares of W (tensor.SplitK): each core then reads only the rows
// of W it owns, and the optimizer's update of those rows finds no copies
// in the other core's cache to take back (measured: a two-thread
// 784-512-512-10 step 4% faster than with dX split by its columns, which
// made each core read half of every row). The two partial products are
// added at the end, so dX differs from the recorded rule's in the last
// bits; it is the same for any number of threads.
func linearBackwardFast[T Float](t *Tape[T], v, g *Var[T]) {
	x, w, b := v.in[0], v.in[1], v.ins[0]
	wantB := b != nil && t.wants(b)
	n, out := g.Shape()[0], g.Shape()[1]

	// Column sums of dz, for the bias: into v's scratch when they are added
	// to the bias's gradient tensor right away, else into a new Var.
	var colSum []T
	var bVar *Var[T]
	bDirect := wantB && t.directGrad(b) != nil
	if wantB {
		if bDirect {
			colSum = v.aux(out).Data()
		} else {
			bVar = t.constLike([]int{out})
			colSum = bVar.value.Data()
		}
	}

	dz := g
	if v.flag { // fused ReLU
		dz = t.constLike(g.Shape())
		t.relu.run(dz.value.Data(), g.value.Data(), v.value.Data(), colSum, n, out)
	} else if wantB {
		// The same order of additions as SumAxisInto: row by row.
		gd := g.value.Data()
		copy(colSum, gd[:out])
		for r := 1; r < n; r++ {
			row := gd[r*out : (r+1)*out]
			for j, d := range row {
				colSum[j] += d
			}
		}
	}
	if n == 0 && wantB {
		clear(colSum)
	}

	if t.wants(x) {
		gemmGrad(t, x, dz, w, false, v.f, tensor.SplitK)
	}
	if t.wants(w) {
		gemmGrad(t, w, dz, x, true, v.f, tensor.SplitRows)
	}
	if wantB {
		if bDirect {
			if pg, set := t.claimGrad(b); set {
				pg.CopyFrom(v.scratch)
			} else {
				tensor.AddInto(pg, pg, v.scratch)
			}
		} else {
			t.accum(b, bVar)
		}
	}
}

// gemmGrad adds alpha op(a) b to the gradient of x, where op transposes a
// when transA is set: straight into x's bound gradient tensor when the
// backward pass allows it (or writes it there, as the first contribution of
// a BackwardFresh), else as a new Var handed to accum.
func gemmGrad[T Float](t *Tape[T], x, a, b *Var[T], transA bool, alpha float64, split tensor.Split) {
	if pg, set := t.claimGrad(x); pg != nil {
		beta := T(1)
		if set {
			beta = 0 // the first contribution of a BackwardFresh: C is not read
		}
		tensor.MatMulInto(pg, a.value, b.value, transA, false, T(alpha), beta, tensor.Epilogue[T]{Split: split})
		return
	}
	t.accum(x, matmulSplit(a, b, transA, false, alpha, split))
}

// reluBackJob writes dz = g * 1[y > 0] for the [n, c] output y of a ReLU
// (simd.MaskPositive) and, when colSum is not nil, the column sums of dz
// into colSum (added row by row, in the order SumAxisInto uses), both in
// one pass (simd.MaskPositiveColSum).
//
// The work is divided by columns in the shares of the weight matrix's rows
// (pinned, see tensor/affinity.go): the forward product wrote those columns of y,
// the product for g wrote those columns of g, and the weight-gradient
// product reads those columns of dz, all on the same core.
type reluBackJob[T Float] struct {
	dz, g, y, colSum []T
	n, c, parts      int
}

func (j *reluBackJob[T]) run(dz, g, y, colSum []T, n, c int) {
	*j = reluBackJob[T]{dz: dz, g: g, y: y, colSum: colSum, n: n, c: c, parts: tensor.PinnedParts(n * c)}
	tensor.ForPinnedShares(j, j.parts)
	*j = reluBackJob[T]{}
}

// Do masks task t's piece of the column shares.
func (j *reluBackJob[T]) Do(_, t int) {
	lo, hi := tensor.SharePiece[T](j.c, j.parts, t)
	if lo == hi || j.n == 0 {
		return
	}
	if j.colSum != nil {
		// One pass: mask and column sums together, with the values and
		// the order of additions of masking every row and then summing
		// the rows.
		simd.MaskPositiveColSum(j.dz[lo:], j.g[lo:], j.y[lo:], j.c, j.n, hi-lo, j.colSum[lo:hi])
		return
	}
	for r := 0; r < j.n; r++ {
		o := r * j.c
		simd.MaskPositive(j.dz[o+lo:o+hi], j.g[o+lo:o+hi], j.y[o+lo:o+hi])
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

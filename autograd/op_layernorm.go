package autograd

import (
	"math"

	"github.com/gradflow/gradflow/internal/simd"
)

// LayerNorm normalizes x over its last dims axes to zero mean and unit
// (biased) variance plus eps, then applies the elementwise affine map
// w * xhat + b, where w and b (either may be nil) have the shape of those
// axes: torch.nn.functional.layer_norm.
func LayerNorm[T Float](x, w, b *Var[T], dims int, eps float64) *Var[T] {
	t := x.tape
	xs := x.Shape()
	if dims < 1 || dims > len(xs) {
		panic("autograd.LayerNorm: dims " + itoa(dims) + " out of range for input shape " + shapeStr(xs))
	}
	ns := xs[len(xs)-dims:]
	checkParam("LayerNorm", "weight", x, w, ns)
	checkParam("LayerNorm", "bias", x, b, ns)
	d := 1
	for _, n := range ns {
		d *= n
	}
	rows := 0
	if d > 0 {
		rows = x.value.Len() / d
	}
	v := t.newVar()
	out := v.out(xs...)
	// The scratch keeps each row's mean and 1/std for the backward pass,
	// followed by two rows of workspace for it and a row of ones, with
	// which the vector kernel Axpy adds a scalar to a row.
	st := v.aux(2*rows + 3*d).Data()
	mean, rstd, ones := st[:rows], st[rows:2*rows], st[2*rows+2*d:]
	for i := range ones {
		ones[i] = 1
	}
	xd, yd, wd, bd := x.value.Data(), out.Data(), dataOrNil(w), dataOrNil(b)
	for r := 0; r < rows; r++ {
		xr, yr := xd[r*d:(r+1)*d], yd[r*d:(r+1)*d]
		// Two passes, the reductions in vector kernels: the mean, then
		// the squared deviations from it, which are also the first step
		// of the output.
		m := T(float64(simd.Sum(xr)) / float64(d))
		copy(yr, xr)
		simd.Axpy(-m, ones, yr)
		rs := T(1 / math.Sqrt(float64(simd.Dot(yr, yr))/float64(d)+eps))
		mean[r], rstd[r] = m, rs
		// xhat first and then the affine map, the order of
		// torch.nn.functional.layer_norm's definition.
		simd.Scale(rs, yr, yr)
		if wd != nil {
			simd.Mul(yr, yr, wd)
		}
		if bd != nil {
			simd.Add(yr, yr, bd)
		}
	}
	if t.record(v, layerNormOp[T]{}, x, w) || b != nil && t.record(v, layerNormOp[T]{}, b, nil) {
		v.in = [2]*Var[T]{x, w}
		v.ins = append(v.ins[:0], b)
		v.f, v.i0 = eps, d
	}
	return v
}

type layerNormOp[T Float] struct{}

func (layerNormOp[T]) name() string { return "LayerNorm" }

// See op_norm.go for the formulas; the groups are the rows.
func (layerNormOp[T]) backward(t *Tape[T], v, g *Var[T]) {
	x, w, b := v.in[0], v.in[1], v.ins[0]
	d := v.i0
	rows := 0
	if d > 0 {
		rows = x.value.Len() / d
	}
	if !t.recording {
		layerNormBackwardFast(t, v, g, rows, d)
		return
	}
	l := normView{shape: [3]int{rows, d, 1}}
	xhat, rstd := normalizeGraph(l, Reshape(x, rows, d, 1), v.f)
	normBackwardGraph(t, l, x, w, b, g, xhat, rstd, true)
}

// layerNormBackwardFast is the backward rule when the backward pass is
// not recorded. Per row, xhat is recomputed from x and the row's
// statistics into a workspace row (rather than stored by the forward pass,
// which would cost a buffer the size of x and the traffic to fill it);
// the parameter gradients, g' = w g and the two means are vector kernels
// on it, and one more pass writes dx.
func layerNormBackwardFast[T Float](t *Tape[T], v, g *Var[T], rows, d int) {
	x, w, b := v.in[0], v.in[1], v.ins[0]
	st := v.scratch.Data()
	mean, rstd := st[:rows], st[rows:2*rows]
	xh, gp, ones := st[2*rows:2*rows+d], st[2*rows+d:2*rows+2*d], st[2*rows+2*d:]
	gd, xd, wd := g.value.Data(), x.value.Data(), dataOrNil(w)
	dw, dwVar := paramGrad(t, w)
	db, dbVar := paramGrad(t, b)
	var dx []T
	var dxVar *Var[T]
	if t.wants(x) {
		dxVar = t.constLike(x.Shape())
		dx = dxVar.value.Data()
	}
	for r := 0; r < rows; r++ {
		xr, gr := xd[r*d:(r+1)*d], gd[r*d:(r+1)*d]
		m, rs := mean[r], rstd[r]
		copy(xh, xr)
		simd.Axpy(-m, ones, xh)
		simd.Scale(rs, xh, xh)
		if db != nil {
			simd.Add(db, db, gr)
		}
		if dw != nil {
			simd.Mul(gp, gr, xh)
			simd.Add(dw, dw, gp)
		}
		if dx == nil {
			continue
		}
		gw := gr
		if wd != nil {
			simd.Mul(gp, gr, wd)
			gw = gp
		}
		a := T(float64(simd.Sum(gw)) / float64(d))
		c := T(float64(simd.Dot(gw, xh)) / float64(d))
		// dr = rs (g' - a - xhat c) as three vector passes.
		dr := dx[r*d : (r+1)*d]
		simd.Scale(rs, dr, gw)
		simd.Axpy(-rs*c, xh, dr)
		simd.Axpy(-rs*a, ones, dr)
	}
	if dxVar != nil {
		t.accum(x, dxVar)
	}
	if dwVar != nil {
		t.accum(w, dwVar)
	}
	if dbVar != nil {
		t.accum(b, dbVar)
	}
}

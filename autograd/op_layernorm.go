package autograd

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
	// The scratch keeps each row's mean and 1/std for the backward pass.
	st := v.aux(2, rows).Data()
	mean, rstd := st[:rows], st[rows:]
	xd, yd, wd, bd := x.value.Data(), out.Data(), dataOrNil(w), dataOrNil(b)
	for r := 0; r < rows; r++ {
		m, rs, _ := moments(xd, r*d, d, 1, d, eps)
		mean[r], rstd[r] = T(m), T(rs)
		affineRow(yd[r*d:(r+1)*d], xd[r*d:(r+1)*d], T(m), T(rs), wd, bd)
	}
	if t.record(v, layerNormOp[T]{}, x, w) || b != nil && t.record(v, layerNormOp[T]{}, b, nil) {
		v.in = [2]*Var[T]{x, w}
		v.ins = append(v.ins[:0], b)
		v.f, v.i0 = eps, d
	}
	return v
}

// affineRow writes y = (x - m) rs w + b, with w and b taken as ones and
// zeros when nil. It computes xhat first and then the affine map, the
// order of PyTorch's kernel, so that float64 results agree with it to the
// last bits.
func affineRow[T Float](y, x []T, m, rs T, w, b []T) {
	y = y[:len(x)]
	switch {
	case w != nil && b != nil:
		w, b = w[:len(x)], b[:len(x)]
		for i, xi := range x {
			y[i] = (xi-m)*rs*w[i] + b[i]
		}
	case w != nil:
		w = w[:len(x)]
		for i, xi := range x {
			y[i] = (xi - m) * rs * w[i]
		}
	case b != nil:
		b = b[:len(x)]
		for i, xi := range x {
			y[i] = (xi-m)*rs + b[i]
		}
	default:
		for i, xi := range x {
			y[i] = (xi - m) * rs
		}
	}
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
// not recorded: per row, one pass accumulates mean(g') and mean(g' xhat)
// together with the parameter gradients, and a second writes dx. xhat is
// recomputed from x and the row's statistics rather than stored: that
// costs a subtraction and a product per element and saves a buffer the
// size of x and the traffic to fill it.
func layerNormBackwardFast[T Float](t *Tape[T], v, g *Var[T], rows, d int) {
	x, w, b := v.in[0], v.in[1], v.ins[0]
	st := v.scratch.Data()
	mean, rstd := st[:rows], st[rows:]
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
		var sg, sgx float64
		for i, xi := range xr {
			xh := (xi - m) * rs
			gi := gr[i]
			if dw != nil {
				dw[i] += gi * xh
			}
			if db != nil {
				db[i] += gi
			}
			if wd != nil {
				gi *= wd[i]
			}
			sg += float64(gi)
			sgx += float64(gi * xh)
		}
		if dx == nil {
			continue
		}
		a, c := T(sg/float64(d)), T(sgx/float64(d))
		dr := dx[r*d : (r+1)*d]
		for i, xi := range xr {
			xh := (xi - m) * rs
			gi := gr[i]
			if wd != nil {
				gi *= wd[i]
			}
			dr[i] = rs * (gi - a - xh*c)
		}
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

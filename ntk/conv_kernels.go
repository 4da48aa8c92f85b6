package ntk

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/gradflow/gradflow/internal/parallel"
)

// Kernels returns the infinite-width NNGP kernel and NTK of the network
// between the images in the rows of x1 (n1 x C*H*W) and x2 (n2 x C*H*W),
// each row an image of shape = {C, H, W} in the project's NCHW order
// (channel-major: element c*H*W + h*W + w). A nil x2 (also a nil
// *mat.Dense) means x1, and the kernels are then exactly symmetric.
//
// The work is divided among GOMAXPROCS workers by input pairs; every pair
// is computed the same way whichever worker takes it, so the numbers do
// not depend on GOMAXPROCS. The error names the problem: a row length
// other than C*H*W, non-finite inputs, or an invalid architecture (see
// ConvArch).
func (a ConvArch) Kernels(x1, x2 mat.Matrix, shape [3]int) (Kernel, error) {
	if err := nonNilMatrix("ConvArch.Kernels", "x1", x1); err != nil {
		return Kernel{}, err
	}
	x2 = optional(x2)
	nngp, ntk, err := a.kernels(x1, x2, shape)
	if err != nil {
		return Kernel{}, err
	}
	return Kernel{NNGP: nngp, NTK: ntk}, nil
}

// Gram returns the kernels of the images in the rows of x with
// themselves, the numbers of Kernels(x, nil, shape), as symmetric
// matrices that store both triangles (see Arch.Gram).
func (a ConvArch) Gram(x mat.Matrix, shape [3]int) (Gram, error) {
	if err := nonNilMatrix("ConvArch.Gram", "x", x); err != nil {
		return Gram{}, err
	}
	c, theta, err := a.kernels(x, nil, shape)
	if err != nil {
		return Gram{}, err
	}
	n, _ := c.Dims()
	return Gram{NNGP: mat.NewSymDense(n, c.RawMatrix().Data), NTK: mat.NewSymDense(n, theta.RawMatrix().Data)}, nil
}

// ConvCost describes how Kernels evaluates an architecture on images of
// one shape.
type ConvCost struct {
	// FullPixelPairs reports whether the state of a pair holds the
	// covariances of all pixel pairs, [H*W, H*W] (needed below pooling
	// layers), rather than of same-pixel pairs only, [H*W].
	FullPixelPairs bool
	// StateFloats is the length of the largest per-pair state.
	StateFloats int
	// PairOps estimates the floating-point operations per input pair,
	// counting an activation's kernel map as 20.
	PairOps float64
}

// Cost returns how Kernels would evaluate a on images of shape {C, H, W},
// or the error Kernels would return for the architecture.
func (a ConvArch) Cost(shape [3]int) (ConvCost, error) {
	p, err := a.plan(shape)
	if err != nil {
		return ConvCost{}, err
	}
	return ConvCost{FullPixelPairs: p.mode0 == modeFull, StateFloats: p.maxLen, PairOps: p.flops + float64(p.c*p.maxLen)}, nil
}

// kernels computes the NNGP kernel and NTK of Kernels.
func (a ConvArch) kernels(x1, x2 mat.Matrix, shape [3]int) (c, theta *mat.Dense, err error) {
	p, err := a.plan(shape)
	if err != nil {
		return nil, nil, err
	}
	same := x2 == nil
	d := p.c * p.h * p.w
	n1, d1 := x1.Dims()
	if d1 != d {
		return nil, nil, fmt.Errorf("ntk: x1 has rows of %d values, images of shape %v need C*H*W = %d", d1, shape, d)
	}
	if err := finite("x1", x1); err != nil {
		return nil, nil, err
	}
	j := &convJob{plan: p, same: same}
	j.x1 = rowsOf(x1)
	j.n1, j.n2 = n1, n1
	j.x2 = j.x1
	if !same {
		n2, d2 := x2.Dims()
		if d2 != d {
			return nil, nil, fmt.Errorf("ntk: x2 has rows of %d values, images of shape %v need C*H*W = %d", d2, shape, d)
		}
		if err := finite("x2", x2); err != nil {
			return nil, nil, err
		}
		j.x2, j.n2 = rowsOf(x2), n2
	}
	j.run()
	c = mat.NewDense(j.n1, j.n2, j.nngp)
	theta = mat.NewDense(j.n1, j.n2, j.ntk)
	if err := finite("NNGP kernel", c); err != nil {
		return nil, nil, err
	}
	if err := finite("NTK", theta); err != nil {
		return nil, nil, err
	}
	return c, theta, nil
}

// rowsOf returns the rows of x as one row-major slice.
func rowsOf(x mat.Matrix) []float64 {
	n, d := x.Dims()
	if r, ok := x.(mat.RawMatrixer); ok {
		if raw := r.RawMatrix(); raw.Stride == d {
			return raw.Data[:n*d]
		}
	}
	out := make([]float64, n*d)
	for i := 0; i < n; i++ {
		for k := 0; k < d; k++ {
			out[i*d+k] = x.At(i, k)
		}
	}
	return out
}

// pairBlock is the number of columns of one task of the pair pass: enough
// work per task to amortize claiming it, few enough tasks to balance.
const pairBlock = 16

// convJob runs the two passes of a kernel computation. The first runs
// every image with itself and records, at each activation and layer norm,
// the variances Sigma(x, x, p, p) that the pairs need; the second runs
// every pair. Outputs of distinct tasks are disjoint.
type convJob struct {
	plan       *convPlan
	same       bool
	x1, x2     []float64
	n1, n2     int
	v1, v2     []float64 // variance records, plan.varTotal per image
	self1      []float64 // NNGP and NTK of every x1 image with itself (same)
	nngp, ntk  []float64
	ws         []workspace
	selfPass   bool
	colBlocks  int
	selfImages int
}

func (j *convJob) run() {
	p := j.plan
	j.ws = make([]workspace, parallel.MaxWorkers(0))
	for i := range j.ws {
		j.ws[i].max = p.maxLen
	}
	j.v1 = make([]float64, j.n1*p.varTotal)
	j.self1 = make([]float64, 2*j.n1)
	j.v2 = j.v1
	nimg := j.n1
	if !j.same {
		j.v2 = make([]float64, j.n2*p.varTotal)
		nimg += j.n2
	}
	j.selfPass, j.selfImages = true, nimg
	parallel.Run(j, nimg, 0)

	j.nngp = make([]float64, j.n1*j.n2)
	j.ntk = make([]float64, j.n1*j.n2)
	j.selfPass = false
	j.colBlocks = (j.n2 + pairBlock - 1) / pairBlock
	parallel.Run(j, j.n1*j.colBlocks, 0)
	if j.same {
		for i := 0; i < j.n1; i++ {
			j.nngp[i*j.n1+i], j.ntk[i*j.n1+i] = j.self1[2*i], j.self1[2*i+1]
		}
	}
}

// Do runs one image (first pass) or one block of pairs (second pass).
func (j *convJob) Do(worker, task int) {
	p, ws := j.plan, &j.ws[worker]
	d := p.c * p.h * p.w
	if j.selfPass {
		x, v := j.x1, j.v1
		i := task
		if i >= j.n1 {
			i -= j.n1
			x, v = j.x2, j.v2
		}
		xi := x[i*d : (i+1)*d]
		vi := v[i*p.varTotal : (i+1)*p.varTotal]
		s := p.input(ws, xi, xi)
		s = p.run(ws, p.nodes, s, vi, vi, true)
		if task < j.n1 {
			j.self1[2*i], j.self1[2*i+1] = s.k[0], s.t[0]
		}
		ws.put(s.k)
		ws.put(s.t)
		return
	}
	i, jb := task/j.colBlocks, task%j.colBlocks
	xi := j.x1[i*d : (i+1)*d]
	vi := j.v1[i*p.varTotal : (i+1)*p.varTotal]
	for k := jb * pairBlock; k < min((jb+1)*pairBlock, j.n2); k++ {
		if j.same && k <= i {
			continue
		}
		s := p.input(ws, xi, j.x2[k*d:(k+1)*d])
		s = p.run(ws, p.nodes, s, vi, j.v2[k*p.varTotal:(k+1)*p.varTotal], false)
		j.nngp[i*j.n2+k], j.ntk[i*j.n2+k] = s.k[0], s.t[0]
		if j.same {
			j.nngp[k*j.n2+i], j.ntk[k*j.n2+i] = s.k[0], s.t[0]
		}
		ws.put(s.k)
		ws.put(s.t)
	}
}

// workspace is one worker's free list of state buffers, so that the pair
// loop does not allocate once every buffer exists.
type workspace struct {
	free [][]float64
	max  int
}

func (ws *workspace) get(n int) []float64 {
	if k := len(ws.free); k > 0 {
		b := ws.free[k-1]
		ws.free = ws.free[:k-1]
		return b[:n]
	}
	return make([]float64, n, ws.max)
}

func (ws *workspace) put(b []float64) { ws.free = append(ws.free, b) }

// pstate is the kernel state of one pair: the NNGP covariances k and the
// NTK t, in the form and shape the next node expects.
type pstate struct{ k, t []float64 }

// input returns the input kernel of the images a and b: K0(p, p') =
// sum_c a[c, p] b[c, p'] / C, the channel-averaged covariance of
// neural-tangents, for all pixel pairs or same-pixel pairs; Theta0 = 0.
func (p *convPlan) input(ws *workspace, a, b []float64) pstate {
	S := p.h * p.w
	inv := 1 / float64(p.c)
	var s pstate
	if p.mode0 == modeFull {
		s.k = ws.get(S * S)
		clear(s.k)
		for c := 0; c < p.c; c++ {
			ac, bc := a[c*S:(c+1)*S], b[c*S:(c+1)*S]
			for q, av := range ac {
				row := s.k[q*S : (q+1)*S]
				for r, bv := range bc {
					row[r] += av * bv
				}
			}
		}
	} else {
		s.k = ws.get(S)
		clear(s.k)
		for c := 0; c < p.c; c++ {
			ac, bc := a[c*S:(c+1)*S], b[c*S:(c+1)*S]
			for q, av := range ac {
				s.k[q] += av * bc[q]
			}
		}
	}
	for i := range s.k {
		s.k[i] *= inv
	}
	s.t = ws.get(len(s.k))
	clear(s.t)
	return s
}

// run applies nodes to the state s of a pair whose images have the
// variance records v1 and v2. With self, the pair is an image with itself
// (v1 and v2 are the same slice) and the records are written from the
// diagonal of the state as the nodes reach them.
func (p *convPlan) run(ws *workspace, nodes []cnode, s pstate, v1, v2 []float64, self bool) pstate {
	for i := range nodes {
		s = p.apply(ws, &nodes[i], s, v1, v2, self)
	}
	return s
}

// stateLen returns the length of a state of the given form and shape.
func stateLen(m kmode, h, w int) int {
	switch m {
	case modeFull:
		return h * w * h * w
	case modeDiag:
		return h * w
	}
	return 1
}

// apply applies one node.
func (p *convPlan) apply(ws *workspace, n *cnode, s pstate, v1, v2 []float64, self bool) pstate {
	switch n.op {
	case opDiag:
		S := n.ih * n.iw
		out := pstate{k: ws.get(S), t: ws.get(S)}
		for q := 0; q < S; q++ {
			out.k[q], out.t[q] = s.k[q*S+q], s.t[q*S+q]
		}
		ws.put(s.k)
		ws.put(s.t)
		return out

	case OpConv, OpDense:
		scale := n.w2 / float64(n.fh*n.fw)
		if n.fh > 1 || n.fw > 1 || n.ph > 0 || n.pw > 0 {
			s = p.convSum(ws, n, s)
		}
		// NTK parameterization: Sigma = W^2 mean_filter(K) + b^2,
		// Theta = Sigma + W^2 mean_filter(Theta).
		for i := range s.k {
			s.k[i] = scale*s.k[i] + n.b2
			s.t[i] = s.k[i] + scale*s.t[i]
		}
		return s

	case OpAct:
		q1, q2 := p.variances(n, s, v1, v2, self)
		switch n.mode {
		case modeFull:
			S := n.ih * n.iw
			for a := 0; a < S; a++ {
				k, t := s.k[a*S:(a+1)*S], s.t[a*S:(a+1)*S]
				qa := q1[a]
				for b := range k {
					kk, kd := n.act.pair(qa, q2[b], k[b])
					k[b] = kk
					t[b] *= kd
				}
			}
		default:
			for a := range s.k {
				kk, kd := n.act.pair(q1[a], q2[a], s.k[a])
				s.k[a] = kk
				s.t[a] *= kd
			}
		}
		return s

	case OpLayerNorm:
		q1, q2 := p.variances(n, s, v1, v2, self)
		if n.spatial {
			var m1, m2 float64
			for a := range q1 {
				m1 += q1[a]
				m2 += q2[a]
			}
			m1, m2 = m1/float64(len(q1))+n.eps, m2/float64(len(q2))+n.eps
			inv := 1 / math.Sqrt(m1*m2)
			for i := range s.k {
				s.k[i] *= inv
				s.t[i] *= inv
			}
			return s
		}
		switch n.mode {
		case modeFull:
			S := n.ih * n.iw
			for a := 0; a < S; a++ {
				k, t := s.k[a*S:(a+1)*S], s.t[a*S:(a+1)*S]
				qa := q1[a] + n.eps
				for b := range k {
					inv := 1 / math.Sqrt(qa*(q2[b]+n.eps))
					k[b] *= inv
					t[b] *= inv
				}
			}
		default:
			for a := range s.k {
				inv := 1 / math.Sqrt((q1[a]+n.eps)*(q2[a]+n.eps))
				s.k[a] *= inv
				s.t[a] *= inv
			}
		}
		return s

	case OpAvgPool:
		return p.poolSum(ws, n, s)

	case OpGlobalAvgPool, OpFlatten:
		S := n.ih * n.iw
		var k, t float64
		switch {
		case n.op == OpFlatten && n.mode == modeFull:
			for q := 0; q < S; q++ {
				k += s.k[q*S+q]
				t += s.t[q*S+q]
			}
			k, t = k/float64(S), t/float64(S)
		default:
			// GlobalAvgPool of all pixel pairs, or Flatten of the
			// diagonal: both are the mean of the state.
			for i := range s.k {
				k += s.k[i]
				t += s.t[i]
			}
			k, t = k/float64(len(s.k)), t/float64(len(s.t))
		}
		out := pstate{k: ws.get(1), t: ws.get(1)}
		out.k[0], out.t[0] = k, t
		ws.put(s.k)
		ws.put(s.t)
		return out

	case OpResidual:
		m := len(s.k)
		s2 := pstate{k: ws.get(m), t: ws.get(m)}
		copy(s2.k, s.k)
		copy(s2.t, s.t)
		s = p.run(ws, n.branch, s, v1, v2, self)
		s2 = p.run(ws, n.shortcut, s2, v1, v2, self)
		for i := range s.k {
			s.k[i] += s2.k[i]
			s.t[i] += s2.t[i]
		}
		ws.put(s2.k)
		ws.put(s2.t)
		return s
	}
	panic("ntk: invalid compiled layer")
}

// variances returns the variance records of node n for the two images;
// in self mode it first records them from the diagonal of the state.
func (p *convPlan) variances(n *cnode, s pstate, v1, v2 []float64, self bool) (q1, q2 []float64) {
	off, m := p.varOff[n.varID], p.varLen[n.varID]
	q1, q2 = v1[off:off+m], v2[off:off+m]
	if self {
		if n.mode == modeFull {
			S := n.ih * n.iw
			for q := 0; q < S; q++ {
				q1[q] = s.k[q*S+q]
			}
		} else {
			copy(q1, s.k)
		}
	}
	return q1, q2
}

// convSum returns the filter sums of a stride-1 convolution of both the
// NNGP and the NTK state: sum_d K(p+d, p'+d) over the filter offsets d
// (zero outside the image), the same offset at both pixels because both
// outputs use the same filter tap. The box filter is separable, so the
// sums run over columns, then rows: O(state x (fh + fw)) rather than
// O(state x fh fw).
func (p *convPlan) convSum(ws *workspace, n *cnode, s pstate) pstate {
	out := pstate{}
	for _, src := range [2][]float64{s.k, s.t} {
		var dst []float64
		switch n.mode {
		case modeFull:
			// [ih][iw][ih][iw] -> [ih][ow][ih][ow] -> [oh][ow][oh][ow].
			tmp := ws.get(n.ih * n.ow * n.ih * n.ow)
			jointSum(tmp, src, n.ih, n.iw, n.ih, 1, n.ow, n.fw, n.pw)
			dst = ws.get(n.oh * n.ow * n.oh * n.ow)
			jointSum(dst, tmp, 1, n.ih, n.ow, n.ow, n.oh, n.fh, n.ph)
			ws.put(tmp)
		case modeDiag:
			tmp := ws.get(n.ih * n.ow)
			windowSum(tmp, src, n.ih, n.iw, 1, n.ow, n.fw, 1, n.pw)
			dst = ws.get(n.oh * n.ow)
			windowSum(dst, tmp, 1, n.ih, n.ow, n.oh, n.fh, 1, n.ph)
			ws.put(tmp)
		}
		ws.put(src)
		if out.k == nil {
			out.k = dst
		} else {
			out.t = dst
		}
	}
	return out
}

// poolSum returns the average pooling of both states of all pixel pairs:
// the mean over a window at each pixel independently, axis by axis.
func (p *convPlan) poolSum(ws *workspace, n *cnode, s pstate) pstate {
	ih, iw, oh, ow := n.ih, n.iw, n.oh, n.ow
	inv := 1 / float64(n.fh*n.fw*n.fh*n.fw)
	out := pstate{}
	for _, src := range [2][]float64{s.k, s.t} {
		// [ih][iw][ih][iw] -> [ih][iw][ih][ow] -> [ih][iw][oh][ow]
		// -> [ih][ow][oh][ow] -> [oh][ow][oh][ow].
		a := ws.get(ih * iw * ih * ow)
		windowSum(a, src, ih*iw*ih, iw, 1, ow, n.fw, n.sw, n.pw)
		ws.put(src)
		b := ws.get(ih * iw * oh * ow)
		windowSum(b, a, ih*iw, ih, ow, oh, n.fh, n.sh, n.ph)
		ws.put(a)
		c := ws.get(ih * ow * oh * ow)
		windowSum(c, b, ih, iw, oh*ow, ow, n.fw, n.sw, n.pw)
		ws.put(b)
		d := ws.get(oh * ow * oh * ow)
		windowSum(d, c, 1, ih, ow*oh*ow, oh, n.fh, n.sh, n.ph)
		ws.put(c)
		for i := range d {
			d[i] *= inv
		}
		if out.k == nil {
			out.k = d
		} else {
			out.t = d
		}
	}
	return out
}

// windowSum sums windows along the middle axis of src, viewed as
// [outer][n][inner], into dst [outer][on][inner]: dst[o][j][i] = sum over
// d < win of src[o][j*stride+d-pad][i], indices outside [0, n) being zero
// padding.
func windowSum(dst, src []float64, outer, n, inner, on, win, stride, pad int) {
	if inner == 1 {
		// Rows of one element: sum the window directly.
		for o := 0; o < outer; o++ {
			so, do := src[o*n:(o+1)*n], dst[o*on:(o+1)*on]
			for j := range do {
				var s float64
				for a := max(j*stride-pad, 0); a < min(j*stride-pad+win, n); a++ {
					s += so[a]
				}
				do[j] = s
			}
		}
		return
	}
	clear(dst)
	for o := 0; o < outer; o++ {
		so, do := src[o*n*inner:(o+1)*n*inner], dst[o*on*inner:(o+1)*on*inner]
		for j := 0; j < on; j++ {
			drow := do[j*inner : (j+1)*inner]
			for a := max(j*stride-pad, 0); a < min(j*stride-pad+win, n); a++ {
				srow := so[a*inner : (a+1)*inner]
				for i, v := range srow {
					drow[i] += v
				}
			}
		}
	}
}

// jointSum sums along two axes shifted together: src is viewed as
// [outer][n][mid][n][inner] and dst as [outer][on][mid][on][inner] with
// dst[o][a][m][b] = sum over d < f of src[o][a+d-pad][m][b+d-pad], indices
// outside [0, n) being zero padding (stride 1).
func jointSum(dst, src []float64, outer, n, mid, inner, on, f, pad int) {
	clear(dst)
	for o := 0; o < outer; o++ {
		for a := 0; a < on; a++ {
			dblock := dst[(o*on+a)*mid*on*inner : (o*on+a+1)*mid*on*inner]
			for d := 0; d < f; d++ {
				ia := a + d - pad
				if ia < 0 || ia >= n {
					continue
				}
				// Output columns b whose input column b+d-pad is inside
				// [0, n): the same range for every m.
				lo, hi := max(pad-d, 0), min(n+pad-d, on)
				if lo >= hi {
					continue
				}
				sblock := src[(o*n+ia)*mid*n*inner : (o*n+ia+1)*mid*n*inner]
				w := (hi - lo) * inner
				for m := 0; m < mid; m++ {
					dr := dblock[(m*on+lo)*inner : (m*on+lo)*inner+w]
					sr := sblock[(m*n+lo+d-pad)*inner : (m*n+lo+d-pad)*inner+w]
					for i := range dr {
						dr[i] += sr[i]
					}
				}
			}
		}
	}
}

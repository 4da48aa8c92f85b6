package optim

import (
	"math"

	"github.com/gradflow/gradflow/internal/parallel"
	"github.com/gradflow/gradflow/internal/simd"
	"github.com/gradflow/gradflow/tensor"
)

// GradNorm returns the Euclidean norm of all the parameters' gradients
// taken together (parameters without a gradient count as zero), accumulated
// in float64: the squares of each block of gradNormBlock elements are
// summed by the vector dot product (in float32 for float32 gradients),
// the block sums in float64. A training loop takes this norm every step,
// and a scalar float64 loop over every gradient costs a visible share of a
// step. The blocks are computed in the parameters' row shares (see
// forShares) and added in a fixed order, so the result does not depend on
// GOMAXPROCS.
func GradNorm[T tensor.Float](params []*Param[T]) float64 {
	list := perType[T, normWork[T]](&normWorks32, &normWorks64)
	w := list.Get()
	defer list.Put(w)
	nb := 0
	w.off = w.off[:0]
	for _, p := range params {
		w.off = append(w.off, nb)
		if p.Grad != nil {
			nb += ceilDiv(p.Grad.Len(), gradNormBlock)
		}
	}
	if cap(w.part) < nb {
		w.part = make([]float64, nb)
	}
	w.part = w.part[:nb]
	w.params = params
	forShares(&w.job, params, w)
	for i, p := range params {
		// Shares follow the values: a gradient of another length is
		// done whole here.
		if outsideShares(p) {
			w.blocks(i, 0, p.Grad.Len())
		}
	}
	w.params = nil
	var s float64
	for i, p := range params {
		if p.Grad == nil {
			continue
		}
		var sp float64
		for _, b := range w.part[w.off[i] : w.off[i]+ceilDiv(p.Grad.Len(), gradNormBlock)] {
			sp += b
		}
		s += sp
	}
	return math.Sqrt(s)
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// gradNormBlock bounds the float32 partial sums of the squares. The dot
// kernels keep at least 4 independent partial sums, so each float32 sum
// has at most 512 non-negative terms: relative error below 512*2^-24 ~
// 3e-5, far below what a norm used for clipping or divergence checks
// needs, while each kernel call and its final reduction are amortized
// over 2048 elements.
const gradNormBlock = 2048

// normWork is the scratch of one GradNorm call.
type normWork[T tensor.Float] struct {
	job    shareJob[T]
	params []*Param[T]
	off    []int     // index in part of each parameter's first block
	part   []float64 // sum of squares of each block
}

// doRange computes the blocks of parameter i that start in [lo, hi).
func (w *normWork[T]) doRange(i, lo, hi int) {
	p := w.params[i]
	if p.Grad == nil || p.Grad.Len() != p.Value.Len() {
		return
	}
	w.blocks(i, lo, hi)
}

// blocks computes the blocks of parameter i's gradient that start in
// [lo, hi).
func (w *normWork[T]) blocks(i, lo, hi int) {
	g := w.params[i].Grad.Data()
	part := w.part[w.off[i]:]
	for b := ceilDiv(lo, gradNormBlock); b*gradNormBlock < hi; b++ {
		c := g[b*gradNormBlock : min((b+1)*gradNormBlock, len(g))]
		v := float64(simd.Dot(c, c))
		if math.IsInf(v, 0) {
			// Squares above float32's range (|g| > 1.8e19) are finite
			// in float64: keep the norm finite as the float64 sum is.
			v = sumSquares(c)
		}
		part[b] = v
	}
}

var (
	normWorks32 parallel.FreeList[normWork[float32]]
	normWorks64 parallel.FreeList[normWork[float64]]
)

// ClipGradNorm rescales the gradients in place so that their joint
// Euclidean norm is at most maxNorm, as torch.nn.utils.clip_grad_norm_: with
// N the norm before clipping, every gradient is multiplied by
// min(1, maxNorm/(N + 1e-6)). It returns N, so that a caller can detect a
// non-finite gradient (N is then NaN or Inf and the gradients are left
// unscaled) or log it. It panics if maxNorm is negative or NaN.
func ClipGradNorm[T tensor.Float](params []*Param[T], maxNorm float64) float64 {
	if !(maxNorm >= 0) {
		panic("optim.ClipGradNorm: maxNorm must be >= 0")
	}
	n := GradNorm(params)
	if math.IsNaN(n) || math.IsInf(n, 0) {
		return n
	}
	// The 1e-6 is torch's, kept so that clipped trajectories agree.
	c := maxNorm / (n + 1e-6)
	if c >= 1 {
		return n
	}
	list := perType[T, scaleWork[T]](&scaleWorks32, &scaleWorks64)
	w := list.Get()
	defer list.Put(w)
	w.params, w.c = params, c
	forShares(&w.job, params, w)
	for _, p := range params {
		if outsideShares(p) {
			w.scale(p.Grad.Data())
		}
	}
	w.params = nil
	return n
}

// scaleWork multiplies gradients by c, share by share.
type scaleWork[T tensor.Float] struct {
	job    shareJob[T]
	params []*Param[T]
	c      float64
}

func (w *scaleWork[T]) doRange(i, lo, hi int) {
	if p := w.params[i]; p.Grad != nil && p.Grad.Len() == p.Value.Len() {
		w.scale(p.Grad.Data()[lo:hi])
	}
}

func (w *scaleWork[T]) scale(g []T) {
	for i := range g {
		g[i] = T(float64(g[i]) * w.c)
	}
}

var (
	scaleWorks32 parallel.FreeList[scaleWork[float32]]
	scaleWorks64 parallel.FreeList[scaleWork[float64]]
)

// ClipGradValue clamps every gradient element into [-clip, clip] in place,
// as torch.nn.utils.clip_grad_value_ (NaN elements stay NaN). It panics if
// clip is negative or NaN.
func ClipGradValue[T tensor.Float](params []*Param[T], clip float64) {
	if !(clip >= 0) {
		panic("optim.ClipGradValue: clip must be >= 0")
	}
	hi := T(clip)
	for _, p := range params {
		if p.Grad == nil {
			continue
		}
		g := p.Grad.Data()
		for i, v := range g {
			if v > hi {
				g[i] = hi
			} else if v < -hi {
				g[i] = -hi
			}
		}
	}
}

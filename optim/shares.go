package optim

import (
	"github.com/gradflow/gradflow/internal/parallel"
	"github.com/gradflow/gradflow/tensor"
)

// Elementwise work over parameters (zeroing gradients, an update, a
// gradient norm) runs in the row shares of the training step's cache
// affinity (see tensor/affinity.go): share p of every weight matrix is read
// by the forward product, written by the weight-gradient product and
// updated here, all on participant p.

// rowsOf returns the row count of a parameter: its first dimension (1 for
// a scalar). Shares are whole rows, so that they match the row splits of
// the products that use the parameter as a weight matrix.
func rowsOf[T tensor.Float](p *Param[T]) int {
	if s := p.Value.Shape(); len(s) > 0 && s[0] > 0 {
		return s[0]
	}
	return 1
}

// pieceRange returns the elements [lo, hi) of p that task t of a pinned
// pass over parts shares covers: whole rows.
func pieceRange[T tensor.Float](p *Param[T], parts, t int) (lo, hi int) {
	rows := rowsOf(p)
	rlo, rhi := tensor.SharePiece[T](rows, parts, t)
	rowLen := p.Value.Len() / rows
	return rlo * rowLen, rhi * rowLen
}

// ranger does elementwise work on the elements [lo, hi) of parameter i of
// a list.
type ranger interface {
	doRange(i, lo, hi int)
}

// shareJob runs a ranger over the shares of a list of parameters: task t
// covers its piece (tensor.SharePiece) of every parameter.
type shareJob[T tensor.Float] struct {
	params []*Param[T]
	parts  int
	r      ranger
}

// Do runs the ranger over task t's piece of every parameter.
func (j *shareJob[T]) Do(_, t int) {
	for i, p := range j.params {
		if p == nil || p.Value == nil {
			continue
		}
		if lo, hi := pieceRange(p, j.parts, t); lo < hi {
			j.r.doRange(i, lo, hi)
		}
	}
}

// forShares calls r.doRange over all elements of params (nil entries and
// entries with a nil Value are skipped: callers handle those whole), divided in row shares over the participants when there is
// enough work. Every element is visited once; which share visits it never
// changes what r computes, since r's work is elementwise.
func forShares[T tensor.Float](j *shareJob[T], params []*Param[T], r ranger) {
	n := 0
	for _, p := range params {
		if p != nil && p.Value != nil {
			n += p.Value.Len()
		}
	}
	parts := tensor.PinnedParts(n)
	j.params, j.parts, j.r = params, parts, r
	tensor.ForPinnedShares(j, parts)
	j.params, j.r = nil, nil
}

// perType returns the float32 or the float64 one of a pair of free lists.
func perType[T tensor.Float, J any](l32, l64 any) *parallel.FreeList[J] {
	var z T
	if _, ok := any(z).(float32); ok {
		return l32.(*parallel.FreeList[J])
	}
	return l64.(*parallel.FreeList[J])
}

// outsideShares reports whether p's gradient is not covered by its value's
// shares (no value, or a length that differs), so that the caller handles
// it whole.
func outsideShares[T tensor.Float](p *Param[T]) bool {
	return p.Grad != nil && (p.Value == nil || p.Grad.Len() != p.Value.Len())
}

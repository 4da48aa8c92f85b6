package tensor

import "github.com/gradflow/gradflow/internal/parallel"

// Cache affinity of a training step.
//
// On a machine with several cores, a training step keeps every part of
// every weight matrix on one core from the forward product through the
// optimizer update, instead of moving the weights between cores' caches
// each step (which on a two-core machine costs more than the second core
// saves). This file owns that contract; the packages that take part
// follow it:
//
//   - The parts are the row shares of a weight matrix W [out, in]:
//     ShareRows(out, parts, p), equal shares rounded to the GEMM tile,
//     fixed by the shape, so they are the same in every product and every
//     step.
//   - Part p always runs on participant p: products split with SplitRows,
//     SplitCols or SplitK use parallel.RunPinned's fixed assignment, and so
//     does every elementwise pass that touches a share (ForPinnedShares).
//   - autograd.Linear computes the forward product Y = X W^T with its
//     columns (W's rows) split (SplitCols), the weight gradient dW = dZ^T X
//     with its rows split (SplitRows), the input gradient dX = dZ W with
//     the inner dimension (W's rows) split (SplitK), and the ReLU mask of
//     dZ by W's row shares of its columns.
//   - optim applies ZeroGrad, the update, the gradient norm and clipping
//     in the same shares of every parameter's rows.
//   - data's loader copies a batch's rows in pinned parts too, so that the
//     copy runs on the step's participants and not on a stray goroutine.
//
// None of this changes a result: the division is fixed by the shapes, never
// by the number of cores, so results are bit-identical for any GOMAXPROCS.
// (SplitK's two partial products differ in rounding from an unsplit
// product, but the split is the same on one core as on many.)

// SharePieces is the number of tasks each share of a pinned elementwise
// pass is cut into, so that a participant done early takes over the end of
// a slower one's share (parallel.RunPinned runs at most 64 tasks).
const SharePieces = 4

// minPinnedElems is the element count below which a pinned elementwise pass
// stays on the caller: a pinned batch costs a few microseconds of
// synchronisation, the time to update about this many values.
const minPinnedElems = 1 << 15

// PinnedParts returns the number of shares a pinned elementwise pass over
// elems values is divided into: one per participant (at most
// 64/SharePieces), or 1 when the work is too small to share.
func PinnedParts(elems int) int {
	if elems < minPinnedElems {
		return 1
	}
	return min(parallel.Workers(), 64/SharePieces)
}

// SharePiece returns the range [lo, hi) of an n-long dimension that task t
// of a pinned pass over parts shares covers: piece t%SharePieces of share
// t/SharePieces (ShareRows).
func SharePiece[T Float](n, parts, t int) (lo, hi int) {
	lo, hi = ShareRows[T](n, parts, t/SharePieces)
	q, w := t%SharePieces, hi-lo
	return lo + q*w/SharePieces, lo + (q+1)*w/SharePieces
}

// ForPinnedShares runs job's tasks 0..parts*SharePieces-1 pinned: task t
// on participant t/SharePieces (or on one that took it over), so that
// share p of every pass runs where share p ran before.
func ForPinnedShares(job parallel.Job, parts int) {
	parallel.RunPinned(job, parts*SharePieces, parts)
}

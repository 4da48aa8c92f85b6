package simd

import (
	"unsafe"

	"github.com/gradflow/gradflow/internal/parallel"
)

// splitKMin is the smallest inner dimension SplitK divides: below it the
// partial products are too thin to pay for the extra pass that adds them.
const splitKMin = 128

// splitKPieces is how many pieces each share of the sum (phase 2) is cut
// into (see pinnedPieces). The partial products of phase 1 are not cut:
// each piece would pack its part of op(A) again, and with 4 pieces a
// two-thread 784-512-512-10 step was 4% slower than with SplitCols instead
// of 4% faster.
const splitKPieces = 4

// splitKJob computes C = beta*C + alpha*(P0 + P1) in two phases (see
// SplitK). Phase 1 has 2 tasks: task p computes Pp into C (p = 0, with
// beta) or into the scratch sum (p = 1). Phase 2 adds sum into C, in the
// column shares of Share, cut into splitKPieces pieces each. Both phases
// are cut the same way for any number of threads, so the rounding is too.
type splitKJob[T Float] struct {
	transA, transB bool
	m, n, k, k0    int // k0: where K part 1 starts
	alpha, beta    T
	a, b, c        []T
	lda, ldb, ldc  int
	sum            []T // m x n, row stride n
	rawSum         []T
	phase2         bool
	parts          int // column shares of phase 2
}

var (
	splitK32 parallel.FreeList[splitKJob[float32]]
	splitK64 parallel.FreeList[splitKJob[float64]]
)

func gemmSplitK[T Float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	list := listFor[splitKJob[T], T](unsafe.Pointer(&splitK32), unsafe.Pointer(&splitK64))
	j := list.Get()
	_, k0 := Share[T](k, 2, 0)
	j.transA, j.transB, j.m, j.n, j.k, j.k0 = transA, transB, m, n, k, k0
	j.alpha, j.beta, j.a, j.b, j.c = alpha, beta, a, b, c
	j.lda, j.ldb, j.ldc = lda, ldb, ldc
	j.sum = alignedSlice(&j.rawSum, m*n)
	workers := 2
	if 2*m*n*k < minPinnedFlops {
		workers = 1
	}
	j.phase2 = false
	parallel.RunPinned(j, 2, workers)
	j.phase2 = true
	j.parts = min(parallel.Workers(), 64/splitKPieces)
	if workers == 1 {
		j.parts = 1
	}
	parallel.RunPinned(j, j.parts*splitKPieces, j.parts)
	j.a, j.b, j.c = nil, nil, nil
	list.Put(j)
}

// Do runs task t of the current phase.
func (j *splitKJob[T]) Do(_, t int) {
	if j.phase2 {
		lo, hi := Share[T](j.n, j.parts, t/splitKPieces)
		q, w := t%splitKPieces, hi-lo
		lo, hi = lo+q*w/splitKPieces, lo+(q+1)*w/splitKPieces
		if lo == hi {
			return
		}
		for i := 0; i < j.m; i++ {
			row := j.c[i*j.ldc+lo : i*j.ldc+hi]
			Add(row, row, j.sum[i*j.n+lo:i*j.n+hi])
		}
		return
	}
	p, c0, c1 := t, 0, j.n
	k0, k1 := 0, j.k0
	if p == 1 {
		k0, k1 = j.k0, j.k
	}
	// op(A)[:, k0:k1] and op(B)[k0:k1, c0:c1] as views of the stored
	// operands.
	var a, b []T
	if j.transA { // A stored k x m
		a = j.a[k0*j.lda:]
	} else {
		a = j.a[k0:]
	}
	if j.transB { // B stored n x k
		b = j.b[c0*j.ldb+k0:]
	} else {
		b = j.b[k0*j.ldb+c0:]
	}
	ep := Epilogue[T]{Split: splitSerial}
	if p == 0 {
		Gemm(j.transA, j.transB, j.m, c1-c0, k1-k0, j.alpha, a, j.lda, b, j.ldb, j.beta, j.c[c0:], j.ldc, ep)
		return
	}
	Gemm(j.transA, j.transB, j.m, c1-c0, k1-k0, j.alpha, a, j.lda, b, j.ldb, 0, j.sum[c0:], j.n, ep)
}

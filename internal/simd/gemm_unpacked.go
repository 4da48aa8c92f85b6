package simd

import (
	"unsafe"

	"github.com/gradflow/gradflow/internal/parallel"
)

// smallDim is the largest m (or n) for which a product skips packing. With
// so few rows, every packed element of B would be used at most 2*smallDim
// times, and packing costs about as much as using it; rows of C are then
// built directly from vector kernels (axpy over rows of B, or dot products)
// that read the operands in place.
const smallDim = 4

// unpackedKind says which unpacked algorithm fits a shape, or none.
type unpackedKind uint8

const (
	notUnpacked unpackedKind = iota
	rowsAxpy                 // C[i,:] = beta*C[i,:] + sum_p alpha*A(i,p)*B[p,:], B rows contiguous
	rowsDot                  // C[i,j] = alpha*dot(A[i,:], op(B)[:,j]) + beta*C[i,j], both contiguous
)

func unpackedFor(transA, transB bool, m, n, ldb int) unpackedKind {
	switch {
	case m <= smallDim && !transB:
		return rowsAxpy
	case (m <= smallDim || n <= smallDim) && transB && !transA:
		return rowsDot
	case n == 1 && !transB && !transA && ldb == 1:
		return rowsDot // B is a contiguous column
	}
	return notUnpacked
}

type unpackedJob[T Float] struct {
	kind           unpackedKind
	transA, transB bool
	m, n, k        int
	alpha, beta    T
	a, b, c        []T
	lda, ldb, ldc  int
	ep             Epilogue[T]
	chunk          int // columns (rowsAxpy) or rows (rowsDot) per task
}

// Do computes the columns [t*chunk, (t+1)*chunk) of every row (rowsAxpy) or
// the rows [t*chunk, ...) (rowsDot). Each element is computed the same way
// whatever the chunking, which keeps results independent of GOMAXPROCS.
func (u *unpackedJob[T]) Do(_, t int) {
	if u.kind == rowsAxpy {
		j0 := t * u.chunk
		j1 := min(j0+u.chunk, u.n)
		for i := 0; i < u.m; i++ {
			crow := u.c[i*u.ldc+j0 : i*u.ldc+j1]
			if u.beta == 0 {
				clear(crow)
			} else if u.beta != 1 {
				Scale(u.beta, crow, crow)
			}
			for p := 0; p < u.k; p++ {
				ai := i*u.lda + p
				if u.transA {
					ai = p*u.lda + i
				}
				aip := u.a[ai]
				Axpy(u.alpha*aip, u.b[p*u.ldb+j0:p*u.ldb+j1], crow)
			}
			if u.ep.active() {
				var bias []T
				if u.ep.Bias != nil {
					bias = u.ep.Bias[j0:j1]
				}
				applyEpilogue(crow, bias, u.ep.Act)
			}
		}
		return
	}
	i0 := t * u.chunk
	i1 := min(i0+u.chunk, u.m)
	for i := i0; i < i1; i++ {
		arow := u.a[i*u.lda : i*u.lda+u.k]
		crow := u.c[i*u.ldc : i*u.ldc+u.n]
		for j := range crow {
			var bj []T
			if u.transB {
				bj = u.b[j*u.ldb : j*u.ldb+u.k]
			} else { // n == 1, ldb == 1
				bj = u.b[:u.k]
			}
			d := u.alpha * Dot(arow, bj)
			if u.beta != 0 {
				d += u.beta * crow[j]
			}
			crow[j] = d
		}
		applyEpilogue(crow, u.ep.Bias, u.ep.Act)
	}
}

func gemmUnpacked[T Float](kind unpackedKind, transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int, ep Epilogue[T]) {
	list := listFor[unpackedJob[T], T](unsafe.Pointer(&unpacked32), unsafe.Pointer(&unpacked64))
	u := list.Get()
	*u = unpackedJob[T]{kind: kind, transA: transA, transB: transB, m: m, n: n, k: k,
		alpha: alpha, beta: beta, a: a, b: b, c: c, lda: lda, ldb: ldb, ldc: ldc, ep: ep}
	defer func() { *u = unpackedJob[T]{}; list.Put(u) }()
	workers := parallel.Workers()
	if 2*m*n*k < minParallelFlops || ep.Split == splitSerial {
		workers = 1
	}
	var tasks int
	if kind == rowsAxpy {
		// Column chunks of whole cache lines, so workers never share one.
		u.chunk = max(ceilDiv(ceilDiv(n, workers), 16)*16, 16)
		tasks = ceilDiv(n, u.chunk)
	} else {
		u.chunk = ceilDiv(m, workers)
		tasks = ceilDiv(m, u.chunk)
	}
	if tasks == 1 {
		u.Do(0, 0)
		return
	}
	parallel.Run(u, tasks, workers)
}

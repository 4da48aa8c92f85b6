package simd

import (
	"fmt"
	"sync/atomic"
	"unsafe"

	"github.com/gradflow/gradflow/internal/parallel"
)

// Activation is the function an Epilogue applies to each element of C.
type Activation uint8

// Activations a GEMM epilogue can fuse.
const (
	ActIdentity Activation = iota
	ActReLU
)

// Epilogue adds a bias and applies an activation: C[i][j] =
// act(alpha*(op(A) op(B))[i][j] + (beta*C[i][j] + Bias[j])). The bias is
// added to C before the product accumulates onto it (as addmm does with a
// broadcast bias), and the activation is applied to each block of C while
// it is still in cache. The zero value does nothing.
// It also carries the product's Split, a scheduling choice that never
// changes the result.
type Epilogue[T Float] struct {
	Bias  []T // length n, or nil for no bias
	Act   Activation
	Split Split
}

// Split says how a product is divided among cores.
type Split uint8

const (
	// SplitAuto chooses the grid of C that packs least and lets any core
	// take any part; products below 2^28 flops stay on one core.
	SplitAuto Split = iota
	// SplitRows divides the rows of C as Share does and pins part p to
	// participant p of parallel.RunPinned on every call, from 2^20 flops.
	// When the rows make a single share, the columns are divided instead.
	SplitRows
	// SplitCols does the same with the columns of C (and falls back to the
	// rows).
	SplitCols
	// SplitK divides the inner dimension: C = beta*C + alpha*(P0 + P1),
	// where Pp = op(A)[:, Kp] op(B)[Kp, :] over the two parts Kp of K
	// that Share gives, part p on participant p, and then the columns of
	// C in Share's parts add the two partial products. It is meant for
	// dX = dZ W in a training step: with K the rows of W, each core reads
	// only the rows of W it owns (see autograd.Linear). The division of K
	// is fixed by the shape, not by the number of threads, so the result
	// is the same for any GOMAXPROCS (and differs in rounding from the
	// other splits). Products with k < splitKMin, or with a bias or an
	// activation, are computed as under SplitCols.
	SplitK

	// splitSerial (internal) computes on the calling goroutine alone.
	splitSerial
)

// Share returns the range [lo, hi) of an n-long dimension that belongs to
// part p of parts under SplitRows and SplitCols: equal shares rounded up to
// a multiple of the element type's tile (the least common multiple of the
// microkernel's MR and NR, so that row and column splits of the same
// matrix agree and edge tiles do not depend on the split). Trailing parts
// may be empty (lo == hi). Code that updates a weight matrix row-wise on
// the same participants as the GEMMs that read it (an optimizer step) uses
// Share to touch the same rows.
func Share[T Float](n, parts, p int) (lo, hi int) {
	if parts <= 1 {
		if p == 0 {
			return 0, n
		}
		return n, n
	}
	k := kernelFor[T]()
	step := roundUp(ceilDiv(n, parts), lcm(k.mr, k.nr))
	return min(p*step, n), min((p+1)*step, n)
}

func roundUp(a, m int) int { return ceilDiv(a, m) * m }

func lcm(a, b int) int {
	x, y := a, b
	for y != 0 {
		x, y = y, x%y
	}
	return a / x * b
}

func (e Epilogue[T]) active() bool { return e.Bias != nil || e.Act != ActIdentity }

// Gemm computes C = alpha*op(A)*op(B) + beta*C and then applies ep.
//
// op(A) is m x k: A is stored row-major m x k with leading dimension lda, or
// k x m when transA (A^T is used). op(B) is k x n: B is stored k x n, or
// n x k when transB. C is m x n with leading dimension ldc. When beta == 0, C
// is not read, so it may hold garbage. Transposes cost nothing beyond the
// packing every large product does anyway.
//
// Large products are packed and blocked (BLIS/Goto: KC x NC panels of B,
// MC x KC blocks of A, an MR x NR register microkernel from the SIMD tier)
// and split over M/N tiles on GOMAXPROCS workers. K is never split and the
// choice between the packed and the unpacked path depends only on the
// shape, so the result is bit-identical for any GOMAXPROCS.
//
// Gemm panics if a dimension is negative, a leading dimension is too small,
// or a slice is too short for the shape it is said to hold.
func Gemm[T Float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int, ep Epilogue[T]) {
	checkGemm(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc, len(ep.Bias))
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc, ep)
		return
	}
	if ep.Split == SplitK {
		if k >= splitKMin && !ep.active() {
			gemmSplitK(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
			return
		}
		ep.Split = SplitCols
	}
	if kind := unpackedFor(transA, transB, m, n, ldb); kind != notUnpacked {
		gemmUnpacked(kind, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, ep)
		return
	}
	gemmPacked(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, ep)
}

func checkGemm(transA, transB bool, m, n, k, la, lda, lb, ldb, lc, ldc, lbias int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("simd.Gemm: negative dimension m=%d n=%d k=%d", m, n, k))
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	check := func(name string, rows, cols, ld, l int) {
		if ld < max(cols, 1) {
			panic(fmt.Sprintf("simd.Gemm: %s is %dx%d but its leading dimension is %d", name, rows, cols, ld))
		}
		if rows > 0 && cols > 0 && l < (rows-1)*ld+cols {
			panic(fmt.Sprintf("simd.Gemm: %s is %dx%d with leading dimension %d, needs %d elements, has %d",
				name, rows, cols, ld, (rows-1)*ld+cols, l))
		}
	}
	check("A", ar, ac, lda, la)
	check("B", br, bc, ldb, lb)
	check("C", m, n, ldc, lc)
	if lbias != 0 && lbias != n {
		panic(fmt.Sprintf("simd.Gemm: bias has length %d, want n=%d", lbias, n))
	}
}

// scaleC handles k == 0 or alpha == 0: C = beta*C, then the epilogue.
func scaleC[T Float](m, n int, beta T, c []T, ldc int, ep Epilogue[T]) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
		} else if beta != 1 {
			Scale(beta, row, row)
		}
		applyEpilogue(row, ep.Bias, ep.Act)
	}
}

// applyEpilogue finishes one row of C: row += bias, then the activation.
func applyEpilogue[T Float](row, bias []T, act Activation) {
	if bias != nil {
		Add(row, row, bias[:len(row)])
	}
	if act == ActReLU {
		Relu(row, row)
	}
}

// kernelFor returns the microkernel of the tier in use for T.
func kernelFor[T Float]() gemmKernel[T] {
	if isF32[T]() {
		k := cur.sgemm
		return *(*gemmKernel[T])(unsafe.Pointer(&k))
	}
	k := cur.dgemm
	return *(*gemmKernel[T])(unsafe.Pointer(&k))
}

// gemmJob is one packed GEMM split into rectangles of C. It is reused
// through a free list so that steady-state calls allocate nothing.
type gemmJob[T Float] struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    T
	a, b, c        []T
	lda, ldb, ldc  int
	ep             Epilogue[T]

	kern     gemmKernel[T]
	blk      Blocking
	pm, pn   int // grid of tasks: pm row ranges x pn column ranges
	mStep    int // rows per task, a multiple of MR
	nStep    int // columns per task, a multiple of NR
	scratch  []gemmScratch[T]
	nworkers int

	// Pinned splits (sub > 0): the rows (pinRows) or the columns are cut
	// into the shares of Share, each share into sub pieces, and task t is
	// piece t%sub of share t/sub; parallel.RunPinned gives share p's
	// pieces to participant p, and lets a participant that is done early
	// take pieces from the end of another's share.
	pinRows   bool
	sub       int
	shareStep int
	// With the columns split, every piece needs all of op(A); when it is
	// one MC block (cacheA), each worker packs it once per call into its
	// scratch and reuses it for every piece it runs. cacheB is the same
	// for op(B) with the rows split. gen tells the calls apart. (Packing
	// one shared copy in parts, each participant packing its part and
	// reading the others', was 5% slower per two-thread step of a
	// 784-512-512-10 MLP than this duplicated packing: reading the half
	// another core packed costs more than packing it again.)
	cacheA, cacheB bool
	gen            uint64
}

type gemmScratch[T Float] struct {
	ap, bp []T // packed A block (MC x KC) and B panel (KC x NC), aligned views
	tile   []T // MR x NR edge tile, aligned view
	raw    [3][]T

	afull, bfull []T    // all of packed op(A) or op(B), for cacheA/cacheB
	genA, genB   uint64 // the call afull and bfull were packed for
	rawFull      [2][]T
}

// gemmGen numbers the packed GEMM calls (see gemmJob.gen).
var gemmGen atomic.Uint64

var (
	jobs32     parallel.FreeList[gemmJob[float32]]
	jobs64     parallel.FreeList[gemmJob[float64]]
	unpacked32 parallel.FreeList[unpackedJob[float32]]
	unpacked64 parallel.FreeList[unpackedJob[float64]]
)

// listFor picks the float32 or float64 list of a pair without an
// interface conversion.
func listFor[J any, T Float](l32, l64 unsafe.Pointer) *parallel.FreeList[J] {
	if isF32[T]() {
		return (*parallel.FreeList[J])(l32)
	}
	return (*parallel.FreeList[J])(l64)
}

// alignedSlice returns a slice of n elements whose first element is 64-byte
// aligned (one cache line, and the natural alignment of a zmm load), carved
// from *raw, which grows when needed and is kept for the next call.
func alignedSlice[T Float](raw *[]T, n int) []T {
	var z T
	size := int(unsafe.Sizeof(z))
	pad := 64 / size
	if cap(*raw) < n+pad {
		*raw = make([]T, n+pad)
	}
	buf := (*raw)[:cap(*raw)]
	off := int(uintptr(unsafe.Pointer(unsafe.SliceData(buf)))%64) / size
	if off != 0 {
		off = pad - off
	}
	return buf[off : off+n : off+n]
}

// minParallelFlops is the product size (2mnk) below which Gemm runs on one
// worker. Splitting has two costs: synchronisation (microseconds), and, in a
// training step, moving operands between cores: the weights were just
// written by the optimizer on the caller's core, and a helper on another
// core must fetch its half of them again. Measured on a 2-vCPU Zen 5 VM
// (bench mlp, 784-512-512-10 batch 128, about 0.1 GFLOP per product): with
// the products split, a step at 2 threads ran at 0.7x of 1 thread; kept on
// one worker, at 1.0x; a repeated 1024^3 product (2 GFLOP) still scales
// 1.98x. Hence 2^28 (~270 MFLOP, about 1.5 ms of one core). The
// GRADFLOW_GEMM_PARALLEL_FLOPS environment variable overrides it (machines
// whose cores share a cache may profit from a lower value). The choice
// never changes results, which are identical for any split.
var minParallelFlops = 1 << 28

// minPinnedFlops is the product size from which SplitRows and SplitCols
// divide a product: pinned parts keep their operands in one core's cache, so
// only synchronisation (a few microseconds with spinning helpers) is left
// to amortize. 2^20 flops is 5-20 us of one core: the output layer of a
// classifier (128x512x10) is split, and its outputs stay on the cores that
// use them next. (A variable so that tests can force splits of small
// products.)
var minPinnedFlops = 1 << 20

func init() {
	if v := envInt("GRADFLOW_GEMM_PARALLEL_FLOPS"); v > 0 {
		minParallelFlops = v
	}
}

func gemmPacked[T Float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int, ep Epilogue[T]) {
	list := listFor[gemmJob[T], T](unsafe.Pointer(&jobs32), unsafe.Pointer(&jobs64))
	j := list.Get()
	j.transA, j.transB, j.m, j.n, j.k = transA, transB, m, n, k
	j.alpha, j.beta, j.a, j.b, j.c = alpha, beta, a, b, c
	j.lda, j.ldb, j.ldc, j.ep = lda, ldb, ldc, ep
	j.kern = kernelFor[T]()
	var z T
	j.blk = blockingFor(int(unsafe.Sizeof(z)), j.kern.mr, j.kern.nr)

	workers := parallel.Workers()
	pinned := ep.Split != SplitAuto && ep.Split != splitSerial
	if pinned && 2*m*n*k < minPinnedFlops || !pinned && 2*m*n*k < minParallelFlops || ep.Split == splitSerial {
		workers = 1
	}
	j.sub, j.cacheA, j.cacheB = 0, false, false
	if pinned && workers > 1 {
		j.splitPinned(ep.Split, workers)
	} else {
		j.split(workers)
	}
	j.nworkers = parallel.MaxWorkers(workers)
	if len(j.scratch) < j.nworkers {
		j.scratch = append(j.scratch, make([]gemmScratch[T], j.nworkers-len(j.scratch))...)
	}
	if workers > 1 {
		j.sizeScratch()
	}
	if pinned && j.sub > 0 {
		j.gen = gemmGen.Add(1)
		parts := ceilDiv(j.m, j.shareStep)
		if !j.pinRows {
			parts = ceilDiv(j.n, j.shareStep)
		}
		parallel.RunPinned(j, parts*j.sub, parts)
	} else if pinned {
		parallel.RunPinned(j, j.pm*j.pn, workers)
	} else {
		parallel.Run(j, j.pm*j.pn, workers)
	}
	j.a, j.b, j.c, j.ep.Bias = nil, nil, nil, nil // do not keep the caller's memory alive
	list.Put(j)
}

// sizeScratch grows every worker's buffers to what any task of this call
// can need, so that which worker runs which task (helpers take over pieces
// of each other's shares) never decides whether a call allocates: after
// the first call with a shape, calls with it allocate nothing.
func (j *gemmJob[T]) sizeScratch() {
	mr, nr := j.kern.mr, j.kern.nr
	kc := j.kcBlock()
	mcp, ncp := ceilDiv(j.m, mr)*mr, ceilDiv(j.n, nr)*nr
	for w := range j.scratch[:j.nworkers] {
		s := &j.scratch[w]
		alignedSlice(&s.raw[0], kc*min(roundUp(j.blk.MC, mr), mcp))
		alignedSlice(&s.raw[1], kc*min(roundUp(j.blk.NC, nr), ncp))
		if j.cacheA {
			alignedSlice(&s.rawFull[0], j.k*mcp)
		}
		if j.cacheB {
			alignedSlice(&s.rawFull[1], j.k*ncp)
		}
	}
}

// split chooses a pm x pn grid of rectangles of C, one per worker, that
// minimises the packing each worker repeats: a worker packs all of its
// rows of A and all of its columns of B, so the cost is about
// k*(m/pm + n/pn). Boundaries fall on multiples of MR and NR, so which tiles
// are edge tiles is the same for every grid (a requirement for results that
// do not depend on the number of workers).
func (j *gemmJob[T]) split(workers int) {
	mr, nr := j.kern.mr, j.kern.nr
	mt, nt := ceilDiv(j.m, mr), ceilDiv(j.n, nr)
	best, bpm, bpn := -1.0, 1, 1
	for pm := 1; pm <= workers; pm++ {
		if workers%pm != 0 {
			continue
		}
		pn := workers / pm
		if pm > mt || pn > nt {
			continue
		}
		cost := float64(ceilDiv(mt, pm)*mr) + float64(ceilDiv(nt, pn)*nr)
		if best < 0 || cost < best {
			best, bpm, bpn = cost, pm, pn
		}
	}
	if best < 0 { // fewer tiles than workers in both directions
		bpm, bpn = 1, min(workers, nt)
	}
	j.pm, j.pn = bpm, bpn
	j.mStep = ceilDiv(mt, bpm) * mr
	j.nStep = ceilDiv(nt, bpn) * nr
	j.pm = ceilDiv(j.m, j.mStep)
	j.pn = ceilDiv(j.n, j.nStep)
}

// pinnedPieces is how many pieces each share of a pinned split is cut
// into, so that a participant that is done early can take over the end of
// a slower one's share. On a 2-vCPU VM the core that also takes the
// interrupts ran its half of a product up to 1.5x slower than the other.
const pinnedPieces = 4

// splitPinned divides C into the shares Share gives, by rows or columns,
// and each share into pieces. A dimension too short for two shares (the
// 10 outputs of a classifier layer) leaves the split to the other one.
func (j *gemmJob[T]) splitPinned(sp Split, workers int) {
	mr, nr := j.kern.mr, j.kern.nr
	j.pm, j.pn, j.sub = 1, 1, 0
	j.mStep = ceilDiv(j.m, mr) * mr
	j.nStep = ceilDiv(j.n, nr) * nr
	_, mhi := Share[T](j.m, workers, 0)
	_, nhi := Share[T](j.n, workers, 0)
	j.pinRows = sp == SplitRows && mhi < j.m || sp == SplitCols && nhi == j.n
	dim, unit, step := j.n, nr, nhi
	if j.pinRows {
		dim, unit, step = j.m, mr, mhi
	}
	parts := ceilDiv(dim, step)
	if parts < 2 {
		return // one share: a single task
	}
	j.shareStep = step
	j.sub = max(1, min(pinnedPieces, ceilDiv(step, unit), 64/parts))
	j.cacheA = !j.pinRows && j.m <= j.blk.MC && j.sub > 1
	j.cacheB = j.pinRows && j.n <= j.blk.NC && j.sub > 1
}

// kcBlock returns the depth of the K blocks: K divided into the fewest
// blocks of at most KC, of equal depth. With KC itself, K = 784 would end
// in a block of 16, which loads and stores every tile of C for 16 steps of
// arithmetic.
func (j *gemmJob[T]) kcBlock() int {
	return ceilDiv(j.k, ceilDiv(j.k, j.blk.KC))
}

// rect returns the rectangle of C that task computes.
func (j *gemmJob[T]) rect(task int) (m0, m1, n0, n1 int) {
	if j.sub == 0 {
		m0, n0 = (task/j.pn)*j.mStep, (task%j.pn)*j.nStep
		return m0, min(m0+j.mStep, j.m), n0, min(n0+j.nStep, j.n)
	}
	p, q := task/j.sub, task%j.sub
	dim, unit := j.n, j.kern.nr
	if j.pinRows {
		dim, unit = j.m, j.kern.mr
	}
	lo, hi := min(p*j.shareStep, dim), min((p+1)*j.shareStep, dim)
	piece := roundUp(ceilDiv(hi-lo, j.sub), unit)
	a, b := min(lo+q*piece, hi), min(lo+(q+1)*piece, hi)
	if j.pinRows {
		return a, b, 0, j.n
	}
	return 0, j.m, a, b
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// Do computes one rectangle of C with the five BLIS loops.
func (j *gemmJob[T]) Do(worker, task int) {
	m0, m1, n0, n1 := j.rect(task)
	if m0 >= m1 || n0 >= n1 {
		return
	}
	s := &j.scratch[worker]
	mr, nr := j.kern.mr, j.kern.nr
	kc0, mc0, nc0 := j.kcBlock(), j.blk.MC, j.blk.NC
	s.tile = alignedSlice(&s.raw[2], mr*nr)
	mcp, ncp := ceilDiv(j.m, mr)*mr, ceilDiv(j.n, nr)*nr
	if j.cacheA && s.genA != j.gen {
		s.afull = alignedSlice(&s.rawFull[0], j.k*mcp)
		for pc := 0; pc < j.k; pc += kc0 {
			kc := min(kc0, j.k-pc)
			packA(j.transA, j.a, j.lda, 0, j.m, pc, kc, mr, s.afull[pc*mcp:pc*mcp+kc*mcp])
		}
		s.genA = j.gen
	}
	if j.cacheB && s.genB != j.gen {
		s.bfull = alignedSlice(&s.rawFull[1], j.k*ncp)
		for pc := 0; pc < j.k; pc += kc0 {
			kc := min(kc0, j.k-pc)
			packB(j.transB, j.b, j.ldb, pc, kc, 0, j.n, nr, s.bfull[pc*ncp:pc*ncp+kc*ncp])
		}
		s.genB = j.gen
	}
	beta0 := j.beta
	if j.ep.Bias != nil {
		// The bias enters C before the product, C = beta*C + bias, and
		// the product then accumulates onto it: one pass over the
		// rectangle by the worker that owns it, instead of a pass per
		// tile in the epilogue.
		bias := j.ep.Bias[n0:n1]
		for i := m0; i < m1; i++ {
			row := j.c[i*j.ldc+n0 : i*j.ldc+n1]
			switch beta0 {
			case 0:
				copy(row, bias)
			case 1:
				Add(row, row, bias)
			default:
				Scale(beta0, row, row)
				Add(row, row, bias)
			}
		}
		beta0 = 1
	}
	for jc := n0; jc < n1; jc += nc0 {
		nc := min(nc0, n1-jc)
		ncb := ceilDiv(nc, nr) * nr
		for pc := 0; pc < j.k; pc += kc0 {
			kc := min(kc0, j.k-pc)
			if j.cacheB { // the task spans all columns: jc == 0, nc == n
				s.bp = s.bfull[pc*ncp : pc*ncp+kc*ncp]
			} else {
				s.bp = alignedSlice(&s.raw[1], kc*ncb)
				packB(j.transB, j.b, j.ldb, pc, kc, jc, nc, nr, s.bp)
			}
			beta := beta0
			if pc > 0 {
				beta = 1
			}
			last := pc+kc == j.k
			for ic := m0; ic < m1; ic += mc0 {
				mc := min(mc0, m1-ic)
				if j.cacheA { // the task spans all rows: ic == 0, mc == m
					s.ap = s.afull[pc*mcp : pc*mcp+kc*mcp]
				} else {
					s.ap = alignedSlice(&s.raw[0], kc*ceilDiv(mc, mr)*mr)
					packA(j.transA, j.a, j.lda, ic, mc, pc, kc, mr, s.ap)
				}
				j.macro(s, ic, mc, jc, nc, kc, beta)
				if last && j.ep.Act == ActReLU {
					// The mc x nc block is still in L2; one vector
					// call per row costs less than one per tile row.
					for i := ic; i < ic+mc; i++ {
						row := j.c[i*j.ldc+jc : i*j.ldc+jc+nc]
						Relu(row, row)
					}
				}
			}
		}
	}
}

// macro runs the microkernel over an mc x nc block of C.
func (j *gemmJob[T]) macro(s *gemmScratch[T], ic, mc, jc, nc, kc int, beta T) {
	mr, nr := j.kern.mr, j.kern.nr
	fn := j.kern.fn
	ldc := j.ldc
	for jr := 0; jr < nc; jr += nr {
		nn := min(nr, nc-jr)
		bp := &s.bp[jr*kc]
		for ir := 0; ir < mc; ir += mr {
			mm := min(mr, mc-ir)
			ap := &s.ap[ir*kc]
			row0 := (ic+ir)*ldc + jc + jr
			if mm == mr && nn == nr {
				fn(kc, ap, bp, &j.c[row0], ldc, j.alpha, beta)
				continue
			}
			// Edge tile: compute the full padded tile into scratch, then
			// merge the valid part, C = tile + beta*C.
			fn(kc, ap, bp, &s.tile[0], nr, j.alpha, 0)
			for i := 0; i < mm; i++ {
				crow := j.c[row0+i*ldc : row0+i*ldc+nn]
				trow := s.tile[i*nr : i*nr+nn]
				if beta == 0 {
					copy(crow, trow)
				} else {
					for t := range crow {
						crow[t] = trow[t] + beta*crow[t]
					}
				}
			}
		}
	}
}

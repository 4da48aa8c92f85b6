package simd

import (
	"fmt"
	"os"
	"strings"
	"unsafe"
)

// Float is the set of element types every kernel is written for.
type Float interface{ float32 | float64 }

// gemmKernel is a register-blocked microkernel together with its tile shape.
//
// fn computes, for an mr x nr tile of C with row stride ldc (in elements),
//
//	C[i][j] = alpha * sum_{p<kc} a[p*mr+i] * b[p*nr+j] + beta * C[i][j]
//
// where a is a packed micro-panel of A (kc x mr, k-major) and b a packed
// micro-panel of B (kc x nr, k-major). When beta == 0, C is written without
// being read, so NaN or Inf left in C never propagate. kc >= 1.
type gemmKernel[T Float] struct {
	mr, nr int
	fn     func(kc int, a, b, c *T, ldc int, alpha, beta T)
}

// vecKernels is the table of vector kernels of one element type. Every entry
// assumes its slice arguments have equal length (the exported wrappers check
// that once); dst may alias x or y.
type vecKernels[T Float] struct {
	axpy    func(alpha T, x, y []T) // y += alpha*x
	scale   func(alpha T, dst, x []T)
	dot     func(x, y []T) T
	sum     func(x []T) T
	max     func(x []T) T // len(x) >= 1
	add     func(dst, x, y []T)
	sub     func(dst, x, y []T)
	mul     func(dst, x, y []T)
	div     func(dst, x, y []T)
	maximum func(dst, x, y []T)
	relu    func(dst, x []T)
	posMask func(dst, x, y []T) // dst = y > 0 ? x : +0
	exp     func(dst, x []T)
	log     func(dst, x []T)
	tanh    func(dst, x []T)
	sigmoid func(dst, x []T)
}

// table is everything one SIMD tier provides.
type table struct {
	name  string
	sgemm gemmKernel[float32]
	dgemm gemmKernel[float64]
	s     vecKernels[float32]
	d     vecKernels[float64]
	// transposes used by packing: dst[c*ld+r] = src[r*lds+c] for
	// r < rows, c < cols (see transposeGeneric).
	t32 func(dst []float32, ld int, src []float32, lds, rows, cols int)
	t64 func(dst []float64, ld int, src []float64, lds, rows, cols int)
	// panelCopy packs contiguous rows into micro-panels (see
	// copyPanelsInto); nil means copy row by row.
	panelCopy panelCopyFunc
	// cs32, cs64: the fused ReLU-backward kernels of MaskPositiveColSum;
	// a nil fn means the generic loop.
	cs32, cs64 colSumKernel
	// mom32, mom64: the fused heavy-ball kernels of MomentumUpdate; a nil
	// fn means Scale and two Axpy calls.
	mom32 momentumKernel[float32]
	mom64 momentumKernel[float64]
}

// panelCopyFunc copies a rows x (panels*width bytes) block of src (row
// stride lds bytes) into panels micro-panels: row p of panel q, width bytes
// (a positive multiple of 32), goes to dst + q*pstride + p*width.
type panelCopyFunc func(dst unsafe.Pointer, pstride int, src unsafe.Pointer, lds, rows, panels, width int)

// Tier names accepted by GRADFLOW_SIMD.
const (
	TierGeneric = "generic"
	TierAVX2    = "avx2"
	TierAVX512  = "avx512"
	TierNEON    = "neon"
)

// cur is the table in use, chosen once at init.
var cur *table

// overrideErr records a GRADFLOW_SIMD value that could not be honoured, so
// Info can report it instead of the process silently running another tier.
var overrideErr string

func init() {
	env := strings.TrimSpace(os.Getenv("GRADFLOW_SIMD"))
	choice, choiceEntry, overrideErr = choose(archTable, hostCPU(), Tiers(), env)
	if overrideErr != "" {
		fmt.Fprintln(os.Stderr, "gradflow:", overrideErr)
	}
	cur = newTable(choice.Tier)
	initBlocking()
}

// Tiers returns the tiers this CPU and build support, best first; the last
// is always "generic".
func Tiers() []string {
	return append(archTiers(), TierGeneric)
}

func tierSupported(name string) bool {
	for _, t := range Tiers() {
		if t == name {
			return true
		}
	}
	return false
}

// newTable builds the table of a tier: generic kernels first, then whatever
// the architecture files provide for that tier.
func newTable(name string) *table {
	t := &table{
		name:  name,
		sgemm: gemmKernel[float32]{mr: genericMR, nr: genericNR, fn: gemmKernelGeneric[float32]},
		dgemm: gemmKernel[float64]{mr: genericMR, nr: genericNR, fn: gemmKernelGeneric[float64]},
		s:     genericVec[float32](),
		d:     genericVec[float64](),
		t32:   transposeGeneric[float32],
		t64:   transposeGeneric[float64],
	}
	if name != TierGeneric {
		archGemmKernels(name, &t.sgemm, &t.dgemm)
		archVecKernels(name, &t.s, &t.d)
		archTranspose(name, &t.t32, &t.t64)
		t.panelCopy = archPanelCopy(name)
		t.cs32, t.cs64 = archColSum(name)
		t.mom32, t.mom64 = archMomentum(name)
	}
	return t
}

// SetTier switches every kernel to the named tier and returns a function that
// restores the previous one. It exists for tests and benchmarks that compare
// tiers in one process; it must not race with running kernels.
func SetTier(name string) (restore func(), err error) {
	if !tierSupported(name) {
		return nil, fmt.Errorf("simd: tier %q not available (have %s)", name, strings.Join(Tiers(), ", "))
	}
	prev := cur
	cur = newTable(name)
	return func() { cur = prev }, nil
}

// Tier returns the name of the tier in use.
func Tier() string { return cur.name }

// Info describes the kernels in use: tier, microkernel shapes and blocking.
type Info struct {
	Tier       string   // tier in use
	Available  []string // tiers this CPU and build support, best first
	Override   string   // non-empty when GRADFLOW_SIMD could not be honoured
	Choice     Choice   // the start-up choice of tier and why
	MR32, NR32 int      // float32 microkernel tile
	MR64, NR64 int      // float64 microkernel tile
	Block32    Blocking // float32 cache blocking
	Block64    Blocking // float64 cache blocking
	Cache      CacheSizes
}

// CurrentInfo reports the tier and blocking parameters in use.
func CurrentInfo() Info {
	return Info{
		Tier:      cur.name,
		Available: Tiers(),
		Override:  overrideErr,
		Choice:    choice,
		MR32:      cur.sgemm.mr, NR32: cur.sgemm.nr,
		MR64: cur.dgemm.mr, NR64: cur.dgemm.nr,
		Block32: blockingFor(4, cur.sgemm.mr, cur.sgemm.nr),
		Block64: blockingFor(8, cur.dgemm.mr, cur.dgemm.nr),
		Cache:   caches,
	}
}

// String formats the tier, kernel shapes, blocking and caches on one line.
func (i Info) String() string {
	return fmt.Sprintf("simd tier %s (available: %s; start-up choice %s by %s on %s); f32 kernel %dx%d KC=%d MC=%d NC=%d; f64 kernel %dx%d KC=%d MC=%d NC=%d; caches L1D=%dK L2=%dK L3=%dK",
		i.Tier, strings.Join(i.Available, ","), i.Choice.Tier, i.Choice.Source, i.Choice.CPU,
		i.MR32, i.NR32, i.Block32.KC, i.Block32.MC, i.Block32.NC,
		i.MR64, i.NR64, i.Block64.KC, i.Block64.MC, i.Block64.NC,
		i.Cache.L1D>>10, i.Cache.L2>>10, i.Cache.L3>>10)
}

// Package simd holds gradflow's numerical kernels and chooses, once at start
// up, the best implementation this CPU can run.
//
// # Tiers
//
// A tier is a complete table of kernels: "avx512" (AVX-512 F/DQ/BW/VL),
// "avx2" (AVX2 + FMA3), "neon" (arm64 Advanced SIMD) and "generic" (portable
// Go, always built, the reference every other tier is tested against).
// init picks the best tier cpuid reports; GRADFLOW_SIMD=generic|avx2|avx512|neon
// overrides it and the purego build tag removes all assembly. CurrentInfo
// reports the choice and the blocking parameters.
//
// # GEMM
//
// Gemm computes C = alpha*op(A)*op(B) + beta*C followed by an optional fused
// epilogue act(C + bias). Large products follow the BLIS/GotoBLAS design
// (Goto and van de Geijn, "Anatomy of high-performance matrix
// multiplication", ACM TOMS 2008; Van Zee and van de Geijn, "BLIS", 2015):
//
//	for jc in N by NC:            pack op(B)[pc:pc+KC, jc:jc+NC] into KC x NR micro-panels (L3)
//	  for pc in K by KC:
//	    for ic in M by MC:        pack op(A)[ic:ic+MC, pc:pc+KC] into MR x KC micro-panels (L2)
//	      for jr in NC by NR:
//	        for ir in MC by MR:   MR x NR microkernel, accumulators in registers (L1)
//
// Packing absorbs transposes and leading dimensions, so A^T B and A B^T cost
// the same as A B. Panels are zero-padded to whole micro-panels, so the
// microkernel never branches on edges; edge tiles go through a scratch tile.
// KC, MC and NC are derived from the cache sizes cpuid reports (KC*(MR+NR)
// elements fill about 65% of L1D, an MC x KC block half of L2, a KC x NC
// panel half of L3) with defaults when cpuid cannot tell.
//
// When M or N is tiny (at most 4, e.g. a batch of 1..4 rows), packing would
// cost as much as the product, and the rows of C are built from vector
// kernels (axpy over rows of B, or dot products) that read the operands in
// place.
//
// # Splitting over cores, and determinism
//
// The product is split over GOMAXPROCS workers by rectangles of C whose
// borders fall on multiples of MR and NR; K is split only under SplitK, and
// there in two parts fixed by the shape. Every element of C is therefore
// computed by the same sequence of floating-point operations whatever the
// number of workers: results are bit-identical for any GOMAXPROCS (they
// can differ between tiers, whose microkernels sum in different orders).
//
// By default (SplitAuto) products below 2^28 flops stay on one core and
// larger ones are split where packing costs least. Epilogue.Split asks
// instead for the rows or the columns of C to be divided into the shares
// Share returns, with share p on participant p of parallel.RunPinned on
// every call. A training step that splits every product touching a weight
// matrix by that matrix's rows, and updates the rows in the same shares,
// keeps each part of the weights in one core's cache: on a 2-vCPU VM this
// made a 784-512-512-10 step at two threads 1.4-1.6x faster than at one,
// where splitting the same products with SplitAuto made it 0.7x. Each share
// is cut into pieces that a core which is done early takes over, and the
// operand every piece needs (op(A) for a column split) is packed once per
// worker and call. SplitK divides K, the rows of W in dX = dZ W, into the
// same shares, so that no core reads rows of W another core updates: the
// optimizer's update of a row that the other core had read (half of every
// row, with dX split by columns) cost a two-thread step ~90 us of
// cross-core cache traffic.
//
// # Vector kernels
//
// Axpy, Scale, Dot, Sum, Max and the elementwise Add, Sub, Mul, Div,
// Maximum, Relu, Exp, Log, Tanh, Sigmoid work on whole slices. The math
// functions of the SIMD tiers are polynomial approximations whose maximum
// error in ulp is measured by the tests over the whole float range and stated
// on each kernel.
package simd

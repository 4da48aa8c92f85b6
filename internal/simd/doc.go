// Package simd holds gradflow's numerical kernels and chooses, once at start
// up, the best implementation this CPU can run.
//
// # Tiers
//
// A tier is a complete table of kernels: "avx512" (AVX-512 F/DQ/BW/VL),
// "avx2" (AVX2 + FMA3), "neon" (arm64 Advanced SIMD) and "generic" (portable
// Go, always built, the reference every other tier is tested against).
// init picks the tier once, deterministically (from cpuid, never from a
// timing at start-up): the microarchitecture table below when it has an
// entry for the CPU's vendor, family and model and the CPU supports that
// entry's tier, else the best tier the CPU's features allow.
// GRADFLOW_SIMD=generic|avx2|avx512|neon overrides both and the purego build
// tag removes all assembly. StartupChoice reports the choice, the rule that
// made it and why; CurrentInfo adds the blocking parameters.
//
// # Microarchitecture table
//
// Feature flags do not say how fast a feature is: Zen 4 has AVX-512 but
// executes each 512-bit instruction as two 256-bit halves. archTable
// (microarch.go) holds one row per microarchitecture measured, with the
// tier (and optionally the cache blocking) and the measurement behind it,
// one thread, ratios within one run:
//
//	vendor family model       name            tier    measurement (avx512 vs avx2)
//	AMD    0x19   0x00-0xff   Zen 4 (Zen 3)   avx2    EPYC 25/17: sgemm 1024^3 76.6-82.3 vs 85.3-93.6 GFLOPS;
//	                                                  dgemm 37.5-39.1 vs 37.0-40.7; MLP 784-512-512-10 b128
//	                                                  f32 21,300-24,000 vs 23,300-23,800 samples/s,
//	                                                  f64 11,200-12,100 vs 11,700-12,900 (issue 21)
//	AMD    0x1a   0x00-0xff   Zen 5           avx512  Turin-like VM: sgemm 1024^3 189.9 vs 100.0, dgemm 87.0 vs 49.9
//	Intel  6      0xcf        Emerald Rapids  avx512  2-vCPU KVM, avx2/avx512 per-round ratio: gemm 1024^3
//	                                                  f32 0.55, f64 0.58; MLP f32 0.59, f64 0.59 (bench
//	                                                  tiers -measure, quiet; loaded runs 0.57-0.81)
//
// Zen 3 shares family 0x19 but has no AVX-512, so its entry only restates
// its feature default. A CPU without an entry (or a VM hiding the entry's
// tier) gets the feature default. bench/RESULTS.md has a section per CPU
// measured. "go run ./bench tiers -measure" compares the tiers on GEMM
// 1024^3 and the MLP step in one process (the measurement a new entry
// needs), and "go run ./bench gemm -json" marks the default tier's rows with
// "default": true.
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
// The x86 microkernels prefetch: the rows of their C tile on entry (C is
// read only after the k loop, and rows ldc apart defeat the hardware
// prefetchers) and the packed A block 2 KiB ahead of the k-step being
// computed (A streams from L2 one micro-panel per tile). On Emerald Rapids
// this raised a one-thread 1024^3 product from 62.5 to 71.0 GFLOPS (f64,
// avx512), 34.7 to 40.0 (f64, avx2) and by 4-5% in f32, to 0.96-1.01x of
// OpenBLAS 0.3.21's SkylakeX kernels (bench/RESULTS.md).
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

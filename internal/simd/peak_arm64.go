//go:build !purego

package simd

// peakChainsNEON is the number of independent FMLA chains in the peak loops:
// it must reach FMA pipes x FMA latency, which is 4 x 4 = 16 on Neoverse V1/V2
// and Apple M-series cores; 24 leaves margin for a 6-cycle latency.
const peakChainsNEON = 24

// archPeakKernel returns a loop that runs iters iterations of register-only,
// independent vector FMAs for the given tier, with the floating-point
// operations each iteration performs (an FMA counts as 2 per lane). It reports
// ok = false for a tier this architecture has no peak loop for.
//
// One iteration takes about 6 cycles on a core with 4 FMA pipes, and an asm
// call cannot be preempted, so callers should keep iters to about 1e5 per
// call (well under a millisecond) and call repeatedly.
func archPeakKernel(tier string, f32 bool) (fn func(iters int), flopsPerIter int, ok bool) {
	if tier != TierNEON {
		return nil, 0, false
	}
	if f32 {
		return peakNEON32, peakChainsNEON * 4 * 2, true
	}
	return peakNEON64, peakChainsNEON * 2 * 2, true
}

// peakNEON32 runs iters iterations of 24 independent FMLA.4S (see peak_arm64.s).
func peakNEON32(iters int)

// peakNEON64 runs iters iterations of 24 independent FMLA.2D.
func peakNEON64(iters int)

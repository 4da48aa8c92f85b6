//go:build !purego

package simd

// FMAs per iteration of the peak loops; they must match the unrolling in
// peak_amd64.s (AVX2) and gemm_avx512_amd64.s (AVX-512).
const (
	peakAVX2FMAs   = 24
	peakAVX512FMAs = 48
)

// archPeakKernel returns the register-only FMA loop of a tier: fn(iters)
// runs iters iterations of flopsPerIter floating-point operations (an FMA
// counts as two). ok is false for tiers without such a loop.
func archPeakKernel(tier string, f32 bool) (fn func(iters int), flopsPerIter int, ok bool) {
	switch tier {
	case TierAVX512:
		if f32 {
			return peakAVX512F32, peakAVX512FMAs * 16 * 2, true
		}
		return peakAVX512F64, peakAVX512FMAs * 8 * 2, true
	case TierAVX2:
		if f32 {
			return peakAVX2F32, peakAVX2FMAs * 8 * 2, true
		}
		return peakAVX2F64, peakAVX2FMAs * 4 * 2, true
	}
	return nil, 0, false
}

// The peak loops touch no memory; iters <= 0 returns at once.
func peakAVX2F32(iters int)
func peakAVX2F64(iters int)
func peakAVX512F32(iters int)
func peakAVX512F64(iters int)

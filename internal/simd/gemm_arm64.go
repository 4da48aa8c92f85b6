//go:build !purego

package simd

// NEON microkernel tiles. Both keep 24 of the 32 128-bit registers as
// accumulators, which covers FMA latency x FMA pipes (4 x 4 = 16 on current
// Neoverse and Apple cores) with room to spare, and leave enough registers to
// hold one k-step of A and B without reloading.
const (
	neonMR32, neonNR32 = 8, 12 // 8 rows x 3 vectors of 4 float32
	neonMR64, neonNR64 = 6, 8  // 6 rows x 4 vectors of 2 float64
)

// archGemmKernels installs the arm64 microkernels of a tier.
func archGemmKernels(tier string, s *gemmKernel[float32], d *gemmKernel[float64]) {
	if tier != TierNEON {
		return
	}
	*s = gemmKernel[float32]{mr: neonMR32, nr: neonNR32, fn: sgemmKernelNEON}
	*d = gemmKernel[float64]{mr: neonMR64, nr: neonNR64, fn: dgemmKernelNEON}
}

// sgemmKernelNEON is the 8x12 float32 microkernel (contract on gemmKernel).
// Registers: V0-V1 hold the 8 A elements of a k-step, V2-V4 the 12 B
// elements, V8-V31 the 8x3 accumulator vectors (C row i, columns 4j..4j+3 in
// V(8+3i+j)); each k-step is 24 by-element FMLAs (gemm_neon_arm64.s).
//
//go:noescape
func sgemmKernelNEON(kc int, a, b, c *float32, ldc int, alpha, beta float32)

// dgemmKernelNEON is the 6x8 float64 microkernel (contract on gemmKernel).
// Registers: V0-V2 hold the 6 A elements of a k-step, V3-V6 the 8 B
// elements, V8-V31 the 6x4 accumulator vectors (C row i, columns 2j, 2j+1 in
// V(8+4i+j)); each k-step is 24 by-element FMLAs (gemm_neon_arm64.s).
//
//go:noescape
func dgemmKernelNEON(kc int, a, b, c *float64, ldc int, alpha, beta float64)

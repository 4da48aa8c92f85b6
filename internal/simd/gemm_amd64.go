//go:build !purego

package simd

// archGemmKernels installs the amd64 microkernels of a tier. Tile shapes and
// register allocation are documented in gemm_avx512_amd64.s and
// gemm_avx2_amd64.s; gemm_kernel_test.go measures them against the FMA peak.
//
//	tier    float32  float64
//	avx512  8 x 32   8 x 16
//	avx2    6 x 16   6 x 8
func archGemmKernels(tier string, s *gemmKernel[float32], d *gemmKernel[float64]) {
	switch tier {
	case TierAVX512:
		*s = gemmKernel[float32]{mr: 8, nr: 32, fn: sgemm8x32AVX512}
		*d = gemmKernel[float64]{mr: 8, nr: 16, fn: dgemm8x16AVX512}
	case TierAVX2:
		*s = gemmKernel[float32]{mr: 6, nr: 16, fn: sgemm6x16AVX2}
		*d = gemmKernel[float64]{mr: 6, nr: 8, fn: dgemm6x8AVX2}
	}
}

// The microkernels follow the gemmKernel contract (dispatch.go). They read
// kc*MR elements from a, kc*NR from b and an MR x NR tile of row stride ldc
// from c; none of the pointers is retained.

//go:noescape
func sgemm8x32AVX512(kc int, a, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func dgemm8x16AVX512(kc int, a, b, c *float64, ldc int, alpha, beta float64)

//go:noescape
func sgemm6x16AVX2(kc int, a, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func dgemm6x8AVX2(kc int, a, b, c *float64, ldc int, alpha, beta float64)

//go:build !purego

#include "textflag.h"

// NEON GEMM microkernels. The contract is the one of gemmKernel (dispatch.go):
//
//	C[i][j] = alpha * sum_{p<kc} a[p*mr+i]*b[p*nr+j] + beta*C[i][j]
//
// with a and b packed k-major micro-panels and C row-major with stride ldc
// elements; beta == 0 writes C without reading it.
//
// Each k-step loads one column of A (mr elements) and one row of B (nr
// elements) into vector registers and does one multiply-add by element per
// accumulator: every accumulator vector holds 4 (float32) or 2 (float64)
// consecutive columns of one C row, and the A element of that row is taken
// straight from its lane, so A needs no broadcast registers.
//
// Go's assembler has no by-element FMLA/FMUL, so these are emitted as WORDs
// by the macros below. Each encoding was checked against
// aarch64-linux-gnu-objdump on the built test binary, and the kernels are
// tested under qemu-aarch64 (gemm_arm64_test.go).

// FMLA Vd.4S, Vn.4S, Vm.S[i]   (Vd += Vn * Vm[i]); i = H:L, Vm any of V0-V31.
#define FMLA_S(d, n, m, i) WORD $(0x4F801000 | (((i)&1)<<21) | (((i)>>1)<<11) | ((m)<<16) | ((n)<<5) | (d))
// FMUL Vd.4S, Vn.4S, Vm.S[i]   (Vd = Vn * Vm[i]).
#define FMUL_S(d, n, m, i) WORD $(0x4F809000 | (((i)&1)<<21) | (((i)>>1)<<11) | ((m)<<16) | ((n)<<5) | (d))
// FMLA Vd.2D, Vn.2D, Vm.D[i]   (Vd += Vn * Vm[i]); i = H.
#define FMLA_D(d, n, m, i) WORD $(0x4FC01000 | ((i)<<11) | ((m)<<16) | ((n)<<5) | (d))
// FMUL Vd.2D, Vn.2D, Vm.D[i]   (Vd = Vn * Vm[i]).
#define FMUL_D(d, n, m, i) WORD $(0x4FC09000 | ((i)<<11) | ((m)<<16) | ((n)<<5) | (d))

#define ZERO(v) VEOR v.B16, v.B16, v.B16

// ---------------------------------------------------------------------------
// float32, 8x12 tile.
//
// Registers:
//	V0, V1      A column: rows 0-3, rows 4-7
//	V2-V4       B row: columns 0-3, 4-7, 8-11
//	V5          alpha (lane 0), epilogue only
//	V6          beta broadcast, epilogue only
//	V8-V31      accumulators: C row i, columns 4j..4j+3 in V(8+3i+j)
//	V0-V2       reused for a row of C in the epilogue
//	R0 k counter, R1 a, R2 b, R3 C row, R4 ldc in bytes, R5 scratch

// Row i of the tile: its A element is lane l of V(m).
#define S_ROW(i, m, l) \
	FMLA_S(8+3*(i), 2, m, l); \
	FMLA_S(9+3*(i), 3, m, l); \
	FMLA_S(10+3*(i), 4, m, l)

#define S_KSTEP \
	VLD1.P 32(R1), [V0.S4, V1.S4]; \
	VLD1.P 48(R2), [V2.S4, V3.S4, V4.S4]; \
	S_ROW(0, 0, 0); \
	S_ROW(1, 0, 1); \
	S_ROW(2, 0, 2); \
	S_ROW(3, 0, 3); \
	S_ROW(4, 1, 0); \
	S_ROW(5, 1, 1); \
	S_ROW(6, 1, 2); \
	S_ROW(7, 1, 3)

// C row = alpha*acc (beta == 0: C is not read).
#define S_STORE(n, v0, v1, v2) \
	FMUL_S(n, n, 5, 0); \
	FMUL_S(n+1, n+1, 5, 0); \
	FMUL_S(n+2, n+2, 5, 0); \
	VST1 [v0.S4, v1.S4, v2.S4], (R3); \
	ADD  R4, R3, R3

// C row = alpha*acc + beta*C, the beta product fused into one rounding.
#define S_UPDATE(n, v0, v1, v2) \
	VLD1  (R3), [V0.S4, V1.S4, V2.S4]; \
	FMUL_S(n, n, 5, 0); \
	FMUL_S(n+1, n+1, 5, 0); \
	FMUL_S(n+2, n+2, 5, 0); \
	VFMLA V6.S4, V0.S4, v0.S4; \
	VFMLA V6.S4, V1.S4, v1.S4; \
	VFMLA V6.S4, V2.S4, v2.S4; \
	VST1  [v0.S4, v1.S4, v2.S4], (R3); \
	ADD   R4, R3, R3

// Touch both cache lines a C row may span (48 bytes for float32, 64 for
// float64), so the epilogue does not wait on memory the k loop could hide.
#define PREFETCH_ROW(last) \
	PRFM (R5), PSTL1KEEP; \
	PRFM last(R5), PSTL1KEEP; \
	ADD  R4, R5, R5

// func sgemmKernelNEON(kc int, a, b, c *float32, ldc int, alpha, beta float32)
TEXT ·sgemmKernelNEON(SB), NOSPLIT|NOFRAME, $0-48
	MOVD kc+0(FP), R0
	MOVD a+8(FP), R1
	MOVD b+16(FP), R2
	MOVD c+24(FP), R3
	MOVD ldc+32(FP), R4
	LSL  $2, R4, R4

	MOVD R3, R5
	PREFETCH_ROW(40)
	PREFETCH_ROW(40)
	PREFETCH_ROW(40)
	PREFETCH_ROW(40)
	PREFETCH_ROW(40)
	PREFETCH_ROW(40)
	PREFETCH_ROW(40)
	PREFETCH_ROW(40)

	ZERO(V8)
	ZERO(V9)
	ZERO(V10)
	ZERO(V11)
	ZERO(V12)
	ZERO(V13)
	ZERO(V14)
	ZERO(V15)
	ZERO(V16)
	ZERO(V17)
	ZERO(V18)
	ZERO(V19)
	ZERO(V20)
	ZERO(V21)
	ZERO(V22)
	ZERO(V23)
	ZERO(V24)
	ZERO(V25)
	ZERO(V26)
	ZERO(V27)
	ZERO(V28)
	ZERO(V29)
	ZERO(V30)
	ZERO(V31)

	// One step if kc is odd, then pairs of steps: halves the loop overhead.
	TBZ $0, R0, s_pairs
	S_KSTEP

s_pairs:
	LSR $1, R0, R0
	CBZ R0, s_epilogue

s_loop:
	S_KSTEP
	S_KSTEP
	SUBS $1, R0, R0
	BNE  s_loop

s_epilogue:
	FMOVS alpha+40(FP), F5
	FMOVS beta+44(FP), F6
	FCMPS $(0.0), F6
	BEQ   s_store
	VDUP  V6.S[0], V6.S4
	S_UPDATE(8, V8, V9, V10)
	S_UPDATE(11, V11, V12, V13)
	S_UPDATE(14, V14, V15, V16)
	S_UPDATE(17, V17, V18, V19)
	S_UPDATE(20, V20, V21, V22)
	S_UPDATE(23, V23, V24, V25)
	S_UPDATE(26, V26, V27, V28)
	S_UPDATE(29, V29, V30, V31)
	RET

s_store:
	S_STORE(8, V8, V9, V10)
	S_STORE(11, V11, V12, V13)
	S_STORE(14, V14, V15, V16)
	S_STORE(17, V17, V18, V19)
	S_STORE(20, V20, V21, V22)
	S_STORE(23, V23, V24, V25)
	S_STORE(26, V26, V27, V28)
	S_STORE(29, V29, V30, V31)
	RET

// ---------------------------------------------------------------------------
// float64, 6x8 tile.
//
// Registers:
//	V0-V2       A column: rows 0-1, 2-3, 4-5
//	V3-V6       B row: columns 0-1, 2-3, 4-5, 6-7
//	V4          alpha (lane 0), epilogue only
//	V5          beta broadcast, epilogue only
//	V8-V31      accumulators: C row i, columns 2j, 2j+1 in V(8+4i+j)
//	V0-V3       reused for a row of C in the epilogue
//	R0 k counter, R1 a, R2 b, R3 C row, R4 ldc in bytes, R5 scratch

#define D_ROW(i, m, l) \
	FMLA_D(8+4*(i), 3, m, l); \
	FMLA_D(9+4*(i), 4, m, l); \
	FMLA_D(10+4*(i), 5, m, l); \
	FMLA_D(11+4*(i), 6, m, l)

#define D_KSTEP \
	VLD1.P 48(R1), [V0.D2, V1.D2, V2.D2]; \
	VLD1.P 64(R2), [V3.D2, V4.D2, V5.D2, V6.D2]; \
	D_ROW(0, 0, 0); \
	D_ROW(1, 0, 1); \
	D_ROW(2, 1, 0); \
	D_ROW(3, 1, 1); \
	D_ROW(4, 2, 0); \
	D_ROW(5, 2, 1)

#define D_STORE(n, v0, v1, v2, v3) \
	FMUL_D(n, n, 4, 0); \
	FMUL_D(n+1, n+1, 4, 0); \
	FMUL_D(n+2, n+2, 4, 0); \
	FMUL_D(n+3, n+3, 4, 0); \
	VST1 [v0.D2, v1.D2, v2.D2, v3.D2], (R3); \
	ADD  R4, R3, R3

#define D_UPDATE(n, v0, v1, v2, v3) \
	VLD1  (R3), [V0.D2, V1.D2, V2.D2, V3.D2]; \
	FMUL_D(n, n, 4, 0); \
	FMUL_D(n+1, n+1, 4, 0); \
	FMUL_D(n+2, n+2, 4, 0); \
	FMUL_D(n+3, n+3, 4, 0); \
	VFMLA V5.D2, V0.D2, v0.D2; \
	VFMLA V5.D2, V1.D2, v1.D2; \
	VFMLA V5.D2, V2.D2, v2.D2; \
	VFMLA V5.D2, V3.D2, v3.D2; \
	VST1  [v0.D2, v1.D2, v2.D2, v3.D2], (R3); \
	ADD   R4, R3, R3

// func dgemmKernelNEON(kc int, a, b, c *float64, ldc int, alpha, beta float64)
TEXT ·dgemmKernelNEON(SB), NOSPLIT|NOFRAME, $0-56
	MOVD kc+0(FP), R0
	MOVD a+8(FP), R1
	MOVD b+16(FP), R2
	MOVD c+24(FP), R3
	MOVD ldc+32(FP), R4
	LSL  $3, R4, R4

	MOVD R3, R5
	PREFETCH_ROW(56)
	PREFETCH_ROW(56)
	PREFETCH_ROW(56)
	PREFETCH_ROW(56)
	PREFETCH_ROW(56)
	PREFETCH_ROW(56)

	ZERO(V8)
	ZERO(V9)
	ZERO(V10)
	ZERO(V11)
	ZERO(V12)
	ZERO(V13)
	ZERO(V14)
	ZERO(V15)
	ZERO(V16)
	ZERO(V17)
	ZERO(V18)
	ZERO(V19)
	ZERO(V20)
	ZERO(V21)
	ZERO(V22)
	ZERO(V23)
	ZERO(V24)
	ZERO(V25)
	ZERO(V26)
	ZERO(V27)
	ZERO(V28)
	ZERO(V29)
	ZERO(V30)
	ZERO(V31)

	TBZ $0, R0, d_pairs
	D_KSTEP

d_pairs:
	LSR $1, R0, R0
	CBZ R0, d_epilogue

d_loop:
	D_KSTEP
	D_KSTEP
	SUBS $1, R0, R0
	BNE  d_loop

d_epilogue:
	FMOVD alpha+40(FP), F4
	FMOVD beta+48(FP), F5
	FCMPD $(0.0), F5
	BEQ   d_store
	VDUP  V5.D[0], V5.D2
	D_UPDATE(8, V8, V9, V10, V11)
	D_UPDATE(12, V12, V13, V14, V15)
	D_UPDATE(16, V16, V17, V18, V19)
	D_UPDATE(20, V20, V21, V22, V23)
	D_UPDATE(24, V24, V25, V26, V27)
	D_UPDATE(28, V28, V29, V30, V31)
	RET

d_store:
	D_STORE(8, V8, V9, V10, V11)
	D_STORE(12, V12, V13, V14, V15)
	D_STORE(16, V16, V17, V18, V19)
	D_STORE(20, V20, V21, V22, V23)
	D_STORE(24, V24, V25, V26, V27)
	D_STORE(28, V28, V29, V30, V31)
	RET

//go:build !purego

#include "textflag.h"

// NEON vector kernels (float32 and float64). Each loop handles 64 bytes (4
// vector registers) per iteration, then single vectors, then single
// elements, so any length and any alignment work; NEON loads and stores do
// not need aligned addresses.
//
// Go's assembler lacks the vector forms of FADD, FSUB, FMUL, FDIV and FADDP
// and the by-element FMUL, so they are emitted as WORDs by the macros below;
// each was checked against aarch64-linux-gnu-objdump on the built test binary
// and is exercised under qemu-aarch64 by vec_arm64_test.go.
//
// Register use (all kernels): R0 dst, R1 x, R2 y, R3 remaining length,
// R4 block counter; V0-V3 x (and results), V4-V7 y, V16-V19 partial sums,
// V31 alpha.

// Three-register vector ops, Vd = Vn op Vm.
#define FADD_S(d, n, m) WORD $(0x4E20D400 | ((m)<<16) | ((n)<<5) | (d))
#define FADD_D(d, n, m) WORD $(0x4E60D400 | ((m)<<16) | ((n)<<5) | (d))
#define FSUB_S(d, n, m) WORD $(0x4EA0D400 | ((m)<<16) | ((n)<<5) | (d))
#define FSUB_D(d, n, m) WORD $(0x4EE0D400 | ((m)<<16) | ((n)<<5) | (d))
#define FMUL_S(d, n, m) WORD $(0x6E20DC00 | ((m)<<16) | ((n)<<5) | (d))
#define FMUL_D(d, n, m) WORD $(0x6E60DC00 | ((m)<<16) | ((n)<<5) | (d))
#define FDIV_S(d, n, m) WORD $(0x6E20FC00 | ((m)<<16) | ((n)<<5) | (d))
#define FDIV_D(d, n, m) WORD $(0x6E60FC00 | ((m)<<16) | ((n)<<5) | (d))

// By-element FMUL Vd.4S, Vn.4S, Vm.S[0] and FMUL Vd.2D, Vn.2D, Vm.D[0]:
// scale reads alpha straight from lane 0, with no broadcast.
#define FMULE_S(d, n, m) WORD $(0x4F809000 | ((m)<<16) | ((n)<<5) | (d))
#define FMULE_D(d, n, m) WORD $(0x4FC09000 | ((m)<<16) | ((n)<<5) | (d))

// FADDP Vd.4S, Vn.4S, Vm.4S (pairwise add) and the scalar FADDP Sd, Vn.2S /
// FADDP Dd, Vn.2D, which add the two low lanes.
#define FADDP_S(d, n, m) WORD $(0x6E20D400 | ((m)<<16) | ((n)<<5) | (d))
#define FADDP_S2(d, n) WORD $(0x7E30D800 | ((n)<<5) | (d))
#define FADDP_D2(d, n) WORD $(0x7E70D800 | ((n)<<5) | (d))

#define ZERO(v) VEOR v.B16, v.B16, v.B16

// The templates take the element arrangement T (S4 or D2), the scalar move MOV
// (FMOVS or FMOVD), the element size SZ in bytes, LB = log2(elements per
// 64-byte block) and LV = log2(elements per vector).

// LOOPS(BLOCK, VEC, ONE) runs BLOCK over 64-byte blocks, then VEC over
// vectors, then ONE over single elements, with R3 = n on entry.
#define LOOPS(BLOCK, VEC, ONE, LB, LV) \
	LSR  $LB, R3, R4; \
	CBZ  R4, vectors; \
blocks: \
	BLOCK; \
	SUBS $1, R4, R4; \
	BNE  blocks; \
vectors: \
	AND  $((1<<LB)-1), R3, R3; \
	LSR  $LV, R3, R4; \
	CBZ  R4, scalars; \
vectorloop: \
	VEC; \
	SUBS $1, R4, R4; \
	BNE  vectorloop; \
scalars: \
	ANDS $((1<<LV)-1), R3, R3; \
	BEQ  done; \
scalarloop: \
	ONE; \
	SUBS $1, R3, R3; \
	BNE  scalarloop; \
done:

// dst = x op y.
#define BIN_BLOCK(VOP, T) \
	VLD1.P 64(R1), [V0.T, V1.T, V2.T, V3.T]; \
	VLD1.P 64(R2), [V4.T, V5.T, V6.T, V7.T]; \
	VOP(0, 0, 4); \
	VOP(1, 1, 5); \
	VOP(2, 2, 6); \
	VOP(3, 3, 7); \
	VST1.P [V0.T, V1.T, V2.T, V3.T], 64(R0)

#define BIN_VEC(VOP, T) \
	VLD1.P 16(R1), [V0.T]; \
	VLD1.P 16(R2), [V4.T]; \
	VOP(0, 0, 4); \
	VST1.P [V0.T], 16(R0)

#define BIN_ONE(SOP, MOV, SZ) \
	MOV.P SZ(R1), F0; \
	MOV.P SZ(R2), F4; \
	SOP   F4, F0, F0; \
	MOV.P F0, SZ(R0)

// go vet's asmdecl reads the .s text without expanding macros, so the
// arguments are loaded in each function body, where it can check them.
#define BINARY(VOP, SOP, T, MOV, SZ, LB, LV) \
	LOOPS(BIN_BLOCK(VOP, T), BIN_VEC(VOP, T), BIN_ONE(SOP, MOV, SZ), LB, LV); \
	RET

// func addNEON32(dst, x, y []float32)
TEXT ·addNEON32(SB), NOSPLIT, $0-72
	MOVD dst_base+0(FP), R0
	MOVD dst_len+8(FP), R3
	MOVD x_base+24(FP), R1
	MOVD y_base+48(FP), R2
	BINARY(FADD_S, FADDS, S4, FMOVS, 4, 4, 2)

// func addNEON64(dst, x, y []float64)
TEXT ·addNEON64(SB), NOSPLIT, $0-72
	MOVD dst_base+0(FP), R0
	MOVD dst_len+8(FP), R3
	MOVD x_base+24(FP), R1
	MOVD y_base+48(FP), R2
	BINARY(FADD_D, FADDD, D2, FMOVD, 8, 3, 1)

// func subNEON32(dst, x, y []float32)
TEXT ·subNEON32(SB), NOSPLIT, $0-72
	MOVD dst_base+0(FP), R0
	MOVD dst_len+8(FP), R3
	MOVD x_base+24(FP), R1
	MOVD y_base+48(FP), R2
	BINARY(FSUB_S, FSUBS, S4, FMOVS, 4, 4, 2)

// func subNEON64(dst, x, y []float64)
TEXT ·subNEON64(SB), NOSPLIT, $0-72
	MOVD dst_base+0(FP), R0
	MOVD dst_len+8(FP), R3
	MOVD x_base+24(FP), R1
	MOVD y_base+48(FP), R2
	BINARY(FSUB_D, FSUBD, D2, FMOVD, 8, 3, 1)

// func mulNEON32(dst, x, y []float32)
TEXT ·mulNEON32(SB), NOSPLIT, $0-72
	MOVD dst_base+0(FP), R0
	MOVD dst_len+8(FP), R3
	MOVD x_base+24(FP), R1
	MOVD y_base+48(FP), R2
	BINARY(FMUL_S, FMULS, S4, FMOVS, 4, 4, 2)

// func mulNEON64(dst, x, y []float64)
TEXT ·mulNEON64(SB), NOSPLIT, $0-72
	MOVD dst_base+0(FP), R0
	MOVD dst_len+8(FP), R3
	MOVD x_base+24(FP), R1
	MOVD y_base+48(FP), R2
	BINARY(FMUL_D, FMULD, D2, FMOVD, 8, 3, 1)

// func divNEON32(dst, x, y []float32)
TEXT ·divNEON32(SB), NOSPLIT, $0-72
	MOVD dst_base+0(FP), R0
	MOVD dst_len+8(FP), R3
	MOVD x_base+24(FP), R1
	MOVD y_base+48(FP), R2
	BINARY(FDIV_S, FDIVS, S4, FMOVS, 4, 4, 2)

// func divNEON64(dst, x, y []float64)
TEXT ·divNEON64(SB), NOSPLIT, $0-72
	MOVD dst_base+0(FP), R0
	MOVD dst_len+8(FP), R3
	MOVD x_base+24(FP), R1
	MOVD y_base+48(FP), R2
	BINARY(FDIV_D, FDIVD, D2, FMOVD, 8, 3, 1)

// dst = alpha*x, alpha in lane 0 of V31 (F31).
#define SCALE_BLOCK(VOP, T) \
	VLD1.P 64(R1), [V0.T, V1.T, V2.T, V3.T]; \
	VOP(0, 0, 31); \
	VOP(1, 1, 31); \
	VOP(2, 2, 31); \
	VOP(3, 3, 31); \
	VST1.P [V0.T, V1.T, V2.T, V3.T], 64(R0)

#define SCALE_VEC(VOP, T) \
	VLD1.P 16(R1), [V0.T]; \
	VOP(0, 0, 31); \
	VST1.P [V0.T], 16(R0)

#define SCALE_ONE(SOP, MOV, SZ) \
	MOV.P SZ(R1), F0; \
	SOP   F31, F0, F0; \
	MOV.P F0, SZ(R0)

#define SCALE(VOP, SOP, T, MOV, SZ, LB, LV) \
	LOOPS(SCALE_BLOCK(VOP, T), SCALE_VEC(VOP, T), SCALE_ONE(SOP, MOV, SZ), LB, LV); \
	RET

// func scaleNEON32(alpha float32, dst, x []float32)
TEXT ·scaleNEON32(SB), NOSPLIT, $0-56
	FMOVS alpha+0(FP), F31
	MOVD  dst_base+8(FP), R0
	MOVD  dst_len+16(FP), R3
	MOVD  x_base+32(FP), R1
	SCALE(FMULE_S, FMULS, S4, FMOVS, 4, 4, 2)

// func scaleNEON64(alpha float64, dst, x []float64)
TEXT ·scaleNEON64(SB), NOSPLIT, $0-56
	FMOVD alpha+0(FP), F31
	MOVD  dst_base+8(FP), R0
	MOVD  dst_len+16(FP), R3
	MOVD  x_base+32(FP), R1
	SCALE(FMULE_D, FMULD, D2, FMOVD, 8, 3, 1)

// y += alpha*x, one rounding per element; alpha broadcast in V31.
#define AXPY_BLOCK(T) \
	VLD1.P 64(R1), [V0.T, V1.T, V2.T, V3.T]; \
	VLD1   (R2), [V4.T, V5.T, V6.T, V7.T]; \
	VFMLA  V31.T, V0.T, V4.T; \
	VFMLA  V31.T, V1.T, V5.T; \
	VFMLA  V31.T, V2.T, V6.T; \
	VFMLA  V31.T, V3.T, V7.T; \
	VST1.P [V4.T, V5.T, V6.T, V7.T], 64(R2)

#define AXPY_VEC(T) \
	VLD1.P 16(R1), [V0.T]; \
	VLD1   (R2), [V4.T]; \
	VFMLA  V31.T, V0.T, V4.T; \
	VST1.P [V4.T], 16(R2)

#define AXPY_ONE(FMA, MOV, SZ) \
	MOV.P SZ(R1), F0; \
	MOV   (R2), F4; \
	FMA   F0, F4, F31, F4; \
	MOV.P F4, SZ(R2)

#define AXPY(FMA, T, LANE, MOV, SZ, LB, LV) \
	VDUP V31.LANE, V31.T; \
	LOOPS(AXPY_BLOCK(T), AXPY_VEC(T), AXPY_ONE(FMA, MOV, SZ), LB, LV); \
	RET

// func axpyNEON32(alpha float32, x, y []float32)
TEXT ·axpyNEON32(SB), NOSPLIT, $0-56
	FMOVS alpha+0(FP), F31
	MOVD  x_base+8(FP), R1
	MOVD  x_len+16(FP), R3
	MOVD  y_base+32(FP), R2
	AXPY(FMADDS, S4, S[0], FMOVS, 4, 4, 2)

// func axpyNEON64(alpha float64, x, y []float64)
TEXT ·axpyNEON64(SB), NOSPLIT, $0-56
	FMOVD alpha+0(FP), F31
	MOVD  x_base+8(FP), R1
	MOVD  x_len+16(FP), R3
	MOVD  y_base+32(FP), R2
	AXPY(FMADDD, D2, D[0], FMOVD, 8, 3, 1)

// Reductions keep four vector partial sums V16-V19 (one per register of a
// block) so consecutive adds do not wait on each other; single vectors go
// into V16. The four are combined pairwise, then their lanes, into F16,
// and the tail elements are added to F16 last. The order is fixed by n
// alone.

#define DOT_BLOCK(T) \
	VLD1.P 64(R1), [V0.T, V1.T, V2.T, V3.T]; \
	VLD1.P 64(R2), [V4.T, V5.T, V6.T, V7.T]; \
	VFMLA  V4.T, V0.T, V16.T; \
	VFMLA  V5.T, V1.T, V17.T; \
	VFMLA  V6.T, V2.T, V18.T; \
	VFMLA  V7.T, V3.T, V19.T

#define DOT_VEC(T) \
	VLD1.P 16(R1), [V0.T]; \
	VLD1.P 16(R2), [V4.T]; \
	VFMLA  V4.T, V0.T, V16.T

#define DOT_ONE(FMA, MOV, SZ) \
	MOV.P SZ(R1), F0; \
	MOV.P SZ(R2), F4; \
	FMA   F4, F16, F0, F16

#define SUM_BLOCK(VADD, T) \
	VLD1.P 64(R1), [V0.T, V1.T, V2.T, V3.T]; \
	VADD(16, 16, 0); \
	VADD(17, 17, 1); \
	VADD(18, 18, 2); \
	VADD(19, 19, 3)

#define SUM_VEC(VADD, T) \
	VLD1.P 16(R1), [V0.T]; \
	VADD(16, 16, 0)

#define SUM_ONE(SADD, MOV, SZ) \
	MOV.P SZ(R1), F0; \
	SADD  F0, F16, F16

#define ZERO_SUMS \
	ZERO(V16); \
	ZERO(V17); \
	ZERO(V18); \
	ZERO(V19)

// Leaves (V16+V17)+(V18+V19) in V16; then the lanes are summed into F16.
#define COMBINE(VADD) \
	VADD(16, 16, 17); \
	VADD(18, 18, 19); \
	VADD(16, 16, 18)

// The 4 lanes of V16 -> F16 as (l0+l1)+(l2+l3).
#define LANES_S \
	FADDP_S(16, 16, 16); \
	FADDP_S2(16, 16)

// The 2 lanes of V16 -> F16.
#define LANES_D \
	FADDP_D2(16, 16)

// The vector and scalar phases of LOOPS are split by the lane reduction,
// so reductions spell their loops out.
#define REDUCE(BLOCK, VEC, ONE, VADD, LANES, LB, LV) \
	ZERO_SUMS; \
	LSR  $LB, R3, R4; \
	CBZ  R4, vectors; \
blocks: \
	BLOCK; \
	SUBS $1, R4, R4; \
	BNE  blocks; \
vectors: \
	AND  $((1<<LB)-1), R3, R3; \
	LSR  $LV, R3, R4; \
	CBZ  R4, lanes; \
vectorloop: \
	VEC; \
	SUBS $1, R4, R4; \
	BNE  vectorloop; \
lanes: \
	COMBINE(VADD); \
	LANES; \
	ANDS $((1<<LV)-1), R3, R3; \
	BEQ  done; \
scalarloop: \
	ONE; \
	SUBS $1, R3, R3; \
	BNE  scalarloop; \
done:

// func dotNEON32(x, y []float32) float32
TEXT ·dotNEON32(SB), NOSPLIT, $0-52
	MOVD  x_base+0(FP), R1
	MOVD  x_len+8(FP), R3
	MOVD  y_base+24(FP), R2
	REDUCE(DOT_BLOCK(S4), DOT_VEC(S4), DOT_ONE(FMADDS, FMOVS, 4), FADD_S, LANES_S, 4, 2)
	FMOVS F16, ret+48(FP)
	RET

// func dotNEON64(x, y []float64) float64
TEXT ·dotNEON64(SB), NOSPLIT, $0-56
	MOVD  x_base+0(FP), R1
	MOVD  x_len+8(FP), R3
	MOVD  y_base+24(FP), R2
	REDUCE(DOT_BLOCK(D2), DOT_VEC(D2), DOT_ONE(FMADDD, FMOVD, 8), FADD_D, LANES_D, 3, 1)
	FMOVD F16, ret+48(FP)
	RET

// func sumNEON32(x []float32) float32
TEXT ·sumNEON32(SB), NOSPLIT, $0-28
	MOVD  x_base+0(FP), R1
	MOVD  x_len+8(FP), R3
	REDUCE(SUM_BLOCK(FADD_S, S4), SUM_VEC(FADD_S, S4), SUM_ONE(FADDS, FMOVS, 4), FADD_S, LANES_S, 4, 2)
	FMOVS F16, ret+24(FP)
	RET

// func sumNEON64(x []float64) float64
TEXT ·sumNEON64(SB), NOSPLIT, $0-32
	MOVD  x_base+0(FP), R1
	MOVD  x_len+8(FP), R3
	REDUCE(SUM_BLOCK(FADD_D, D2), SUM_VEC(FADD_D, D2), SUM_ONE(FADDD, FMOVD, 8), FADD_D, LANES_D, 3, 1)
	FMOVD F16, ret+24(FP)
	RET

//go:build !purego

#include "textflag.h"

// AVX2+FMA peak loops (VEX only; the AVX-512 ones are in
// gemm_avx512_amd64.s). Each iteration issues 24 FMAs on 12 independent
// accumulators Y0-Y11 (every chain twice): 12 chains cover the 2 FMA pipes x
// 4 cycles latency of current cores with room to spare, and 12 + 2 operands
// fit in the 16 ymm registers. The operands are Y14 = Y15 = 1, so the
// accumulators count up and never reach Inf, NaN or subnormals, which could
// run slower. peakAVX2FMAs in peak_amd64.go must match.

#define PEAK_ZERO12 \
	VXORPS Y0, Y0, Y0    \
	VXORPS Y1, Y1, Y1    \
	VXORPS Y2, Y2, Y2    \
	VXORPS Y3, Y3, Y3    \
	VXORPS Y4, Y4, Y4    \
	VXORPS Y5, Y5, Y5    \
	VXORPS Y6, Y6, Y6    \
	VXORPS Y7, Y7, Y7    \
	VXORPS Y8, Y8, Y8    \
	VXORPS Y9, Y9, Y9    \
	VXORPS Y10, Y10, Y10 \
	VXORPS Y11, Y11, Y11

#define PEAK_FMA12(op) \
	op Y14, Y15, Y0  \
	op Y14, Y15, Y1  \
	op Y14, Y15, Y2  \
	op Y14, Y15, Y3  \
	op Y14, Y15, Y4  \
	op Y14, Y15, Y5  \
	op Y14, Y15, Y6  \
	op Y14, Y15, Y7  \
	op Y14, Y15, Y8  \
	op Y14, Y15, Y9  \
	op Y14, Y15, Y10 \
	op Y14, Y15, Y11

// func peakAVX2F32(iters int)
TEXT ·peakAVX2F32(SB), NOSPLIT, $0-8
	MOVQ  iters+0(FP), CX
	TESTQ CX, CX
	JLE   peaks32done
	MOVL  $0x3f800000, AX // 1.0f
	MOVQ  AX, X14
	VBROADCASTSS X14, Y14
	VMOVAPS Y14, Y15
	PEAK_ZERO12
	PCALIGN $64

peaks32loop:
	PEAK_FMA12(VFMADD231PS)
	PEAK_FMA12(VFMADD231PS)
	DECQ CX
	JNZ  peaks32loop
	VZEROUPPER

peaks32done:
	RET

// func peakAVX2F64(iters int)
TEXT ·peakAVX2F64(SB), NOSPLIT, $0-8
	MOVQ  iters+0(FP), CX
	TESTQ CX, CX
	JLE   peakd64done
	MOVQ  $0x3ff0000000000000, AX // 1.0
	MOVQ  AX, X14
	VBROADCASTSD X14, Y14
	VMOVAPD Y14, Y15
	PEAK_ZERO12
	PCALIGN $64

peakd64loop:
	PEAK_FMA12(VFMADD231PD)
	PEAK_FMA12(VFMADD231PD)
	DECQ CX
	JNZ  peakd64loop
	VZEROUPPER

peakd64done:
	RET

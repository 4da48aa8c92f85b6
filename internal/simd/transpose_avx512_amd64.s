//go:build !purego

#include "textflag.h"

// AVX-512 transpose kernel used by packing float64 operands on the avx512
// tier (transposeF64AVX512). dst[c*ld + r] = src[r*lds + c] over whole 8x8
// blocks; ld and lds are in elements and the wrapper has checked bounds.
//
// An 8x8 block is eight zmm rows. VUNPCKLPD/VUNPCKHPD pair the rows two by
// two within each 128-bit lane (t0 = r0[2L] r1[2L] in lane L, t1 = r0[2L+1]
// r1[2L+1], and so on); two rounds of VSHUFF64X2 then gather, for column c,
// the lanes (r0 r1)(r2 r3)(r4 r5)(r6 r7): 8 loads, 24 shuffles and 8
// stores per 64 elements, against 16 loads, 32 shuffles and 16 stores with
// the AVX2 4x4 kernel.

// func transpose8x8F64AVX512(dst *float64, ld int, src *float64, lds int, nrb, ncb int)
//
// Walks column blocks outermost and row blocks inside, so that dst (the
// k-major micro-panel) is written front to back.
//
// SI src of the current column block, DI dst of the current column block,
// DX lds in bytes, BX ld in bytes, R9 column blocks left, CX row blocks
// left, R11 src and R13 dst of the current block, R8 scratch.
TEXT ·transpose8x8F64AVX512(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ ld+8(FP), BX
	MOVQ src+16(FP), SI
	MOVQ lds+24(FP), DX
	MOVQ ncb+40(FP), R9
	SHLQ $3, BX
	SHLQ $3, DX

t8cols:
	MOVQ nrb+32(FP), CX
	MOVQ SI, R11
	MOVQ DI, R13

t8rows:
	MOVQ    R11, R8
	VMOVUPD (R8), Z0
	ADDQ    DX, R8
	VMOVUPD (R8), Z1
	ADDQ    DX, R8
	VMOVUPD (R8), Z2
	ADDQ    DX, R8
	VMOVUPD (R8), Z3
	ADDQ    DX, R8
	VMOVUPD (R8), Z4
	ADDQ    DX, R8
	VMOVUPD (R8), Z5
	ADDQ    DX, R8
	VMOVUPD (R8), Z6
	ADDQ    DX, R8
	VMOVUPD (R8), Z7

	// t_{2i} = unpacklo(r_{2i}, r_{2i+1}), t_{2i+1} = unpackhi(...).
	VUNPCKLPD Z1, Z0, Z8
	VUNPCKHPD Z1, Z0, Z9
	VUNPCKLPD Z3, Z2, Z10
	VUNPCKHPD Z3, Z2, Z11
	VUNPCKLPD Z5, Z4, Z12
	VUNPCKHPD Z5, Z4, Z13
	VUNPCKLPD Z7, Z6, Z14
	VUNPCKHPD Z7, Z6, Z15

	// Lanes 0,1 (and 2,3) of t0 and t2, of t4 and t6; the same for the
	// odd t.
	VSHUFF64X2 $0x44, Z10, Z8, Z16
	VSHUFF64X2 $0xee, Z10, Z8, Z17
	VSHUFF64X2 $0x44, Z14, Z12, Z18
	VSHUFF64X2 $0xee, Z14, Z12, Z19
	VSHUFF64X2 $0x44, Z11, Z9, Z20
	VSHUFF64X2 $0xee, Z11, Z9, Z21
	VSHUFF64X2 $0x44, Z15, Z13, Z22
	VSHUFF64X2 $0xee, Z15, Z13, Z23

	// Columns 0, 2 from lanes (0, 2) and (1, 3) of Z16/Z18; 4, 6 of
	// Z17/Z19; 1, 3 of Z20/Z22; 5, 7 of Z21/Z23.
	VSHUFF64X2 $0x88, Z18, Z16, Z0
	VSHUFF64X2 $0xdd, Z18, Z16, Z2
	VSHUFF64X2 $0x88, Z19, Z17, Z4
	VSHUFF64X2 $0xdd, Z19, Z17, Z6
	VSHUFF64X2 $0x88, Z22, Z20, Z1
	VSHUFF64X2 $0xdd, Z22, Z20, Z3
	VSHUFF64X2 $0x88, Z23, Z21, Z5
	VSHUFF64X2 $0xdd, Z23, Z21, Z7

	MOVQ    R13, R8
	VMOVUPD Z0, (R8)
	ADDQ    BX, R8
	VMOVUPD Z1, (R8)
	ADDQ    BX, R8
	VMOVUPD Z2, (R8)
	ADDQ    BX, R8
	VMOVUPD Z3, (R8)
	ADDQ    BX, R8
	VMOVUPD Z4, (R8)
	ADDQ    BX, R8
	VMOVUPD Z5, (R8)
	ADDQ    BX, R8
	VMOVUPD Z6, (R8)
	ADDQ    BX, R8
	VMOVUPD Z7, (R8)

	LEAQ (R11)(DX*8), R11
	ADDQ $64, R13
	DECQ CX
	JNZ  t8rows

	ADDQ $64, SI
	LEAQ (DI)(BX*8), DI
	DECQ R9
	JNZ  t8cols
	VZEROUPPER
	RET

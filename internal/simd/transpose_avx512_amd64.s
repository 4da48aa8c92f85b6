//go:build !purego

#include "textflag.h"

// AVX-512 transpose kernel for the float32 B^T panels of the avx512 tier
// (NR = 32 rows). Same contract and register roles as the kernels in
// transpose_avx2_amd64.s (SI/DI row-block origin, DX/R10 lds and 3*lds in
// bytes, BX/AX ld and 3*ld in bytes, R11 src and R13 dst of the block).

// TRANS4PSZ transposes the 4x4 blocks held in each 128-bit lane of a, b, c,
// d into a, b, c, d, using t0-t3 as temporaries (see TRANS4PS in
// transpose_avx2_amd64.s).
#define TRANS4PSZ(a, b, c, d, t0, t1, t2, t3) \
	VUNPCKLPS b, a, t0         \
	VUNPCKHPS b, a, t1         \
	VUNPCKLPS d, c, t2         \
	VUNPCKHPS d, c, t3         \
	VSHUFPS   $0x44, t2, t0, a \
	VSHUFPS   $0xee, t2, t0, b \
	VSHUFPS   $0x44, t3, t1, c \
	VSHUFPS   $0xee, t3, t1, d

// LOAD4 fills z (x is its low 128 bits) with four 16-byte row pieces, one
// per lane, from the memory operands m0-m3.
#define LOAD4(m0, m1, m2, m3, z, x) \
	VMOVUPS      m0, x        \
	VINSERTF32X4 $1, m1, z, z \
	VINSERTF32X4 $2, m2, z, z \
	VINSERTF32X4 $3, m3, z, z

// func transpose16x8F32AVX512(dst *float32, ld int, src *float32, lds int, nrb, ncb int)
//
// Block: 16 rows x 8 columns; transposes nrb x ncb blocks (nrb, ncb >= 1),
// column blocks outermost so that dst is written sequentially.
//
// Z0-Z3 hold columns 0-3 of source rows (0,4,8,12), (1,5,9,13), (2,6,10,14),
// (3,7,11,15), one row per lane; Z4-Z7 the same for columns 4-7. After the
// in-lane 4x4 transposes Z0-Z7 are the eight 16-element output rows.
// Z8-Z15 are temporaries. The source rows of a block are addressed from
// R11 (row 0), R12 (row 4), R14 (row 8) and R15 (row 12), each plus 0,
// lds, 2*lds or 3*lds; R8 points at dst row 4 of the block. No global is
// referenced, so R15 is free to use.
TEXT ·transpose16x8F32AVX512(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ ld+8(FP), BX
	MOVQ src+16(FP), SI
	MOVQ lds+24(FP), DX
	MOVQ ncb+40(FP), R9
	SHLQ $2, BX
	SHLQ $2, DX
	LEAQ (BX)(BX*2), AX
	LEAQ (DX)(DX*2), R10

z16x8cols:
	MOVQ SI, R11
	MOVQ DI, R13
	LEAQ (DI)(BX*4), R8
	MOVQ nrb+32(FP), CX

z16x8rows:
	LEAQ (R11)(DX*4), R12
	LEAQ (R11)(DX*8), R14
	LEAQ (R14)(DX*4), R15
	LOAD4((R11), (R12), (R14), (R15), Z0, X0)
	LOAD4((R11)(DX*1), (R12)(DX*1), (R14)(DX*1), (R15)(DX*1), Z1, X1)
	LOAD4((R11)(DX*2), (R12)(DX*2), (R14)(DX*2), (R15)(DX*2), Z2, X2)
	LOAD4((R11)(R10*1), (R12)(R10*1), (R14)(R10*1), (R15)(R10*1), Z3, X3)
	LOAD4(16(R11), 16(R12), 16(R14), 16(R15), Z4, X4)
	LOAD4(16(R11)(DX*1), 16(R12)(DX*1), 16(R14)(DX*1), 16(R15)(DX*1), Z5, X5)
	LOAD4(16(R11)(DX*2), 16(R12)(DX*2), 16(R14)(DX*2), 16(R15)(DX*2), Z6, X6)
	LOAD4(16(R11)(R10*1), 16(R12)(R10*1), 16(R14)(R10*1), 16(R15)(R10*1), Z7, X7)
	TRANS4PSZ(Z0, Z1, Z2, Z3, Z8, Z9, Z10, Z11)
	TRANS4PSZ(Z4, Z5, Z6, Z7, Z12, Z13, Z14, Z15)
	VMOVUPS Z0, (R13)
	VMOVUPS Z1, (R13)(BX*1)
	VMOVUPS Z2, (R13)(BX*2)
	VMOVUPS Z3, (R13)(AX*1)
	VMOVUPS Z4, (R8)
	VMOVUPS Z5, (R8)(BX*1)
	VMOVUPS Z6, (R8)(BX*2)
	VMOVUPS Z7, (R8)(AX*1)
	LEAQ    (R15)(DX*4), R11
	ADDQ    $64, R13
	ADDQ    $64, R8
	DECQ    CX
	JNZ     z16x8rows

	ADDQ $32, SI
	LEAQ (DI)(BX*8), DI
	DECQ R9
	JNZ  z16x8cols
	VZEROUPPER
	RET

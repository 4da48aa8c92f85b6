//go:build !purego

#include "textflag.h"

// AVX2 transpose kernels used by packing (transposeInto). Only VEX encodings
// and X0-X15/Y0-Y15 appear here, so the AVX2 tier runs on CPUs without
// AVX-512 (TestAVX512Confinement checks it).
//
// Every kernel computes dst[c*ld + r] = src[r*lds + c] over whole blocks: it
// walks a strip of blocks along the columns itself (and, where it takes a
// row-block count, down the row blocks as well) so that the Go wrapper
// makes one call per strip rather than one per block. ld and lds are in
// elements; the wrapper has checked bounds and passes only full blocks, so
// the kernels read and write exactly the elements of the blocks.
//
// The lane-crossing step of an in-register transpose (vperm2f128) is folded
// into the loads: a ymm register is filled from two 16-byte row pieces
// (VMOVUPS + VINSERTF128 from memory), chosen so that an in-lane transpose
// of the registers leaves whole output rows in them.
//
// Registers common to the kernels:
//
//	SI src of the current row block, DI dst of the current row block
//	DX lds in bytes, R10 3*lds in bytes
//	BX ld in bytes, AX 3*ld in bytes
//	R9 column blocks left, CX row blocks left in the current column
//	R11 (and R12) src of the current block, R13 (and R8) dst of the
//	current block
//
// The two-dimensional kernels walk column blocks outermost and row blocks
// inside, so dst (the k-major micro-panel) is written front to back and the
// source lines of a column block are still in L1 when the next block uses
// their other half. Walking rows outermost made each dst line be written in
// several passes, which on 32-row float64 panels (64 KiB of dst) missed L1
// and ran 1.5x slower.

// TRANS4PS transposes the 4x4 blocks held in each 128-bit lane of a, b, c, d
// (rows 0-3 of the block in a, b, c, d) into a, b, c, d (columns 0-3),
// using t0-t3 as temporaries. Per lane, with rows a, b, c, d:
// t0 = a0 b0 a1 b1, t1 = a2 b2 a3 b3, t2 = c0 d0 c1 d1, t3 = c2 d2 c3 d3,
// then a = a0 b0 c0 d0 (low halves of t0, t2), b = a1 b1 c1 d1, and so on.
#define TRANS4PS(a, b, c, d, t0, t1, t2, t3) \
	VUNPCKLPS b, a, t0         \
	VUNPCKHPS b, a, t1         \
	VUNPCKLPS d, c, t2         \
	VUNPCKHPS d, c, t3         \
	VSHUFPS   $0x44, t2, t0, a \
	VSHUFPS   $0xee, t2, t0, b \
	VSHUFPS   $0x44, t3, t1, c \
	VSHUFPS   $0xee, t3, t1, d

// STORE4 writes a, b, c, d to four consecutive dst rows starting at p.
#define STORE4(mov, p, a, b, c, d) \
	mov a, (p)       \
	mov b, (p)(BX*1) \
	mov c, (p)(BX*2) \
	mov d, (p)(AX*1)

// func transpose8x8F32AVX2(dst *float32, ld int, src *float32, lds int, nrb, ncb int)
//
// Block: 8 rows x 8 columns; transposes nrb x ncb blocks (nrb, ncb >= 1),
// rows 0..8*nrb-1 and columns 0..8*ncb-1, column blocks outermost.
//
// Y0-Y3 hold columns 0-3 of source rows 0-3 (low lane) and 4-7 (high lane);
// Y4-Y7 the same for columns 4-7. After the in-lane 4x4 transposes Y0-Y7 are
// the eight 8-element output rows. Y8-Y15 are temporaries. R12 points at
// source row 4 of the block, R8 at dst row 4.
TEXT ·transpose8x8F32AVX2(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ ld+8(FP), BX
	MOVQ src+16(FP), SI
	MOVQ lds+24(FP), DX
	MOVQ ncb+40(FP), R9
	SHLQ $2, BX
	SHLQ $2, DX
	LEAQ (BX)(BX*2), AX
	LEAQ (DX)(DX*2), R10

s8x8cols:
	MOVQ SI, R11
	LEAQ (SI)(DX*4), R12
	MOVQ DI, R13
	LEAQ (DI)(BX*4), R8
	MOVQ nrb+32(FP), CX

s8x8rows:
	VMOVUPS     (R11), X0
	VINSERTF128 $1, (R12), Y0, Y0
	VMOVUPS     (R11)(DX*1), X1
	VINSERTF128 $1, (R12)(DX*1), Y1, Y1
	VMOVUPS     (R11)(DX*2), X2
	VINSERTF128 $1, (R12)(DX*2), Y2, Y2
	VMOVUPS     (R11)(R10*1), X3
	VINSERTF128 $1, (R12)(R10*1), Y3, Y3
	VMOVUPS     16(R11), X4
	VINSERTF128 $1, 16(R12), Y4, Y4
	VMOVUPS     16(R11)(DX*1), X5
	VINSERTF128 $1, 16(R12)(DX*1), Y5, Y5
	VMOVUPS     16(R11)(DX*2), X6
	VINSERTF128 $1, 16(R12)(DX*2), Y6, Y6
	VMOVUPS     16(R11)(R10*1), X7
	VINSERTF128 $1, 16(R12)(R10*1), Y7, Y7
	TRANS4PS(Y0, Y1, Y2, Y3, Y8, Y9, Y10, Y11)
	TRANS4PS(Y4, Y5, Y6, Y7, Y12, Y13, Y14, Y15)
	STORE4(VMOVUPS, R13, Y0, Y1, Y2, Y3)
	STORE4(VMOVUPS, R8, Y4, Y5, Y6, Y7)
	LEAQ (R11)(DX*8), R11
	LEAQ (R12)(DX*8), R12
	ADDQ $32, R13
	ADDQ $32, R8
	DECQ CX
	JNZ  s8x8rows

	ADDQ $32, SI
	LEAQ (DI)(BX*8), DI
	DECQ R9
	JNZ  s8x8cols
	VZEROUPPER
	RET

// func transpose4x8F32AVX2(dst *float32, ld int, src *float32, lds int, ncb int)
//
// Block: 4 rows x 8 columns; transposes ncb >= 1 blocks along the columns.
//
// Y0-Y3 hold source rows 0-3 (8 columns each). After the in-lane 4x4
// transpose, the low lane of Yj is output row j and the high lane output
// row 4+j (4 elements each). Y8-Y11 are temporaries.
TEXT ·transpose4x8F32AVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), R13
	MOVQ ld+8(FP), BX
	MOVQ src+16(FP), R11
	MOVQ lds+24(FP), DX
	MOVQ ncb+32(FP), CX
	SHLQ $2, BX
	SHLQ $2, DX
	LEAQ (BX)(BX*2), AX
	LEAQ (DX)(DX*2), R10

s4x8cols:
	VMOVUPS (R11), Y0
	VMOVUPS (R11)(DX*1), Y1
	VMOVUPS (R11)(DX*2), Y2
	VMOVUPS (R11)(R10*1), Y3
	TRANS4PS(Y0, Y1, Y2, Y3, Y8, Y9, Y10, Y11)
	VMOVUPS      X0, (R13)
	VMOVUPS      X1, (R13)(BX*1)
	VMOVUPS      X2, (R13)(BX*2)
	VMOVUPS      X3, (R13)(AX*1)
	LEAQ         (R13)(BX*4), R13
	VEXTRACTF128 $1, Y0, (R13)
	VEXTRACTF128 $1, Y1, (R13)(BX*1)
	VEXTRACTF128 $1, Y2, (R13)(BX*2)
	VEXTRACTF128 $1, Y3, (R13)(AX*1)
	LEAQ         (R13)(BX*4), R13
	ADDQ         $32, R11
	DECQ         CX
	JNZ          s4x8cols
	VZEROUPPER
	RET

// func transpose2x8F32AVX2(dst *float32, ld int, src *float32, lds int, ncb int)
//
// Block: 2 rows x 8 columns; transposes ncb >= 1 blocks along the columns.
//
// Y0, Y1 hold source rows 0, 1. Interleaving them gives the 2-element
// output rows: Y2 = rows 0, 1 (low lane) and 4, 5 (high lane), Y3 = rows 2,
// 3 and 6, 7; each is written with one 8-byte store (VMOVQ for the low half
// of a lane, VMOVHPS for the high half).
TEXT ·transpose2x8F32AVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), R13
	MOVQ ld+8(FP), BX
	MOVQ src+16(FP), R11
	MOVQ lds+24(FP), DX
	MOVQ ncb+32(FP), CX
	SHLQ $2, BX
	SHLQ $2, DX
	LEAQ (BX)(BX*2), AX

s2x8cols:
	VMOVUPS      (R11), Y0
	VMOVUPS      (R11)(DX*1), Y1
	VUNPCKLPS    Y1, Y0, Y2        // a0 b0 a1 b1 | a4 b4 a5 b5
	VUNPCKHPS    Y1, Y0, Y3        // a2 b2 a3 b3 | a6 b6 a7 b7
	VEXTRACTF128 $1, Y2, X4
	VEXTRACTF128 $1, Y3, X5
	VMOVQ        X2, (R13)
	VMOVHPS      X2, (R13)(BX*1)
	VMOVQ        X3, (R13)(BX*2)
	VMOVHPS      X3, (R13)(AX*1)
	LEAQ         (R13)(BX*4), R13
	VMOVQ        X4, (R13)
	VMOVHPS      X4, (R13)(BX*1)
	VMOVQ        X5, (R13)(BX*2)
	VMOVHPS      X5, (R13)(AX*1)
	LEAQ         (R13)(BX*4), R13
	ADDQ         $32, R11
	DECQ         CX
	JNZ          s2x8cols
	VZEROUPPER
	RET

// func transpose4x4F64AVX2(dst *float64, ld int, src *float64, lds int, nrb, ncb int)
//
// Block: 4 rows x 4 columns; transposes nrb x ncb blocks (nrb, ncb >= 1).
//
// Y0 = columns 0-1 of rows 0 (low lane) and 2 (high lane), Y1 the same of
// rows 1 and 3; Y2, Y3 the same for columns 2-3. Interleaving Y0 with Y1
// gives output rows 0 and 1, Y2 with Y3 rows 2 and 3 (in Y4-Y7).
TEXT ·transpose4x4F64AVX2(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ ld+8(FP), BX
	MOVQ src+16(FP), SI
	MOVQ lds+24(FP), DX
	MOVQ ncb+40(FP), R9
	SHLQ $3, BX
	SHLQ $3, DX
	LEAQ (BX)(BX*2), AX
	LEAQ (DX)(DX*2), R10

d4x4cols:
	MOVQ SI, R11
	MOVQ DI, R13
	MOVQ nrb+32(FP), CX

d4x4rows:
	VMOVUPD     (R11), X0
	VINSERTF128 $1, (R11)(DX*2), Y0, Y0
	VMOVUPD     (R11)(DX*1), X1
	VINSERTF128 $1, (R11)(R10*1), Y1, Y1
	VMOVUPD     16(R11), X2
	VINSERTF128 $1, 16(R11)(DX*2), Y2, Y2
	VMOVUPD     16(R11)(DX*1), X3
	VINSERTF128 $1, 16(R11)(R10*1), Y3, Y3
	VUNPCKLPD   Y1, Y0, Y4
	VUNPCKHPD   Y1, Y0, Y5
	VUNPCKLPD   Y3, Y2, Y6
	VUNPCKHPD   Y3, Y2, Y7
	STORE4(VMOVUPD, R13, Y4, Y5, Y6, Y7)
	LEAQ (R11)(DX*4), R11
	ADDQ $32, R13
	DECQ CX
	JNZ  d4x4rows

	ADDQ $32, SI
	LEAQ (DI)(BX*4), DI
	DECQ R9
	JNZ  d4x4cols
	VZEROUPPER
	RET

// func transpose2x4F64AVX2(dst *float64, ld int, src *float64, lds int, ncb int)
//
// Block: 2 rows x 4 columns; transposes ncb >= 1 blocks along the columns.
//
// Y0, Y1 hold source rows 0, 1. Interleaving them gives Y2 = output rows 0
// (low lane) and 2 (high lane), Y3 = rows 1 and 3, two elements each.
TEXT ·transpose2x4F64AVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), R13
	MOVQ ld+8(FP), BX
	MOVQ src+16(FP), R11
	MOVQ lds+24(FP), DX
	MOVQ ncb+32(FP), CX
	SHLQ $3, BX
	SHLQ $3, DX
	LEAQ (BX)(BX*2), AX

d2x4cols:
	VMOVUPD      (R11), Y0
	VMOVUPD      (R11)(DX*1), Y1
	VUNPCKLPD    Y1, Y0, Y2
	VUNPCKHPD    Y1, Y0, Y3
	VMOVUPD      X2, (R13)
	VMOVUPD      X3, (R13)(BX*1)
	VEXTRACTF128 $1, Y2, (R13)(BX*2)
	VEXTRACTF128 $1, Y3, (R13)(AX*1)
	LEAQ         (R13)(BX*4), R13
	ADDQ         $32, R11
	DECQ         CX
	JNZ          d2x4cols
	VZEROUPPER
	RET

// func copyPanelsAVX2(dst unsafe.Pointer, pstride int, src unsafe.Pointer, lds, rows, panels, width int)
//
// Copies a rows x (panels*width bytes) block of src (row stride lds bytes)
// into panels micro-panels of width bytes per row (a positive multiple of
// 32), panel q starting at dst + q*pstride with rows stored back to back:
// the packing of micro-panels whose rows are contiguous in the source
// (row-major B, and A stored transposed). Panels are filled one after the
// other, front to back, two rows at a time so that two loads are in flight.
// (Walking the source row by row instead, writing a piece of every panel
// per row, ran 2-3x slower: the panels of a transposed A lie 4 KiB apart,
// so every row's stores fell into the same L1 set.)
TEXT ·copyPanelsAVX2(SB), NOSPLIT, $0-56
	MOVQ dst+0(FP), DI
	MOVQ pstride+8(FP), BX
	MOVQ src+16(FP), SI
	MOVQ lds+24(FP), DX
	MOVQ panels+40(FP), R8
	MOVQ width+48(FP), R9

cppanel:
	MOVQ rows+32(FP), CX
	MOVQ SI, R10
	MOVQ DI, R11

cppair:
	CMPQ CX, $2
	JB   cpone
	LEAQ (R10)(DX*1), R12
	LEAQ (R11)(R9*1), R13
	XORQ AX, AX

cppairchunk:
	VMOVUPS (R10)(AX*1), Y0
	VMOVUPS (R12)(AX*1), Y1
	VMOVUPS Y0, (R11)(AX*1)
	VMOVUPS Y1, (R13)(AX*1)
	ADDQ    $32, AX
	CMPQ    AX, R9
	JB      cppairchunk
	LEAQ    (R10)(DX*2), R10
	LEAQ    (R11)(R9*2), R11
	SUBQ    $2, CX
	JMP     cppair

cpone:
	TESTQ CX, CX
	JZ    cpnext
	XORQ  AX, AX

cponechunk:
	VMOVUPS (R10)(AX*1), Y0
	VMOVUPS Y0, (R11)(AX*1)
	ADDQ    $32, AX
	CMPQ    AX, R9
	JB      cponechunk

cpnext:
	ADDQ R9, SI
	ADDQ BX, DI
	DECQ R8
	JNZ  cppanel
	VZEROUPPER
	RET

//go:build !purego

#include "textflag.h"

// AVX2+FMA GEMM microkernels. Only VEX encodings and X0-X15/Y0-Y15 may
// appear here so that this tier runs on CPUs without AVX-512
// (TestAVX512Confinement checks it).
//
// Both kernels follow the gemmKernel contract (dispatch.go):
//
//	C[i][j] = alpha * sum_{p<kc} a[p*MR+i] * b[p*NR+j] + beta * C[i][j]
//
// with a and b packed k-major micro-panels, C row-major with row stride ldc
// elements, kc >= 1, and C never read when beta == 0.
//
// The tile is 6 rows x 2 vectors: 12 accumulators (more than the 2 FMA pipes
// x 4 cycles latency a Zen 5 or Haswell-class core needs in flight), 2
// registers for the B row and 2 for broadcasts use all 16 ymm registers.
//
// Registers shared by both kernels:
//
//	Y0-Y11   accumulators: tile row i in Y(2i) (left half of the row) and
//	         Y(2i+1) (right half)
//	Y12, Y13 the current row of the B micro-panel (NR elements)
//	Y14, Y15 broadcast A elements, alternating between rows so that a row's
//	         broadcast never waits for the previous row's FMAs
//	SI a, DI b, DX current C row, BX ldc in bytes,
//	R9 unrolled (4 k-steps) iteration count, CX leftover k-steps
//	In the epilogue Y12 holds alpha and Y13 beta.

// APF is how far ahead (bytes of packed A) the unrolled loops prefetch A
// into L1, and PREFETCH_C6 asks for the 6 rows of the C tile at DX (64
// bytes each, two lines when unaligned) at the start; see the AVX-512
// kernels for why and what it measured. An iteration consumes 96 (f32) or
// 192 (f64) bytes of A, so the loops ask for two or three lines.
#define APF 2048

#define PREFETCH_CROW \
	PREFETCHT0 (R10)   \
	PREFETCHT0 63(R10) \
	ADDQ       BX, R10

#define PREFETCH_C6 \
	MOVQ DX, R10  \
	PREFETCH_CROW \
	PREFETCH_CROW \
	PREFETCH_CROW \
	PREFETCH_CROW \
	PREFETCH_CROW \
	PREFETCH_CROW

// ---- float32, 6x16 ---------------------------------------------------------

// S6X16_ROW adds a[k][i] * b[k][0:16] to row i's accumulators; off is the
// byte offset of a[k][i] from SI.
#define S6X16_ROW(off, bc, acc0, acc1) \
	VBROADCASTSS (off)(SI), bc \
	VFMADD231PS  Y12, bc, acc0 \
	VFMADD231PS  Y13, bc, acc1

// S6X16_KSTEP is one rank-1 update of the tile: k-step k of the panels at
// SI (6 floats = 24 bytes per step) and DI (16 floats = 64 bytes per step).
#define S6X16_KSTEP(k) \
	VMOVUPS (k*64)(DI), Y12           \
	VMOVUPS (k*64+32)(DI), Y13        \
	S6X16_ROW(k*24+0, Y14, Y0, Y1)    \
	S6X16_ROW(k*24+4, Y15, Y2, Y3)    \
	S6X16_ROW(k*24+8, Y14, Y4, Y5)    \
	S6X16_ROW(k*24+12, Y15, Y6, Y7)   \
	S6X16_ROW(k*24+16, Y14, Y8, Y9)   \
	S6X16_ROW(k*24+20, Y15, Y10, Y11)

// S256_STORE writes one row, C = alpha*acc, without reading C.
#define S256_STORE(acc0, acc1) \
	VMULPS  Y12, acc0, acc0 \
	VMULPS  Y12, acc1, acc1 \
	VMOVUPS acc0, (DX)      \
	VMOVUPS acc1, 32(DX)    \
	ADDQ    BX, DX

// S256_UPDATE writes one row, C = alpha*acc + beta*C. beta == 1 needs no
// separate path: fma(C, 1, x) rounds exactly like C + x.
#define S256_UPDATE(acc0, acc1) \
	VMULPS      Y12, acc0, acc0   \
	VMULPS      Y12, acc1, acc1   \
	VFMADD231PS (DX), Y13, acc0   \
	VFMADD231PS 32(DX), Y13, acc1 \
	VMOVUPS     acc0, (DX)        \
	VMOVUPS     acc1, 32(DX)      \
	ADDQ        BX, DX

// func sgemm6x16AVX2(kc int, a, b, c *float32, ldc int, alpha, beta float32)
//
// 6x16 float32 tile; registers as described at the top of the file. The k
// loop is unrolled by 4 (a 96-byte A and 256-byte B stride per iteration).
TEXT ·sgemm6x16AVX2(SB), NOSPLIT, $0-48
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ c+24(FP), DX
	MOVQ ldc+32(FP), BX
	SHLQ $2, BX
	PREFETCH_C6

	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

	MOVQ CX, R9
	SHRQ $2, R9
	JZ   s6x16tail

	PCALIGN $64

s6x16loop4:
	S6X16_KSTEP(0)
	PREFETCHT0 APF(SI)
	S6X16_KSTEP(1)
	S6X16_KSTEP(2)
	PREFETCHT0 APF+64(SI)
	S6X16_KSTEP(3)
	ADDQ $96, SI
	ADDQ $256, DI
	DECQ R9
	JNZ  s6x16loop4

s6x16tail:
	ANDQ $3, CX
	JZ   s6x16store

s6x16loop1:
	S6X16_KSTEP(0)
	ADDQ $24, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  s6x16loop1

s6x16store:
	VBROADCASTSS alpha+40(FP), Y12

	// beta == ±0 exactly when its bits, shifted past the sign, are zero.
	MOVL beta+44(FP), AX
	SHLL $1, AX
	JZ   s6x16beta0
	VBROADCASTSS beta+44(FP), Y13
	S256_UPDATE(Y0, Y1)
	S256_UPDATE(Y2, Y3)
	S256_UPDATE(Y4, Y5)
	S256_UPDATE(Y6, Y7)
	S256_UPDATE(Y8, Y9)
	S256_UPDATE(Y10, Y11)
	VZEROUPPER
	RET

s6x16beta0:
	S256_STORE(Y0, Y1)
	S256_STORE(Y2, Y3)
	S256_STORE(Y4, Y5)
	S256_STORE(Y6, Y7)
	S256_STORE(Y8, Y9)
	S256_STORE(Y10, Y11)
	VZEROUPPER
	RET

// ---- float64, 6x8 ----------------------------------------------------------

// D6X8_ROW adds a[k][i] * b[k][0:8] to row i's accumulators; off is the
// byte offset of a[k][i] from SI.
#define D6X8_ROW(off, bc, acc0, acc1) \
	VBROADCASTSD (off)(SI), bc \
	VFMADD231PD  Y12, bc, acc0 \
	VFMADD231PD  Y13, bc, acc1

// D6X8_KSTEP is one rank-1 update of the tile: k-step k of the panels at
// SI (6 doubles = 48 bytes per step) and DI (8 doubles = 64 bytes per step).
#define D6X8_KSTEP(k) \
	VMOVUPD (k*64)(DI), Y12          \
	VMOVUPD (k*64+32)(DI), Y13       \
	D6X8_ROW(k*48+0, Y14, Y0, Y1)    \
	D6X8_ROW(k*48+8, Y15, Y2, Y3)    \
	D6X8_ROW(k*48+16, Y14, Y4, Y5)   \
	D6X8_ROW(k*48+24, Y15, Y6, Y7)   \
	D6X8_ROW(k*48+32, Y14, Y8, Y9)   \
	D6X8_ROW(k*48+40, Y15, Y10, Y11)

// D256_STORE writes one row, C = alpha*acc, without reading C.
#define D256_STORE(acc0, acc1) \
	VMULPD  Y12, acc0, acc0 \
	VMULPD  Y12, acc1, acc1 \
	VMOVUPD acc0, (DX)      \
	VMOVUPD acc1, 32(DX)    \
	ADDQ    BX, DX

// D256_UPDATE writes one row, C = alpha*acc + beta*C (see S256_UPDATE).
#define D256_UPDATE(acc0, acc1) \
	VMULPD      Y12, acc0, acc0   \
	VMULPD      Y12, acc1, acc1   \
	VFMADD231PD (DX), Y13, acc0   \
	VFMADD231PD 32(DX), Y13, acc1 \
	VMOVUPD     acc0, (DX)        \
	VMOVUPD     acc1, 32(DX)      \
	ADDQ        BX, DX

// func dgemm6x8AVX2(kc int, a, b, c *float64, ldc int, alpha, beta float64)
//
// 6x8 float64 tile; registers as described at the top of the file. The k
// loop is unrolled by 4 (a 192-byte A and 256-byte B stride per iteration).
TEXT ·dgemm6x8AVX2(SB), NOSPLIT, $0-56
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ c+24(FP), DX
	MOVQ ldc+32(FP), BX
	SHLQ $3, BX
	PREFETCH_C6

	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	VXORPD Y4, Y4, Y4
	VXORPD Y5, Y5, Y5
	VXORPD Y6, Y6, Y6
	VXORPD Y7, Y7, Y7
	VXORPD Y8, Y8, Y8
	VXORPD Y9, Y9, Y9
	VXORPD Y10, Y10, Y10
	VXORPD Y11, Y11, Y11

	MOVQ CX, R9
	SHRQ $2, R9
	JZ   d6x8tail

	PCALIGN $64

d6x8loop4:
	D6X8_KSTEP(0)
	PREFETCHT0 APF(SI)
	D6X8_KSTEP(1)
	PREFETCHT0 APF+64(SI)
	D6X8_KSTEP(2)
	PREFETCHT0 APF+128(SI)
	D6X8_KSTEP(3)
	ADDQ $192, SI
	ADDQ $256, DI
	DECQ R9
	JNZ  d6x8loop4

d6x8tail:
	ANDQ $3, CX
	JZ   d6x8store

d6x8loop1:
	D6X8_KSTEP(0)
	ADDQ $48, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  d6x8loop1

d6x8store:
	VBROADCASTSD alpha+40(FP), Y12
	MOVQ beta+48(FP), AX
	SHLQ $1, AX
	JZ   d6x8beta0
	VBROADCASTSD beta+48(FP), Y13
	D256_UPDATE(Y0, Y1)
	D256_UPDATE(Y2, Y3)
	D256_UPDATE(Y4, Y5)
	D256_UPDATE(Y6, Y7)
	D256_UPDATE(Y8, Y9)
	D256_UPDATE(Y10, Y11)
	VZEROUPPER
	RET

d6x8beta0:
	D256_STORE(Y0, Y1)
	D256_STORE(Y2, Y3)
	D256_STORE(Y4, Y5)
	D256_STORE(Y6, Y7)
	D256_STORE(Y8, Y9)
	D256_STORE(Y10, Y11)
	VZEROUPPER
	RET

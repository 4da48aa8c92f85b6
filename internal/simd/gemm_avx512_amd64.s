//go:build !purego

#include "textflag.h"

// AVX-512 GEMM microkernels and the AVX-512 FMA peak loops.
//
// This is the only amd64 assembly file (together with any other *avx512*.s)
// allowed to use EVEX encodings, zmm/k registers or X16-X31: the dispatcher
// installs these functions only when cpuid reports AVX-512 F/DQ/BW/VL, and
// TestAVX512Confinement keeps the AVX2 files free of them.
//
// Both kernels follow the gemmKernel contract (dispatch.go):
//
//	C[i][j] = alpha * sum_{p<kc} a[p*MR+i] * b[p*NR+j] + beta * C[i][j]
//
// with a and b packed k-major micro-panels, C row-major with row stride ldc
// elements, kc >= 1, and C never read when beta == 0.
//
// Shape choice (measured on Zen 5, see gemm_kernel_test.go): with data in
// L1, 8x32 (f32) and 8x16 (f64) run at the FMA peak just like 12- and 14-row
// tiles do, so the smaller tile wins on what the driver sees: MR = 8 divides
// the power-of-two row counts common in training (no edge tiles), and the
// smaller A+B panel pair allows a deeper KC, which amortises the C update
// better. Sixteen accumulators are twice the 2 FMA pipes x 4 cycles latency
// the core needs in flight.
//
// A elements are broadcast with VBROADCASTSS/SD into a register that feeds
// both FMAs of a row. The alternative, an FMA with an embedded-broadcast
// memory operand ({1toN}), needs one load per FMA instead of one per row and
// measured 13% (8x32) and 8% (14x32) slower on Zen 5.
//
// Registers shared by both kernels:
//
//	Z0-Z15   accumulators: tile row i in Z(2i) (left half of the row) and
//	         Z(2i+1) (right half)
//	Z16, Z17 the current row of the B micro-panel (NR elements)
//	Z18, Z19 broadcast A elements, alternating between rows so that a row's
//	         broadcast never waits for the previous row's FMAs
//	SI a, DI b, DX current C row, BX ldc in bytes,
//	R9 unrolled (4 k-steps) iteration count, CX leftover k-steps
//	In the epilogue Z16 holds alpha and Z17 beta.

// APF is how far ahead of the k-step being computed (in bytes of the packed
// A block) the unrolled loops prefetch A into L1: every line of A is asked
// for about 2 KiB before its first use, which covers the next micro-panel
// (the next tile's A) near the end of a tile. The A block lives in L2, and
// on Emerald Rapids the hardware's L2->L1 streaming alone left the
// microkernels of a 1024^3 product waiting on it: over the driver's loops
// with data beyond L1, the 8x16 f64 kernel ran at 67% of the FMA peak
// plain, 74% with C prefetched (below) and 86-92% with A prefetched too;
// the 8x32 f32 kernel at 80%, 87% and 93-96% (prefetch distances of 0.5-3
// KiB differed by less than the noise).
#define APF 2048

// PREFETCH_C8 asks for the 8 rows of the C tile at DX (row stride BX bytes,
// 128 bytes per row, which span three cache lines when C is not 64-byte
// aligned) to be brought into L1 while the k loop runs. The tile is read at
// the end, after kc rank-1 updates; C of a large product lives in L3 or
// memory, and rows 4 KiB apart defeat the hardware prefetchers, so without
// this the epilogue waits on up to 24 misses per tile.
// PREFETCH_CROW asks for the row at R10 and moves R10 to the next row.
#define PREFETCH_CROW \
	PREFETCHT0 (R10)    \
	PREFETCHT0 64(R10)  \
	PREFETCHT0 127(R10) \
	ADDQ       BX, R10

#define PREFETCH_C8 \
	MOVQ DX, R10  \
	PREFETCH_CROW \
	PREFETCH_CROW \
	PREFETCH_CROW \
	PREFETCH_CROW \
	PREFETCH_CROW \
	PREFETCH_CROW \
	PREFETCH_CROW \
	PREFETCH_CROW

// ---- float32, 8x32 ---------------------------------------------------------

// S8X32_ROW adds a[k][i] * b[k][0:32] to row i's accumulators; off is the
// byte offset of a[k][i] from SI.
#define S8X32_ROW(off, bc, acc0, acc1) \
	VBROADCASTSS (off)(SI), bc  \
	VFMADD231PS  Z16, bc, acc0  \
	VFMADD231PS  Z17, bc, acc1

// S8X32_KSTEP is one rank-1 update of the tile: k-step k of the panels at
// SI (8 floats = 32 bytes per step) and DI (32 floats = 128 bytes per step).
#define S8X32_KSTEP(k) \
	VMOVUPS (k*128)(DI), Z16                \
	VMOVUPS (k*128+64)(DI), Z17             \
	S8X32_ROW(k*32+0, Z18, Z0, Z1)          \
	S8X32_ROW(k*32+4, Z19, Z2, Z3)          \
	S8X32_ROW(k*32+8, Z18, Z4, Z5)          \
	S8X32_ROW(k*32+12, Z19, Z6, Z7)         \
	S8X32_ROW(k*32+16, Z18, Z8, Z9)         \
	S8X32_ROW(k*32+20, Z19, Z10, Z11)       \
	S8X32_ROW(k*32+24, Z18, Z12, Z13)       \
	S8X32_ROW(k*32+28, Z19, Z14, Z15)

// S512_STORE writes one row, C = alpha*acc, without reading C.
#define S512_STORE(acc0, acc1) \
	VMULPS  Z16, acc0, acc0 \
	VMULPS  Z16, acc1, acc1 \
	VMOVUPS acc0, (DX)      \
	VMOVUPS acc1, 64(DX)    \
	ADDQ    BX, DX

// S512_UPDATE writes one row, C = alpha*acc + beta*C. beta == 1 needs no
// separate path: fma(C, 1, x) rounds exactly like C + x.
#define S512_UPDATE(acc0, acc1) \
	VMULPS      Z16, acc0, acc0  \
	VMULPS      Z16, acc1, acc1  \
	VFMADD231PS (DX), Z17, acc0  \
	VFMADD231PS 64(DX), Z17, acc1 \
	VMOVUPS     acc0, (DX)       \
	VMOVUPS     acc1, 64(DX)     \
	ADDQ        BX, DX

// func sgemm8x32AVX512(kc int, a, b, c *float32, ldc int, alpha, beta float32)
//
// 8x32 float32 tile; registers as described at the top of the file. The k
// loop is unrolled by 4 (a 128-byte A and 512-byte B stride per iteration).
TEXT ·sgemm8x32AVX512(SB), NOSPLIT, $0-48
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ c+24(FP), DX
	MOVQ ldc+32(FP), BX
	SHLQ $2, BX
	PREFETCH_C8

	// VEX-encoded xors zero the whole zmm register.
	VXORPS X0, X0, X0
	VXORPS X1, X1, X1
	VXORPS X2, X2, X2
	VXORPS X3, X3, X3
	VXORPS X4, X4, X4
	VXORPS X5, X5, X5
	VXORPS X6, X6, X6
	VXORPS X7, X7, X7
	VXORPS X8, X8, X8
	VXORPS X9, X9, X9
	VXORPS X10, X10, X10
	VXORPS X11, X11, X11
	VXORPS X12, X12, X12
	VXORPS X13, X13, X13
	VXORPS X14, X14, X14
	VXORPS X15, X15, X15

	MOVQ CX, R9
	SHRQ $2, R9
	JZ   s8x32tail

	PCALIGN $64

s8x32loop4:
	S8X32_KSTEP(0)
	PREFETCHT0 APF(SI)
	S8X32_KSTEP(1)
	S8X32_KSTEP(2)
	PREFETCHT0 APF+64(SI)
	S8X32_KSTEP(3)
	ADDQ $128, SI
	ADDQ $512, DI
	DECQ R9
	JNZ  s8x32loop4

s8x32tail:
	ANDQ $3, CX
	JZ   s8x32store

s8x32loop1:
	S8X32_KSTEP(0)
	ADDQ $32, SI
	ADDQ $128, DI
	DECQ CX
	JNZ  s8x32loop1

s8x32store:
	VBROADCASTSS alpha+40(FP), Z16

	// beta == ±0 exactly when its bits, shifted past the sign, are zero.
	MOVL beta+44(FP), AX
	SHLL $1, AX
	JZ   s8x32beta0
	VBROADCASTSS beta+44(FP), Z17
	S512_UPDATE(Z0, Z1)
	S512_UPDATE(Z2, Z3)
	S512_UPDATE(Z4, Z5)
	S512_UPDATE(Z6, Z7)
	S512_UPDATE(Z8, Z9)
	S512_UPDATE(Z10, Z11)
	S512_UPDATE(Z12, Z13)
	S512_UPDATE(Z14, Z15)
	VZEROUPPER
	RET

s8x32beta0:
	S512_STORE(Z0, Z1)
	S512_STORE(Z2, Z3)
	S512_STORE(Z4, Z5)
	S512_STORE(Z6, Z7)
	S512_STORE(Z8, Z9)
	S512_STORE(Z10, Z11)
	S512_STORE(Z12, Z13)
	S512_STORE(Z14, Z15)
	VZEROUPPER
	RET

// ---- float64, 8x16 ---------------------------------------------------------

// D8X16_ROW adds a[k][i] * b[k][0:16] to row i's accumulators; off is the
// byte offset of a[k][i] from SI.
#define D8X16_ROW(off, bc, acc0, acc1) \
	VBROADCASTSD (off)(SI), bc  \
	VFMADD231PD  Z16, bc, acc0  \
	VFMADD231PD  Z17, bc, acc1

// D8X16_KSTEP is one rank-1 update of the tile: k-step k of the panels at
// SI (8 doubles = 64 bytes per step) and DI (16 doubles = 128 bytes per step).
#define D8X16_KSTEP(k) \
	VMOVUPD (k*128)(DI), Z16                \
	VMOVUPD (k*128+64)(DI), Z17             \
	D8X16_ROW(k*64+0, Z18, Z0, Z1)          \
	D8X16_ROW(k*64+8, Z19, Z2, Z3)          \
	D8X16_ROW(k*64+16, Z18, Z4, Z5)         \
	D8X16_ROW(k*64+24, Z19, Z6, Z7)         \
	D8X16_ROW(k*64+32, Z18, Z8, Z9)         \
	D8X16_ROW(k*64+40, Z19, Z10, Z11)       \
	D8X16_ROW(k*64+48, Z18, Z12, Z13)       \
	D8X16_ROW(k*64+56, Z19, Z14, Z15)

// D512_STORE writes one row, C = alpha*acc, without reading C.
#define D512_STORE(acc0, acc1) \
	VMULPD  Z16, acc0, acc0 \
	VMULPD  Z16, acc1, acc1 \
	VMOVUPD acc0, (DX)      \
	VMOVUPD acc1, 64(DX)    \
	ADDQ    BX, DX

// D512_UPDATE writes one row, C = alpha*acc + beta*C (see S512_UPDATE).
#define D512_UPDATE(acc0, acc1) \
	VMULPD      Z16, acc0, acc0   \
	VMULPD      Z16, acc1, acc1   \
	VFMADD231PD (DX), Z17, acc0   \
	VFMADD231PD 64(DX), Z17, acc1 \
	VMOVUPD     acc0, (DX)        \
	VMOVUPD     acc1, 64(DX)      \
	ADDQ        BX, DX

// func dgemm8x16AVX512(kc int, a, b, c *float64, ldc int, alpha, beta float64)
//
// 8x16 float64 tile; registers as described at the top of the file. The k
// loop is unrolled by 4 (a 256-byte A and 512-byte B stride per iteration).
TEXT ·dgemm8x16AVX512(SB), NOSPLIT, $0-56
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ c+24(FP), DX
	MOVQ ldc+32(FP), BX
	SHLQ $3, BX
	PREFETCH_C8

	VXORPD X0, X0, X0
	VXORPD X1, X1, X1
	VXORPD X2, X2, X2
	VXORPD X3, X3, X3
	VXORPD X4, X4, X4
	VXORPD X5, X5, X5
	VXORPD X6, X6, X6
	VXORPD X7, X7, X7
	VXORPD X8, X8, X8
	VXORPD X9, X9, X9
	VXORPD X10, X10, X10
	VXORPD X11, X11, X11
	VXORPD X12, X12, X12
	VXORPD X13, X13, X13
	VXORPD X14, X14, X14
	VXORPD X15, X15, X15

	MOVQ CX, R9
	SHRQ $2, R9
	JZ   d8x16tail

	PCALIGN $64

d8x16loop4:
	D8X16_KSTEP(0)
	PREFETCHT0 APF(SI)
	D8X16_KSTEP(1)
	PREFETCHT0 APF+64(SI)
	D8X16_KSTEP(2)
	PREFETCHT0 APF+128(SI)
	D8X16_KSTEP(3)
	PREFETCHT0 APF+192(SI)
	ADDQ $256, SI
	ADDQ $512, DI
	DECQ R9
	JNZ  d8x16loop4

d8x16tail:
	ANDQ $3, CX
	JZ   d8x16store

d8x16loop1:
	D8X16_KSTEP(0)
	ADDQ $64, SI
	ADDQ $128, DI
	DECQ CX
	JNZ  d8x16loop1

d8x16store:
	VBROADCASTSD alpha+40(FP), Z16
	MOVQ beta+48(FP), AX
	SHLQ $1, AX
	JZ   d8x16beta0
	VBROADCASTSD beta+48(FP), Z17
	D512_UPDATE(Z0, Z1)
	D512_UPDATE(Z2, Z3)
	D512_UPDATE(Z4, Z5)
	D512_UPDATE(Z6, Z7)
	D512_UPDATE(Z8, Z9)
	D512_UPDATE(Z10, Z11)
	D512_UPDATE(Z12, Z13)
	D512_UPDATE(Z14, Z15)
	VZEROUPPER
	RET

d8x16beta0:
	D512_STORE(Z0, Z1)
	D512_STORE(Z2, Z3)
	D512_STORE(Z4, Z5)
	D512_STORE(Z6, Z7)
	D512_STORE(Z8, Z9)
	D512_STORE(Z10, Z11)
	D512_STORE(Z12, Z13)
	D512_STORE(Z14, Z15)
	VZEROUPPER
	RET

// ---- FMA peak loops ----------------------------------------------------------
//
// They live here rather than in peak_amd64.s because they are EVEX code (see
// the top of the file). Each iteration issues 48 FMAs on 24 independent
// accumulators Z0-Z23 (every chain twice), three times the 2 pipes x 4 cycles
// latency needed to keep both FMA pipes busy; the operands are Z30 = Z31 = 1,
// so accumulators count up and never reach Inf, NaN or subnormals, which
// could run slower. peakAVX512FMAs in peak_amd64.go must match.

#define PEAK_ZERO24 \
	VXORPS X0, X0, X0    \
	VXORPS X1, X1, X1    \
	VXORPS X2, X2, X2    \
	VXORPS X3, X3, X3    \
	VXORPS X4, X4, X4    \
	VXORPS X5, X5, X5    \
	VXORPS X6, X6, X6    \
	VXORPS X7, X7, X7    \
	VXORPS X8, X8, X8    \
	VXORPS X9, X9, X9    \
	VXORPS X10, X10, X10 \
	VXORPS X11, X11, X11 \
	VXORPS X12, X12, X12 \
	VXORPS X13, X13, X13 \
	VXORPS X14, X14, X14 \
	VXORPS X15, X15, X15 \
	VPXORD Z16, Z16, Z16 \
	VPXORD Z17, Z17, Z17 \
	VPXORD Z18, Z18, Z18 \
	VPXORD Z19, Z19, Z19 \
	VPXORD Z20, Z20, Z20 \
	VPXORD Z21, Z21, Z21 \
	VPXORD Z22, Z22, Z22 \
	VPXORD Z23, Z23, Z23

#define PEAK_FMA24(op) \
	op Z30, Z31, Z0  \
	op Z30, Z31, Z1  \
	op Z30, Z31, Z2  \
	op Z30, Z31, Z3  \
	op Z30, Z31, Z4  \
	op Z30, Z31, Z5  \
	op Z30, Z31, Z6  \
	op Z30, Z31, Z7  \
	op Z30, Z31, Z8  \
	op Z30, Z31, Z9  \
	op Z30, Z31, Z10 \
	op Z30, Z31, Z11 \
	op Z30, Z31, Z12 \
	op Z30, Z31, Z13 \
	op Z30, Z31, Z14 \
	op Z30, Z31, Z15 \
	op Z30, Z31, Z16 \
	op Z30, Z31, Z17 \
	op Z30, Z31, Z18 \
	op Z30, Z31, Z19 \
	op Z30, Z31, Z20 \
	op Z30, Z31, Z21 \
	op Z30, Z31, Z22 \
	op Z30, Z31, Z23

// func peakAVX512F32(iters int)
TEXT ·peakAVX512F32(SB), NOSPLIT, $0-8
	MOVQ iters+0(FP), CX
	TESTQ CX, CX
	JLE  peaks32done
	MOVL $0x3f800000, AX // 1.0f
	VPBROADCASTD AX, Z30
	VMOVAPS Z30, Z31
	PEAK_ZERO24
	PCALIGN $64

peaks32loop:
	PEAK_FMA24(VFMADD231PS)
	PEAK_FMA24(VFMADD231PS)
	DECQ CX
	JNZ  peaks32loop
	VZEROUPPER

peaks32done:
	RET

// func peakAVX512F64(iters int)
TEXT ·peakAVX512F64(SB), NOSPLIT, $0-8
	MOVQ iters+0(FP), CX
	TESTQ CX, CX
	JLE  peakd64done
	MOVQ $0x3ff0000000000000, AX // 1.0
	VPBROADCASTQ AX, Z30
	VMOVAPD Z30, Z31
	PEAK_ZERO24
	PCALIGN $64

peakd64loop:
	PEAK_FMA24(VFMADD231PD)
	PEAK_FMA24(VFMADD231PD)
	DECQ CX
	JNZ  peakd64loop
	VZEROUPPER

peakd64done:
	RET

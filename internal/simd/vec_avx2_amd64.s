//go:build !purego

// AVX2+FMA vector kernels. No AVX-512 instruction or register may appear
// here (TestAVX2HasNoAVX512 disassembles these functions to check).
//
// Every kernel takes whole slices, works on n = min of the slice lengths
// (the Go wrappers have checked they are equal), handles 4 vectors per
// iteration where the work is memory-bound, and finishes the last n%8 (f32)
// or n%4 (f64) elements with VMASKMOV loads and stores, which neither read
// nor write (nor fault on) the masked-out lanes. The algorithms of exp,
// log, tanh and sigmoid are described in vec_amd64.go; they perform the
// same operations in the same order as the AVX-512 file, so both tiers
// return bit-identical results.

#include "textflag.h"

// Constants are whole vectors so that they can be memory operands.
#define VEC32(name, v) \
	DATA name<>+0(SB)/4, $v  \
	DATA name<>+4(SB)/4, $v  \
	DATA name<>+8(SB)/4, $v  \
	DATA name<>+12(SB)/4, $v \
	DATA name<>+16(SB)/4, $v \
	DATA name<>+20(SB)/4, $v \
	DATA name<>+24(SB)/4, $v \
	DATA name<>+28(SB)/4, $v \
	GLOBL name<>(SB), RODATA|NOPTR, $32

#define VEC64(name, v) \
	DATA name<>+0(SB)/8, $v  \
	DATA name<>+8(SB)/8, $v  \
	DATA name<>+16(SB)/8, $v \
	DATA name<>+24(SB)/8, $v \
	GLOBL name<>(SB), RODATA|NOPTR, $32

// tailmask<>+32-r*size holds a mask selecting the first r lanes.
DATA tailmask<>+0(SB)/8, $-1
DATA tailmask<>+8(SB)/8, $-1
DATA tailmask<>+16(SB)/8, $-1
DATA tailmask<>+24(SB)/8, $-1
DATA tailmask<>+32(SB)/8, $0
DATA tailmask<>+40(SB)/8, $0
DATA tailmask<>+48(SB)/8, $0
DATA tailmask<>+56(SB)/8, $0
GLOBL tailmask<>(SB), RODATA|NOPTR, $64

// float32 (see vec_avx512_amd64.s for the roles of the shared ones)
VEC32(expflo, 0xc2d00000)     // -104
VEC32(expfhi, 0x42b20000)     // 89
VEC32(log2ef, 0x3fb8aa3b)
VEC32(magicf, 0x4b400000)     // 1.5*2^23
VEC32(nln2hif, 0xbf317218)
VEC32(nln2lof, 0x3102e308)
VEC32(onef, 0x3f800000)
VEC32(expfc0, 0x3efffffe)
VEC32(expfc1, 0x3e2aaa49)
VEC32(expfc2, 0x3d2aac79)
VEC32(expfc3, 0x3c091cea)
VEC32(expfc4, 0x3ab51226)
VEC32(bias127, 0x0000007f)    // float32 exponent bias
VEC32(halff, 0x3f000000)
VEC32(twof, 0x40000000)
VEC32(two23f, 0x4b000000)     // 2^23: scales denormals into the normal range
VEC32(minnormf, 0x00800000)   // smallest normal float32
VEC32(m23f, 0xc1b80000)       // -23
VEC32(logofff, 0x004afb0d)    // bits(1) - bits(sqrt(1/2))
VEC32(mantf, 0x007fffff)
VEC32(sqrthalff, 0x3f3504f3)  // bits of sqrt(1/2)
VEC32(ln2hif, 0x3f317218)
VEC32(ln2lof, 0xb102e308)
VEC32(logfc0, 0x3f2aaaab)
VEC32(logfc1, 0x3ecccd3e)
VEC32(logfc2, 0x3e921ac9)
VEC32(logfc3, 0x3e71d742)
VEC32(neginff, 0xff800000)
VEC32(nanf, 0x7fc00000)
VEC32(inff, 0x7f800000)
VEC32(absf, 0x7fffffff)
VEC32(signf, 0x80000000)
VEC32(tanhft, 0x3f600000)     // 0.875
VEC32(m2f, 0xc0000000)        // -2
VEC32(tanhfc0, 0xbeaaaaa9)
VEC32(tanhfc1, 0x3e0887f3)
VEC32(tanhfc2, 0xbd5cefa0)
VEC32(tanhfc3, 0x3cb1c474)
VEC32(tanhfc4, 0xbc088464)
VEC32(tanhfc5, 0x3b2d5dca)
VEC32(tanhfc6, 0xb9face41)

// float64
VEC64(expdlo, 0xc087500000000000)      // -746
VEC64(expdhi, 0x4086300000000000)      // 710
VEC64(log2ed, 0x3ff71547652b82fe)
VEC64(magicd, 0x4338000000000000)      // 1.5*2^52
VEC64(nln2hid, 0xbfe62e42fefa39ef)
VEC64(nln2lod, 0xbc7abc9e3b39803f)
VEC64(oned, 0x3ff0000000000000)
VEC64(expdc0, 0x3fe0000000000000)
VEC64(expdc1, 0x3fc555555555555b)
VEC64(expdc2, 0x3fa5555555555503)
VEC64(expdc3, 0x3f8111111110ec65)
VEC64(expdc4, 0x3f56c16c16c30439)
VEC64(expdc5, 0x3f2a01a01b37b43b)
VEC64(expdc6, 0x3efa01a01369f98e)
VEC64(expdc7, 0x3ec71ddf02858fcb)
VEC64(expdc8, 0x3e927e5b4337d618)
VEC64(expdc9, 0x3e5af6bda7b918be)
VEC64(expdc10, 0x3e21e3d35f1e39be)
VEC64(i2048, 0x0000000000000800)
VEC64(i2047, 0x00000000000007ff)
VEC64(i1, 0x0000000000000001)
VEC64(halfd, 0x3fe0000000000000)
VEC64(twod, 0x4000000000000000)
VEC64(two52d, 0x4330000000000000)      // 2^52
VEC64(k1023d, 0x43300000000003ff)      // 2^52 + 1023
VEC64(minnormd, 0x0010000000000000)    // smallest normal float64
VEC64(m52d, 0xc04a000000000000)        // -52
VEC64(logoffd, 0x00095f619980c433)     // bits(1) - bits(sqrt(1/2))
VEC64(mantd, 0x000fffffffffffff)
VEC64(sqrthalfd, 0x3fe6a09e667f3bcd)   // bits of sqrt(1/2)
VEC64(ln2hid, 0x3fe62e42fefa39ef)
VEC64(ln2lod, 0x3c7abc9e3b39803f)
VEC64(logdc0, 0x3fe555555555557c)
VEC64(logdc1, 0x3fd99999999847ea)
VEC64(logdc2, 0x3fd2492493fad539)
VEC64(logdc3, 0x3fcc71c52be82c40)
VEC64(logdc4, 0x3fc746647dcc9a28)
VEC64(logdc5, 0x3fc399d29557de03)
VEC64(logdc6, 0x3fc2f50f403efc2b)
VEC64(neginfd, 0xfff0000000000000)
VEC64(nand, 0x7ff8000000000000)
VEC64(infd, 0x7ff0000000000000)
VEC64(absd, 0x7fffffffffffffff)
VEC64(signd, 0x8000000000000000)
VEC64(tanhdt, 0x3fec000000000000)      // 0.875
VEC64(m2d, 0xc000000000000000)         // -2
VEC64(tanhdc0, 0xbfd5555555555553)
VEC64(tanhdc1, 0x3fc1111111110e96)
VEC64(tanhdc2, 0xbfaba1ba1b9fe082)
VEC64(tanhdc3, 0x3f9664f487d24b10)
VEC64(tanhdc4, 0xbf8226e34bbd412a)
VEC64(tanhdc5, 0x3f6d6d3b8d4443e6)
VEC64(tanhdc6, 0xbf57da229cd4c00d)
VEC64(tanhdc7, 0x3f4354ca47a2eb4f)
VEC64(tanhdc8, 0xbf2f4dfd3ce0a372)
VEC64(tanhdc9, 0x3f1935c6e9045dea)
VEC64(tanhdc10, 0xbf03d9b0f0f49d9c)
VEC64(tanhdc11, 0x3eed2daf3491346b)
VEC64(tanhdc12, 0xbed238abe5168b86)
VEC64(tanhdc13, 0x3eb06d6e573882e9)
VEC64(tanhdc14, 0xbe7ea90fe4139f24)

// TAILMASK loads into Y15 the mask of the first CX (< lanes) lanes; SH is
// log2 of the element size.
#define TAILMASK(SH) \
	MOVQ    CX, AX                \
	SHLQ    $SH, AX               \
	NEGQ    AX                    \
	LEAQ    tailmask<>+32(SB), BX \
	VMOVDQU (BX)(AX*1), Y15

// ---------------------------------------------------------------------------
// Memory-bound kernels. VL is the number of lanes (8 for f32, 4 for f64);
// a vector is always 32 bytes. MASKMOV is VMASKMOVPS or VMASKMOVPD.

// BINARY: dst[i] = x[i] OP y[i] with DI=dst, SI=x, DX=y, CX=n.
#define BINARY(OP, MASKMOV, VL, SH) \
loop4:                        \
	CMPQ    CX, $(4*VL)       \
	JB      loop1             \
	VMOVUPS (SI), Y0          \
	VMOVUPS 32(SI), Y1        \
	VMOVUPS 64(SI), Y2        \
	VMOVUPS 96(SI), Y3        \
	OP      (DX), Y0, Y0      \
	OP      32(DX), Y1, Y1    \
	OP      64(DX), Y2, Y2    \
	OP      96(DX), Y3, Y3    \
	VMOVUPS Y0, (DI)          \
	VMOVUPS Y1, 32(DI)        \
	VMOVUPS Y2, 64(DI)        \
	VMOVUPS Y3, 96(DI)        \
	ADDQ    $128, SI          \
	ADDQ    $128, DX          \
	ADDQ    $128, DI          \
	SUBQ    $(4*VL), CX       \
	JMP     loop4             \
loop1:                        \
	CMPQ    CX, $VL           \
	JB      tail              \
	VMOVUPS (SI), Y0          \
	OP      (DX), Y0, Y0      \
	VMOVUPS Y0, (DI)          \
	ADDQ    $32, SI           \
	ADDQ    $32, DX           \
	ADDQ    $32, DI           \
	SUBQ    $VL, CX           \
	JMP     loop1             \
tail:                         \
	TESTQ   CX, CX            \
	JZ      done              \
	TAILMASK(SH)              \
	MASKMOV (SI), Y15, Y0     \
	MASKMOV (DX), Y15, Y1     \
	OP      Y1, Y0, Y0        \
	MASKMOV Y0, Y15, (DI)     \
done:

// MAXNAN sets R = max(A, B) with NaN from either side: VMAXP(src1=A,
// src2=B) returns A > B ? A : B, which is B when either is NaN; lanes where
// A is NaN (mask M) then take A. B may be a memory operand.
#define MAXNAN(MAX, CMP, BLEND, A, B, R, M) \
	MAX   B, A, R         \
	CMP   $3, A, A, M     \
	BLEND M, A, R, R

// MAXIMUM: dst[i] = max(x[i], y[i]) propagating NaN.
#define MAXIMUM(MAX, CMP, BLEND, MASKMOV, VL, SH) \
loop4:                                          \
	CMPQ    CX, $(4*VL)                         \
	JB      loop1                               \
	VMOVUPS (SI), Y0                            \
	VMOVUPS 32(SI), Y1                          \
	VMOVUPS 64(SI), Y2                          \
	VMOVUPS 96(SI), Y3                          \
	MAXNAN(MAX, CMP, BLEND, Y0, (DX), Y8, Y12)   \
	MAXNAN(MAX, CMP, BLEND, Y1, 32(DX), Y9, Y13) \
	MAXNAN(MAX, CMP, BLEND, Y2, 64(DX), Y10, Y14) \
	MAXNAN(MAX, CMP, BLEND, Y3, 96(DX), Y11, Y12) \
	VMOVUPS Y8, (DI)                            \
	VMOVUPS Y9, 32(DI)                          \
	VMOVUPS Y10, 64(DI)                         \
	VMOVUPS Y11, 96(DI)                         \
	ADDQ    $128, SI                            \
	ADDQ    $128, DX                            \
	ADDQ    $128, DI                            \
	SUBQ    $(4*VL), CX                         \
	JMP     loop4                               \
loop1:                                          \
	CMPQ    CX, $VL                             \
	JB      tail                                \
	VMOVUPS (SI), Y0                            \
	MAXNAN(MAX, CMP, BLEND, Y0, (DX), Y8, Y12)   \
	VMOVUPS Y8, (DI)                            \
	ADDQ    $32, SI                             \
	ADDQ    $32, DX                             \
	ADDQ    $32, DI                             \
	SUBQ    $VL, CX                             \
	JMP     loop1                               \
tail:                                           \
	TESTQ   CX, CX                              \
	JZ      done                                \
	TAILMASK(SH)                                \
	MASKMOV (SI), Y15, Y0                       \
	MASKMOV (DX), Y15, Y4                       \
	MAXNAN(MAX, CMP, BLEND, Y0, Y4, Y8, Y12)     \
	MASKMOV Y8, Y15, (DI)                       \
done:

// RELU: dst[i] = max(x[i], 0), NaN stays NaN, -0 becomes +0. Y14 is zero.
#define RELU(MAX, CMP, BLEND, MASKMOV, VL, SH) \
loop4:                                          \
	CMPQ    CX, $(4*VL)                         \
	JB      loop1                               \
	VMOVUPS (SI), Y0                            \
	VMOVUPS 32(SI), Y1                          \
	VMOVUPS 64(SI), Y2                          \
	VMOVUPS 96(SI), Y3                          \
	MAXNAN(MAX, CMP, BLEND, Y0, Y14, Y8, Y4)     \
	MAXNAN(MAX, CMP, BLEND, Y1, Y14, Y9, Y5)     \
	MAXNAN(MAX, CMP, BLEND, Y2, Y14, Y10, Y6)    \
	MAXNAN(MAX, CMP, BLEND, Y3, Y14, Y11, Y7)    \
	VMOVUPS Y8, (DI)                            \
	VMOVUPS Y9, 32(DI)                          \
	VMOVUPS Y10, 64(DI)                         \
	VMOVUPS Y11, 96(DI)                         \
	ADDQ    $128, SI                            \
	ADDQ    $128, DI                            \
	SUBQ    $(4*VL), CX                         \
	JMP     loop4                               \
loop1:                                          \
	CMPQ    CX, $VL                             \
	JB      tail                                \
	VMOVUPS (SI), Y0                            \
	MAXNAN(MAX, CMP, BLEND, Y0, Y14, Y8, Y4)     \
	VMOVUPS Y8, (DI)                            \
	ADDQ    $32, SI                             \
	ADDQ    $32, DI                             \
	SUBQ    $VL, CX                             \
	JMP     loop1                               \
tail:                                           \
	TESTQ   CX, CX                              \
	JZ      done                                \
	TAILMASK(SH)                                \
	MASKMOV (SI), Y15, Y0                       \
	MAXNAN(MAX, CMP, BLEND, Y0, Y14, Y8, Y4)     \
	MASKMOV Y8, Y15, (DI)                       \
done:

// POSMASK: dst[i] = y[i] > 0 ? x[i] : +0. The ordered greater-than compare
// (predicate 0x1e) gives all-ones lanes, false for NaN, and the AND with x
// keeps x there and +0 elsewhere. Y14 is zero.
#define POSMASK(CMP, AND, MASKMOV, VL, SH) \
loop4:                                          \
	CMPQ    CX, $(4*VL)                         \
	JB      loop1                               \
	VMOVUPS (DX), Y4                            \
	VMOVUPS 32(DX), Y5                          \
	VMOVUPS 64(DX), Y6                          \
	VMOVUPS 96(DX), Y7                          \
	CMP     $0x1e, Y14, Y4, Y8                  \
	CMP     $0x1e, Y14, Y5, Y9                  \
	CMP     $0x1e, Y14, Y6, Y10                 \
	CMP     $0x1e, Y14, Y7, Y11                 \
	AND     (SI), Y8, Y8                        \
	AND     32(SI), Y9, Y9                      \
	AND     64(SI), Y10, Y10                    \
	AND     96(SI), Y11, Y11                    \
	VMOVUPS Y8, (DI)                            \
	VMOVUPS Y9, 32(DI)                          \
	VMOVUPS Y10, 64(DI)                         \
	VMOVUPS Y11, 96(DI)                         \
	ADDQ    $128, SI                            \
	ADDQ    $128, DX                            \
	ADDQ    $128, DI                            \
	SUBQ    $(4*VL), CX                         \
	JMP     loop4                               \
loop1:                                          \
	CMPQ    CX, $VL                             \
	JB      tail                                \
	VMOVUPS (DX), Y4                            \
	CMP     $0x1e, Y14, Y4, Y8                  \
	AND     (SI), Y8, Y8                        \
	VMOVUPS Y8, (DI)                            \
	ADDQ    $32, SI                             \
	ADDQ    $32, DX                             \
	ADDQ    $32, DI                             \
	SUBQ    $VL, CX                             \
	JMP     loop1                               \
tail:                                           \
	TESTQ   CX, CX                              \
	JZ      done                                \
	TAILMASK(SH)                                \
	MASKMOV (SI), Y15, Y0                       \
	MASKMOV (DX), Y15, Y4                       \
	CMP     $0x1e, Y14, Y4, Y8                  \
	AND     Y0, Y8, Y8                          \
	MASKMOV Y8, Y15, (DI)                       \
done:

// SCALE: dst[i] = alpha*x[i] with alpha broadcast in Y14.
#define SCALE(MUL, MASKMOV, VL, SH) \
loop4:                        \
	CMPQ    CX, $(4*VL)       \
	JB      loop1             \
	MUL     (SI), Y14, Y0     \
	MUL     32(SI), Y14, Y1   \
	MUL     64(SI), Y14, Y2   \
	MUL     96(SI), Y14, Y3   \
	VMOVUPS Y0, (DI)          \
	VMOVUPS Y1, 32(DI)        \
	VMOVUPS Y2, 64(DI)        \
	VMOVUPS Y3, 96(DI)        \
	ADDQ    $128, SI          \
	ADDQ    $128, DI          \
	SUBQ    $(4*VL), CX       \
	JMP     loop4             \
loop1:                        \
	CMPQ    CX, $VL           \
	JB      tail              \
	MUL     (SI), Y14, Y0     \
	VMOVUPS Y0, (DI)          \
	ADDQ    $32, SI           \
	ADDQ    $32, DI           \
	SUBQ    $VL, CX           \
	JMP     loop1             \
tail:                         \
	TESTQ   CX, CX            \
	JZ      done              \
	TAILMASK(SH)              \
	MASKMOV (SI), Y15, Y0     \
	MUL     Y0, Y14, Y0       \
	MASKMOV Y0, Y15, (DI)     \
done:

// AXPY: y[i] += alpha*x[i] (one fused multiply-add) with alpha in Y14,
// SI=x, DI=y.
#define AXPY(FMA, MASKMOV, VL, SH) \
loop4:                        \
	CMPQ    CX, $(4*VL)       \
	JB      loop1             \
	VMOVUPS (DI), Y0          \
	VMOVUPS 32(DI), Y1        \
	VMOVUPS 64(DI), Y2        \
	VMOVUPS 96(DI), Y3        \
	FMA     (SI), Y14, Y0     \
	FMA     32(SI), Y14, Y1   \
	FMA     64(SI), Y14, Y2   \
	FMA     96(SI), Y14, Y3   \
	VMOVUPS Y0, (DI)          \
	VMOVUPS Y1, 32(DI)        \
	VMOVUPS Y2, 64(DI)        \
	VMOVUPS Y3, 96(DI)        \
	ADDQ    $128, SI          \
	ADDQ    $128, DI          \
	SUBQ    $(4*VL), CX       \
	JMP     loop4             \
loop1:                        \
	CMPQ    CX, $VL           \
	JB      tail              \
	VMOVUPS (DI), Y0          \
	FMA     (SI), Y14, Y0     \
	VMOVUPS Y0, (DI)          \
	ADDQ    $32, SI           \
	ADDQ    $32, DI           \
	SUBQ    $VL, CX           \
	JMP     loop1             \
tail:                         \
	TESTQ   CX, CX            \
	JZ      done              \
	TAILMASK(SH)              \
	MASKMOV (DI), Y15, Y0     \
	MASKMOV (SI), Y15, Y1     \
	FMA     Y1, Y14, Y0       \
	MASKMOV Y0, Y15, (DI)     \
done:

// DOT accumulates x[i]*y[i] in Y0..Y3 and folds them into Y0 as
// (Y0+Y1) + (Y2+Y3).
#define DOT(FMA, ADD, MASKMOV, VL, SH) \
	VXORPS  Y0, Y0, Y0        \
	VXORPS  Y1, Y1, Y1        \
	VXORPS  Y2, Y2, Y2        \
	VXORPS  Y3, Y3, Y3        \
loop4:                        \
	CMPQ    CX, $(4*VL)       \
	JB      loop1             \
	VMOVUPS (SI), Y4          \
	VMOVUPS 32(SI), Y5        \
	VMOVUPS 64(SI), Y6        \
	VMOVUPS 96(SI), Y7        \
	FMA     (DX), Y4, Y0      \
	FMA     32(DX), Y5, Y1    \
	FMA     64(DX), Y6, Y2    \
	FMA     96(DX), Y7, Y3    \
	ADDQ    $128, SI          \
	ADDQ    $128, DX          \
	SUBQ    $(4*VL), CX       \
	JMP     loop4             \
loop1:                        \
	CMPQ    CX, $VL           \
	JB      tail              \
	VMOVUPS (SI), Y4          \
	FMA     (DX), Y4, Y0      \
	ADDQ    $32, SI           \
	ADDQ    $32, DX           \
	SUBQ    $VL, CX           \
	JMP     loop1             \
tail:                         \
	TESTQ   CX, CX            \
	JZ      fold              \
	TAILMASK(SH)              \
	MASKMOV (SI), Y15, Y4     \
	MASKMOV (DX), Y15, Y5     \
	FMA     Y5, Y4, Y1        \
fold:                         \
	ADD     Y1, Y0, Y0        \
	ADD     Y3, Y2, Y2        \
	ADD     Y2, Y0, Y0

// SUM is DOT without the multiplication.
#define SUM(ADD, MASKMOV, VL, SH) \
	VXORPS  Y0, Y0, Y0        \
	VXORPS  Y1, Y1, Y1        \
	VXORPS  Y2, Y2, Y2        \
	VXORPS  Y3, Y3, Y3        \
loop4:                        \
	CMPQ    CX, $(4*VL)       \
	JB      loop1             \
	ADD     (SI), Y0, Y0      \
	ADD     32(SI), Y1, Y1    \
	ADD     64(SI), Y2, Y2    \
	ADD     96(SI), Y3, Y3    \
	ADDQ    $128, SI          \
	SUBQ    $(4*VL), CX       \
	JMP     loop4             \
loop1:                        \
	CMPQ    CX, $VL           \
	JB      tail              \
	ADD     (SI), Y0, Y0      \
	ADDQ    $32, SI           \
	SUBQ    $VL, CX           \
	JMP     loop1             \
tail:                         \
	TESTQ   CX, CX            \
	JZ      fold              \
	TAILMASK(SH)              \
	MASKMOV (SI), Y15, Y4     \
	ADD     Y4, Y1, Y1        \
fold:                         \
	ADD     Y1, Y0, Y0        \
	ADD     Y3, Y2, Y2        \
	ADD     Y2, Y0, Y0

// MAXRED keeps four running maxima (Y0..Y3, from -Inf in Y8) and ORs the
// "unordered" compare masks into Y9, since VMAXP drops a NaN in one of its
// operands. The maxima are folded into Y0.
#define MAXRED(MAX, CMP, BLEND, OR, MASKMOV, VL, SH) \
	VMOVUPS Y8, Y0            \
	VMOVUPS Y8, Y1            \
	VMOVUPS Y8, Y2            \
	VMOVUPS Y8, Y3            \
	VXORPS  Y9, Y9, Y9        \
loop4:                        \
	CMPQ    CX, $(4*VL)       \
	JB      loop1             \
	VMOVUPS (SI), Y4          \
	VMOVUPS 32(SI), Y5        \
	VMOVUPS 64(SI), Y6        \
	VMOVUPS 96(SI), Y7        \
	MAX     Y4, Y0, Y0        \
	MAX     Y5, Y1, Y1        \
	MAX     Y6, Y2, Y2        \
	MAX     Y7, Y3, Y3        \
	CMP     $3, Y5, Y4, Y10   \
	CMP     $3, Y7, Y6, Y11   \
	OR      Y10, Y11, Y10     \
	OR      Y10, Y9, Y9       \
	ADDQ    $128, SI          \
	SUBQ    $(4*VL), CX       \
	JMP     loop4             \
loop1:                        \
	CMPQ    CX, $VL           \
	JB      tail              \
	VMOVUPS (SI), Y4          \
	MAX     Y4, Y0, Y0        \
	CMP     $3, Y4, Y4, Y10   \
	OR      Y10, Y9, Y9       \
	ADDQ    $32, SI           \
	SUBQ    $VL, CX           \
	JMP     loop1             \
tail:                         \
	TESTQ   CX, CX            \
	JZ      fold              \
	TAILMASK(SH)              \
	MASKMOV (SI), Y15, Y4     \
	BLEND   Y15, Y4, Y8, Y4   \
	MAX     Y4, Y1, Y1        \
	CMP     $3, Y4, Y4, Y10   \
	OR      Y10, Y9, Y9       \
fold:                         \
	MAX     Y1, Y0, Y0        \
	MAX     Y3, Y2, Y2        \
	MAX     Y2, Y0, Y0

// Horizontal folds of Y0 into X0 lane 0.
#define HFOLDF(OP) \
	VEXTRACTF128 $1, Y0, X1   \
	OP    X1, X0, X0          \
	VPERMILPS $0x4e, X0, X1   \
	OP    X1, X0, X0          \
	VPERMILPS $0xb1, X0, X1   \
	OP    X1, X0, X0

#define HFOLDD(OP) \
	VEXTRACTF128 $1, Y0, X1   \
	OP    X1, X0, X0          \
	VPERMILPD $1, X0, X1      \
	OP    X1, X0, X0

// func axpyF32AVX2(alpha float32, x, y []float32)
TEXT ·axpyF32AVX2(SB), NOSPLIT, $0-56
	VBROADCASTSS alpha+0(FP), Y14
	MOVQ    x_base+8(FP), SI
	MOVQ    x_len+16(FP), CX
	MOVQ    y_base+32(FP), DI
	MOVQ    y_len+40(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	AXPY(VFMADD231PS, VMASKMOVPS, 8, 2)
	VZEROUPPER
	RET

// func axpyF64AVX2(alpha float64, x, y []float64)
TEXT ·axpyF64AVX2(SB), NOSPLIT, $0-56
	VBROADCASTSD alpha+0(FP), Y14
	MOVQ    x_base+8(FP), SI
	MOVQ    x_len+16(FP), CX
	MOVQ    y_base+32(FP), DI
	MOVQ    y_len+40(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	AXPY(VFMADD231PD, VMASKMOVPD, 4, 3)
	VZEROUPPER
	RET

// func scaleF32AVX2(alpha float32, dst, x []float32)
TEXT ·scaleF32AVX2(SB), NOSPLIT, $0-56
	VBROADCASTSS alpha+0(FP), Y14
	MOVQ    dst_base+8(FP), DI
	MOVQ    dst_len+16(FP), CX
	MOVQ    x_base+32(FP), SI
	MOVQ    x_len+40(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	SCALE(VMULPS, VMASKMOVPS, 8, 2)
	VZEROUPPER
	RET

// func scaleF64AVX2(alpha float64, dst, x []float64)
TEXT ·scaleF64AVX2(SB), NOSPLIT, $0-56
	VBROADCASTSD alpha+0(FP), Y14
	MOVQ    dst_base+8(FP), DI
	MOVQ    dst_len+16(FP), CX
	MOVQ    x_base+32(FP), SI
	MOVQ    x_len+40(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	SCALE(VMULPD, VMASKMOVPD, 4, 3)
	VZEROUPPER
	RET

// func dotF32AVX2(x, y []float32) float32
TEXT ·dotF32AVX2(SB), NOSPLIT, $0-52
	MOVQ    x_base+0(FP), SI
	MOVQ    x_len+8(FP), CX
	MOVQ    y_base+24(FP), DX
	MOVQ    y_len+32(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	DOT(VFMADD231PS, VADDPS, VMASKMOVPS, 8, 2)
	HFOLDF(VADDPS)
	VMOVSS  X0, ret+48(FP)
	VZEROUPPER
	RET

// func dotF64AVX2(x, y []float64) float64
TEXT ·dotF64AVX2(SB), NOSPLIT, $0-56
	MOVQ    x_base+0(FP), SI
	MOVQ    x_len+8(FP), CX
	MOVQ    y_base+24(FP), DX
	MOVQ    y_len+32(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	DOT(VFMADD231PD, VADDPD, VMASKMOVPD, 4, 3)
	HFOLDD(VADDPD)
	VMOVSD  X0, ret+48(FP)
	VZEROUPPER
	RET

// func sumF32AVX2(x []float32) float32
TEXT ·sumF32AVX2(SB), NOSPLIT, $0-28
	MOVQ    x_base+0(FP), SI
	MOVQ    x_len+8(FP), CX
	SUM(VADDPS, VMASKMOVPS, 8, 2)
	HFOLDF(VADDPS)
	VMOVSS  X0, ret+24(FP)
	VZEROUPPER
	RET

// func sumF64AVX2(x []float64) float64
TEXT ·sumF64AVX2(SB), NOSPLIT, $0-32
	MOVQ    x_base+0(FP), SI
	MOVQ    x_len+8(FP), CX
	SUM(VADDPD, VMASKMOVPD, 4, 3)
	HFOLDD(VADDPD)
	VMOVSD  X0, ret+24(FP)
	VZEROUPPER
	RET

// func maxF32AVX2(x []float32) float32
TEXT ·maxF32AVX2(SB), NOSPLIT, $0-28
	MOVQ    x_base+0(FP), SI
	MOVQ    x_len+8(FP), CX
	VMOVUPS neginff<>(SB), Y8
	MAXRED(VMAXPS, VCMPPS, VBLENDVPS, VORPS, VMASKMOVPS, 8, 2)
	HFOLDF(VMAXPS)
	VPTEST  Y9, Y9
	JNZ     nan
	VMOVSS  X0, ret+24(FP)
	VZEROUPPER
	RET
nan:
	MOVL    $0x7fc00000, AX
	MOVL    AX, ret+24(FP)
	VZEROUPPER
	RET

// func maxF64AVX2(x []float64) float64
TEXT ·maxF64AVX2(SB), NOSPLIT, $0-32
	MOVQ    x_base+0(FP), SI
	MOVQ    x_len+8(FP), CX
	VMOVUPD neginfd<>(SB), Y8
	MAXRED(VMAXPD, VCMPPD, VBLENDVPD, VORPD, VMASKMOVPD, 4, 3)
	HFOLDD(VMAXPD)
	VPTEST  Y9, Y9
	JNZ     nan
	VMOVSD  X0, ret+24(FP)
	VZEROUPPER
	RET
nan:
	MOVQ    $0x7ff8000000000000, AX
	MOVQ    AX, ret+24(FP)
	VZEROUPPER
	RET

// func addF32AVX2(dst, x, y []float32)
TEXT ·addF32AVX2(SB), NOSPLIT, $0-72
	MOVQ    dst_base+0(FP), DI
	MOVQ    dst_len+8(FP), CX
	MOVQ    x_base+24(FP), SI
	MOVQ    x_len+32(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	MOVQ    y_base+48(FP), DX
	MOVQ    y_len+56(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	BINARY(VADDPS, VMASKMOVPS, 8, 2)
	VZEROUPPER
	RET

// func addF64AVX2(dst, x, y []float64)
TEXT ·addF64AVX2(SB), NOSPLIT, $0-72
	MOVQ    dst_base+0(FP), DI
	MOVQ    dst_len+8(FP), CX
	MOVQ    x_base+24(FP), SI
	MOVQ    x_len+32(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	MOVQ    y_base+48(FP), DX
	MOVQ    y_len+56(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	BINARY(VADDPD, VMASKMOVPD, 4, 3)
	VZEROUPPER
	RET

// func subF32AVX2(dst, x, y []float32)
TEXT ·subF32AVX2(SB), NOSPLIT, $0-72
	MOVQ    dst_base+0(FP), DI
	MOVQ    dst_len+8(FP), CX
	MOVQ    x_base+24(FP), SI
	MOVQ    x_len+32(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	MOVQ    y_base+48(FP), DX
	MOVQ    y_len+56(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	BINARY(VSUBPS, VMASKMOVPS, 8, 2)
	VZEROUPPER
	RET

// func subF64AVX2(dst, x, y []float64)
TEXT ·subF64AVX2(SB), NOSPLIT, $0-72
	MOVQ    dst_base+0(FP), DI
	MOVQ    dst_len+8(FP), CX
	MOVQ    x_base+24(FP), SI
	MOVQ    x_len+32(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	MOVQ    y_base+48(FP), DX
	MOVQ    y_len+56(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	BINARY(VSUBPD, VMASKMOVPD, 4, 3)
	VZEROUPPER
	RET

// func mulF32AVX2(dst, x, y []float32)
TEXT ·mulF32AVX2(SB), NOSPLIT, $0-72
	MOVQ    dst_base+0(FP), DI
	MOVQ    dst_len+8(FP), CX
	MOVQ    x_base+24(FP), SI
	MOVQ    x_len+32(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	MOVQ    y_base+48(FP), DX
	MOVQ    y_len+56(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	BINARY(VMULPS, VMASKMOVPS, 8, 2)
	VZEROUPPER
	RET

// func mulF64AVX2(dst, x, y []float64)
TEXT ·mulF64AVX2(SB), NOSPLIT, $0-72
	MOVQ    dst_base+0(FP), DI
	MOVQ    dst_len+8(FP), CX
	MOVQ    x_base+24(FP), SI
	MOVQ    x_len+32(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	MOVQ    y_base+48(FP), DX
	MOVQ    y_len+56(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	BINARY(VMULPD, VMASKMOVPD, 4, 3)
	VZEROUPPER
	RET

// func divF32AVX2(dst, x, y []float32)
TEXT ·divF32AVX2(SB), NOSPLIT, $0-72
	MOVQ    dst_base+0(FP), DI
	MOVQ    dst_len+8(FP), CX
	MOVQ    x_base+24(FP), SI
	MOVQ    x_len+32(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	MOVQ    y_base+48(FP), DX
	MOVQ    y_len+56(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	BINARY(VDIVPS, VMASKMOVPS, 8, 2)
	VZEROUPPER
	RET

// func divF64AVX2(dst, x, y []float64)
TEXT ·divF64AVX2(SB), NOSPLIT, $0-72
	MOVQ    dst_base+0(FP), DI
	MOVQ    dst_len+8(FP), CX
	MOVQ    x_base+24(FP), SI
	MOVQ    x_len+32(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	MOVQ    y_base+48(FP), DX
	MOVQ    y_len+56(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	BINARY(VDIVPD, VMASKMOVPD, 4, 3)
	VZEROUPPER
	RET

// func maximumF32AVX2(dst, x, y []float32)
TEXT ·maximumF32AVX2(SB), NOSPLIT, $0-72
	MOVQ    dst_base+0(FP), DI
	MOVQ    dst_len+8(FP), CX
	MOVQ    x_base+24(FP), SI
	MOVQ    x_len+32(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	MOVQ    y_base+48(FP), DX
	MOVQ    y_len+56(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	MAXIMUM(VMAXPS, VCMPPS, VBLENDVPS, VMASKMOVPS, 8, 2)
	VZEROUPPER
	RET

// func maximumF64AVX2(dst, x, y []float64)
TEXT ·maximumF64AVX2(SB), NOSPLIT, $0-72
	MOVQ    dst_base+0(FP), DI
	MOVQ    dst_len+8(FP), CX
	MOVQ    x_base+24(FP), SI
	MOVQ    x_len+32(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	MOVQ    y_base+48(FP), DX
	MOVQ    y_len+56(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	MAXIMUM(VMAXPD, VCMPPD, VBLENDVPD, VMASKMOVPD, 4, 3)
	VZEROUPPER
	RET

// func posMaskF32AVX2(dst, x, y []float32)
TEXT ·posMaskF32AVX2(SB), NOSPLIT, $0-72
	MOVQ    dst_base+0(FP), DI
	MOVQ    dst_len+8(FP), CX
	MOVQ    x_base+24(FP), SI
	MOVQ    x_len+32(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	MOVQ    y_base+48(FP), DX
	MOVQ    y_len+56(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	VXORPS  Y14, Y14, Y14
	POSMASK(VCMPPS, VANDPS, VMASKMOVPS, 8, 2)
	VZEROUPPER
	RET

// func posMaskF64AVX2(dst, x, y []float64)
TEXT ·posMaskF64AVX2(SB), NOSPLIT, $0-72
	MOVQ    dst_base+0(FP), DI
	MOVQ    dst_len+8(FP), CX
	MOVQ    x_base+24(FP), SI
	MOVQ    x_len+32(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	MOVQ    y_base+48(FP), DX
	MOVQ    y_len+56(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	VXORPD  Y14, Y14, Y14
	POSMASK(VCMPPD, VANDPD, VMASKMOVPD, 4, 3)
	VZEROUPPER
	RET

// func reluF32AVX2(dst, x []float32)
TEXT ·reluF32AVX2(SB), NOSPLIT, $0-48
	MOVQ    dst_base+0(FP), DI
	MOVQ    dst_len+8(FP), CX
	MOVQ    x_base+24(FP), SI
	MOVQ    x_len+32(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	VXORPS  Y14, Y14, Y14
	RELU(VMAXPS, VCMPPS, VBLENDVPS, VMASKMOVPS, 8, 2)
	VZEROUPPER
	RET

// func reluF64AVX2(dst, x []float64)
TEXT ·reluF64AVX2(SB), NOSPLIT, $0-48
	MOVQ    dst_base+0(FP), DI
	MOVQ    dst_len+8(FP), CX
	MOVQ    x_base+24(FP), SI
	MOVQ    x_len+32(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	VXORPD  Y14, Y14, Y14
	RELU(VMAXPD, VCMPPD, VBLENDVPD, VMASKMOVPD, 4, 3)
	VZEROUPPER
	RET

// ---------------------------------------------------------------------------
// Math kernels: one vector per iteration, then one masked vector for the
// tail. CORE maps Y0 to Y0 and must leave Y13..Y15 alone.
#define MATHLOOP(CORE, MASKMOV, VL, SH) \
loop:                         \
	CMPQ    CX, $VL           \
	JB      tail              \
	VMOVUPS (SI), Y0          \
	CORE                      \
	VMOVUPS Y0, (DI)          \
	ADDQ    $32, SI           \
	ADDQ    $32, DI           \
	SUBQ    $VL, CX           \
	JMP     loop              \
tail:                         \
	TESTQ   CX, CX            \
	JZ      done              \
	TAILMASK(SH)              \
	MASKMOV (SI), Y15, Y0     \
	CORE                      \
	MASKMOV Y0, Y15, (DI)     \
done:

// exp: X = exp(X); N, P, T are scratch; Y13 and Y14 hold the clamp bounds
// (VMAXP/VMINP need them as first source so that NaN passes).
// 2^n = 2^(n>>1) * 2^(n-(n>>1)), each built in the exponent field.
#define EXPF(X, N, P, T) \
	VMAXPS      X, Y13, X              \
	VMINPS      X, Y14, X              \
	VMOVUPS     magicf<>(SB), N        \
	VFMADD231PS log2ef<>(SB), X, N     \
	VSUBPS      magicf<>(SB), N, P     \
	VFMADD231PS nln2hif<>(SB), P, X    \
	VFMADD231PS nln2lof<>(SB), P, X    \
	VMOVUPS     expfc4<>(SB), P        \
	VFMADD213PS expfc3<>(SB), X, P     \
	VFMADD213PS expfc2<>(SB), X, P     \
	VFMADD213PS expfc1<>(SB), X, P     \
	VFMADD213PS expfc0<>(SB), X, P     \
	VFMADD213PS onef<>(SB), X, P       \
	VFMADD213PS onef<>(SB), X, P       \
	VPSUBD      magicf<>(SB), N, N     \
	VPSRAD      $1, N, T               \
	VPSUBD      T, N, N                \
	VPADDD      bias127<>(SB), T, T    \
	VPSLLD      $23, T, T              \
	VPADDD      bias127<>(SB), N, N    \
	VPSLLD      $23, N, N              \
	VMULPS      T, P, P                \
	VMULPS      N, P, X

#define EXPF_CONSTS \
	VMOVUPS expflo<>(SB), Y13 \
	VMOVUPS expfhi<>(SB), Y14

// For float64 the halving of n uses a logical shift of n+2048 (AVX2 has no
// 64-bit arithmetic shift): T = floor(n/2)+1024.
#define EXPD(X, N, P, T) \
	VMAXPD      X, Y13, X              \
	VMINPD      X, Y14, X              \
	VMOVUPD     magicd<>(SB), N        \
	VFMADD231PD log2ed<>(SB), X, N     \
	VSUBPD      magicd<>(SB), N, P     \
	VFMADD231PD nln2hid<>(SB), P, X    \
	VFMADD231PD nln2lod<>(SB), P, X    \
	VMOVUPD     expdc10<>(SB), P       \
	VFMADD213PD expdc9<>(SB), X, P     \
	VFMADD213PD expdc8<>(SB), X, P     \
	VFMADD213PD expdc7<>(SB), X, P     \
	VFMADD213PD expdc6<>(SB), X, P     \
	VFMADD213PD expdc5<>(SB), X, P     \
	VFMADD213PD expdc4<>(SB), X, P     \
	VFMADD213PD expdc3<>(SB), X, P     \
	VFMADD213PD expdc2<>(SB), X, P     \
	VFMADD213PD expdc1<>(SB), X, P     \
	VFMADD213PD expdc0<>(SB), X, P     \
	VFMADD213PD oned<>(SB), X, P       \
	VFMADD213PD oned<>(SB), X, P       \
	VPSUBQ      magicd<>(SB), N, N     \
	VPADDQ      i2048<>(SB), N, T      \
	VPSRLQ      $1, T, T               \
	VPSUBQ      T, N, N                \
	VPADDQ      i2047<>(SB), N, N      \
	VPSLLQ      $52, N, N              \
	VPSUBQ      i1<>(SB), T, T         \
	VPSLLQ      $52, T, T              \
	VMULPD      T, P, P                \
	VMULPD      N, P, X

#define EXPD_CONSTS \
	VMOVUPD expdlo<>(SB), Y13 \
	VMOVUPD expdhi<>(SB), Y14

// log: denormals are scaled by 2^23 (2^52) first; then, on the bits,
// ix = bits + bits(1) - bits(sqrt(1/2)) carries into the exponent field
// exactly when the mantissa is >= sqrt(2), k = exponent(ix), and
// m = mantissa(ix) + bits(sqrt(1/2)) is in [sqrt(1/2), sqrt(2)). Special
// inputs are blended in last: +-0 -> -Inf, x < 0 -> NaN, NaN and +Inf -> x.
#define LOGF \
	VMULPS      two23f<>(SB), Y0, Y1       \
	VCMPPS      $0x11, minnormf<>(SB), Y0, Y2 \
	VBLENDVPS   Y2, Y1, Y0, Y1             \
	VANDPS      m23f<>(SB), Y2, Y2         \
	VPADDD      logofff<>(SB), Y1, Y3      \
	VPSRAD      $23, Y3, Y4                \
	VPSUBD      bias127<>(SB), Y4, Y4      \
	VCVTDQ2PS   Y4, Y4                     \
	VADDPS      Y2, Y4, Y4                 \
	VPAND       mantf<>(SB), Y3, Y3        \
	VPADDD      sqrthalff<>(SB), Y3, Y3    \
	VSUBPS      onef<>(SB), Y3, Y3         \
	VADDPS      twof<>(SB), Y3, Y5         \
	VDIVPS      Y5, Y3, Y5                 \
	VMULPS      Y5, Y5, Y6                 \
	VMOVUPS     logfc3<>(SB), Y7           \
	VFMADD213PS logfc2<>(SB), Y6, Y7       \
	VFMADD213PS logfc1<>(SB), Y6, Y7       \
	VFMADD213PS logfc0<>(SB), Y6, Y7       \
	VMULPS      Y7, Y6, Y7                 \
	VMULPS      halff<>(SB), Y3, Y8        \
	VMULPS      Y3, Y8, Y8                 \
	VADDPS      Y7, Y8, Y7                 \
	VMULPS      ln2lof<>(SB), Y4, Y6       \
	VFMADD231PS Y7, Y5, Y6                 \
	VSUBPS      Y6, Y8, Y6                 \
	VSUBPS      Y6, Y3, Y6                 \
	VFMADD231PS ln2hif<>(SB), Y4, Y6       \
	VXORPS      Y9, Y9, Y9                 \
	VCMPPS      $0x00, Y9, Y0, Y2          \
	VBLENDVPS   Y2, neginff<>(SB), Y6, Y6  \
	VCMPPS      $0x11, Y9, Y0, Y2          \
	VBLENDVPS   Y2, nanf<>(SB), Y6, Y6     \
	VCMPPS      $0x15, inff<>(SB), Y0, Y2  \
	VBLENDVPS   Y2, Y0, Y6, Y0

// float64: k = (2^52 + (ix>>52)) - (2^52 + 1023) converts the exponent
// field to a float64 without VCVTQQ2PD (an AVX-512 instruction).
#define LOGD \
	VMULPD      two52d<>(SB), Y0, Y1       \
	VCMPPD      $0x11, minnormd<>(SB), Y0, Y2 \
	VBLENDVPD   Y2, Y1, Y0, Y1             \
	VANDPD      m52d<>(SB), Y2, Y2         \
	VPADDQ      logoffd<>(SB), Y1, Y3      \
	VPSRLQ      $52, Y3, Y4                \
	VPOR        two52d<>(SB), Y4, Y4       \
	VSUBPD      k1023d<>(SB), Y4, Y4       \
	VADDPD      Y2, Y4, Y4                 \
	VPAND       mantd<>(SB), Y3, Y3        \
	VPADDQ      sqrthalfd<>(SB), Y3, Y3    \
	VSUBPD      oned<>(SB), Y3, Y3         \
	VADDPD      twod<>(SB), Y3, Y5         \
	VDIVPD      Y5, Y3, Y5                 \
	VMULPD      Y5, Y5, Y6                 \
	VMOVUPD     logdc6<>(SB), Y7           \
	VFMADD213PD logdc5<>(SB), Y6, Y7       \
	VFMADD213PD logdc4<>(SB), Y6, Y7       \
	VFMADD213PD logdc3<>(SB), Y6, Y7       \
	VFMADD213PD logdc2<>(SB), Y6, Y7       \
	VFMADD213PD logdc1<>(SB), Y6, Y7       \
	VFMADD213PD logdc0<>(SB), Y6, Y7       \
	VMULPD      Y7, Y6, Y7                 \
	VMULPD      halfd<>(SB), Y3, Y8        \
	VMULPD      Y3, Y8, Y8                 \
	VADDPD      Y7, Y8, Y7                 \
	VMULPD      ln2lod<>(SB), Y4, Y6       \
	VFMADD231PD Y7, Y5, Y6                 \
	VSUBPD      Y6, Y8, Y6                 \
	VSUBPD      Y6, Y3, Y6                 \
	VFMADD231PD ln2hid<>(SB), Y4, Y6       \
	VXORPD      Y9, Y9, Y9                 \
	VCMPPD      $0x00, Y9, Y0, Y2          \
	VBLENDVPD   Y2, neginfd<>(SB), Y6, Y6  \
	VCMPPD      $0x11, Y9, Y0, Y2          \
	VBLENDVPD   Y2, nand<>(SB), Y6, Y6     \
	VCMPPD      $0x15, infd<>(SB), Y0, Y2  \
	VBLENDVPD   Y2, Y0, Y6, Y0

// tanh, as in the AVX-512 file.
#define TANHF \
	VANDPS      absf<>(SB), Y0, Y1         \
	VMULPS      Y1, Y1, Y2                 \
	VMOVUPS     tanhfc6<>(SB), Y3          \
	VFMADD213PS tanhfc5<>(SB), Y2, Y3      \
	VFMADD213PS tanhfc4<>(SB), Y2, Y3      \
	VFMADD213PS tanhfc3<>(SB), Y2, Y3      \
	VFMADD213PS tanhfc2<>(SB), Y2, Y3      \
	VFMADD213PS tanhfc1<>(SB), Y2, Y3      \
	VFMADD213PS tanhfc0<>(SB), Y2, Y3      \
	VMULPS      Y3, Y2, Y3                 \
	VFMADD213PS Y1, Y1, Y3                 \
	VMULPS      m2f<>(SB), Y1, Y4          \
	EXPF(Y4, Y5, Y6, Y7)                   \
	VADDPS      onef<>(SB), Y4, Y5         \
	VADDPS      Y4, Y4, Y4                 \
	VDIVPS      Y5, Y4, Y4                 \
	VMOVUPS     onef<>(SB), Y6             \
	VSUBPS      Y4, Y6, Y4                 \
	VCMPPS      $0x11, tanhft<>(SB), Y1, Y5 \
	VBLENDVPS   Y5, Y3, Y4, Y4             \
	VANDPS      signf<>(SB), Y0, Y0        \
	VORPS       Y4, Y0, Y0

#define TANHD \
	VANDPD      absd<>(SB), Y0, Y1         \
	VMULPD      Y1, Y1, Y2                 \
	VMOVUPD     tanhdc14<>(SB), Y3         \
	VFMADD213PD tanhdc13<>(SB), Y2, Y3     \
	VFMADD213PD tanhdc12<>(SB), Y2, Y3     \
	VFMADD213PD tanhdc11<>(SB), Y2, Y3     \
	VFMADD213PD tanhdc10<>(SB), Y2, Y3     \
	VFMADD213PD tanhdc9<>(SB), Y2, Y3      \
	VFMADD213PD tanhdc8<>(SB), Y2, Y3      \
	VFMADD213PD tanhdc7<>(SB), Y2, Y3      \
	VFMADD213PD tanhdc6<>(SB), Y2, Y3      \
	VFMADD213PD tanhdc5<>(SB), Y2, Y3      \
	VFMADD213PD tanhdc4<>(SB), Y2, Y3      \
	VFMADD213PD tanhdc3<>(SB), Y2, Y3      \
	VFMADD213PD tanhdc2<>(SB), Y2, Y3      \
	VFMADD213PD tanhdc1<>(SB), Y2, Y3      \
	VFMADD213PD tanhdc0<>(SB), Y2, Y3      \
	VMULPD      Y3, Y2, Y3                 \
	VFMADD213PD Y1, Y1, Y3                 \
	VMULPD      m2d<>(SB), Y1, Y4          \
	EXPD(Y4, Y5, Y6, Y7)                   \
	VADDPD      oned<>(SB), Y4, Y5         \
	VADDPD      Y4, Y4, Y4                 \
	VDIVPD      Y5, Y4, Y4                 \
	VMOVUPD     oned<>(SB), Y6             \
	VSUBPD      Y4, Y6, Y4                 \
	VCMPPD      $0x11, tanhdt<>(SB), Y1, Y5 \
	VBLENDVPD   Y5, Y3, Y4, Y4             \
	VANDPD      signd<>(SB), Y0, Y0        \
	VORPD       Y4, Y0, Y0

// sigmoid, as in the AVX-512 file.
#define SIGMOIDF \
	VORPS        signf<>(SB), Y0, Y1       \
	EXPF(Y1, Y2, Y3, Y4)                   \
	VADDPS       onef<>(SB), Y1, Y2        \
	VMOVUPS      onef<>(SB), Y6            \
	VSUBPS       Y2, Y6, Y3                \
	VADDPS       Y1, Y3, Y3                \
	VDIVPS       Y2, Y6, Y4                \
	VXORPS       Y5, Y5, Y5                \
	VCMPPS       $0x1d, Y5, Y0, Y5         \
	VBLENDVPS    Y5, Y6, Y1, Y5            \
	VMULPS       Y4, Y5, Y7                \
	VMOVAPS      Y5, Y8                    \
	VFNMADD231PS Y2, Y7, Y8                \
	VFNMADD231PS Y3, Y7, Y8                \
	VFMADD231PS  Y4, Y8, Y7                \
	VMOVAPS      Y7, Y0

#define SIGMOIDD \
	VORPD        signd<>(SB), Y0, Y1       \
	EXPD(Y1, Y2, Y3, Y4)                   \
	VADDPD       oned<>(SB), Y1, Y2        \
	VMOVUPD      oned<>(SB), Y6            \
	VSUBPD       Y2, Y6, Y3                \
	VADDPD       Y1, Y3, Y3                \
	VDIVPD       Y2, Y6, Y4                \
	VXORPD       Y5, Y5, Y5                \
	VCMPPD       $0x1d, Y5, Y0, Y5         \
	VBLENDVPD    Y5, Y6, Y1, Y5            \
	VMULPD       Y4, Y5, Y7                \
	VMOVAPD      Y5, Y8                    \
	VFNMADD231PD Y2, Y7, Y8                \
	VFNMADD231PD Y3, Y7, Y8                \
	VFMADD231PD  Y4, Y8, Y7                \
	VMOVAPD      Y7, Y0

// func expF32AVX2(dst, x []float32)
TEXT ·expF32AVX2(SB), NOSPLIT, $0-48
	MOVQ    dst_base+0(FP), DI
	MOVQ    dst_len+8(FP), CX
	MOVQ    x_base+24(FP), SI
	MOVQ    x_len+32(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	EXPF_CONSTS
	MATHLOOP(EXPF(Y0, Y1, Y2, Y3), VMASKMOVPS, 8, 2)
	VZEROUPPER
	RET

// func expF64AVX2(dst, x []float64)
TEXT ·expF64AVX2(SB), NOSPLIT, $0-48
	MOVQ    dst_base+0(FP), DI
	MOVQ    dst_len+8(FP), CX
	MOVQ    x_base+24(FP), SI
	MOVQ    x_len+32(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	EXPD_CONSTS
	MATHLOOP(EXPD(Y0, Y1, Y2, Y3), VMASKMOVPD, 4, 3)
	VZEROUPPER
	RET

// func logF32AVX2(dst, x []float32)
TEXT ·logF32AVX2(SB), NOSPLIT, $0-48
	MOVQ    dst_base+0(FP), DI
	MOVQ    dst_len+8(FP), CX
	MOVQ    x_base+24(FP), SI
	MOVQ    x_len+32(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	MATHLOOP(LOGF, VMASKMOVPS, 8, 2)
	VZEROUPPER
	RET

// func logF64AVX2(dst, x []float64)
TEXT ·logF64AVX2(SB), NOSPLIT, $0-48
	MOVQ    dst_base+0(FP), DI
	MOVQ    dst_len+8(FP), CX
	MOVQ    x_base+24(FP), SI
	MOVQ    x_len+32(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	MATHLOOP(LOGD, VMASKMOVPD, 4, 3)
	VZEROUPPER
	RET

// func tanhF32AVX2(dst, x []float32)
TEXT ·tanhF32AVX2(SB), NOSPLIT, $0-48
	MOVQ    dst_base+0(FP), DI
	MOVQ    dst_len+8(FP), CX
	MOVQ    x_base+24(FP), SI
	MOVQ    x_len+32(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	EXPF_CONSTS
	MATHLOOP(TANHF, VMASKMOVPS, 8, 2)
	VZEROUPPER
	RET

// func tanhF64AVX2(dst, x []float64)
TEXT ·tanhF64AVX2(SB), NOSPLIT, $0-48
	MOVQ    dst_base+0(FP), DI
	MOVQ    dst_len+8(FP), CX
	MOVQ    x_base+24(FP), SI
	MOVQ    x_len+32(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	EXPD_CONSTS
	MATHLOOP(TANHD, VMASKMOVPD, 4, 3)
	VZEROUPPER
	RET

// func sigmoidF32AVX2(dst, x []float32)
TEXT ·sigmoidF32AVX2(SB), NOSPLIT, $0-48
	MOVQ    dst_base+0(FP), DI
	MOVQ    dst_len+8(FP), CX
	MOVQ    x_base+24(FP), SI
	MOVQ    x_len+32(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	EXPF_CONSTS
	MATHLOOP(SIGMOIDF, VMASKMOVPS, 8, 2)
	VZEROUPPER
	RET

// func sigmoidF64AVX2(dst, x []float64)
TEXT ·sigmoidF64AVX2(SB), NOSPLIT, $0-48
	MOVQ    dst_base+0(FP), DI
	MOVQ    dst_len+8(FP), CX
	MOVQ    x_base+24(FP), SI
	MOVQ    x_len+32(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	EXPD_CONSTS
	MATHLOOP(SIGMOIDD, VMASKMOVPD, 4, 3)
	VZEROUPPER
	RET

// MASKCOLSUM: row by row, for each 32-byte vector of the row: dz = y > 0 ?
// g : +0 (ordered greater-than compare into an all-ones lane mask, AND
// with g), store dz, and set (row 0) or add to the column sums at R8,
// which stay in L1 while the rows stream by. DI dz, SI g, DX y, R8 sum, BX
// ld in bytes, R9 rows, R10 columns, VL elements per vector. Y14 is zero.
#define MASKCOLSUM(CMP, AND, MOVU, ADD, VL) \
	MOVQ R10, CX                        \
	MOVQ DI, R11                        \
	MOVQ SI, R12                        \
	MOVQ DX, R13                        \
	MOVQ R8, AX                         \
mcsfirst:                               \
	MOVU (R13), Y1                      \
	CMP  $0x1e, Y14, Y1, Y1             \
	AND  (R12), Y1, Y2                  \
	MOVU Y2, (R11)                      \
	MOVU Y2, (AX)                       \
	ADDQ $32, R11                       \
	ADDQ $32, R12                       \
	ADDQ $32, R13                       \
	ADDQ $32, AX                        \
	SUBQ $VL, CX                        \
	JNZ  mcsfirst                       \
mcsrow:                                 \
	DECQ R9                             \
	JZ   mcsdone                        \
	ADDQ BX, DI                         \
	ADDQ BX, SI                         \
	ADDQ BX, DX                         \
	MOVQ R10, CX                        \
	MOVQ DI, R11                        \
	MOVQ SI, R12                        \
	MOVQ DX, R13                        \
	MOVQ R8, AX                         \
mcsvec:                                 \
	MOVU (R13), Y1                      \
	CMP  $0x1e, Y14, Y1, Y1             \
	AND  (R12), Y1, Y2                  \
	MOVU Y2, (R11)                      \
	ADD  (AX), Y2, Y3                   \
	MOVU Y3, (AX)                       \
	ADDQ $32, R11                       \
	ADDQ $32, R12                       \
	ADDQ $32, R13                       \
	ADDQ $32, AX                        \
	SUBQ $VL, CX                        \
	JNZ  mcsvec                         \
	JMP  mcsrow                         \
mcsdone:

// func maskPosColSumF32AVX2(dz, gr, y, sum unsafe.Pointer, ld, rows, cols int)
TEXT ·maskPosColSumF32AVX2(SB), NOSPLIT, $0-56
	MOVQ   dz+0(FP), DI
	MOVQ   gr+8(FP), SI
	MOVQ   y+16(FP), DX
	MOVQ   sum+24(FP), R8
	MOVQ   ld+32(FP), BX
	MOVQ   rows+40(FP), R9
	MOVQ   cols+48(FP), R10
	VXORPS Y14, Y14, Y14
	MASKCOLSUM(VCMPPS, VANDPS, VMOVUPS, VADDPS, 8)
	VZEROUPPER
	RET

// func maskPosColSumF64AVX2(dz, gr, y, sum unsafe.Pointer, ld, rows, cols int)
TEXT ·maskPosColSumF64AVX2(SB), NOSPLIT, $0-56
	MOVQ   dz+0(FP), DI
	MOVQ   gr+8(FP), SI
	MOVQ   y+16(FP), DX
	MOVQ   sum+24(FP), R8
	MOVQ   ld+32(FP), BX
	MOVQ   rows+40(FP), R9
	MOVQ   cols+48(FP), R10
	VXORPD Y14, Y14, Y14
	MASKCOLSUM(VCMPPD, VANDPD, VMOVUPD, VADDPD, 4)
	VZEROUPPER
	RET

// MOMENTUM: the heavy-ball update on n elements, n a multiple of VL:
// b = mu*b (rounded), b = damp*g + b (fused), x = negLR*b + x (fused), the
// roundings of Scale followed by two Axpy calls. DI x, SI g, DX b, CX n;
// Y0 mu, Y1 damp, Y2 negLR.
#define MOMENTUM(MUL, FMA, MOVU, VL) \
mom2:                            \
	CMPQ CX, $(2*VL)             \
	JB   mom1                    \
	MUL  (DX), Y0, Y3            \
	MUL  32(DX), Y0, Y4          \
	FMA  (SI), Y1, Y3            \
	FMA  32(SI), Y1, Y4          \
	MOVU Y3, (DX)                \
	MOVU Y4, 32(DX)              \
	MOVU (DI), Y5                \
	MOVU 32(DI), Y6              \
	FMA  Y3, Y2, Y5              \
	FMA  Y4, Y2, Y6              \
	MOVU Y5, (DI)                \
	MOVU Y6, 32(DI)              \
	ADDQ $64, DI                 \
	ADDQ $64, SI                 \
	ADDQ $64, DX                 \
	SUBQ $(2*VL), CX             \
	JMP  mom2                    \
mom1:                            \
	CMPQ CX, $VL                 \
	JB   momdone                 \
	MUL  (DX), Y0, Y3            \
	FMA  (SI), Y1, Y3            \
	MOVU Y3, (DX)                \
	MOVU (DI), Y5                \
	FMA  Y3, Y2, Y5              \
	MOVU Y5, (DI)                \
momdone:

// func momentumF32AVX2(x, g, b *float32, n int, mu, damp, negLR float32)
TEXT ·momentumF32AVX2(SB), NOSPLIT, $0-44
	MOVQ         x+0(FP), DI
	MOVQ         gr+8(FP), SI
	MOVQ         b+16(FP), DX
	MOVQ         n+24(FP), CX
	VBROADCASTSS mu+32(FP), Y0
	VBROADCASTSS damp+36(FP), Y1
	VBROADCASTSS negLR+40(FP), Y2
	MOMENTUM(VMULPS, VFMADD231PS, VMOVUPS, 8)
	VZEROUPPER
	RET

// func momentumF64AVX2(x, g, b *float64, n int, mu, damp, negLR float64)
TEXT ·momentumF64AVX2(SB), NOSPLIT, $0-56
	MOVQ         x+0(FP), DI
	MOVQ         gr+8(FP), SI
	MOVQ         b+16(FP), DX
	MOVQ         n+24(FP), CX
	VBROADCASTSD mu+32(FP), Y0
	VBROADCASTSD damp+40(FP), Y1
	VBROADCASTSD negLR+48(FP), Y2
	MOMENTUM(VMULPD, VFMADD231PD, VMOVUPD, 4)
	VZEROUPPER
	RET

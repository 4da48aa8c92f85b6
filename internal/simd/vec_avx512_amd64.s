//go:build !purego

// AVX-512 vector kernels. They use AVX512F instructions only (archTiers
// requires DQ, BW and VL as well, for the other kernels of the tier).
//
// Every kernel takes whole slices, works on n = min of the slice lengths
// (the Go wrappers have checked they are equal), handles 4 vectors per
// iteration where the work is memory-bound, and finishes the last n%16 (f32)
// or n%8 (f64) elements with a masked load and store: masked-out lanes are
// neither read (fault suppression) nor written, so nothing outside the slices
// is touched. The algorithms of exp, log, tanh and sigmoid are described in
// vec_amd64.go; the AVX2 file computes the same operations in the same
// order, so both tiers return bit-identical results.

#include "textflag.h"

// float32 constants, broadcast with VBROADCASTSS or embedded broadcast.
DATA f32c<>+0x00(SB)/4, $0xc2d00000 // -104: exp(x) rounds to 0 below about -103.97
DATA f32c<>+0x04(SB)/4, $0x42b20000 // 89: exp(x) overflows above about 88.72
DATA f32c<>+0x08(SB)/4, $0x3fb8aa3b // log2(e)
DATA f32c<>+0x0c(SB)/4, $0x4b400000 // 1.5*2^23: adding it rounds to an integer
DATA f32c<>+0x10(SB)/4, $0xbf317218 // -ln2 high part
DATA f32c<>+0x14(SB)/4, $0x3102e308 // -ln2 low part (ln2 - high)
DATA f32c<>+0x18(SB)/4, $0x3f800000 // 1
DATA f32c<>+0x1c(SB)/4, $0x3efffffe // exp: (e^r-1-r)/r^2 ~ c0 + c1 r + ... + c4 r^4
DATA f32c<>+0x20(SB)/4, $0x3e2aaa49
DATA f32c<>+0x24(SB)/4, $0x3d2aac79
DATA f32c<>+0x28(SB)/4, $0x3c091cea
DATA f32c<>+0x2c(SB)/4, $0x3ab51226
DATA f32c<>+0x30(SB)/4, $0x3f000000 // 0.5
DATA f32c<>+0x34(SB)/4, $0x40000000 // 2
DATA f32c<>+0x38(SB)/4, $0x3fb504f3 // sqrt(2) rounded down: mantissas from here on are halved
DATA f32c<>+0x3c(SB)/4, $0x3f317218 // ln2 high part
DATA f32c<>+0x40(SB)/4, $0xb102e308 // ln2 low part
DATA f32c<>+0x44(SB)/4, $0x3f2aaaab // log: R(z)/z ~ c0 + c1 z + c2 z^2 + c3 z^3
DATA f32c<>+0x48(SB)/4, $0x3ecccd3e
DATA f32c<>+0x4c(SB)/4, $0x3e921ac9
DATA f32c<>+0x50(SB)/4, $0x3e71d742
DATA f32c<>+0x54(SB)/4, $0x03538421 // VFIXUPIMM table of log, see LOG_FIXUP
DATA f32c<>+0x58(SB)/4, $0x7fffffff // |x| mask
DATA f32c<>+0x5c(SB)/4, $0x80000000 // sign mask
DATA f32c<>+0x60(SB)/4, $0x3f600000 // 0.875: tanh switches from the polynomial to exp
DATA f32c<>+0x64(SB)/4, $0xc0000000 // -2
DATA f32c<>+0x68(SB)/4, $0xbeaaaaa9 // tanh: (tanh(a)-a)/a^3 ~ c0 + c1 u + ... + c6 u^6, u = a^2
DATA f32c<>+0x6c(SB)/4, $0x3e0887f3
DATA f32c<>+0x70(SB)/4, $0xbd5cefa0
DATA f32c<>+0x74(SB)/4, $0x3cb1c474
DATA f32c<>+0x78(SB)/4, $0xbc088464
DATA f32c<>+0x7c(SB)/4, $0x3b2d5dca
DATA f32c<>+0x80(SB)/4, $0xb9face41
DATA f32c<>+0x84(SB)/4, $0xff800000 // -Inf
GLOBL f32c<>(SB), RODATA|NOPTR, $0x88

#define EXPF_LO f32c<>+0x00(SB)
#define EXPF_HI f32c<>+0x04(SB)
#define LOG2EF f32c<>+0x08(SB)
#define MAGICF f32c<>+0x0c(SB)
#define NLN2HIF f32c<>+0x10(SB)
#define NLN2LOF f32c<>+0x14(SB)
#define ONEF f32c<>+0x18(SB)
#define EXPF_C0 f32c<>+0x1c(SB)
#define EXPF_C1 f32c<>+0x20(SB)
#define EXPF_C2 f32c<>+0x24(SB)
#define EXPF_C3 f32c<>+0x28(SB)
#define EXPF_C4 f32c<>+0x2c(SB)
#define HALFF f32c<>+0x30(SB)
#define TWOF f32c<>+0x34(SB)
#define SQRT2F f32c<>+0x38(SB)
#define LN2HIF f32c<>+0x3c(SB)
#define LN2LOF f32c<>+0x40(SB)
#define LOGF_C0 f32c<>+0x44(SB)
#define LOGF_C1 f32c<>+0x48(SB)
#define LOGF_C2 f32c<>+0x4c(SB)
#define LOGF_C3 f32c<>+0x50(SB)
#define LOGF_FIX f32c<>+0x54(SB)
#define ABSF f32c<>+0x58(SB)
#define SIGNF f32c<>+0x5c(SB)
#define TANHF_T f32c<>+0x60(SB)
#define M2F f32c<>+0x64(SB)
#define TANHF_C0 f32c<>+0x68(SB)
#define TANHF_C1 f32c<>+0x6c(SB)
#define TANHF_C2 f32c<>+0x70(SB)
#define TANHF_C3 f32c<>+0x74(SB)
#define TANHF_C4 f32c<>+0x78(SB)
#define TANHF_C5 f32c<>+0x7c(SB)
#define TANHF_C6 f32c<>+0x80(SB)
#define NEGINFF f32c<>+0x84(SB)

// float64 constants, same roles.
DATA f64c<>+0x000(SB)/8, $0xc087500000000000 // -746
DATA f64c<>+0x008(SB)/8, $0x4086300000000000 // 710
DATA f64c<>+0x010(SB)/8, $0x3ff71547652b82fe // log2(e)
DATA f64c<>+0x018(SB)/8, $0x4338000000000000 // 1.5*2^52
DATA f64c<>+0x020(SB)/8, $0xbfe62e42fefa39ef // -ln2 high part
DATA f64c<>+0x028(SB)/8, $0xbc7abc9e3b39803f // -ln2 low part
DATA f64c<>+0x030(SB)/8, $0x3ff0000000000000 // 1
DATA f64c<>+0x038(SB)/8, $0x3fe0000000000000 // exp: c0 .. c10
DATA f64c<>+0x040(SB)/8, $0x3fc555555555555b
DATA f64c<>+0x048(SB)/8, $0x3fa5555555555503
DATA f64c<>+0x050(SB)/8, $0x3f8111111110ec65
DATA f64c<>+0x058(SB)/8, $0x3f56c16c16c30439
DATA f64c<>+0x060(SB)/8, $0x3f2a01a01b37b43b
DATA f64c<>+0x068(SB)/8, $0x3efa01a01369f98e
DATA f64c<>+0x070(SB)/8, $0x3ec71ddf02858fcb
DATA f64c<>+0x078(SB)/8, $0x3e927e5b4337d618
DATA f64c<>+0x080(SB)/8, $0x3e5af6bda7b918be
DATA f64c<>+0x088(SB)/8, $0x3e21e3d35f1e39be
DATA f64c<>+0x090(SB)/8, $0x3fe0000000000000 // 0.5
DATA f64c<>+0x098(SB)/8, $0x4000000000000000 // 2
DATA f64c<>+0x0a0(SB)/8, $0x3ff6a09e667f3bcd // sqrt(2) rounded down
DATA f64c<>+0x0a8(SB)/8, $0x3fe62e42fefa39ef // ln2 high part
DATA f64c<>+0x0b0(SB)/8, $0x3c7abc9e3b39803f // ln2 low part
DATA f64c<>+0x0b8(SB)/8, $0x3fe555555555557c // log: c0 .. c6
DATA f64c<>+0x0c0(SB)/8, $0x3fd99999999847ea
DATA f64c<>+0x0c8(SB)/8, $0x3fd2492493fad539
DATA f64c<>+0x0d0(SB)/8, $0x3fcc71c52be82c40
DATA f64c<>+0x0d8(SB)/8, $0x3fc746647dcc9a28
DATA f64c<>+0x0e0(SB)/8, $0x3fc399d29557de03
DATA f64c<>+0x0e8(SB)/8, $0x3fc2f50f403efc2b
DATA f64c<>+0x0f0(SB)/8, $0x0000000003538421 // VFIXUPIMM table of log
DATA f64c<>+0x0f8(SB)/8, $0x7fffffffffffffff // |x| mask
DATA f64c<>+0x100(SB)/8, $0x8000000000000000 // sign mask
DATA f64c<>+0x108(SB)/8, $0x3fec000000000000 // 0.875
DATA f64c<>+0x110(SB)/8, $0xc000000000000000 // -2
DATA f64c<>+0x118(SB)/8, $0xbfd5555555555553 // tanh: c0 .. c14
DATA f64c<>+0x120(SB)/8, $0x3fc1111111110e96
DATA f64c<>+0x128(SB)/8, $0xbfaba1ba1b9fe082
DATA f64c<>+0x130(SB)/8, $0x3f9664f487d24b10
DATA f64c<>+0x138(SB)/8, $0xbf8226e34bbd412a
DATA f64c<>+0x140(SB)/8, $0x3f6d6d3b8d4443e6
DATA f64c<>+0x148(SB)/8, $0xbf57da229cd4c00d
DATA f64c<>+0x150(SB)/8, $0x3f4354ca47a2eb4f
DATA f64c<>+0x158(SB)/8, $0xbf2f4dfd3ce0a372
DATA f64c<>+0x160(SB)/8, $0x3f1935c6e9045dea
DATA f64c<>+0x168(SB)/8, $0xbf03d9b0f0f49d9c
DATA f64c<>+0x170(SB)/8, $0x3eed2daf3491346b
DATA f64c<>+0x178(SB)/8, $0xbed238abe5168b86
DATA f64c<>+0x180(SB)/8, $0x3eb06d6e573882e9
DATA f64c<>+0x188(SB)/8, $0xbe7ea90fe4139f24
DATA f64c<>+0x190(SB)/8, $0xfff0000000000000 // -Inf
GLOBL f64c<>(SB), RODATA|NOPTR, $0x198

#define EXPD_LO f64c<>+0x000(SB)
#define EXPD_HI f64c<>+0x008(SB)
#define LOG2ED f64c<>+0x010(SB)
#define MAGICD f64c<>+0x018(SB)
#define NLN2HID f64c<>+0x020(SB)
#define NLN2LOD f64c<>+0x028(SB)
#define ONED f64c<>+0x030(SB)
#define EXPD_C0 f64c<>+0x038(SB)
#define EXPD_C1 f64c<>+0x040(SB)
#define EXPD_C2 f64c<>+0x048(SB)
#define EXPD_C3 f64c<>+0x050(SB)
#define EXPD_C4 f64c<>+0x058(SB)
#define EXPD_C5 f64c<>+0x060(SB)
#define EXPD_C6 f64c<>+0x068(SB)
#define EXPD_C7 f64c<>+0x070(SB)
#define EXPD_C8 f64c<>+0x078(SB)
#define EXPD_C9 f64c<>+0x080(SB)
#define EXPD_C10 f64c<>+0x088(SB)
#define HALFD f64c<>+0x090(SB)
#define TWOD f64c<>+0x098(SB)
#define SQRT2D f64c<>+0x0a0(SB)
#define LN2HID f64c<>+0x0a8(SB)
#define LN2LOD f64c<>+0x0b0(SB)
#define LOGD_C0 f64c<>+0x0b8(SB)
#define LOGD_C1 f64c<>+0x0c0(SB)
#define LOGD_C2 f64c<>+0x0c8(SB)
#define LOGD_C3 f64c<>+0x0d0(SB)
#define LOGD_C4 f64c<>+0x0d8(SB)
#define LOGD_C5 f64c<>+0x0e0(SB)
#define LOGD_C6 f64c<>+0x0e8(SB)
#define LOGD_FIX f64c<>+0x0f0(SB)
#define ABSD f64c<>+0x0f8(SB)
#define SIGND f64c<>+0x100(SB)
#define TANHD_T f64c<>+0x108(SB)
#define M2D f64c<>+0x110(SB)
#define TANHD_C0 f64c<>+0x118(SB)
#define TANHD_C1 f64c<>+0x120(SB)
#define TANHD_C2 f64c<>+0x128(SB)
#define TANHD_C3 f64c<>+0x130(SB)
#define TANHD_C4 f64c<>+0x138(SB)
#define TANHD_C5 f64c<>+0x140(SB)
#define TANHD_C6 f64c<>+0x148(SB)
#define TANHD_C7 f64c<>+0x150(SB)
#define TANHD_C8 f64c<>+0x158(SB)
#define TANHD_C9 f64c<>+0x160(SB)
#define TANHD_C10 f64c<>+0x168(SB)
#define TANHD_C11 f64c<>+0x170(SB)
#define TANHD_C12 f64c<>+0x178(SB)
#define TANHD_C13 f64c<>+0x180(SB)
#define TANHD_C14 f64c<>+0x188(SB)
#define NEGINFD f64c<>+0x190(SB)

// TAILMASK sets K1 to the low CX bits (0 < CX < lanes).
#define TAILMASK \
	MOVL  $1, AX  \
	SHLL  CX, AX  \
	DECL  AX      \
	KMOVW AX, K1

// ---------------------------------------------------------------------------
// Memory-bound kernels. VL is the number of lanes (16 for f32, 8 for f64);
// a vector is always 64 bytes. MOVU/MOVUZ are the unmasked and zero-masking
// moves of the element width (the mask granularity must match the lanes).

// BINARY: dst[i] = x[i] OP y[i] with DI=dst, SI=x, DX=y, CX=n.
#define BINARY(OP, MOVU, MOVUZ, VL) \
loop4:                        \
	CMPQ  CX, $(4*VL)         \
	JB    loop1               \
	MOVU  (SI), Z0            \
	MOVU  64(SI), Z1          \
	MOVU  128(SI), Z2         \
	MOVU  192(SI), Z3         \
	OP    (DX), Z0, Z0        \
	OP    64(DX), Z1, Z1      \
	OP    128(DX), Z2, Z2     \
	OP    192(DX), Z3, Z3     \
	MOVU  Z0, (DI)            \
	MOVU  Z1, 64(DI)          \
	MOVU  Z2, 128(DI)         \
	MOVU  Z3, 192(DI)         \
	ADDQ  $256, SI            \
	ADDQ  $256, DX            \
	ADDQ  $256, DI            \
	SUBQ  $(4*VL), CX         \
	JMP   loop4               \
loop1:                        \
	CMPQ  CX, $VL             \
	JB    tail                \
	MOVU  (SI), Z0            \
	OP    (DX), Z0, Z0        \
	MOVU  Z0, (DI)            \
	ADDQ  $64, SI             \
	ADDQ  $64, DX             \
	ADDQ  $64, DI             \
	SUBQ  $VL, CX             \
	JMP   loop1               \
tail:                         \
	TESTQ CX, CX              \
	JZ    done                \
	TAILMASK                  \
	MOVUZ (SI), K1, Z0        \
	MOVUZ (DX), K1, Z1        \
	OP    Z1, Z0, Z0          \
	MOVU  Z0, K1, (DI)        \
done:

// MAXNAN sets R = max(A, B) with NaN from either side, using mask register
// K: VMAXP(src1=A, src2=B) returns A > B ? A : B, which is B when either is
// NaN; lanes where A is NaN then take A.
#define MAXNAN(MAX, CMP, MOVA, A, B, R, K) \
	MAX  B, A, R           \
	CMP  $3, A, A, K       \
	MOVA A, K, R

// MAXIMUM: dst[i] = max(x[i], y[i]) propagating NaN.
#define MAXIMUM(MAX, CMP, MOVA, MOVU, MOVUZ, VL) \
loop4:                                \
	CMPQ  CX, $(4*VL)                 \
	JB    loop1                       \
	MOVU  (SI), Z0                    \
	MOVU  64(SI), Z1                  \
	MOVU  128(SI), Z2                 \
	MOVU  192(SI), Z3                 \
	MOVU  (DX), Z4                    \
	MOVU  64(DX), Z5                  \
	MOVU  128(DX), Z6                 \
	MOVU  192(DX), Z7                 \
	MAXNAN(MAX, CMP, MOVA, Z0, Z4, Z8, K2)  \
	MAXNAN(MAX, CMP, MOVA, Z1, Z5, Z9, K3)  \
	MAXNAN(MAX, CMP, MOVA, Z2, Z6, Z10, K4) \
	MAXNAN(MAX, CMP, MOVA, Z3, Z7, Z11, K5) \
	MOVU  Z8, (DI)                    \
	MOVU  Z9, 64(DI)                  \
	MOVU  Z10, 128(DI)                \
	MOVU  Z11, 192(DI)                \
	ADDQ  $256, SI                    \
	ADDQ  $256, DX                    \
	ADDQ  $256, DI                    \
	SUBQ  $(4*VL), CX                 \
	JMP   loop4                       \
loop1:                                \
	CMPQ  CX, $VL                     \
	JB    tail                        \
	MOVU  (SI), Z0                    \
	MOVU  (DX), Z4                    \
	MAXNAN(MAX, CMP, MOVA, Z0, Z4, Z8, K2) \
	MOVU  Z8, (DI)                    \
	ADDQ  $64, SI                     \
	ADDQ  $64, DX                     \
	ADDQ  $64, DI                     \
	SUBQ  $VL, CX                     \
	JMP   loop1                       \
tail:                                 \
	TESTQ CX, CX                      \
	JZ    done                        \
	TAILMASK                          \
	MOVUZ (SI), K1, Z0                \
	MOVUZ (DX), K1, Z4                \
	MAXNAN(MAX, CMP, MOVA, Z0, Z4, Z8, K2) \
	MOVU  Z8, K1, (DI)                \
done:

// RELU: dst[i] = max(x[i], 0), NaN stays NaN, -0 becomes +0 (like the
// generic max(x, 0) with x > 0 ? x : 0). Z31 holds zero.
#define RELU(MAX, CMP, MOVA, MOVU, MOVUZ, VL) \
loop4:                                \
	CMPQ  CX, $(4*VL)                 \
	JB    loop1                       \
	MOVU  (SI), Z0                    \
	MOVU  64(SI), Z1                  \
	MOVU  128(SI), Z2                 \
	MOVU  192(SI), Z3                 \
	MAXNAN(MAX, CMP, MOVA, Z0, Z31, Z8, K2)  \
	MAXNAN(MAX, CMP, MOVA, Z1, Z31, Z9, K3)  \
	MAXNAN(MAX, CMP, MOVA, Z2, Z31, Z10, K4) \
	MAXNAN(MAX, CMP, MOVA, Z3, Z31, Z11, K5) \
	MOVU  Z8, (DI)                    \
	MOVU  Z9, 64(DI)                  \
	MOVU  Z10, 128(DI)                \
	MOVU  Z11, 192(DI)                \
	ADDQ  $256, SI                    \
	ADDQ  $256, DI                    \
	SUBQ  $(4*VL), CX                 \
	JMP   loop4                       \
loop1:                                \
	CMPQ  CX, $VL                     \
	JB    tail                        \
	MOVU  (SI), Z0                    \
	MAXNAN(MAX, CMP, MOVA, Z0, Z31, Z8, K2) \
	MOVU  Z8, (DI)                    \
	ADDQ  $64, SI                     \
	ADDQ  $64, DI                     \
	SUBQ  $VL, CX                     \
	JMP   loop1                       \
tail:                                 \
	TESTQ CX, CX                      \
	JZ    done                        \
	TAILMASK                          \
	MOVUZ (SI), K1, Z0                \
	MAXNAN(MAX, CMP, MOVA, Z0, Z31, Z8, K2) \
	MOVU  Z8, K1, (DI)                \
done:

// POSMASK: dst[i] = y[i] > 0 ? x[i] : +0. The ordered greater-than compare
// (predicate 0x1e) is false for NaN; the zero-masking load of x fills the
// other lanes with +0. Z31 holds zero.
#define POSMASK(CMP, MOVU, MOVUZ, VL) \
loop4:                                \
	CMPQ  CX, $(4*VL)                 \
	JB    loop1                       \
	MOVU  (DX), Z4                    \
	MOVU  64(DX), Z5                  \
	MOVU  128(DX), Z6                 \
	MOVU  192(DX), Z7                 \
	CMP   $0x1e, Z31, Z4, K2          \
	CMP   $0x1e, Z31, Z5, K3          \
	CMP   $0x1e, Z31, Z6, K4          \
	CMP   $0x1e, Z31, Z7, K5          \
	MOVUZ (SI), K2, Z8                \
	MOVUZ 64(SI), K3, Z9              \
	MOVUZ 128(SI), K4, Z10            \
	MOVUZ 192(SI), K5, Z11            \
	MOVU  Z8, (DI)                    \
	MOVU  Z9, 64(DI)                  \
	MOVU  Z10, 128(DI)                \
	MOVU  Z11, 192(DI)                \
	ADDQ  $256, SI                    \
	ADDQ  $256, DX                    \
	ADDQ  $256, DI                    \
	SUBQ  $(4*VL), CX                 \
	JMP   loop4                       \
loop1:                                \
	CMPQ  CX, $VL                     \
	JB    tail                        \
	MOVU  (DX), Z4                    \
	CMP   $0x1e, Z31, Z4, K2          \
	MOVUZ (SI), K2, Z8                \
	MOVU  Z8, (DI)                    \
	ADDQ  $64, SI                     \
	ADDQ  $64, DX                     \
	ADDQ  $64, DI                     \
	SUBQ  $VL, CX                     \
	JMP   loop1                       \
tail:                                 \
	TESTQ CX, CX                      \
	JZ    done                        \
	TAILMASK                          \
	MOVUZ (DX), K1, Z4                \
	CMP   $0x1e, Z31, Z4, K2          \
	MOVUZ (SI), K2, Z8                \
	MOVU  Z8, K1, (DI)                \
done:

// SCALE: dst[i] = alpha*x[i] with alpha broadcast in Z31.
#define SCALE(MUL, MOVU, MOVUZ, VL) \
loop4:                        \
	CMPQ  CX, $(4*VL)         \
	JB    loop1               \
	MUL   (SI), Z31, Z0       \
	MUL   64(SI), Z31, Z1     \
	MUL   128(SI), Z31, Z2    \
	MUL   192(SI), Z31, Z3    \
	MOVU  Z0, (DI)            \
	MOVU  Z1, 64(DI)          \
	MOVU  Z2, 128(DI)         \
	MOVU  Z3, 192(DI)         \
	ADDQ  $256, SI            \
	ADDQ  $256, DI            \
	SUBQ  $(4*VL), CX         \
	JMP   loop4               \
loop1:                        \
	CMPQ  CX, $VL             \
	JB    tail                \
	MUL   (SI), Z31, Z0       \
	MOVU  Z0, (DI)            \
	ADDQ  $64, SI             \
	ADDQ  $64, DI             \
	SUBQ  $VL, CX             \
	JMP   loop1               \
tail:                         \
	TESTQ CX, CX              \
	JZ    done                \
	TAILMASK                  \
	MOVUZ (SI), K1, Z0        \
	MUL   Z0, Z31, Z0         \
	MOVU  Z0, K1, (DI)        \
done:

// AXPY: y[i] += alpha*x[i] (one fused multiply-add) with alpha in Z31,
// SI=x, DI=y.
#define AXPY(FMA, MOVU, MOVUZ, VL) \
loop4:                        \
	CMPQ  CX, $(4*VL)         \
	JB    loop1               \
	MOVU  (DI), Z0            \
	MOVU  64(DI), Z1          \
	MOVU  128(DI), Z2         \
	MOVU  192(DI), Z3         \
	FMA   (SI), Z31, Z0       \
	FMA   64(SI), Z31, Z1     \
	FMA   128(SI), Z31, Z2    \
	FMA   192(SI), Z31, Z3    \
	MOVU  Z0, (DI)            \
	MOVU  Z1, 64(DI)          \
	MOVU  Z2, 128(DI)         \
	MOVU  Z3, 192(DI)         \
	ADDQ  $256, SI            \
	ADDQ  $256, DI            \
	SUBQ  $(4*VL), CX         \
	JMP   loop4               \
loop1:                        \
	CMPQ  CX, $VL             \
	JB    tail                \
	MOVU  (DI), Z0            \
	FMA   (SI), Z31, Z0       \
	MOVU  Z0, (DI)            \
	ADDQ  $64, SI             \
	ADDQ  $64, DI             \
	SUBQ  $VL, CX             \
	JMP   loop1               \
tail:                         \
	TESTQ CX, CX              \
	JZ    done                \
	TAILMASK                  \
	MOVUZ (DI), K1, Z0        \
	MOVUZ (SI), K1, Z1        \
	FMA   Z1, Z31, Z0         \
	MOVU  Z0, K1, (DI)        \
done:

// DOT accumulates x[i]*y[i] into Z0..Z3 (four independent chains hide the
// FMA latency) and folds them into Z0: (Z0+Z1) + (Z2+Z3).
#define DOT(FMA, ADD, MOVUZ, VL) \
	VPXORQ Z0, Z0, Z0         \
	VPXORQ Z1, Z1, Z1         \
	VPXORQ Z2, Z2, Z2         \
	VPXORQ Z3, Z3, Z3         \
loop4:                        \
	CMPQ  CX, $(4*VL)         \
	JB    loop1               \
	VMOVUPS (SI), Z4          \
	VMOVUPS 64(SI), Z5        \
	VMOVUPS 128(SI), Z6       \
	VMOVUPS 192(SI), Z7       \
	FMA   (DX), Z4, Z0        \
	FMA   64(DX), Z5, Z1      \
	FMA   128(DX), Z6, Z2     \
	FMA   192(DX), Z7, Z3     \
	ADDQ  $256, SI            \
	ADDQ  $256, DX            \
	SUBQ  $(4*VL), CX         \
	JMP   loop4               \
loop1:                        \
	CMPQ  CX, $VL             \
	JB    tail                \
	VMOVUPS (SI), Z4          \
	FMA   (DX), Z4, Z0        \
	ADDQ  $64, SI             \
	ADDQ  $64, DX             \
	SUBQ  $VL, CX             \
	JMP   loop1               \
tail:                         \
	TESTQ CX, CX              \
	JZ    fold                \
	TAILMASK                  \
	MOVUZ (SI), K1, Z4        \
	MOVUZ (DX), K1, Z5        \
	FMA   Z5, Z4, Z1          \
fold:                         \
	ADD   Z1, Z0, Z0          \
	ADD   Z3, Z2, Z2          \
	ADD   Z2, Z0, Z0

// SUM is DOT without the multiplication.
#define SUM(ADD, MOVUZ, VL) \
	VPXORQ Z0, Z0, Z0         \
	VPXORQ Z1, Z1, Z1         \
	VPXORQ Z2, Z2, Z2         \
	VPXORQ Z3, Z3, Z3         \
loop4:                        \
	CMPQ  CX, $(4*VL)         \
	JB    loop1               \
	ADD   (SI), Z0, Z0        \
	ADD   64(SI), Z1, Z1      \
	ADD   128(SI), Z2, Z2     \
	ADD   192(SI), Z3, Z3     \
	ADDQ  $256, SI            \
	SUBQ  $(4*VL), CX         \
	JMP   loop4               \
loop1:                        \
	CMPQ  CX, $VL             \
	JB    tail                \
	ADD   (SI), Z0, Z0        \
	ADDQ  $64, SI             \
	SUBQ  $VL, CX             \
	JMP   loop1               \
tail:                         \
	TESTQ CX, CX              \
	JZ    fold                \
	TAILMASK                  \
	MOVUZ (SI), K1, Z4        \
	ADD   Z4, Z1, Z1          \
fold:                         \
	ADD   Z1, Z0, Z0          \
	ADD   Z3, Z2, Z2          \
	ADD   Z2, Z0, Z0

// MAXRED keeps four running maxima (Z0..Z3, starting at -Inf from Z8) and
// collects "some lane was NaN" in K4, since VMAXP drops a NaN in one of its
// operands. The maxima are folded into Z0.
#define MAXRED(MAX, CMP, MOVU, VL) \
	VMOVAPS Z8, Z0            \
	VMOVAPS Z8, Z1            \
	VMOVAPS Z8, Z2            \
	VMOVAPS Z8, Z3            \
	KXORW K4, K4, K4          \
loop4:                        \
	CMPQ  CX, $(4*VL)         \
	JB    loop1               \
	VMOVUPS (SI), Z4          \
	VMOVUPS 64(SI), Z5        \
	VMOVUPS 128(SI), Z6       \
	VMOVUPS 192(SI), Z7       \
	MAX   Z4, Z0, Z0          \
	MAX   Z5, Z1, Z1          \
	MAX   Z6, Z2, Z2          \
	MAX   Z7, Z3, Z3          \
	CMP   $3, Z5, Z4, K2      \
	CMP   $3, Z7, Z6, K3      \
	KORW  K2, K3, K2          \
	KORW  K2, K4, K4          \
	ADDQ  $256, SI            \
	SUBQ  $(4*VL), CX         \
	JMP   loop4               \
loop1:                        \
	CMPQ  CX, $VL             \
	JB    tail                \
	VMOVUPS (SI), Z4          \
	MAX   Z4, Z0, Z0          \
	CMP   $3, Z4, Z4, K2      \
	KORW  K2, K4, K4          \
	ADDQ  $64, SI             \
	SUBQ  $VL, CX             \
	JMP   loop1               \
tail:                         \
	TESTQ CX, CX              \
	JZ    fold                \
	TAILMASK                  \
	VMOVAPS Z8, Z4            \
	MOVU  (SI), K1, Z4        \
	MAX   Z4, Z1, Z1          \
	CMP   $3, Z4, Z4, K2      \
	KORW  K2, K4, K4          \
fold:                         \
	MAX   Z1, Z0, Z0          \
	MAX   Z3, Z2, Z2          \
	MAX   Z2, Z0, Z0

// Horizontal folds of Z0 into X0 lane 0.
#define HFOLDF(OP) \
	VEXTRACTF64X4 $1, Z0, Y1  \
	OP    Y1, Y0, Y0          \
	VEXTRACTF128 $1, Y0, X1   \
	OP    X1, X0, X0          \
	VPERMILPS $0x4e, X0, X1   \
	OP    X1, X0, X0          \
	VPERMILPS $0xb1, X0, X1   \
	OP    X1, X0, X0

#define HFOLDD(OP) \
	VEXTRACTF64X4 $1, Z0, Y1  \
	OP    Y1, Y0, Y0          \
	VEXTRACTF128 $1, Y0, X1   \
	OP    X1, X0, X0          \
	VPERMILPD $1, X0, X1      \
	OP    X1, X0, X0

// ---------------------------------------------------------------------------
// Argument loading. Each TEXT block names its own arguments so that go vet
// (asmdecl) checks the frame offsets against the Go declarations.

// func axpyF32AVX512(alpha float32, x, y []float32)
TEXT ·axpyF32AVX512(SB), NOSPLIT, $0-56
	VBROADCASTSS alpha+0(FP), Z31
	MOVQ    x_base+8(FP), SI
	MOVQ    x_len+16(FP), CX
	MOVQ    y_base+32(FP), DI
	MOVQ    y_len+40(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	AXPY(VFMADD231PS, VMOVUPS, VMOVUPS.Z, 16)
	VZEROUPPER
	RET

// func axpyF64AVX512(alpha float64, x, y []float64)
TEXT ·axpyF64AVX512(SB), NOSPLIT, $0-56
	VBROADCASTSD alpha+0(FP), Z31
	MOVQ    x_base+8(FP), SI
	MOVQ    x_len+16(FP), CX
	MOVQ    y_base+32(FP), DI
	MOVQ    y_len+40(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	AXPY(VFMADD231PD, VMOVUPD, VMOVUPD.Z, 8)
	VZEROUPPER
	RET

// func scaleF32AVX512(alpha float32, dst, x []float32)
TEXT ·scaleF32AVX512(SB), NOSPLIT, $0-56
	VBROADCASTSS alpha+0(FP), Z31
	MOVQ    dst_base+8(FP), DI
	MOVQ    dst_len+16(FP), CX
	MOVQ    x_base+32(FP), SI
	MOVQ    x_len+40(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	SCALE(VMULPS, VMOVUPS, VMOVUPS.Z, 16)
	VZEROUPPER
	RET

// func scaleF64AVX512(alpha float64, dst, x []float64)
TEXT ·scaleF64AVX512(SB), NOSPLIT, $0-56
	VBROADCASTSD alpha+0(FP), Z31
	MOVQ    dst_base+8(FP), DI
	MOVQ    dst_len+16(FP), CX
	MOVQ    x_base+32(FP), SI
	MOVQ    x_len+40(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	SCALE(VMULPD, VMOVUPD, VMOVUPD.Z, 8)
	VZEROUPPER
	RET

// func dotF32AVX512(x, y []float32) float32
TEXT ·dotF32AVX512(SB), NOSPLIT, $0-52
	MOVQ    x_base+0(FP), SI
	MOVQ    x_len+8(FP), CX
	MOVQ    y_base+24(FP), DX
	MOVQ    y_len+32(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	DOT(VFMADD231PS, VADDPS, VMOVUPS.Z, 16)
	HFOLDF(VADDPS)
	VMOVSS  X0, ret+48(FP)
	VZEROUPPER
	RET

// func dotF64AVX512(x, y []float64) float64
TEXT ·dotF64AVX512(SB), NOSPLIT, $0-56
	MOVQ    x_base+0(FP), SI
	MOVQ    x_len+8(FP), CX
	MOVQ    y_base+24(FP), DX
	MOVQ    y_len+32(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	DOT(VFMADD231PD, VADDPD, VMOVUPD.Z, 8)
	HFOLDD(VADDPD)
	VMOVSD  X0, ret+48(FP)
	VZEROUPPER
	RET

// func sumF32AVX512(x []float32) float32
TEXT ·sumF32AVX512(SB), NOSPLIT, $0-28
	MOVQ    x_base+0(FP), SI
	MOVQ    x_len+8(FP), CX
	SUM(VADDPS, VMOVUPS.Z, 16)
	HFOLDF(VADDPS)
	VMOVSS  X0, ret+24(FP)
	VZEROUPPER
	RET

// func sumF64AVX512(x []float64) float64
TEXT ·sumF64AVX512(SB), NOSPLIT, $0-32
	MOVQ    x_base+0(FP), SI
	MOVQ    x_len+8(FP), CX
	SUM(VADDPD, VMOVUPD.Z, 8)
	HFOLDD(VADDPD)
	VMOVSD  X0, ret+24(FP)
	VZEROUPPER
	RET

// func maxF32AVX512(x []float32) float32
TEXT ·maxF32AVX512(SB), NOSPLIT, $0-28
	MOVQ    x_base+0(FP), SI
	MOVQ    x_len+8(FP), CX
	VBROADCASTSS NEGINFF, Z8
	MAXRED(VMAXPS, VCMPPS, VMOVUPS, 16)
	HFOLDF(VMAXPS)
	KORTESTW K4, K4
	JNZ     nan
	VMOVSS  X0, ret+24(FP)
	VZEROUPPER
	RET
nan:
	MOVL    $0x7fc00000, AX
	MOVL    AX, ret+24(FP)
	VZEROUPPER
	RET

// func maxF64AVX512(x []float64) float64
TEXT ·maxF64AVX512(SB), NOSPLIT, $0-32
	MOVQ    x_base+0(FP), SI
	MOVQ    x_len+8(FP), CX
	VBROADCASTSD NEGINFD, Z8
	MAXRED(VMAXPD, VCMPPD, VMOVUPD, 8)
	HFOLDD(VMAXPD)
	KORTESTW K4, K4
	JNZ     nan
	VMOVSD  X0, ret+24(FP)
	VZEROUPPER
	RET
nan:
	MOVQ    $0x7ff8000000000000, AX
	MOVQ    AX, ret+24(FP)
	VZEROUPPER
	RET

// func addF32AVX512(dst, x, y []float32)
TEXT ·addF32AVX512(SB), NOSPLIT, $0-72
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
	BINARY(VADDPS, VMOVUPS, VMOVUPS.Z, 16)
	VZEROUPPER
	RET

// func addF64AVX512(dst, x, y []float64)
TEXT ·addF64AVX512(SB), NOSPLIT, $0-72
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
	BINARY(VADDPD, VMOVUPD, VMOVUPD.Z, 8)
	VZEROUPPER
	RET

// func subF32AVX512(dst, x, y []float32)
TEXT ·subF32AVX512(SB), NOSPLIT, $0-72
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
	BINARY(VSUBPS, VMOVUPS, VMOVUPS.Z, 16)
	VZEROUPPER
	RET

// func subF64AVX512(dst, x, y []float64)
TEXT ·subF64AVX512(SB), NOSPLIT, $0-72
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
	BINARY(VSUBPD, VMOVUPD, VMOVUPD.Z, 8)
	VZEROUPPER
	RET

// func mulF32AVX512(dst, x, y []float32)
TEXT ·mulF32AVX512(SB), NOSPLIT, $0-72
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
	BINARY(VMULPS, VMOVUPS, VMOVUPS.Z, 16)
	VZEROUPPER
	RET

// func mulF64AVX512(dst, x, y []float64)
TEXT ·mulF64AVX512(SB), NOSPLIT, $0-72
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
	BINARY(VMULPD, VMOVUPD, VMOVUPD.Z, 8)
	VZEROUPPER
	RET

// func divF32AVX512(dst, x, y []float32)
TEXT ·divF32AVX512(SB), NOSPLIT, $0-72
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
	BINARY(VDIVPS, VMOVUPS, VMOVUPS.Z, 16)
	VZEROUPPER
	RET

// func divF64AVX512(dst, x, y []float64)
TEXT ·divF64AVX512(SB), NOSPLIT, $0-72
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
	BINARY(VDIVPD, VMOVUPD, VMOVUPD.Z, 8)
	VZEROUPPER
	RET

// func maximumF32AVX512(dst, x, y []float32)
TEXT ·maximumF32AVX512(SB), NOSPLIT, $0-72
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
	MAXIMUM(VMAXPS, VCMPPS, VMOVAPS, VMOVUPS, VMOVUPS.Z, 16)
	VZEROUPPER
	RET

// func maximumF64AVX512(dst, x, y []float64)
TEXT ·maximumF64AVX512(SB), NOSPLIT, $0-72
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
	MAXIMUM(VMAXPD, VCMPPD, VMOVAPD, VMOVUPD, VMOVUPD.Z, 8)
	VZEROUPPER
	RET

// func posMaskF32AVX512(dst, x, y []float32)
TEXT ·posMaskF32AVX512(SB), NOSPLIT, $0-72
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
	VPXORQ  Z31, Z31, Z31
	POSMASK(VCMPPS, VMOVUPS, VMOVUPS.Z, 16)
	VZEROUPPER
	RET

// func posMaskF64AVX512(dst, x, y []float64)
TEXT ·posMaskF64AVX512(SB), NOSPLIT, $0-72
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
	VPXORQ  Z31, Z31, Z31
	POSMASK(VCMPPD, VMOVUPD, VMOVUPD.Z, 8)
	VZEROUPPER
	RET

// func reluF32AVX512(dst, x []float32)
TEXT ·reluF32AVX512(SB), NOSPLIT, $0-48
	MOVQ    dst_base+0(FP), DI
	MOVQ    dst_len+8(FP), CX
	MOVQ    x_base+24(FP), SI
	MOVQ    x_len+32(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	VPXORQ  Z31, Z31, Z31
	RELU(VMAXPS, VCMPPS, VMOVAPS, VMOVUPS, VMOVUPS.Z, 16)
	VZEROUPPER
	RET

// func reluF64AVX512(dst, x []float64)
TEXT ·reluF64AVX512(SB), NOSPLIT, $0-48
	MOVQ    dst_base+0(FP), DI
	MOVQ    dst_len+8(FP), CX
	MOVQ    x_base+24(FP), SI
	MOVQ    x_len+32(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	VPXORQ  Z31, Z31, Z31
	RELU(VMAXPD, VCMPPD, VMOVAPD, VMOVUPD, VMOVUPD.Z, 8)
	VZEROUPPER
	RET

// ---------------------------------------------------------------------------
// Math kernels: one vector per iteration (each is long enough for the
// out-of-order core to overlap consecutive iterations), then one masked
// vector for the tail. CORE maps Z0 to Z0.
#define MATHLOOP(CORE, MOVU, MOVUZ, VL) \
loop:                         \
	CMPQ  CX, $VL             \
	JB    tail                \
	MOVU  (SI), Z0            \
	CORE                      \
	MOVU  Z0, (DI)            \
	ADDQ  $64, SI             \
	ADDQ  $64, DI             \
	SUBQ  $VL, CX             \
	JMP   loop                \
tail:                         \
	TESTQ CX, CX              \
	JZ    done                \
	TAILMASK                  \
	MOVUZ (SI), K1, Z0        \
	CORE                      \
	MOVU  Z0, K1, (DI)        \
done:

// exp. Constants live in Z25..Z31; the polynomial coefficients are
// broadcast from memory. X = exp(X); N and P are scratch.
//
//	x = clamp(x, lo, hi)             (NaN passes: VMAXPS/VMINPS return
//	                                  their second source on NaN)
//	n = (x*log2e + 1.5*2^k) - 1.5*2^k  (one rounding to an integer)
//	r = x - n*ln2hi - n*ln2lo        (fused, Cody-Waite)
//	p = 1 + r*(1 + r*(c0 + r*(c1 + ...)))
//	exp = p * 2^n                    (VSCALEF: one rounding, handles
//	                                  overflow to +Inf and denormals)
#define EXPF_CONSTS \
	VBROADCASTSS EXPF_LO, Z31 \
	VBROADCASTSS EXPF_HI, Z30 \
	VBROADCASTSS LOG2EF, Z29  \
	VBROADCASTSS MAGICF, Z28  \
	VBROADCASTSS NLN2HIF, Z27 \
	VBROADCASTSS NLN2LOF, Z26 \
	VBROADCASTSS ONEF, Z25

#define EXPF(X, N, P) \
	VMAXPS X, Z31, X                  \
	VMINPS X, Z30, X                  \
	VMOVAPS Z28, N                    \
	VFMADD231PS Z29, X, N             \
	VSUBPS Z28, N, N                  \
	VFMADD231PS Z27, N, X             \
	VFMADD231PS Z26, N, X             \
	VBROADCASTSS EXPF_C4, P           \
	VFMADD213PS.BCST EXPF_C3, X, P    \
	VFMADD213PS.BCST EXPF_C2, X, P    \
	VFMADD213PS.BCST EXPF_C1, X, P    \
	VFMADD213PS.BCST EXPF_C0, X, P    \
	VFMADD213PS Z25, X, P             \
	VFMADD213PS Z25, X, P             \
	VSCALEFPS N, P, X

#define EXPD_CONSTS \
	VBROADCASTSD EXPD_LO, Z31 \
	VBROADCASTSD EXPD_HI, Z30 \
	VBROADCASTSD LOG2ED, Z29  \
	VBROADCASTSD MAGICD, Z28  \
	VBROADCASTSD NLN2HID, Z27 \
	VBROADCASTSD NLN2LOD, Z26 \
	VBROADCASTSD ONED, Z25

#define EXPD(X, N, P) \
	VMAXPD X, Z31, X                  \
	VMINPD X, Z30, X                  \
	VMOVAPD Z28, N                    \
	VFMADD231PD Z29, X, N             \
	VSUBPD Z28, N, N                  \
	VFMADD231PD Z27, N, X             \
	VFMADD231PD Z26, N, X             \
	VBROADCASTSD EXPD_C10, P          \
	VFMADD213PD.BCST EXPD_C9, X, P    \
	VFMADD213PD.BCST EXPD_C8, X, P    \
	VFMADD213PD.BCST EXPD_C7, X, P    \
	VFMADD213PD.BCST EXPD_C6, X, P    \
	VFMADD213PD.BCST EXPD_C5, X, P    \
	VFMADD213PD.BCST EXPD_C4, X, P    \
	VFMADD213PD.BCST EXPD_C3, X, P    \
	VFMADD213PD.BCST EXPD_C2, X, P    \
	VFMADD213PD.BCST EXPD_C1, X, P    \
	VFMADD213PD.BCST EXPD_C0, X, P    \
	VFMADD213PD Z25, X, P             \
	VFMADD213PD Z25, X, P             \
	VSCALEFPD N, P, X

// log. x = m*2^k with m in [sqrt(1/2), sqrt(2)) from VGETMANT/VGETEXP
// (exact, denormals included), f = m-1 (exact), s = f/(2+f), z = s^2,
// R = z*S(z), hfsq = f^2/2 and
//
//	log(x) = k*ln2hi + (f - (hfsq - (s*(hfsq+R) + k*ln2lo)))
//
// which adds the small terms first. VFIXUPIMM then replaces the result for
// special inputs, by the class of x, as given by the table LOG_FIXUP
// (4 bits per class): QNaN -> x, SNaN -> quiet x, +-0 -> -Inf, +1 -> +0,
// -Inf -> NaN, +Inf -> +Inf, negative -> NaN, positive -> unchanged.
#define LOGF_CONSTS \
	VBROADCASTSS SQRT2F, Z24  \
	VBROADCASTSS HALFF, Z23   \
	VBROADCASTSS ONEF, Z25    \
	VBROADCASTSS TWOF, Z22    \
	VBROADCASTSS LN2HIF, Z21  \
	VBROADCASTSS LN2LOF, Z20  \
	VPBROADCASTD LOGF_FIX, Z19

#define LOGF \
	VGETMANTPS $0, Z0, Z1             \
	VGETEXPPS Z0, Z2                  \
	VCMPPS $0x0d, Z24, Z1, K2         \
	VMULPS Z23, Z1, K2, Z1            \
	VADDPS Z25, Z2, K2, Z2            \
	VSUBPS Z25, Z1, Z3                \
	VADDPS Z22, Z3, Z4                \
	VDIVPS Z4, Z3, Z4                 \
	VMULPS Z4, Z4, Z5                 \
	VBROADCASTSS LOGF_C3, Z6          \
	VFMADD213PS.BCST LOGF_C2, Z5, Z6  \
	VFMADD213PS.BCST LOGF_C1, Z5, Z6  \
	VFMADD213PS.BCST LOGF_C0, Z5, Z6  \
	VMULPS Z6, Z5, Z6                 \
	VMULPS Z23, Z3, Z7                \
	VMULPS Z3, Z7, Z7                 \
	VADDPS Z6, Z7, Z6                 \
	VMULPS Z20, Z2, Z5                \
	VFMADD231PS Z6, Z4, Z5            \
	VSUBPS Z5, Z7, Z5                 \
	VSUBPS Z5, Z3, Z5                 \
	VFMADD231PS Z21, Z2, Z5           \
	VFIXUPIMMPS $0, Z19, Z0, Z5       \
	VMOVAPS Z5, Z0

#define LOGD_CONSTS \
	VBROADCASTSD SQRT2D, Z24  \
	VBROADCASTSD HALFD, Z23   \
	VBROADCASTSD ONED, Z25    \
	VBROADCASTSD TWOD, Z22    \
	VBROADCASTSD LN2HID, Z21  \
	VBROADCASTSD LN2LOD, Z20  \
	VPBROADCASTQ LOGD_FIX, Z19

#define LOGD \
	VGETMANTPD $0, Z0, Z1             \
	VGETEXPPD Z0, Z2                  \
	VCMPPD $0x0d, Z24, Z1, K2         \
	VMULPD Z23, Z1, K2, Z1            \
	VADDPD Z25, Z2, K2, Z2            \
	VSUBPD Z25, Z1, Z3                \
	VADDPD Z22, Z3, Z4                \
	VDIVPD Z4, Z3, Z4                 \
	VMULPD Z4, Z4, Z5                 \
	VBROADCASTSD LOGD_C6, Z6          \
	VFMADD213PD.BCST LOGD_C5, Z5, Z6  \
	VFMADD213PD.BCST LOGD_C4, Z5, Z6  \
	VFMADD213PD.BCST LOGD_C3, Z5, Z6  \
	VFMADD213PD.BCST LOGD_C2, Z5, Z6  \
	VFMADD213PD.BCST LOGD_C1, Z5, Z6  \
	VFMADD213PD.BCST LOGD_C0, Z5, Z6  \
	VMULPD Z6, Z5, Z6                 \
	VMULPD Z23, Z3, Z7                \
	VMULPD Z3, Z7, Z7                 \
	VADDPD Z6, Z7, Z6                 \
	VMULPD Z20, Z2, Z5                \
	VFMADD231PD Z6, Z4, Z5            \
	VSUBPD Z5, Z7, Z5                 \
	VSUBPD Z5, Z3, Z5                 \
	VFMADD231PD Z21, Z2, Z5           \
	VFIXUPIMMPD $0, Z19, Z0, Z5       \
	VMOVAPD Z5, Z0

// tanh. With a = |x|: for a < 0.875 the odd polynomial a + a^3*P(a^2);
// otherwise 1 - 2e/(1+e) with e = exp(-2a), which saturates to 1 (e = 0)
// for large a. The sign of x is put back last, so tanh(-0) = -0.
#define TANHF_CONSTS \
	EXPF_CONSTS               \
	VPBROADCASTD ABSF, Z24    \
	VPBROADCASTD SIGNF, Z23   \
	VBROADCASTSS TANHF_T, Z22 \
	VBROADCASTSS M2F, Z21

#define TANHF \
	VPANDD Z24, Z0, Z1                \
	VMULPS Z1, Z1, Z2                 \
	VBROADCASTSS TANHF_C6, Z3         \
	VFMADD213PS.BCST TANHF_C5, Z2, Z3 \
	VFMADD213PS.BCST TANHF_C4, Z2, Z3 \
	VFMADD213PS.BCST TANHF_C3, Z2, Z3 \
	VFMADD213PS.BCST TANHF_C2, Z2, Z3 \
	VFMADD213PS.BCST TANHF_C1, Z2, Z3 \
	VFMADD213PS.BCST TANHF_C0, Z2, Z3 \
	VMULPS Z3, Z2, Z3                 \
	VFMADD213PS Z1, Z1, Z3            \
	VMULPS Z21, Z1, Z4                \
	EXPF(Z4, Z5, Z6)                  \
	VADDPS Z25, Z4, Z5                \
	VADDPS Z4, Z4, Z4                 \
	VDIVPS Z5, Z4, Z4                 \
	VSUBPS Z4, Z25, Z4                \
	VCMPPS $0x01, Z22, Z1, K2         \
	VMOVAPS Z3, K2, Z4                \
	VPANDD Z23, Z0, Z0                \
	VPORD Z4, Z0, Z0

#define TANHD_CONSTS \
	EXPD_CONSTS               \
	VPBROADCASTQ ABSD, Z24    \
	VPBROADCASTQ SIGND, Z23   \
	VBROADCASTSD TANHD_T, Z22 \
	VBROADCASTSD M2D, Z21

#define TANHD \
	VPANDQ Z24, Z0, Z1                 \
	VMULPD Z1, Z1, Z2                  \
	VBROADCASTSD TANHD_C14, Z3         \
	VFMADD213PD.BCST TANHD_C13, Z2, Z3 \
	VFMADD213PD.BCST TANHD_C12, Z2, Z3 \
	VFMADD213PD.BCST TANHD_C11, Z2, Z3 \
	VFMADD213PD.BCST TANHD_C10, Z2, Z3 \
	VFMADD213PD.BCST TANHD_C9, Z2, Z3  \
	VFMADD213PD.BCST TANHD_C8, Z2, Z3  \
	VFMADD213PD.BCST TANHD_C7, Z2, Z3  \
	VFMADD213PD.BCST TANHD_C6, Z2, Z3  \
	VFMADD213PD.BCST TANHD_C5, Z2, Z3  \
	VFMADD213PD.BCST TANHD_C4, Z2, Z3  \
	VFMADD213PD.BCST TANHD_C3, Z2, Z3  \
	VFMADD213PD.BCST TANHD_C2, Z2, Z3  \
	VFMADD213PD.BCST TANHD_C1, Z2, Z3  \
	VFMADD213PD.BCST TANHD_C0, Z2, Z3  \
	VMULPD Z3, Z2, Z3                  \
	VFMADD213PD Z1, Z1, Z3             \
	VMULPD Z21, Z1, Z4                 \
	EXPD(Z4, Z5, Z6)                   \
	VADDPD Z25, Z4, Z5                 \
	VADDPD Z4, Z4, Z4                  \
	VDIVPD Z5, Z4, Z4                  \
	VSUBPD Z4, Z25, Z4                 \
	VCMPPD $0x01, Z22, Z1, K2          \
	VMOVAPD Z3, K2, Z4                 \
	VPANDQ Z23, Z0, Z0                 \
	VPORQ Z4, Z0, Z0

// sigmoid. e = exp(-|x|) never overflows; with d = 1+e rounded and
// dlo = (1-d)+e its exact rounding error, the quotient num/(d+dlo) with
// num = 1 (x >= 0) or e (x < 0) is refined once:
//
//	rcp = 1/d, q = num*rcp, r = num - q*d - q*dlo, q += r*rcp
//
// so sigmoid(x) for very negative x is e/(1+e) without underflowing early,
// and the rounding of 1+e does not show in the result.
#define SIGMOIDF_CONSTS \
	EXPF_CONSTS               \
	VPBROADCASTD SIGNF, Z23   \
	VPXORD Z22, Z22, Z22

#define SIGMOIDF \
	VPORD Z23, Z0, Z1                 \
	EXPF(Z1, Z2, Z3)                  \
	VADDPS Z25, Z1, Z2                \
	VSUBPS Z2, Z25, Z3                \
	VADDPS Z1, Z3, Z3                 \
	VDIVPS Z2, Z25, Z4                \
	VCMPPS $0x0d, Z22, Z0, K2         \
	VMOVAPS Z1, Z5                    \
	VMOVAPS Z25, K2, Z5               \
	VMULPS Z4, Z5, Z6                 \
	VMOVAPS Z5, Z7                    \
	VFNMADD231PS Z2, Z6, Z7           \
	VFNMADD231PS Z3, Z6, Z7           \
	VFMADD231PS Z4, Z7, Z6            \
	VMOVAPS Z6, Z0

#define SIGMOIDD_CONSTS \
	EXPD_CONSTS               \
	VPBROADCASTQ SIGND, Z23   \
	VPXORQ Z22, Z22, Z22

#define SIGMOIDD \
	VPORQ Z23, Z0, Z1                 \
	EXPD(Z1, Z2, Z3)                  \
	VADDPD Z25, Z1, Z2                \
	VSUBPD Z2, Z25, Z3                \
	VADDPD Z1, Z3, Z3                 \
	VDIVPD Z2, Z25, Z4                \
	VCMPPD $0x0d, Z22, Z0, K2         \
	VMOVAPD Z1, Z5                    \
	VMOVAPD Z25, K2, Z5               \
	VMULPD Z4, Z5, Z6                 \
	VMOVAPD Z5, Z7                    \
	VFNMADD231PD Z2, Z6, Z7           \
	VFNMADD231PD Z3, Z6, Z7           \
	VFMADD231PD Z4, Z7, Z6            \
	VMOVAPD Z6, Z0

// func expF32AVX512(dst, x []float32)
TEXT ·expF32AVX512(SB), NOSPLIT, $0-48
	MOVQ    dst_base+0(FP), DI
	MOVQ    dst_len+8(FP), CX
	MOVQ    x_base+24(FP), SI
	MOVQ    x_len+32(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	EXPF_CONSTS
	MATHLOOP(EXPF(Z0, Z1, Z2), VMOVUPS, VMOVUPS.Z, 16)
	VZEROUPPER
	RET

// func expF64AVX512(dst, x []float64)
TEXT ·expF64AVX512(SB), NOSPLIT, $0-48
	MOVQ    dst_base+0(FP), DI
	MOVQ    dst_len+8(FP), CX
	MOVQ    x_base+24(FP), SI
	MOVQ    x_len+32(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	EXPD_CONSTS
	MATHLOOP(EXPD(Z0, Z1, Z2), VMOVUPD, VMOVUPD.Z, 8)
	VZEROUPPER
	RET

// func logF32AVX512(dst, x []float32)
TEXT ·logF32AVX512(SB), NOSPLIT, $0-48
	MOVQ    dst_base+0(FP), DI
	MOVQ    dst_len+8(FP), CX
	MOVQ    x_base+24(FP), SI
	MOVQ    x_len+32(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	LOGF_CONSTS
	MATHLOOP(LOGF, VMOVUPS, VMOVUPS.Z, 16)
	VZEROUPPER
	RET

// func logF64AVX512(dst, x []float64)
TEXT ·logF64AVX512(SB), NOSPLIT, $0-48
	MOVQ    dst_base+0(FP), DI
	MOVQ    dst_len+8(FP), CX
	MOVQ    x_base+24(FP), SI
	MOVQ    x_len+32(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	LOGD_CONSTS
	MATHLOOP(LOGD, VMOVUPD, VMOVUPD.Z, 8)
	VZEROUPPER
	RET

// func tanhF32AVX512(dst, x []float32)
TEXT ·tanhF32AVX512(SB), NOSPLIT, $0-48
	MOVQ    dst_base+0(FP), DI
	MOVQ    dst_len+8(FP), CX
	MOVQ    x_base+24(FP), SI
	MOVQ    x_len+32(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	TANHF_CONSTS
	MATHLOOP(TANHF, VMOVUPS, VMOVUPS.Z, 16)
	VZEROUPPER
	RET

// func tanhF64AVX512(dst, x []float64)
TEXT ·tanhF64AVX512(SB), NOSPLIT, $0-48
	MOVQ    dst_base+0(FP), DI
	MOVQ    dst_len+8(FP), CX
	MOVQ    x_base+24(FP), SI
	MOVQ    x_len+32(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	TANHD_CONSTS
	MATHLOOP(TANHD, VMOVUPD, VMOVUPD.Z, 8)
	VZEROUPPER
	RET

// func sigmoidF32AVX512(dst, x []float32)
TEXT ·sigmoidF32AVX512(SB), NOSPLIT, $0-48
	MOVQ    dst_base+0(FP), DI
	MOVQ    dst_len+8(FP), CX
	MOVQ    x_base+24(FP), SI
	MOVQ    x_len+32(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	SIGMOIDF_CONSTS
	MATHLOOP(SIGMOIDF, VMOVUPS, VMOVUPS.Z, 16)
	VZEROUPPER
	RET

// func sigmoidF64AVX512(dst, x []float64)
TEXT ·sigmoidF64AVX512(SB), NOSPLIT, $0-48
	MOVQ    dst_base+0(FP), DI
	MOVQ    dst_len+8(FP), CX
	MOVQ    x_base+24(FP), SI
	MOVQ    x_len+32(FP), AX
	CMPQ    AX, CX
	CMOVQLT AX, CX
	SIGMOIDD_CONSTS
	MATHLOOP(SIGMOIDD, VMOVUPD, VMOVUPD.Z, 8)
	VZEROUPPER
	RET

// MASKCOLSUM: row by row, for each 64-byte vector of the row: dz = y > 0 ?
// g : +0 (compare into K1, zero-masking load of g), store dz, and set
// (row 0) or add to the column sums at R8, which stay in L1 while the rows
// stream by. (Walking down the rows of one column vector with the sums in
// a register ran 3.5x slower: a new cache line of each matrix per step.)
// DI dz, SI g, DX y, R8 sum, BX ld in bytes, R9 rows, R10 columns, VL
// elements per vector. Z31 is zero.
#define MASKCOLSUM(CMP, MOVU, MOVUZ, ADD, VL) \
	MOVQ  R10, CX                         \
	MOVQ  DI, R11                         \
	MOVQ  SI, R12                         \
	MOVQ  DX, R13                         \
	MOVQ  R8, AX                          \
mcsfirst:                                 \
	MOVU  (R13), Z1                       \
	CMP   $0x1e, Z31, Z1, K1              \
	MOVUZ (R12), K1, Z2                   \
	MOVU  Z2, (R11)                       \
	MOVU  Z2, (AX)                        \
	ADDQ  $64, R11                        \
	ADDQ  $64, R12                        \
	ADDQ  $64, R13                        \
	ADDQ  $64, AX                         \
	SUBQ  $VL, CX                         \
	JNZ   mcsfirst                        \
mcsrow:                                   \
	DECQ  R9                              \
	JZ    mcsdone                         \
	ADDQ  BX, DI                          \
	ADDQ  BX, SI                          \
	ADDQ  BX, DX                          \
	MOVQ  R10, CX                         \
	MOVQ  DI, R11                         \
	MOVQ  SI, R12                         \
	MOVQ  DX, R13                         \
	MOVQ  R8, AX                          \
mcsvec:                                   \
	MOVU  (R13), Z1                       \
	CMP   $0x1e, Z31, Z1, K1              \
	MOVUZ (R12), K1, Z2                   \
	MOVU  Z2, (R11)                       \
	ADD   (AX), Z2, Z3                    \
	MOVU  Z3, (AX)                        \
	ADDQ  $64, R11                        \
	ADDQ  $64, R12                        \
	ADDQ  $64, R13                        \
	ADDQ  $64, AX                         \
	SUBQ  $VL, CX                         \
	JNZ   mcsvec                          \
	JMP   mcsrow                          \
mcsdone:

// func maskPosColSumF32AVX512(dz, gr, y, sum unsafe.Pointer, ld, rows, cols int)
TEXT ·maskPosColSumF32AVX512(SB), NOSPLIT, $0-56
	MOVQ   dz+0(FP), DI
	MOVQ   gr+8(FP), SI
	MOVQ   y+16(FP), DX
	MOVQ   sum+24(FP), R8
	MOVQ   ld+32(FP), BX
	MOVQ   rows+40(FP), R9
	MOVQ   cols+48(FP), R10
	VXORPS Z31, Z31, Z31
	MASKCOLSUM(VCMPPS, VMOVUPS, VMOVUPS.Z, VADDPS, 16)
	VZEROUPPER
	RET

// func maskPosColSumF64AVX512(dz, gr, y, sum unsafe.Pointer, ld, rows, cols int)
TEXT ·maskPosColSumF64AVX512(SB), NOSPLIT, $0-56
	MOVQ   dz+0(FP), DI
	MOVQ   gr+8(FP), SI
	MOVQ   y+16(FP), DX
	MOVQ   sum+24(FP), R8
	MOVQ   ld+32(FP), BX
	MOVQ   rows+40(FP), R9
	MOVQ   cols+48(FP), R10
	VXORPD Z31, Z31, Z31
	MASKCOLSUM(VCMPPD, VMOVUPD, VMOVUPD.Z, VADDPD, 8)
	VZEROUPPER
	RET

// MOMENTUM: the heavy-ball update on n elements, n a multiple of VL:
// b = mu*b (rounded), b = damp*g + b (fused), x = negLR*b + x (fused), the
// roundings of Scale followed by two Axpy calls. DI x, SI g, DX b, CX n;
// Z0 mu, Z1 damp, Z2 negLR.
#define MOMENTUM(MUL, FMA, MOVU, VL) \
mom2:                            \
	CMPQ CX, $(2*VL)             \
	JB   mom1                    \
	MUL  (DX), Z0, Z3            \
	MUL  64(DX), Z0, Z4          \
	FMA  (SI), Z1, Z3            \
	FMA  64(SI), Z1, Z4          \
	MOVU Z3, (DX)                \
	MOVU Z4, 64(DX)              \
	MOVU (DI), Z5                \
	MOVU 64(DI), Z6              \
	FMA  Z3, Z2, Z5              \
	FMA  Z4, Z2, Z6              \
	MOVU Z5, (DI)                \
	MOVU Z6, 64(DI)              \
	ADDQ $128, DI                \
	ADDQ $128, SI                \
	ADDQ $128, DX                \
	SUBQ $(2*VL), CX             \
	JMP  mom2                    \
mom1:                            \
	CMPQ CX, $VL                 \
	JB   momdone                 \
	MUL  (DX), Z0, Z3            \
	FMA  (SI), Z1, Z3            \
	MOVU Z3, (DX)                \
	MOVU (DI), Z5                \
	FMA  Z3, Z2, Z5              \
	MOVU Z5, (DI)                \
momdone:

// func momentumF32AVX512(x, g, b *float32, n int, mu, damp, negLR float32)
TEXT ·momentumF32AVX512(SB), NOSPLIT, $0-44
	MOVQ         x+0(FP), DI
	MOVQ         gr+8(FP), SI
	MOVQ         b+16(FP), DX
	MOVQ         n+24(FP), CX
	VBROADCASTSS mu+32(FP), Z0
	VBROADCASTSS damp+36(FP), Z1
	VBROADCASTSS negLR+40(FP), Z2
	MOMENTUM(VMULPS, VFMADD231PS, VMOVUPS, 16)
	VZEROUPPER
	RET

// func momentumF64AVX512(x, g, b *float64, n int, mu, damp, negLR float64)
TEXT ·momentumF64AVX512(SB), NOSPLIT, $0-56
	MOVQ         x+0(FP), DI
	MOVQ         gr+8(FP), SI
	MOVQ         b+16(FP), DX
	MOVQ         n+24(FP), CX
	VBROADCASTSD mu+32(FP), Z0
	VBROADCASTSD damp+40(FP), Z1
	VBROADCASTSD negLR+48(FP), Z2
	MOMENTUM(VMULPD, VFMADD231PD, VMOVUPD, 8)
	VZEROUPPER
	RET

//go:build !purego

#include "textflag.h"

// Peak FMA throughput loops. Each iteration issues one vector FMLA into each
// of 24 accumulators V8-V31 from the constant sources V0 and V1 (all ones),
// so the only dependences are each accumulator on itself: 24 chains hide
// FMA latency x FMA pipes up to 24. Nothing touches memory inside the loop.
// The accumulators grow by 1 per iteration and never overflow or become
// subnormal (float32 stops growing at 2^24, which does not slow FMLA down).

#define ZERO(v) VEOR v.B16, v.B16, v.B16

#define ZERO_ACCS \
	ZERO(V8); ZERO(V9); ZERO(V10); ZERO(V11); ZERO(V12); ZERO(V13); \
	ZERO(V14); ZERO(V15); ZERO(V16); ZERO(V17); ZERO(V18); ZERO(V19); \
	ZERO(V20); ZERO(V21); ZERO(V22); ZERO(V23); ZERO(V24); ZERO(V25); \
	ZERO(V26); ZERO(V27); ZERO(V28); ZERO(V29); ZERO(V30); ZERO(V31)

#define FMAS(T) \
	VFMLA V0.T, V1.T, V8.T; VFMLA V0.T, V1.T, V9.T; VFMLA V0.T, V1.T, V10.T; \
	VFMLA V0.T, V1.T, V11.T; VFMLA V0.T, V1.T, V12.T; VFMLA V0.T, V1.T, V13.T; \
	VFMLA V0.T, V1.T, V14.T; VFMLA V0.T, V1.T, V15.T; VFMLA V0.T, V1.T, V16.T; \
	VFMLA V0.T, V1.T, V17.T; VFMLA V0.T, V1.T, V18.T; VFMLA V0.T, V1.T, V19.T; \
	VFMLA V0.T, V1.T, V20.T; VFMLA V0.T, V1.T, V21.T; VFMLA V0.T, V1.T, V22.T; \
	VFMLA V0.T, V1.T, V23.T; VFMLA V0.T, V1.T, V24.T; VFMLA V0.T, V1.T, V25.T; \
	VFMLA V0.T, V1.T, V26.T; VFMLA V0.T, V1.T, V27.T; VFMLA V0.T, V1.T, V28.T; \
	VFMLA V0.T, V1.T, V29.T; VFMLA V0.T, V1.T, V30.T; VFMLA V0.T, V1.T, V31.T

// func peakNEON32(iters int)
TEXT ·peakNEON32(SB), NOSPLIT|NOFRAME, $0-8
	MOVD  iters+0(FP), R0
	CMP   $0, R0
	BLE   done
	FMOVS $(1.0), F0
	VDUP  V0.S[0], V0.S4
	VORR  V0.B16, V0.B16, V1.B16
	ZERO_ACCS

loop:
	FMAS(S4)
	SUBS $1, R0, R0
	BNE  loop

done:
	RET

// func peakNEON64(iters int)
TEXT ·peakNEON64(SB), NOSPLIT|NOFRAME, $0-8
	MOVD  iters+0(FP), R0
	CMP   $0, R0
	BLE   done
	FMOVD $(1.0), F0
	VDUP  V0.D[0], V0.D2
	VORR  V0.B16, V0.B16, V1.B16
	ZERO_ACCS

loop:
	FMAS(D2)
	SUBS $1, R0, R0
	BNE  loop

done:
	RET

//go:build !purego

package simd

import "unsafe"

// archTranspose installs the amd64 transpose kernels used by packing. Both
// SIMD tiers use the AVX2 float32 kernels (transpose_avx2_amd64.s): a 16x8
// AVX-512 kernel (zmm output rows, one store per 16 elements) was within
// noise of the AVX2 one on the 16- and 32-row panels (BenchmarkTranspose).
// For float64 the AVX-512 tier has an 8x8 kernel
// (transpose_avx512_amd64.s): on 8-row panels (the A operand of the f64
// kernel) it is twice as fast as the AVX2 4x4 kernel; 16- and 32-row
// panels, whose source rows no longer stay in L1, run at the same speed
// with either, and a whole f64 training step did not measurably change.
func archTranspose(tier string, t32 *func([]float32, int, []float32, int, int, int), t64 *func([]float64, int, []float64, int, int, int)) {
	switch tier {
	case TierAVX512:
		*t32 = transposeF32AVX2
		*t64 = transposeF64AVX512
	case TierAVX2:
		*t32 = transposeF32AVX2
		*t64 = transposeF64AVX2
	}
}

// transposeF64AVX512 is the float64 transpose of the AVX-512 tier: 8-row
// strips over the columns in blocks of 8, then the remaining columns and
// rows with the AVX2 kernels (transposeF64AVX2).
func transposeF64AVX512(dst []float64, ld int, src []float64, lds, rows, cols int) {
	n, ncb := rows/8, cols/8
	if n == 0 || ncb == 0 {
		transposeF64AVX2(dst, ld, src, lds, rows, cols)
		return
	}
	transpose8x8F64AVX512(&dst[0], ld, &src[0], lds, n, ncb)
	r, c := 8*n, 8*ncb
	if c < cols {
		// The last cols%8 columns of the first r rows.
		transposeF64AVX2(dst[c*ld:], ld, src[c:], lds, r, cols-c)
	}
	if r < rows {
		transposeF64AVX2(dst[r:], ld, src[r*lds:], lds, rows-r, cols)
	}
}

//go:noescape
func transpose8x8F64AVX512(dst *float64, ld int, src *float64, lds int, nrb, ncb int)

// transposeF32AVX2 is the float32 transpose (contract of transposeGeneric,
// bounds already checked by transposeInto). Rows are covered by 8-row
// strips, then at most one 4-row and one 2-row strip, each over the columns
// in blocks of 8; the last cols%8 columns and a last odd row go to
// transposeGeneric.
func transposeF32AVX2(dst []float32, ld int, src []float32, lds, rows, cols int) {
	ncb := cols / 8
	r := 0
	if ncb > 0 {
		if n := rows / 8; n > 0 {
			transpose8x8F32AVX2(&dst[0], ld, &src[0], lds, n, ncb)
			r = 8 * n
		}
		if rows-r >= 4 {
			transpose4x8F32AVX2(&dst[r], ld, &src[r*lds], lds, ncb)
			r += 4
		}
		if rows-r >= 2 {
			transpose2x8F32AVX2(&dst[r], ld, &src[r*lds], lds, ncb)
			r += 2
		}
		if c := 8 * ncb; c < cols && r > 0 {
			transposeGeneric(dst[c*ld:], ld, src[c:], lds, r, cols-c)
		}
	}
	if r < rows {
		transposeGeneric(dst[r:], ld, src[r*lds:], lds, rows-r, cols)
	}
}

// transposeF64AVX2 is the float64 transpose: 4-row strips, then at most one
// 2-row strip, over the columns in blocks of 4; the last cols%4 columns and
// a last odd row go to transposeGeneric.
func transposeF64AVX2(dst []float64, ld int, src []float64, lds, rows, cols int) {
	ncb := cols / 4
	r := 0
	if ncb > 0 {
		if n := rows / 4; n > 0 {
			transpose4x4F64AVX2(&dst[0], ld, &src[0], lds, n, ncb)
			r = 4 * n
		}
		if rows-r >= 2 {
			transpose2x4F64AVX2(&dst[r], ld, &src[r*lds], lds, ncb)
			r += 2
		}
		if c := 4 * ncb; c < cols && r > 0 {
			transposeGeneric(dst[c*ld:], ld, src[c:], lds, r, cols-c)
		}
	}
	if r < rows {
		transposeGeneric(dst[r:], ld, src[r*lds:], lds, rows-r, cols)
	}
}

// The kernels below (transpose_avx2_amd64.s) transpose whole blocks only:
// a kernel named RxC reads blocks of R source rows by C columns, nrb blocks
// down (where it takes nrb) by ncb blocks across, starting at src, and
// writes their transposes starting at dst. ld and lds are in elements;
// nrb, ncb >= 1. The pointers are not retained.

//go:noescape
func transpose8x8F32AVX2(dst *float32, ld int, src *float32, lds int, nrb, ncb int)

//go:noescape
func transpose4x8F32AVX2(dst *float32, ld int, src *float32, lds int, ncb int)

//go:noescape
func transpose2x8F32AVX2(dst *float32, ld int, src *float32, lds int, ncb int)

//go:noescape
func transpose4x4F64AVX2(dst *float64, ld int, src *float64, lds int, nrb, ncb int)

//go:noescape
func transpose2x4F64AVX2(dst *float64, ld int, src *float64, lds int, ncb int)

// archPanelCopy returns the amd64 panel copy used by packing (both SIMD
// tiers; AVX2 instructions only).
func archPanelCopy(tier string) panelCopyFunc {
	switch tier {
	case TierAVX512, TierAVX2:
		return copyPanelsAVX2
	}
	return nil
}

// copyPanelsAVX2 implements panelCopyFunc (width a positive multiple of
// 32 bytes; rows, panels >= 1). The caller has checked bounds. The
// pointers are not retained.
//
//go:noescape
func copyPanelsAVX2(dst unsafe.Pointer, pstride int, src unsafe.Pointer, lds, rows, panels, width int)

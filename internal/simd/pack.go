package simd

import "unsafe"

// packA copies the mc x kc block of op(A) starting at (ic, pc) into
// micro-panels of mr rows, each stored k-major (dst[q*kc*mr + p*mr + i]),
// zero-padding the last panel to mr rows so the microkernel never branches.
func packA[T Float](trans bool, a []T, lda, ic, mc, pc, kc, mr int, dst []T) {
	q0 := 0
	if trans {
		// A is stored k x m: the mr values of one k are contiguous, and so
		// are the full panels' values together.
		q0 = mc / mr
		copyPanelsInto(dst, kc*mr, a[pc*lda+ic:], lda, kc, q0, mr)
	}
	for q := q0; q*mr < mc; q++ {
		mm := min(mr, mc-q*mr)
		panel := dst[q*kc*mr : (q+1)*kc*mr]
		r0 := ic + q*mr
		if trans {
			for p := 0; p < kc; p++ {
				src := a[(pc+p)*lda+r0 : (pc+p)*lda+r0+mm]
				d := panel[p*mr : p*mr+mr]
				copy(d, src)
				clear(d[mm:])
			}
			continue
		}
		transposeInto(panel, mr, a[r0*lda+pc:], lda, mm, kc)
		if mm < mr {
			for p := 0; p < kc; p++ {
				clear(panel[p*mr+mm : p*mr+mr])
			}
		}
	}
}

// packB copies the kc x nc block of op(B) starting at (pc, jc) into
// micro-panels of nr columns, each stored k-major (dst[q*kc*nr + p*nr + j]),
// zero-padding the last panel to nr columns.
func packB[T Float](trans bool, b []T, ldb, pc, kc, jc, nc, nr int, dst []T) {
	q0 := 0
	if !trans {
		// Row-major B: the nr values of one k are contiguous, and so are
		// the full panels' values together.
		q0 = nc / nr
		copyPanelsInto(dst, kc*nr, b[pc*ldb+jc:], ldb, kc, q0, nr)
	}
	for q := q0; q*nr < nc; q++ {
		nn := min(nr, nc-q*nr)
		panel := dst[q*kc*nr : (q+1)*kc*nr]
		c0 := jc + q*nr
		if !trans {
			for p := 0; p < kc; p++ {
				d := panel[p*nr : p*nr+nr]
				copy(d, b[(pc+p)*ldb+c0:(pc+p)*ldb+c0+nn])
				clear(d[nn:])
			}
			continue
		}
		// B is stored n x k: column j of op(B) is row j of B.
		transposeInto(panel, nr, b[c0*ldb+pc:], ldb, nn, kc)
		if nn < nr {
			for p := 0; p < kc; p++ {
				clear(panel[p*nr+nn : p*nr+nr])
			}
		}
	}
}

// copyPanelsInto packs the rows x (panels*w) block of src (row stride
// lds), whose rows are contiguous runs of panels*w elements, into panels
// micro-panels of w columns: dst[q*pstride + p*w + j] = src[p*lds + q*w +
// j]. This is the packing of row-major B and of transposed A. The tier's
// kernel moves 32 bytes per instruction; a copy per panel row is a runtime
// call per 32 or 128 bytes, which made packing a transposed A (32-byte
// rows) 2.3x slower than with the kernel (BenchmarkPackMLP).
func copyPanelsInto[T Float](dst []T, pstride int, src []T, lds, rows, panels, w int) {
	if rows == 0 || panels == 0 || w == 0 {
		return
	}
	// One check here lets the kernel copy without bounds checks.
	_ = dst[(panels-1)*pstride+rows*w-1]
	_ = src[(rows-1)*lds+panels*w-1]
	var z T
	size := int(unsafe.Sizeof(z))
	if f := cur.panelCopy; f != nil && w*size%32 == 0 {
		f(unsafe.Pointer(&dst[0]), pstride*size, unsafe.Pointer(&src[0]), lds*size, rows, panels, w*size)
		return
	}
	for q := 0; q < panels; q++ {
		for p := 0; p < rows; p++ {
			copy(dst[q*pstride+p*w:q*pstride+(p+1)*w], src[p*lds+q*w:])
		}
	}
}

// transposeInto writes the rows x cols matrix src (row stride lds) into dst
// transposed: dst[c*ld + r] = src[r*lds + c], with the tier's kernel. This
// is the packing of row-major A and of transposed B.
func transposeInto[T Float](dst []T, ld int, src []T, lds, rows, cols int) {
	if rows == 0 || cols == 0 {
		return
	}
	// One check here lets the kernels index without bounds checks.
	_ = dst[(cols-1)*ld+rows-1]
	_ = src[(rows-1)*lds+cols-1]
	if isF32[T]() {
		cur.t32(as[float32](dst), ld, as[float32](src), lds, rows, cols)
		return
	}
	cur.t64(as[float64](dst), ld, as[float64](src), lds, rows, cols)
}

// transposeGeneric is the portable transpose kernel (and the reference for
// the SIMD ones). Four source rows are read together so that each store
// writes four adjacent elements instead of scattering one store per element.
func transposeGeneric[T Float](dst []T, ld int, src []T, lds, rows, cols int) {
	r := 0
	for ; r+4 <= rows; r += 4 {
		s0 := src[r*lds : r*lds+cols]
		s1 := src[(r+1)*lds : (r+1)*lds+cols]
		s2 := src[(r+2)*lds : (r+2)*lds+cols]
		s3 := src[(r+3)*lds : (r+3)*lds+cols]
		for c := range s0 {
			d := dst[c*ld+r : c*ld+r+4 : c*ld+r+4]
			d[0], d[1], d[2], d[3] = s0[c], s1[c], s2[c], s3[c]
		}
	}
	for ; r < rows; r++ {
		s0 := src[r*lds : r*lds+cols]
		for c, v := range s0 {
			dst[c*ld+r] = v
		}
	}
}

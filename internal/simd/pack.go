package simd

// packA copies the mc x kc block of op(A) starting at (ic, pc) into
// micro-panels of mr rows, each stored k-major (dst[q*kc*mr + p*mr + i]),
// zero-padding the last panel to mr rows so the microkernel never branches.
func packA[T Float](trans bool, a []T, lda, ic, mc, pc, kc, mr int, dst []T) {
	for q := 0; q*mr < mc; q++ {
		mm := min(mr, mc-q*mr)
		panel := dst[q*kc*mr : (q+1)*kc*mr]
		r0 := ic + q*mr
		if trans {
			// A is stored k x m: the mr values of one k are contiguous.
			for p := 0; p < kc; p++ {
				src := a[(pc+p)*lda+r0 : (pc+p)*lda+r0+mm]
				d := panel[p*mr : p*mr+mr]
				copy(d, src)
				clear(d[mm:])
			}
			continue
		}
		for i := 0; i < mm; i++ {
			src := a[(r0+i)*lda+pc : (r0+i)*lda+pc+kc]
			for p, v := range src {
				panel[p*mr+i] = v
			}
		}
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
	for q := 0; q*nr < nc; q++ {
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
		for j := 0; j < nn; j++ {
			src := b[(c0+j)*ldb+pc : (c0+j)*ldb+pc+kc]
			for p, v := range src {
				panel[p*nr+j] = v
			}
		}
		if nn < nr {
			for p := 0; p < kc; p++ {
				clear(panel[p*nr+nn : p*nr+nr])
			}
		}
	}
}

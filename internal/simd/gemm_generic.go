package simd

// The generic microkernel tile. 2x4 keeps 8 accumulators plus the 6 loaded
// operands in registers: Go's amd64 register allocator has 15 usable
// floating-point registers, and a 4x4 tile (16 accumulators) spills.
const (
	genericMR = 2
	genericNR = 4
)

// gemmKernelGeneric is the portable microkernel and the reference the SIMD
// tiers are tested against. Its contract is documented on gemmKernel.
func gemmKernelGeneric[T Float](kc int, a, b, c *T, ldc int, alpha, beta T) {
	ap := unsafeSlice(a, kc*genericMR)
	bp := unsafeSlice(b, kc*genericNR)
	var c00, c01, c02, c03, c10, c11, c12, c13 T
	for p := 0; p < kc; p++ {
		av := ap[p*genericMR : p*genericMR+2 : p*genericMR+2]
		bv := bp[p*genericNR : p*genericNR+4 : p*genericNR+4]
		a0, a1 := av[0], av[1]
		b0, b1, b2, b3 := bv[0], bv[1], bv[2], bv[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
	}
	cs := unsafeSlice(c, ldc+4)
	store4(cs[0:4:4], alpha, beta, c00, c01, c02, c03)
	store4(cs[ldc:ldc+4:ldc+4], alpha, beta, c10, c11, c12, c13)
}

func store4[T Float](c []T, alpha, beta, x0, x1, x2, x3 T) {
	if beta == 0 {
		c[0], c[1], c[2], c[3] = alpha*x0, alpha*x1, alpha*x2, alpha*x3
		return
	}
	c[0] = alpha*x0 + beta*c[0]
	c[1] = alpha*x1 + beta*c[1]
	c[2] = alpha*x2 + beta*c[2]
	c[3] = alpha*x3 + beta*c[3]
}

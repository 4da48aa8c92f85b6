package simd

// The generic microkernel tile. 4x4 keeps 16 accumulators, which the Go
// compiler holds in registers on amd64 and arm64 without spilling.
const (
	genericMR = 4
	genericNR = 4
)

// gemmKernelGeneric is the portable microkernel and the reference the SIMD
// tiers are tested against. Its contract is documented on gemmKernel.
func gemmKernelGeneric[T Float](kc int, a, b, c *T, ldc int, alpha, beta T) {
	ap := unsafeSlice(a, kc*genericMR)
	bp := unsafeSlice(b, kc*genericNR)
	var c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33 T
	for p := 0; p < kc; p++ {
		av := ap[p*genericMR : p*genericMR+4 : p*genericMR+4]
		bv := bp[p*genericNR : p*genericNR+4 : p*genericNR+4]
		a0, a1, a2, a3 := av[0], av[1], av[2], av[3]
		b0, b1, b2, b3 := bv[0], bv[1], bv[2], bv[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	cs := unsafeSlice(c, 3*ldc+4)
	store4(cs[0:4:4], alpha, beta, c00, c01, c02, c03)
	store4(cs[ldc:ldc+4:ldc+4], alpha, beta, c10, c11, c12, c13)
	store4(cs[2*ldc:2*ldc+4:2*ldc+4], alpha, beta, c20, c21, c22, c23)
	store4(cs[3*ldc:3*ldc+4:3*ldc+4], alpha, beta, c30, c31, c32, c33)
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

//go:build !purego

package simd

// archVecKernels installs the arm64 vector kernels of a tier. The NEON tier
// replaces the BLAS-1 and elementwise arithmetic kernels; max, maximum, relu
// and the transcendental functions keep their generic versions.
//
// Rounding: add, sub, mul, div and scale round each element once, as the
// generic loops do, so they match them bit for bit. axpy rounds once per
// element (a fused multiply-add). dot and sum keep 16 (float32) or 8
// (float64) partial sums in the vector loop, combine them pairwise and add
// the tail elements last, so their results differ from the generic ones in
// the last bits, by at most the usual bound for a length-n sum.
func archVecKernels(tier string, s *vecKernels[float32], d *vecKernels[float64]) {
	if tier != TierNEON {
		return
	}
	s.axpy, d.axpy = axpyNEON32, axpyNEON64
	s.scale, d.scale = scaleNEON32, scaleNEON64
	s.dot, d.dot = dotNEON32, dotNEON64
	s.sum, d.sum = sumNEON32, sumNEON64
	s.add, d.add = addNEON32, addNEON64
	s.sub, d.sub = subNEON32, subNEON64
	s.mul, d.mul = mulNEON32, mulNEON64
	s.div, d.div = divNEON32, divNEON64
}

// The asm kernels below take the length of their first slice argument as n
// and trust the exported wrappers to have checked the others (vec.go).

//go:noescape
func axpyNEON32(alpha float32, x, y []float32)

//go:noescape
func axpyNEON64(alpha float64, x, y []float64)

//go:noescape
func scaleNEON32(alpha float32, dst, x []float32)

//go:noescape
func scaleNEON64(alpha float64, dst, x []float64)

//go:noescape
func dotNEON32(x, y []float32) float32

//go:noescape
func dotNEON64(x, y []float64) float64

//go:noescape
func sumNEON32(x []float32) float32

//go:noescape
func sumNEON64(x []float64) float64

//go:noescape
func addNEON32(dst, x, y []float32)

//go:noescape
func addNEON64(dst, x, y []float64)

//go:noescape
func subNEON32(dst, x, y []float32)

//go:noescape
func subNEON64(dst, x, y []float64)

//go:noescape
func mulNEON32(dst, x, y []float32)

//go:noescape
func mulNEON64(dst, x, y []float64)

//go:noescape
func divNEON32(dst, x, y []float32)

//go:noescape
func divNEON64(dst, x, y []float64)

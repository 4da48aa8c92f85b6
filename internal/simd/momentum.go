package simd

import "fmt"

// momentumKernel is a tier's fused heavy-ball kernel for one element type:
// fn updates n elements, n a multiple of vl.
type momentumKernel[T Float] struct {
	fn func(x, g, b *T, n int, mu, damp, negLR T)
	vl int
}

// momentumChunk bounds the elements of one kernel call (assembly is not
// preemptible) and is the block size of the unfused path, which runs its
// three passes on a block while it is in L1.
const momentumChunk = 2048

// MomentumUpdate is the heavy-ball step of SGD with momentum (PyTorch's
// rule without weight decay, dampening d = 1 - dampening):
//
//	b = mu*b + damp*g
//	x = x + negLR*b
//
// rounded exactly as Scale(mu, b, b), Axpy(damp, g, b), Axpy(negLR, b, x)
// round it (a product, then two fused multiply-adds on the SIMD tiers),
// so the result is bit-identical to that sequence on every tier. The
// tier kernels make one pass over memory instead of three.
func MomentumUpdate[T Float](x, g, b []T, mu, damp, negLR T) {
	if len(g) != len(x) || len(b) != len(x) {
		panic(fmt.Sprintf("simd.MomentumUpdate: lengths %d, %d, %d differ", len(x), len(g), len(b)))
	}
	done := 0
	if isF32[T]() {
		if k := cur.mom32; k.fn != nil {
			done = momentumBody(k, as[float32](x), as[float32](g), as[float32](b), float32(mu), float32(damp), float32(negLR))
		}
	} else if k := cur.mom64; k.fn != nil {
		done = momentumBody(k, as[float64](x), as[float64](g), as[float64](b), float64(mu), float64(damp), float64(negLR))
	}
	for lo := done; lo < len(x); lo += momentumChunk {
		hi := min(lo+momentumChunk, len(x))
		xc, gc, bc := x[lo:hi], g[lo:hi], b[lo:hi]
		Scale(mu, bc, bc)
		Axpy(damp, gc, bc)
		Axpy(negLR, bc, xc)
	}
}

// momentumBody runs k on the longest prefix that is a multiple of its
// vector length and returns that length.
func momentumBody[T Float](k momentumKernel[T], x, g, b []T, mu, damp, negLR T) int {
	body := len(x) / k.vl * k.vl
	for lo := 0; lo < body; lo += momentumChunk {
		n := min(momentumChunk, body-lo)
		k.fn(&x[lo], &g[lo], &b[lo], n, mu, damp, negLR)
	}
	return body
}

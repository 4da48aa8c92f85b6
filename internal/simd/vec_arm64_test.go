//go:build arm64 && !purego

package simd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// neonVecLengths cover empty input, every tail of the 64-byte block and of
// one vector, several blocks, and a long slice.
func neonVecLengths() []int {
	var ns []int
	for n := 0; n <= 40; n++ {
		ns = append(ns, n)
	}
	ns = append(ns, 63, 64, 65, 127, 128, 129, 1000, 1027)
	return ns
}

func TestNEONVec32(t *testing.T) {
	testNEONVec(t, newTable(TierNEON).s, genericVec[float32](), 0x1p-24)
}

func TestNEONVec64(t *testing.T) {
	testNEONVec(t, newTable(TierNEON).d, genericVec[float64](), 0x1p-53)
}

// testNEONVec compares the NEON kernels with the generic ones (elementwise
// kernels, which round once per element either way, must agree bit for bit)
// and with float64 references (axpy, dot, sum; tolerances below). Inputs
// start at every offset modulo a vector, outputs are surrounded by guard
// elements that must stay intact, and dst aliasing x or y is checked too.
func testNEONVec[T Float](t *testing.T, neon, gen vecKernels[T], u float64) {
	const guard = 5
	rng := rand.New(rand.NewPCG(2, uint64(1/u)))
	fill := func(n int, lo, hi float64) []T {
		s := make([]T, n)
		for i := range s {
			s[i] = T(lo + (hi-lo)*rng.Float64())
		}
		return s
	}
	sentinel := T(-777.5)
	// out returns a slice of n elements at offset off inside a buffer whose
	// other elements hold sentinel, and a check of those elements.
	out := func(n, off int) ([]T, func(name string)) {
		buf := make([]T, off+n+guard)
		for i := range buf {
			buf[i] = sentinel
		}
		check := func(name string) {
			for i, v := range buf {
				if (i < off || i >= off+n) && v != sentinel {
					t.Fatalf("%s: wrote outside dst at buffer index %d (dst is [%d:%d])", name, i, off, off+n)
				}
			}
		}
		return buf[off : off+n], check
	}
	same := func(name string, got, want []T) {
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s: [%d] = %v, want %v (generic)", name, i, got[i], want[i])
			}
		}
	}

	binary := []struct {
		name      string
		neon, gen func(dst, x, y []T)
	}{
		{"add", neon.add, gen.add},
		{"sub", neon.sub, gen.sub},
		{"mul", neon.mul, gen.mul},
		{"div", neon.div, gen.div},
	}
	for _, n := range neonVecLengths() {
		for off := 0; off < 4; off++ {
			// y in [0.5, 2) keeps div away from zero.
			x, y := fill(n+off, -4, 4)[off:], fill(n+off, 0.5, 2)[off:]
			alpha := T(rng.Float64()*4 - 2)
			for _, op := range binary {
				name := fmt.Sprintf("%s/n=%d/off=%d", op.name, n, off)
				want := make([]T, n)
				op.gen(want, x, y)
				dst, check := out(n, off)
				op.neon(dst, x, y)
				check(name)
				same(name, dst, want)

				// In place, dst == x and dst == y.
				ax := append([]T(nil), x...)
				op.neon(ax, ax, y)
				same(name+"/dst=x", ax, want)
				ay := append([]T(nil), y...)
				op.neon(ay, x, ay)
				same(name+"/dst=y", ay, want)
			}

			name := fmt.Sprintf("scale/n=%d/off=%d", n, off)
			want := make([]T, n)
			gen.scale(alpha, want, x)
			dst, check := out(n, off)
			neon.scale(alpha, dst, x)
			check(name)
			same(name, dst, want)
			ax := append([]T(nil), x...)
			neon.scale(alpha, ax, ax)
			same(name+"/dst=x", ax, want)

			// axpy rounds alpha*x[i]+y[i] once: the error is at most u times
			// the result, which 2u*(|alpha*x|+|y|) bounds together with the
			// rounding of the float64 reference.
			name = fmt.Sprintf("axpy/n=%d/off=%d", n, off)
			dst, check = out(n, off)
			copy(dst, y)
			neon.axpy(alpha, x, dst)
			check(name)
			for i := range n {
				want := float64(alpha)*float64(x[i]) + float64(y[i])
				tol := 2 * u * (math.Abs(float64(alpha)*float64(x[i])) + math.Abs(float64(y[i])))
				if d := math.Abs(float64(dst[i]) - want); !(d <= tol) {
					t.Fatalf("%s: [%d] = %v, want %v (|diff| %.3g > %.3g)", name, i, dst[i], want, d, tol)
				}
			}

			// Any order of summing n terms (with or without fused
			// multiply-adds) errs by at most (n-1)*u*sum|terms| to first
			// order (Higham, eq. 3.5); the float64 reference adds its own
			// error of the same form with u = 2^-53, so allow twice the bound.
			var dot, absDot, sum, absSum float64
			for i := range n {
				p := float64(x[i]) * float64(y[i])
				dot += p
				absDot += math.Abs(p)
				sum += float64(x[i])
				absSum += math.Abs(float64(x[i]))
			}
			tol := 2 * float64(n+1) * u
			if got := float64(neon.dot(x, y)); !(math.Abs(got-dot) <= tol*absDot) {
				t.Fatalf("dot/n=%d/off=%d = %v, want %v (tol %.3g)", n, off, got, dot, tol*absDot)
			}
			if got := float64(neon.sum(x)); !(math.Abs(got-sum) <= tol*absSum) {
				t.Fatalf("sum/n=%d/off=%d = %v, want %v (tol %.3g)", n, off, got, sum, tol*absSum)
			}
		}
	}
}

//go:build arm64 && !purego

package simd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// neonAligned returns n elements of T starting on a 64-byte boundary, as the
// GEMM driver's packed buffers do.
func neonAligned[T Float](n int) []T {
	var z T
	size := int(unsafe.Sizeof(z))
	buf := make([]T, n+64/size)
	off := 0
	for uintptr(unsafe.Pointer(&buf[off]))%64 != 0 {
		off++
	}
	return buf[off : off+n : off+n]
}

func TestNEONTileShapes(t *testing.T) {
	tab := newTable(TierNEON)
	if tab.sgemm.mr != 8 || tab.sgemm.nr != 12 {
		t.Errorf("neon f32 kernel %dx%d, want 8x12", tab.sgemm.mr, tab.sgemm.nr)
	}
	if tab.dgemm.mr != 6 || tab.dgemm.nr != 8 {
		t.Errorf("neon f64 kernel %dx%d, want 6x8", tab.dgemm.mr, tab.dgemm.nr)
	}
}

func TestNEONGemmKernel32(t *testing.T) {
	// Unit roundoff of float32.
	testNEONGemmKernel(t, newTable(TierNEON).sgemm, 0x1p-24)
}

func TestNEONGemmKernel64(t *testing.T) {
	testNEONGemmKernel(t, newTable(TierNEON).dgemm, 0x1p-53)
}

// testNEONGemmKernel checks one microkernel against a float64 reference over
// depths that straddle the 2x unrolled k loop, several row strides, alphas
// and betas (beta == 0 over a C prefilled with NaN must not read C).
//
// Tolerance: the kernel's result is a length-kc dot product followed by a
// scaling by alpha and one fused multiply-add with beta*C, so its error is at
// most (kc+2)*u*(|alpha|*sum_p |a_p b_p| + |beta*C|) to first order (Higham,
// Accuracy and Stability of Numerical Algorithms, eq. 3.5), u the unit
// roundoff of T. The reference, computed in float64, has an error of the
// same form with u = 2^-53, so the test allows twice the bound: enough for
// float64, and far below what any indexing mistake produces.
func testNEONGemmKernel[T Float](t *testing.T, k gemmKernel[T], u float64) {
	const guard = 7 // elements past the tile's last row that must stay intact
	mr, nr := k.mr, k.nr
	rng := rand.New(rand.NewPCG(1, uint64(mr*100+nr)))
	sentinel := T(-12345.25)
	for _, kc := range []int{1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 63, 64, 65, 257} {
		a := neonAligned[T](kc * mr)
		b := neonAligned[T](kc * nr)
		for i := range a {
			a[i] = T(rng.Float64()*2 - 1)
		}
		for i := range b {
			b[i] = T(rng.Float64()*2 - 1)
		}
		// dot[i][j] and abs[i][j] = sum_p |a b| from the float64 reference.
		dot := make([]float64, mr*nr)
		abs := make([]float64, mr*nr)
		for p := 0; p < kc; p++ {
			for i := 0; i < mr; i++ {
				for j := 0; j < nr; j++ {
					x := float64(a[p*mr+i]) * float64(b[p*nr+j])
					dot[i*nr+j] += x
					abs[i*nr+j] += math.Abs(x)
				}
			}
		}
		// Offset 1 makes every C row start off the vector alignment.
		for _, ldc := range []int{nr, nr + 1, nr + 3, 2*nr + 5} {
			for _, alpha := range []T{1, -0.5, 2.5} {
				for _, beta := range []T{0, 1, 0.3} {
					name := fmt.Sprintf("kc=%d/ldc=%d/alpha=%v/beta=%v", kc, ldc, alpha, beta)
					buf := make([]T, 1+(mr-1)*ldc+nr+guard)
					c := buf[1:]
					c0 := make([]T, len(c))
					for i := range c {
						c[i] = sentinel
					}
					for i := 0; i < mr; i++ {
						for j := 0; j < nr; j++ {
							if beta == 0 {
								c[i*ldc+j] = T(math.NaN())
							} else {
								c[i*ldc+j] = T(rng.Float64()*2 - 1)
							}
						}
					}
					copy(c0, c)
					buf[0] = sentinel

					k.fn(kc, &a[0], &b[0], &c[0], ldc, alpha, beta)

					if buf[0] != sentinel {
						t.Errorf("%s: wrote before C", name)
					}
					for i := 0; i < len(c); i++ {
						row, col := i/ldc, i%ldc
						if row >= mr || col >= nr {
							if c[i] != sentinel {
								t.Errorf("%s: wrote C[%d] outside the %dx%d tile", name, i, mr, nr)
							}
							continue
						}
						want := float64(alpha) * dot[row*nr+col]
						bound := math.Abs(float64(alpha)) * abs[row*nr+col]
						if beta != 0 {
							want += float64(beta) * float64(c0[i])
							bound += math.Abs(float64(beta) * float64(c0[i]))
						}
						tol := 2 * float64(kc+2) * u * bound
						if diff := math.Abs(float64(c[i]) - want); !(diff <= tol) {
							t.Errorf("%s: C[%d][%d] = %v, want %v (|diff| %.3g > tol %.3g)",
								name, row, col, c[i], want, diff, tol)
						}
					}
					if t.Failed() {
						return
					}
				}
			}
		}
	}
}

// BenchmarkNEONGemmKernel times the microkernels on L1-resident panels, the
// upper bound of what the blocked GEMM can reach (compare with MeasurePeak).
func BenchmarkNEONGemmKernel(b *testing.B) {
	tab := newTable(TierNEON)
	b.Run("f32", func(b *testing.B) { benchNEONGemmKernel(b, tab.sgemm) })
	b.Run("f64", func(b *testing.B) { benchNEONGemmKernel(b, tab.dgemm) })
}

func benchNEONGemmKernel[T Float](b *testing.B, k gemmKernel[T]) {
	const kc = 256
	pa := neonAligned[T](kc * k.mr)
	pb := neonAligned[T](kc * k.nr)
	c := make([]T, k.mr*k.nr)
	for i := range pa {
		pa[i] = 1
	}
	for i := range pb {
		pb[i] = 1
	}
	for b.Loop() {
		k.fn(kc, &pa[0], &pb[0], &c[0], k.nr, 1, 1)
	}
	flops := 2 * float64(kc*k.mr*k.nr) * float64(b.N)
	b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOPS")
}

func TestNEONPeakKernel(t *testing.T) {
	for _, f32 := range []bool{true, false} {
		fn, flops, ok := archPeakKernel(TierNEON, f32)
		lanes := 2
		if f32 {
			lanes = 4
		}
		if !ok || fn == nil {
			t.Fatalf("f32=%v: no NEON peak kernel", f32)
		}
		if want := peakChainsNEON * lanes * 2; flops != want {
			t.Errorf("f32=%v: flopsPerIter = %d, want %d", f32, flops, want)
		}
		// The loop has no output; running it checks that it terminates
		// for each count, including the degenerate ones.
		for _, iters := range []int{-1, 0, 1, 2, 1000} {
			fn(iters)
		}
	}
	if _, _, ok := archPeakKernel(TierGeneric, true); ok {
		t.Error("archPeakKernel(generic) reports a kernel")
	}
}

// BenchmarkNEONPeak reports the FMA peak the microkernels are measured
// against (meaningless under emulation).
func BenchmarkNEONPeak(b *testing.B) {
	for _, f32 := range []bool{true, false} {
		b.Run(fmt.Sprintf("f32=%v", f32), func(b *testing.B) {
			fn, flops, _ := archPeakKernel(TierNEON, f32)
			const iters = 1 << 14
			for b.Loop() {
				fn(iters)
			}
			b.ReportMetric(float64(flops)*iters*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
		})
	}
}

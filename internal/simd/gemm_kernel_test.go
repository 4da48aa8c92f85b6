package simd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"
	"unsafe"
)

// kernelDepths straddle the k-loop unrolling (4), powers of two and typical
// KC values.
var kernelDepths = []int{1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 63, 64, 65, 255, 256, 257, 1000}

// TestGemmKernels checks every tier's microkernels against a float64
// reference on all combinations of depth, leading dimension, alpha and beta.
//
// Tolerance. Each element is alpha*dot(a_i, b_j) + beta*c with a dot product
// of length kc accumulated in the kernel's precision, FMA or not, in any
// order. Its rounding error is bounded by gamma_{kc+3} * (|alpha| sum_p
// |a_pi b_pj| + |beta c|), gamma_n = n*u/(1-n*u), u = eps/2 (kc roundings in
// the sum, one for alpha, one for beta*c and one for the final add). The test
// allows (kc+3)*eps times that magnitude, twice the first-order bound. The
// reference is computed from the same rounded inputs with an error-free
// product and compensated (Dot2) summation, so it is accurate to a few ulps
// of float64 and does not eat into the float64 kernels' budget.
func TestGemmKernels(t *testing.T) {
	for _, name := range Tiers() {
		tbl := newTable(name)
		t.Run(name+"/f32", func(t *testing.T) { testGemmKernel(t, tbl.sgemm) })
		t.Run(name+"/f64", func(t *testing.T) { testGemmKernel(t, tbl.dgemm) })
	}
	skipMissingTiers(t)
}

// skipMissingTiers records, as skipped subtests, the SIMD tiers of this
// architecture that the CPU (or a purego build) cannot run.
func skipMissingTiers(t *testing.T) {
	arch := map[string][]string{"amd64": {TierAVX512, TierAVX2}, "arm64": {TierNEON}}
	for _, name := range arch[runtime.GOARCH] {
		if !tierSupported(name) {
			t.Run(name, func(t *testing.T) { t.Skipf("tier %s not available on this CPU/build", name) })
		}
	}
}

func testGemmKernel[T Float](t *testing.T, k gemmKernel[T]) {
	mr, nr := k.mr, k.nr
	rng := rand.New(rand.NewPCG(uint64(mr), uint64(nr)))
	eps := epsOf[T]()
	failures := 0
	for _, kc := range kernelDepths {
		a := alignedBuf[T](kc * mr)
		b := alignedBuf[T](kc * nr)
		for i := range a {
			a[i] = T(2*rng.Float64() - 1)
		}
		for i := range b {
			b[i] = T(2*rng.Float64() - 1)
		}
		// dot[i*nr+j] is the exact-ish product sum, mag the sum of |products|.
		dot := make([]float64, mr*nr)
		mag := make([]float64, mr*nr)
		for i := 0; i < mr; i++ {
			for j := 0; j < nr; j++ {
				dot[i*nr+j], mag[i*nr+j] = dot2(kc, func(p int) (float64, float64) {
					return float64(a[p*mr+i]), float64(b[p*nr+j])
				})
			}
		}
		for _, ldc := range []int{nr, nr + 1, nr + 13} {
			for _, alpha := range []T{1, -0.5, 2.5} {
				for _, beta := range []T{0, 1, T(0.3)} {
					// C starts one element into its buffer so that rows are
					// not vector-aligned, and is surrounded by guard values
					// that must survive.
					const guard = 17
					n := guard + (mr-1)*ldc + nr + guard
					buf := alignedBuf[T](n + 1)[1:]
					c0 := make([]T, len(buf))
					for i := range c0 {
						c0[i] = T(2*rng.Float64() - 1)
					}
					in := func(p int) bool {
						q := p - guard
						return q >= 0 && q/ldc < mr && q%ldc < nr
					}
					for i := range buf {
						buf[i] = c0[i]
						if beta == 0 && in(i) {
							buf[i] = T(math.NaN())
						}
					}
					k.fn(kc, &a[0], &b[0], &buf[guard], ldc, alpha, beta)
					for p := range buf {
						if !in(p) {
							if buf[p] != c0[p] {
								t.Errorf("%dx%d kc=%d ldc=%d alpha=%v beta=%v: wrote outside the tile at offset %d",
									mr, nr, kc, ldc, alpha, beta, p-guard)
								failures++
							}
							continue
						}
						q := p - guard
						i, j := q/ldc, q%ldc
						want := float64(alpha) * dot[i*nr+j]
						bound := math.Abs(float64(alpha)) * mag[i*nr+j]
						if beta != 0 {
							want += float64(beta) * float64(c0[p])
							bound += math.Abs(float64(beta) * float64(c0[p]))
						}
						tol := float64(kc+3) * eps * bound
						got := float64(buf[p])
						if !(math.Abs(got-want) <= tol) {
							t.Errorf("%dx%d kc=%d ldc=%d alpha=%v beta=%v: C[%d][%d] = %v, want %v (tolerance %.3g)",
								mr, nr, kc, ldc, alpha, beta, i, j, got, want, tol)
							failures++
						}
						if failures > 10 {
							t.Fatal("too many failures")
						}
					}
				}
			}
		}
	}
}

// dot2 returns sum_p x_p*y_p, with (x_p, y_p) = f(p), computed with an
// error-free product and compensated summation (Ogita, Rump and Oishi's
// Dot2: as accurate as if computed in twice the working precision and then
// rounded), together with sum_p |x_p*y_p|.
func dot2(n int, f func(p int) (float64, float64)) (dot, mag float64) {
	var s, c float64
	for p := 0; p < n; p++ {
		x, y := f(p)
		h := x * y
		l := math.FMA(x, y, -h) // exact: x*y = h + l
		t := s + h
		z := t - s
		c += (s - (t - z)) + (h - z) + l // TwoSum error of s+h, plus l
		s = t
		mag += math.Abs(h)
	}
	return s + c, mag
}

// epsOf is the machine epsilon (2^-23 or 2^-52) of T.
func epsOf[T Float]() float64 {
	if isF32[T]() {
		return 0x1p-23
	}
	return 0x1p-52
}

// alignedBuf returns n zeroed elements starting on a 64-byte boundary, the
// alignment the GEMM driver gives its packed panels.
func alignedBuf[T Float](n int) []T {
	var z T
	size := int(unsafe.Sizeof(z))
	buf := make([]T, n+64/size)
	off := 0
	for uintptr(unsafe.Pointer(&buf[off]))%64 != 0 {
		off++
	}
	return buf[off : off+n : off+n]
}

func TestMeasurePeak(t *testing.T) {
	for _, name := range Tiers() {
		for _, f32 := range []bool{true, false} {
			g, err := MeasurePeak(name, f32, 10*time.Millisecond)
			if name == TierGeneric {
				if err == nil {
					t.Errorf("MeasurePeak(%s, f32=%v) = %v, want an error (no peak loop)", name, f32, g)
				}
				continue
			}
			if _, _, ok := archPeakKernel(name, f32); !ok {
				if err == nil {
					t.Errorf("MeasurePeak(%s, f32=%v) = %v, want an error (no peak loop)", name, f32, g)
				}
				continue
			}
			if err != nil || !(g > 0) || math.IsInf(g, 0) {
				t.Errorf("MeasurePeak(%s, f32=%v) = %v, %v; want a positive finite rate", name, f32, g, err)
			}
		}
	}
	if _, err := MeasurePeak("no-such-tier", true, time.Millisecond); err == nil {
		t.Error("MeasurePeak accepted an unknown tier")
	}
	if _, err := MeasurePeak(Tiers()[0], true, 0); err == nil {
		t.Error("MeasurePeak accepted a zero duration")
	}
}

// benchDepth is the kc of BenchmarkMicrokernel: the largest multiple of 16
// up to 256 whose A and B panels take at most 32 KiB, two thirds of Zen 5's
// 48 KiB L1D (room for the C tile and the stack), so that the benchmark
// measures the kernel and not the memory system.
func benchDepth(mr, nr, size int) int {
	kc := (32 << 10) / ((mr + nr) * size) / 16 * 16
	return min(kc, 256)
}

// BenchmarkMicrokernel runs each tier's microkernels on the same L1-resident
// panels over and over (beta = 1, as for every KC block after the first) and
// reports GFLOPS, to be compared with BenchmarkPeak of the same tier.
//
// It also reports %peak, the median ratio of the kernel's rate to the peak
// loop's over 100 pairs of adjacent ~100 us slices. On a shared machine the
// load changes between one benchmark and the next, which makes the ratio of
// two separately run benchmarks noisy; adjacent slices see the same load.
func BenchmarkMicrokernel(b *testing.B) {
	for _, name := range Tiers() {
		tbl := newTable(name)
		b.Run(name+"/f32", func(b *testing.B) { benchKernel(b, name, tbl.sgemm) })
		b.Run(name+"/f64", func(b *testing.B) { benchKernel(b, name, tbl.dgemm) })
	}
}

func benchKernel[T Float](b *testing.B, tier string, k gemmKernel[T]) {
	var z T
	kc := benchDepth(k.mr, k.nr, int(unsafe.Sizeof(z)))
	b.Run(fmt.Sprintf("%dx%d/kc=%d", k.mr, k.nr, kc), func(b *testing.B) {
		a := alignedBuf[T](kc * k.mr)
		bp := alignedBuf[T](kc * k.nr)
		c := alignedBuf[T](k.mr * k.nr)
		// Small normal values: C grows by about kc*1e-6 per call and never
		// overflows or turns subnormal.
		for i := range a {
			a[i] = 1e-3
		}
		for i := range bp {
			bp[i] = 1e-3
		}
		call := func() { k.fn(kc, &a[0], &bp[0], &c[0], k.nr, 1, 1) }
		flopsPerCall := 2 * float64(k.mr*k.nr*kc)
		b.ReportAllocs()
		calls := 0
		for b.Loop() {
			call()
			calls++
		}
		b.ReportMetric(flopsPerCall*float64(calls)/b.Elapsed().Seconds()/1e9, "GFLOPS")

		if peak, flopsPerIter, ok := archPeakKernel(tier, isF32[T]()); ok {
			const iters = 64
			r := interleavedRatio(call, flopsPerCall, func() { peak(iters) }, float64(flopsPerIter*iters))
			b.ReportMetric(100*r, "%peak")
		}
	})
}

// interleavedRatio returns the median, over 100 pairs of adjacent slices of
// about 100 us, of the rate of f (flopsF per call) divided by that of g.
func interleavedRatio(f func(), flopsF float64, g func(), flopsG float64) float64 {
	const slice = 100 * time.Microsecond
	// calls returns how many calls of h fill a slice.
	calls := func(h func()) int {
		n := 1
		for {
			start := time.Now()
			for range n {
				h()
			}
			if el := time.Since(start); el >= slice/4 {
				return max(1, int(float64(n)*float64(slice)/float64(el)))
			}
			n *= 2
		}
	}
	rate := func(h func(), n int, flops float64) float64 {
		start := time.Now()
		for range n {
			h()
		}
		return float64(n) * flops / time.Since(start).Seconds()
	}
	nf, ng := calls(f), calls(g)
	ratios := make([]float64, 100)
	for i := range ratios {
		ratios[i] = rate(f, nf, flopsF) / rate(g, ng, flopsG)
	}
	slices.Sort(ratios)
	return ratios[len(ratios)/2]
}

// BenchmarkPeak runs each tier's register-only FMA loop (see MeasurePeak)
// and reports GFLOPS.
func BenchmarkPeak(b *testing.B) {
	for _, name := range Tiers() {
		for _, dt := range []string{"f32", "f64"} {
			fn, flopsPerIter, ok := archPeakKernel(name, dt == "f32")
			if !ok {
				continue
			}
			b.Run(name+"/"+dt, func(b *testing.B) {
				// About 30-60 us per call on a current core: short enough
				// to stay preemptible, long enough to hide the call.
				const iters = 1 << 12
				b.ReportAllocs()
				calls := 0
				for b.Loop() {
					fn(iters)
					calls++
				}
				flops := float64(flopsPerIter) * iters * float64(calls)
				b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOPS")
			})
		}
	}
}

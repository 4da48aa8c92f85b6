package simd

import (
	"fmt"
	"time"
)

// peakCall is the target duration of one call of a peak loop. Assembly is
// not asynchronously preemptible, so each call is kept far below the 1 ms
// the notes allow; the calls are looped in Go, where the goroutine can be
// preempted between them.
const peakCall = 100 * time.Microsecond

// peakReps is how many timed repetitions MeasurePeak splits its duration
// into; it reports the best, the one least disturbed by other load.
const peakReps = 5

// MeasurePeak measures the floating-point throughput one core reaches with
// the fused multiply-adds of a tier, in GFLOPS (an FMA counts as two
// operations), on float32 vectors when f32 is true and float64 otherwise.
// The loop keeps many independent FMA chains in registers and touches no
// memory, so the result is the ceiling a GEMM microkernel can approach.
//
// MeasurePeak runs for about d, split into a few repetitions, and returns
// the fastest. It returns an error if d is not positive, if the tier is not
// available on this CPU and build, or if the tier has no peak loop (generic,
// or a purego build).
func MeasurePeak(tier string, f32 bool, d time.Duration) (gflops float64, err error) {
	if d <= 0 {
		return 0, fmt.Errorf("simd: MeasurePeak duration %v is not positive", d)
	}
	if !tierSupported(tier) {
		return 0, fmt.Errorf("simd: MeasurePeak: tier %q not available (have %v)", tier, Tiers())
	}
	fn, flopsPerIter, ok := archPeakKernel(tier, f32)
	if !ok {
		return 0, fmt.Errorf("simd: MeasurePeak: tier %q has no FMA peak loop", tier)
	}
	iters := calibratePeak(fn)
	per := d / peakReps
	for range peakReps {
		calls := 0
		start := time.Now()
		var elapsed time.Duration
		for elapsed < per {
			fn(iters)
			calls++
			elapsed = time.Since(start)
		}
		g := float64(calls) * float64(iters) * float64(flopsPerIter) / elapsed.Seconds() / 1e9
		gflops = max(gflops, g)
	}
	return gflops, nil
}

// calibratePeak returns the iteration count for which one call of fn takes
// about peakCall. It doubles a short count until a call lasts long enough
// to time reliably, then scales it.
func calibratePeak(fn func(iters int)) int {
	const minTimed = 20 * time.Microsecond
	iters := 256
	for {
		start := time.Now()
		fn(iters)
		el := time.Since(start)
		if el >= minTimed || iters >= 1<<30 {
			n := int(float64(iters) * float64(peakCall) / float64(max(el, 1)))
			return max(n, 1)
		}
		iters *= 2
	}
}

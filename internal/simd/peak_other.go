//go:build purego || !(amd64 || arm64)

package simd

// archPeakKernel: the purego build and other architectures have no FMA peak
// loop, so MeasurePeak reports an error for every tier.
func archPeakKernel(tier string, f32 bool) (fn func(iters int), flopsPerIter int, ok bool) {
	return nil, 0, false
}

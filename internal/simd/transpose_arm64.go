//go:build !purego

package simd

// archTranspose installs the arm64 transpose kernels used by packing.
func archTranspose(tier string, t32 *func([]float32, int, []float32, int, int, int), t64 *func([]float64, int, []float64, int, int, int)) {
}

// archPanelCopy: arm64 packs contiguous rows with copy (no kernel yet).
func archPanelCopy(string) panelCopyFunc { return nil }

// archColSum: arm64 runs MaskPositiveColSum's generic loop (no kernel yet).
func archColSum(string) (colSumKernel, colSumKernel) { return colSumKernel{}, colSumKernel{} }

// archMomentum: arm64 runs MomentumUpdate as Scale and two Axpy calls.
func archMomentum(string) (momentumKernel[float32], momentumKernel[float64]) {
	return momentumKernel[float32]{}, momentumKernel[float64]{}
}

//go:build purego || !(amd64 || arm64)

package simd

// archTiers: the purego build and other architectures run generic Go only.
func archTiers() []string { return nil }

func archGemmKernels(string, *gemmKernel[float32], *gemmKernel[float64]) {}

func archVecKernels(string, *vecKernels[float32], *vecKernels[float64]) {}

func archTranspose(string, *func([]float32, int, []float32, int, int, int), *func([]float64, int, []float64, int, int, int)) {
}

func archPanelCopy(string) panelCopyFunc { return nil }

func archColSum(string) (colSumKernel, colSumKernel) { return colSumKernel{}, colSumKernel{} }

func archMomentum(string) (momentumKernel[float32], momentumKernel[float64]) {
	return momentumKernel[float32]{}, momentumKernel[float64]{}
}

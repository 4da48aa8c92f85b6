//go:build !purego

package simd

import "github.com/klauspost/cpuid/v2"

// archTiers lists the SIMD tiers this amd64 CPU can run, best first.
// AVX-512 needs F (foundation) plus VL/DQ/BW for the masked tails and the
// integer tricks used by the math kernels; AVX2 needs FMA3 as well.
func archTiers() []string {
	var t []string
	if cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512DQ, cpuid.AVX512BW, cpuid.AVX512VL) {
		t = append(t, TierAVX512)
	}
	if cpuid.CPU.Supports(cpuid.AVX2, cpuid.FMA3) {
		t = append(t, TierAVX2)
	}
	return t
}

//go:build !purego

package simd

// archTiers lists the SIMD tiers of this arm64 CPU. Advanced SIMD (NEON) is
// mandatory in ARMv8-A, so no feature test is needed (and under qemu user
// emulation the feature registers cpuid reads may be hidden).
func archTiers() []string { return []string{TierNEON} }

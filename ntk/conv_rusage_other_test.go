//go:build !linux

package ntk

// cpuSeconds is not measured on this system.
func cpuSeconds() float64 { return 0 }

// resetPeakRSS does nothing on this system.
func resetPeakRSS() {}

// peakRSS is not measured on this system.
func peakRSS() float64 { return 0 }

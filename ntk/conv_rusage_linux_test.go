//go:build linux

package ntk

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
)

// cpuSeconds returns the user plus system CPU time of the process, so
// that a benchmark on a machine shared with other work can report the
// work it did as well as the time it took.
func cpuSeconds() float64 {
	var r syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &r) != nil {
		return 0
	}
	return float64(r.Utime.Nano()+r.Stime.Nano()) / 1e9
}

// resetPeakRSS resets the process's peak resident set size (VmHWM), so
// that the peak a benchmark reports is that of the measured work and not
// of loading the dataset.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSS returns VmHWM, the peak resident set size since the last
// reset, in bytes (0 if unknown).
func peakRSS() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if f := bytes.Fields(line); len(f) >= 2 && string(f[0]) == "VmHWM:" {
			kb, _ := strconv.ParseFloat(string(f[1]), 64)
			return kb * 1024
		}
	}
	return 0
}

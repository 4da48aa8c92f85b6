//go:build unix

package autograd

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time (user and system) the process has used.
// The convolution benchmarks report it per operation as well as wall
// time: on a machine shared with other work, wall time measures the
// neighbours as much as the code.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

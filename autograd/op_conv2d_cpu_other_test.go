//go:build !unix

package autograd

import "time"

// processCPU is not measured on this system; the benchmarks then report
// a CPU time of zero.
func processCPU() time.Duration { return 0 }

//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package parallel

// preemptions is not available here; spins trip on clock gaps only.
func preemptions() (int64, bool) { return 0, false }

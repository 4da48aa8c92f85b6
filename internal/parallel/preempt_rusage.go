//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package parallel

import "syscall"

// preemptions returns how many times the OS has preempted a thread of this
// process (involuntary context switches: the thread could have run on, but
// the OS gave its core to another thread), and whether the count is
// available.
func preemptions() (int64, bool) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0, false
	}
	return int64(ru.Nivcsw), true
}

// Package parallel runs independent tasks on a pool of long-lived worker
// goroutines without allocating per call.
//
// Determinism is the caller's contract: tasks must write disjoint outputs
// and compute each output the same way whichever worker runs it. Then the
// result does not depend on GOMAXPROCS or scheduling. Run only decides who
// does which task, never how a task computes.
//
// Run hands tasks to whoever is free; RunPinned gives each participant the
// same block of tasks on every call, so that memory a task touches stays in
// one core's cache from call to call (see the package doc of simd for the
// training step built on it). Idle helpers spin for a millisecond before
// they block, since waking a blocked thread on a VM takes as long as a
// whole product of a training step.
//
// Spinning pays only while each spinning thread has a core to itself. On a
// machine shared with CPU-bound work a spinning helper takes a core that a
// thread it waits for needs (two threads ran slower than one), so the spin
// adapts. Where Linux provides it (4.20+), the signal is the kernel's CPU
// pressure counter (/proc/pressure/cpu): sampled every 4 ms by whichever
// thread starts to wait, it tells the share of time some runnable thread
// waited for a CPU; while it is at least 20% nobody spins (idle helpers
// park at once, a Run waiting for its helpers blocks at once and hands its
// core to whoever the OS runs instead). Elsewhere a spinning thread reads
// the clock every 128 polls: two readings more than 50 us apart mean the
// OS preempted it for another thread, and such a trip turns spinning off
// for 10 ms, doubling up to 1 s while trips keep coming after little
// spinning. The clock gaps alone caught only part of the harm, since the
// OS mostly preempts the working thread rather than the spinning one, and
// they raise false alarms on a quiet VM (with one busy process on two
// cores: 0.82x of one thread with the gaps, 1.09-1.11x with the counter;
// quiet, an MNIST epoch at two threads took 1.36-1.55 s with both signals
// and 1.20-1.24 s with the counter alone). Timing only chooses between
// spinning and blocking, never which tasks exist or how they compute, so
// results stay the same. GRADFLOW_SPIN (a duration, 0 for none) fixes the
// spin and turns the adaptation off; `go run ./bench load` measures one
// and two threads with and without competing busy processes, for each
// policy (bench/RESULTS.md).
//
// The pool sits below internal/simd in the import graph although
// ARCHITECTURE.md lists the SIMD kernels first: the GEMM driver divides a
// product among the pool's participants, and a kernel tier that carried
// its own pool would need a second set of threads competing for the same
// cores.
package parallel

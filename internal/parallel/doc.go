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
// whole product of a training step; GRADFLOW_SPIN sets that time.
//
// The pool sits below internal/simd in the import graph although
// ARCHITECTURE.md lists the SIMD kernels first: the GEMM driver divides a
// product among the pool's participants, and a kernel tier that carried
// its own pool would need a second set of threads competing for the same
// cores.
package parallel

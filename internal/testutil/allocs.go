// Package testutil holds measurements shared by the tests of several
// packages.
package testutil

import "runtime"

// AllocsPerStep returns the heap allocations per step of a training loop
// in steady state. prepare builds a fresh run with a budget of steps and
// returns the function that runs it; the allocations of running 3n steps
// minus those of running n steps, over 2n, cancel what the run allocates
// once (buffers, the first records), leaving the cost of a step. It runs at
// GOMAXPROCS=1, where the Go runtime itself allocates nothing per step.
func AllocsPerStep(n int, prepare func(steps int) (run func() error)) (float64, error) {
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	measure := func(steps int) (uint64, error) {
		run := prepare(steps)
		runtime.GC()
		var a, b runtime.MemStats
		runtime.ReadMemStats(&a)
		err := run()
		runtime.ReadMemStats(&b)
		return b.Mallocs - a.Mallocs, err
	}
	short, err := measure(n)
	if err != nil {
		return 0, err
	}
	long, err := measure(3 * n)
	if err != nil {
		return 0, err
	}
	return (float64(long) - float64(short)) / float64(2*n), nil
}

package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

type countJob struct {
	hits    []atomic.Int32
	workers int
	bad     atomic.Bool
}

func (c *countJob) Do(worker, task int) {
	if worker < 0 || worker >= c.workers {
		c.bad.Store(true)
	}
	c.hits[task].Add(1)
}

// TestRunEachTaskOnce: every task runs exactly once and worker indices stay
// within MaxWorkers, for several GOMAXPROCS and worker limits.
func TestRunEachTaskOnce(t *testing.T) {
	for _, procs := range []int{1, 2, 4} {
		prev := runtime.GOMAXPROCS(procs)
		for _, limit := range []int{0, 1, 3} {
			for _, n := range []int{0, 1, 2, 7, 1000} {
				j := &countJob{hits: make([]atomic.Int32, n), workers: MaxWorkers(limit)}
				Run(j, n, limit)
				for i := range j.hits {
					if h := j.hits[i].Load(); h != 1 {
						t.Fatalf("procs=%d limit=%d n=%d: task %d ran %d times", procs, limit, n, i, h)
					}
				}
				if j.bad.Load() {
					t.Fatalf("procs=%d limit=%d: worker index out of range", procs, limit)
				}
			}
		}
		runtime.GOMAXPROCS(prev)
	}
}

type nestedJob struct{ inner *countJob }

func (n *nestedJob) Do(_, _ int) { Run(n.inner, len(n.inner.hits), 0) }

// TestRunNestedAndConcurrent: nested and concurrent Runs finish (no
// deadlock) and still run every task once.
func TestRunNestedAndConcurrent(t *testing.T) {
	prev := runtime.GOMAXPROCS(4)
	defer runtime.GOMAXPROCS(prev)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < 50; r++ {
				inner := &countJob{hits: make([]atomic.Int32, 16), workers: MaxWorkers(0)}
				Run(&nestedJob{inner}, 3, 0)
				for i := range inner.hits {
					if h := inner.hits[i].Load(); h != 3 {
						t.Errorf("task %d ran %d times, want 3", i, h)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

type noop struct{}

func (noop) Do(_, _ int) {}

func TestRunNoAllocs(t *testing.T) {
	prev := runtime.GOMAXPROCS(2)
	defer runtime.GOMAXPROCS(prev)
	Run(noop{}, 8, 0)
	if a := testing.AllocsPerRun(100, func() { Run(noop{}, 8, 0) }); a != 0 {
		t.Fatalf("%v allocs per Run", a)
	}
}

func BenchmarkRunOverhead(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Run(noop{}, 2, 0)
	}
}

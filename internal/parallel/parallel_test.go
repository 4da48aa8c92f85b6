package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
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

// runners are the two ways to run a job; the tests hold for both.
var runners = []struct {
	name string
	run  func(Job, int, int)
}{{"Run", Run}, {"RunPinned", RunPinned}}

// TestRunEachTaskOnce: every task runs exactly once and worker indices stay
// within MaxWorkers, for several GOMAXPROCS and worker limits, also with
// more participants than tasks.
func TestRunEachTaskOnce(t *testing.T) {
	for _, r := range runners {
		for _, procs := range []int{1, 2, 4} {
			prev := runtime.GOMAXPROCS(procs)
			for _, limit := range []int{0, 1, 3} {
				for _, n := range []int{0, 1, 2, 7, 64} {
					j := &countJob{hits: make([]atomic.Int32, n), workers: MaxWorkers(limit)}
					r.run(j, n, limit)
					for i := range j.hits {
						if h := j.hits[i].Load(); h != 1 {
							t.Fatalf("%s procs=%d limit=%d n=%d: task %d ran %d times", r.name, procs, limit, n, i, h)
						}
					}
					if j.bad.Load() {
						t.Fatalf("%s procs=%d limit=%d: worker index out of range", r.name, procs, limit)
					}
				}
			}
			runtime.GOMAXPROCS(prev)
		}
	}
}

func TestRunPinnedRefusesMoreThan64(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("RunPinned with 65 tasks did not panic")
		}
	}()
	RunPinned(noop{}, 65, 0)
}

type nestedJob struct {
	inner *countJob
	run   func(Job, int, int)
}

func (n *nestedJob) Do(_, _ int) { n.run(n.inner, len(n.inner.hits), 0) }

// TestRunNestedAndConcurrent: nested and concurrent Runs (pinned inside
// unpinned and the other way round) finish (no deadlock) and still run
// every task once.
func TestRunNestedAndConcurrent(t *testing.T) {
	prev := runtime.GOMAXPROCS(4)
	defer runtime.GOMAXPROCS(prev)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outer, inner := runners[g%2], runners[(g/2)%2]
			for r := 0; r < 50; r++ {
				job := &countJob{hits: make([]atomic.Int32, 16), workers: MaxWorkers(0)}
				outer.run(&nestedJob{job, inner.run}, 3, 0)
				for i := range job.hits {
					if h := job.hits[i].Load(); h != 3 {
						t.Errorf("%s in %s: task %d ran %d times, want 3", inner.name, outer.name, i, h)
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
	for _, r := range runners {
		r.run(noop{}, 8, 0)
		if a := testing.AllocsPerRun(100, func() { r.run(noop{}, 8, 0) }); a != 0 {
			t.Fatalf("%s: %v allocs per call", r.name, a)
		}
	}
}

func BenchmarkRunOverhead(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Run(noop{}, 2, 0)
	}
}

// whoJob records which participant ran each of its two tasks. Task 0
// waits (up to a second) until task 1 has started, so that a helper that
// is on its way gets the chance to take its own task; the test then
// checks which participant that was.
type whoJob struct {
	who     [2]int
	started atomic.Bool
}

func (w *whoJob) Do(worker, task int) {
	if task == 1 {
		w.started.Store(true)
	} else {
		for deadline := time.Now().Add(time.Second); !w.started.Load() && time.Now().Before(deadline); {
			runtime.Gosched()
		}
	}
	w.who[task] = worker
}

// TestRunPinnedAffinity: with a helper available, each participant runs
// its own block of tasks. A helper can still lose its task to the caller
// when the OS keeps it off the CPU for a second, so the test asks for a
// large majority of rounds, not for all.
func TestRunPinnedAffinity(t *testing.T) {
	prev := runtime.GOMAXPROCS(2)
	defer runtime.GOMAXPROCS(prev)
	pinned := 0
	const rounds = 100
	for r := 0; r < rounds; r++ {
		j := &whoJob{}
		RunPinned(j, 2, 0)
		if j.who == [2]int{0, 1} {
			pinned++
		}
	}
	if pinned < rounds*9/10 {
		t.Fatalf("tasks ran on their own participants in %d of %d rounds", pinned, rounds)
	}
}

// TestSpinBackoff: a trip turns spinning off for minBackoff; a trip after
// less than recentSpin of spinning since the last one doubles the backoff
// up to maxBackoff; a trip after more spinning starts over; a fixed spin
// (GRADFLOW_SPIN) ignores trips. The clock and the spinning time are set
// by the test, so it does not depend on timing.
func TestSpinBackoff(t *testing.T) {
	defer SetSpin(time.Millisecond, false)
	tripMu.Lock()
	saved, savedOff, savedAt, savedSpun := backoff, spinOff.Load(), spunAt, spun.Load()
	backoff, spunAt = 0, 0
	spinOff.Store(0)
	spun.Store(0)
	tripMu.Unlock()
	defer func() {
		tripMu.Lock()
		backoff, spunAt = saved, savedAt
		spinOff.Store(savedOff)
		spun.Store(savedSpun)
		tripMu.Unlock()
	}()
	SetSpin(time.Millisecond, false)
	at := func(d time.Duration) time.Time { return epoch.Add(time.Hour + d) }
	if b := spinBudget(at(0)); b != time.Millisecond {
		t.Fatalf("budget before any trip = %v, want 1ms", b)
	}
	now := time.Duration(0)
	trip(at(now))
	if b := spinBudget(at(now + minBackoff - 1)); b != 0 {
		t.Fatalf("budget right after a trip = %v, want 0", b)
	}
	if b := spinBudget(at(now + minBackoff)); b != time.Millisecond {
		t.Fatalf("budget after the backoff = %v, want 1ms", b)
	}
	// Trips right after each re-enabling double the backoff up to the cap.
	want := minBackoff
	for range 10 {
		now += want + time.Hour // long after, but after 1 ms of spinning
		spun.Add(int64(time.Millisecond))
		trip(at(now))
		want = min(2*want, maxBackoff)
		if b := spinBudget(at(now + want - 1)); b != 0 {
			t.Fatalf("backoff shorter than %v", want)
		}
		if b := spinBudget(at(now + want)); b == 0 {
			t.Fatalf("backoff longer than %v", want)
		}
	}
	if want != maxBackoff {
		t.Fatalf("backoff did not reach the cap: %v", want)
	}
	// A trip during the backoff changes nothing.
	trip(at(now + 1))
	if b := spinBudget(at(now + want)); b == 0 {
		t.Fatal("a trip during the backoff extended it")
	}
	// A trip long after spinning resumed starts over.
	now += want
	spun.Add(int64(recentSpin))
	trip(at(now))
	if b := spinBudget(at(now + minBackoff)); b == 0 {
		t.Fatal("a trip after a quiet stretch did not start over at minBackoff")
	}
	// A fixed spin ignores the backoff.
	trip(at(now + time.Hour))
	SetSpin(200*time.Microsecond, true)
	if b := spinBudget(at(now + time.Hour)); b != 200*time.Microsecond {
		t.Fatalf("fixed spin budget = %v, want 200us", b)
	}
}

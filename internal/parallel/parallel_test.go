package parallel

import (
	"runtime"
	"strconv"
	"strings"
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
	SetPressure(false) // the machine's load must not turn spinning off here
	defer SetPressure(true)
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

// TestParseStallTotal: the "some" line's total is read from PSI files as
// Linux writes them; anything else is refused rather than misread.
func TestParseStallTotal(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"some avg10=0.00 avg60=0.45 avg300=10.88 total=14642516987\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", 14642516987, true},
		{"some avg10=1.00 avg60=2.00 avg300=3.00 total=0\n", 0, true},
		{"some total=42", 42, true},
		{"full avg10=0.00 total=5\nsome total=7\n", 0, false},
		{"some avg10=0.00 avg60=0.00 avg300=0.00\nfull total=9\n", 0, false},
		{"some total=\n", 0, false},
		{"some total=x1\n", 0, false},
		{"some total=99999999999999999999\n", 0, false},
		{"", 0, false},
		{"some", 0, false},
	} {
		got, ok := parseStallTotal([]byte(c.in))
		if got != c.want || ok != c.ok {
			t.Errorf("parseStallTotal(%q) = %d, %v; want %d, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

// TestPressureJudgement: a window whose stall counter grows by a share of
// wall time at or above pressureHigh makes the monitor report pressure
// until a window below it; windows longer than pressureStale are not
// judged; an unreadable counter stops the sampling and never reports
// pressure. The counter and the clock are the test's (on a monitor of its
// own), so it does not depend on the machine's load.
func TestPressureJudgement(t *testing.T) {
	var stall int64 // µs
	readable := true
	reads := 0
	m := newStallMonitor(func() (int64, bool) { reads++; return stall, readable })
	at := func(d time.Duration) time.Time { return epoch.Add(time.Hour + d) }
	now := time.Duration(0)
	// wait advances the clock by d with the given stall share and asks.
	wait := func(d time.Duration, share float64) bool {
		now += d
		stall += int64(share * float64(d/time.Microsecond))
		return m.pressured(at(now))
	}
	if !m.usable() {
		t.Fatal("a new monitor is not usable")
	}
	if wait(0, 0) {
		t.Fatal("pressure at the first sample")
	}
	if wait(pressureEvery, 0.05) {
		t.Fatal("pressure after a window with stall share 0.05")
	}
	if !wait(pressureEvery, pressureHigh) {
		t.Fatalf("no pressure after a window with stall share %v", pressureHigh)
	}
	n := reads
	if !wait(pressureEvery/2, 0) || reads != n {
		t.Fatal("the judgement changed, or the counter was read, between samples")
	}
	if wait(pressureEvery, 0.01) {
		t.Fatal("pressure after the stall ended")
	}
	if got := time.Duration(m.highFor.Load()); got != pressureEvery {
		t.Fatalf("highFor = %v, want %v", got, pressureEvery)
	}
	if wait(2*pressureStale, 1) {
		t.Fatal("a stale window was judged")
	}
	if !wait(pressureEvery, 1) {
		t.Fatal("no pressure after a fully stalled window")
	}
	m.enabled.Store(false)
	if wait(pressureEvery, 1) {
		t.Fatal("pressure reported while turned off")
	}
	m.enabled.Store(true)
	readable = false
	if wait(pressureEvery, 1) {
		t.Fatal("pressure reported with an unreadable counter")
	}
	readable = true
	n = reads
	if wait(pressureEvery, 1) || reads != n {
		t.Fatal("sampling went on after the counter failed")
	}
	if m.usable() {
		t.Fatal("a monitor whose counter failed is usable (the clock gaps would stay off)")
	}
}

// TestSpinBudgetUnderPressure: the pool's spin budget is 0 while its
// monitor reports pressure, unless the spin is fixed (GRADFLOW_SPIN).
func TestSpinBudgetUnderPressure(t *testing.T) {
	defer SetSpin(time.Millisecond, false)
	defer SetPressure(true)
	SetSpin(time.Millisecond, false)
	saved := stalls.Load()
	defer stalls.Store(saved)
	var stall atomic.Int64 // read by pool goroutines that sample meanwhile
	stalls.Store(newStallMonitor(func() (int64, bool) { return stall.Load(), true }))
	now := epoch.Add(2 * time.Hour)
	spinOff.Store(0)
	if b := spinBudget(now); b != time.Millisecond {
		t.Fatalf("budget = %v, want 1ms", b)
	}
	now = now.Add(pressureEvery)
	stall.Add(int64(pressureEvery / time.Microsecond))
	if b := spinBudget(now); b != 0 {
		t.Fatalf("budget under pressure = %v, want 0", b)
	}
	SetSpin(200*time.Microsecond, true)
	if b := spinBudget(now); b != 200*time.Microsecond {
		t.Fatalf("fixed spin budget under pressure = %v, want 200us", b)
	}
}

// TestPressureCounterLive: where Linux provides the counter, it is read
// without allocating and grows while more threads want to run than there
// are CPUs.
func TestPressureCounterLive(t *testing.T) {
	if _, ok := readPressure(); !ok {
		t.Skip(pressureFile + " is not readable here (not Linux, kernel before 4.20, or psi=0)")
	}
	if a := testing.AllocsPerRun(100, func() { readPressure() }); a != 0 {
		t.Fatalf("readPressure allocates %v times per call", a)
	}
	n := runtime.NumCPU() + 1
	prev := runtime.GOMAXPROCS(n)
	defer runtime.GOMAXPROCS(prev)
	before, _ := readPressure()
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := uint64(1)
			for !stop.Load() {
				for range 1000 {
					x = x*6364136223846793005 + 1
				}
			}
			if x == 0 {
				t.Log(x)
			}
		}()
	}
	time.Sleep(100 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	after, ok := readPressure()
	if !ok || after <= before {
		t.Fatalf("stall counter %d -> %d (ok %v) with %d threads busy on %d CPUs, want it to grow", before, after, ok, n, runtime.NumCPU())
	}
}

// FuzzParseStallTotal: any content of the PSI file is parsed without a
// panic, and a value it returns is the digits after the first line's
// first "total=".
func FuzzParseStallTotal(f *testing.F) {
	f.Add([]byte("some avg10=0.00 avg60=0.45 avg300=10.88 total=14642516987\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"))
	f.Add([]byte("some total=1"))
	f.Add([]byte("some total=99999999999999999999\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, ok := parseStallTotal(b)
		if !ok {
			return
		}
		line, _, _ := strings.Cut(string(b), "\n")
		_, rest, found := strings.Cut(line, "total=")
		digits := rest
		if i := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
			digits = rest[:i]
		}
		w, err := strconv.ParseInt(digits, 10, 64)
		if !found || err != nil || v != w {
			t.Fatalf("parseStallTotal(%q) = %d, true", b, v)
		}
	})
}

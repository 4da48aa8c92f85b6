package parallel

import (
	"fmt"
	"math/bits"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Job is a set of tasks numbered 0..n-1. Do is called once per task with the
// index of the participant running it, in [0, workers), so a job can give
// each participant its own scratch buffers.
type Job interface {
	Do(worker, task int)
}

// closed marks a batch that takes no more helpers; the low bits of state
// count the helpers inside it.
const closed = int64(1) << 62

type batch struct {
	job     Job
	ntasks  int64
	workers int64
	pinned  bool
	next    atomic.Int64  // next unclaimed task (unpinned batches)
	claimed atomic.Uint64 // bit t: task t is taken (pinned batches)
	ids     atomic.Uint64 // bit p: participant index p is taken
	state   atomic.Int64
	done    chan struct{}
}

// work runs tasks as participant id until none are left.
func (b *batch) work(id int) {
	if b.pinned {
		b.workPinned(id)
		return
	}
	for {
		t := b.next.Add(1) - 1
		if t >= b.ntasks {
			return
		}
		b.job.Do(id, int(t))
	}
}

// workPinned runs participant id's own tasks first, in order, then takes
// over tasks of the others that have not started, from the end of their
// ranges (where their owners would reach them last): a helper that arrives
// late, or never, delays nothing, and a participant that finishes early
// helps one that is behind.
func (b *batch) workPinned(id int) {
	n, w := int(b.ntasks), int(b.workers)
	for t := id * n / w; t < (id+1)*n/w; t++ {
		if b.claim(t) {
			b.job.Do(id, t)
		}
	}
	for t := n - 1; t >= 0; t-- {
		if b.claim(t) {
			b.job.Do(id, t)
		}
	}
}

func (b *batch) claim(t int) bool {
	bit := uint64(1) << t
	return b.claimed.Or(bit)&bit == 0
}

// join takes a participant index for a helper whose own index is home: home
// itself when it is free and in range, so that a pool goroutine keeps the
// same share of pinned batches from call to call, else the lowest free one.
// It returns -1 when all indices are taken.
func (b *batch) join(home int) int {
	for {
		ids := b.ids.Load()
		id := -1
		if home < int(b.workers) && ids&(1<<home) == 0 {
			id = home
		} else if free := ^ids; free != 0 {
			id = bits.TrailingZeros64(free)
		}
		if id < 0 || id >= int(b.workers) {
			return -1
		}
		if b.ids.CompareAndSwap(ids, ids|1<<id) {
			return id
		}
	}
}

// help is what a pool goroutine does with a batch it received. The queue
// may deliver a batch after its Run has returned (or after the batch was
// reused by a later Run): joining is refused once a batch is closed, and a
// reused batch is a valid batch to help with.
func (b *batch) help(home int) {
	for {
		s := b.state.Load()
		if s&closed != 0 {
			return
		}
		if b.state.CompareAndSwap(s, s+1) {
			break
		}
	}
	if id := b.join(home); id >= 0 {
		b.work(id)
	}
	if b.state.Add(-1) == closed {
		b.done <- struct{}{}
	}
}

var (
	mu      sync.Mutex
	started int
	queue   = make(chan *batch, 256)
	free    []*batch
)

// spin is how long an idle helper keeps polling for the next batch before
// it blocks (and how long Run polls for helpers to finish before it
// blocks), while the machine has a core for every spinning thread (see
// the policy after SetSpin for when it does not). Waking a blocked goroutine costs an OS
// thread wake-up, and on a VM the wake-up of an idle virtual CPU: measured
// on a 2-vCPU Firecracker VM, helpers joined a batch 100-300 us late after
// parking, as long as a whole product of a training step. The serial
// stretches of a step (a small output layer, the loss, ReLU masks) last up
// to ~300 us, so with a 100 us spin the helper parked inside every step
// and a 784-512-512-10 step at two threads ran at 1.08x of one thread;
// with 1 ms, at 1.4x (joins within 3 us). OpenMP runtimes and OpenBLAS
// spin for comparable or longer times for the same reason. An idle process
// goes quiet after 1 ms. GRADFLOW_SPIN (a Go duration such as 200us; 0
// disables spinning) fixes the spin and turns the adaptation off.
var (
	spin      atomic.Int64 // a time.Duration
	spinFixed atomic.Bool
)

func init() { spin.Store(int64(time.Millisecond)) }

func init() {
	if v, ok := os.LookupEnv("GRADFLOW_SPIN"); ok {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			fmt.Fprintf(os.Stderr, "gradflow: GRADFLOW_SPIN=%q is not a duration >= 0 (such as 200us or 0); keeping %v\n", v, time.Duration(spin.Load()))
			return
		}
		SetSpin(d, true)
	}
}

// SetSpin sets the spin (see spin) and whether it is fixed (true, as with
// GRADFLOW_SPIN) or turned off while the machine is short of cores (false,
// the default). For benchmarks that compare policies in one process.
func SetSpin(d time.Duration, fixed bool) {
	spin.Store(int64(max(d, 0)))
	spinFixed.Store(fixed)
}

// Spinning pays only while every spinning thread has a core of its own. On
// a machine shared with CPU-bound work, a spinning helper takes the core
// the thread it waits for needs: with one busy process on two cores, a
// 784-512-512-10 step ran slower at two threads than at one (see
// bench/RESULTS.md). The policy (the package doc says it in short):
//
//   - A spinning thread reads the clock every 128 polls, a fraction of a
//     microsecond apart. Two readings more than gapLimit apart mean the OS
//     took the CPU away in between, which it does when another thread
//     wants to run and no core is free: the spin trips. (Counting the
//     process's involuntary context switches with getrusage was tried as
//     a second signal and dropped: on a quiet 2-vCPU machine the Go
//     runtime's own threads preempt the two busy ones often enough to
//     keep spinning off, at 1.33x of one thread instead of 1.74x.)
//   - A trip turns spinning off, for helpers and callers alike, for a
//     backoff period: idle helpers park at once, and Run blocks at once for
//     helpers still finishing, which gives their core back to whoever the
//     OS runs in their place (often the thread being waited for).
//   - The backoff starts at minBackoff and doubles, up to maxBackoff, when
//     spinning trips again after less than recentSpin of spinning (summed
//     over the threads) since the last trip: the competition is still
//     there. A trip after more spinning than that starts over at
//     minBackoff. Counting spin time rather than wall time keeps stretches
//     without spinning (one thread at work, an idle process) from
//     resetting the backoff. On a quiet machine trips are rare (a long
//     interrupt, a kernel thread, a GC pause) and cost one minBackoff
//     without spinning.
//
// Timing decides only whether a thread spins or blocks, so who runs which
// task, never what a task computes: results stay independent of it.
const (
	gapLimit   = 50 * time.Microsecond
	minBackoff = 10 * time.Millisecond
	maxBackoff = time.Second
	recentSpin = 20 * time.Millisecond
)

var (
	epoch   = time.Now()
	spinOff atomic.Int64 // ns after epoch until which nobody spins
	tripMu  sync.Mutex
	backoff time.Duration // guarded by tripMu
	spunAt  int64         // spun at the last trip; guarded by tripMu
	spun    atomic.Int64  // ns spent spinning by all threads
	trips   atomic.Int64
	offSum  atomic.Int64 // ns of backoff started by all trips
)

// spinBudget is how long a thread that starts to wait at now may spin.
func spinBudget(now time.Time) time.Duration {
	if !spinFixed.Load() && (int64(now.Sub(epoch)) < spinOff.Load() || stalls.Load().pressured(now)) {
		return 0
	}
	return time.Duration(spin.Load())
}

// trip records a spin that the OS interrupted at now and turns spinning off.
func trip(now time.Time) {
	t := int64(now.Sub(epoch))
	tripMu.Lock()
	defer tripMu.Unlock()
	off := spinOff.Load()
	if t < off {
		return // another thread tripped meanwhile
	}
	s := spun.Load()
	recent := off > 0 && s-spunAt < int64(recentSpin)
	spunAt = s
	if recent {
		backoff = min(max(2*backoff, minBackoff), maxBackoff)
	} else {
		backoff = minBackoff
	}
	spinOff.Store(t + int64(backoff))
	trips.Add(1)
	offSum.Add(int64(backoff))
}

// spinUntil polls ready for up to the spin budget and reports whether it
// returned true. It trips (see trip) on a gap between clock readings.
func spinUntil(ready func() bool) bool {
	if ready() {
		return true
	}
	start := time.Now()
	budget := spinBudget(start)
	if budget == 0 {
		return false
	}
	// Clock gaps are the fallback signal where the stall counter cannot
	// be read (see usable): where it can, they only add false alarms (a
	// VM's hiccups preempt a spinning thread on a quiet machine too: with
	// both signals an MNIST fit at two threads spent 18% of its time not
	// spinning, and ran an epoch in 1.36-1.55 s against 1.20-1.24 s with
	// the counter alone; with one busy process both gave 1.09-1.10x of
	// one thread).
	adaptive := !spinFixed.Load() && !stalls.Load().usable()
	// last is the latest clock reading; spinning time is counted up to it
	// (the time of a gap is not spinning).
	last := start
	for i := 1; ; i++ {
		if ready() {
			spun.Add(int64(last.Sub(start)))
			return true
		}
		if i%128 != 0 {
			continue
		}
		now := time.Now()
		if adaptive {
			if now.Sub(last) > gapLimit {
				spun.Add(int64(last.Sub(start)))
				trip(now)
				return ready()
			}
		}
		last = now
		if now.Sub(start) > budget {
			spun.Add(int64(now.Sub(start)))
			return false
		}
	}
}

// SpinStats reports the spin policy's history for benchmarks: how many
// spins tripped since the process started, for how long in all the trips
// turned spinning off (up to now, or up to the end of the current
// backoff), and how long the windows lasted whose CPU stall share turned
// spinning off (see pressured).
func SpinStats() (tripped int64, off, stalled time.Duration) {
	return trips.Load(), time.Duration(offSum.Load()), time.Duration(stalls.Load().highFor.Load())
}

func queued() bool { return len(queue) != 0 }

// helper is pool goroutine number home (1, 2, ...; the caller of Run is
// participant 0).
func helper(home int) {
	for {
		if !spinUntil(queued) && retire(home) {
			return
		}
		b, ok := <-queue
		if !ok {
			return
		}
		b.help(home)
	}
}

// retire ends the helper with the highest home when GOMAXPROCS no longer
// needs it, before it parks: a parked helper is first in line for the next
// batch (a channel hands a value to a waiting receiver before a spinning
// one sees it), so surplus parked helpers would make every batch wait for
// a thread wake-up. Run starts helpers again when GOMAXPROCS grows.
func retire(home int) bool {
	mu.Lock()
	defer mu.Unlock()
	if home == started && home >= Workers() {
		started--
		return true
	}
	return false
}

// Workers returns the number of participants Run would use for many tasks:
// GOMAXPROCS, at most MaxParticipants.
func Workers() int { return min(runtime.GOMAXPROCS(0), MaxParticipants) }

// MaxParticipants bounds the participants of one Run (the caller and its
// helpers), and so the worker indices a Job sees.
const MaxParticipants = 64

// Run executes tasks 0..ntasks-1 of job on at most maxWorkers participants
// (the caller is one of them; maxWorkers <= 0 means GOMAXPROCS) and returns
// when all are done. Run never waits for a helper that has not started on
// the batch: busy helpers (with a concurrent or nested Run) are simply not
// used, and the caller does the remaining tasks itself, so Run cannot
// deadlock and needs no allocation in steady state. Which participant runs
// which task is up to whoever claims it first.
func Run(job Job, ntasks, maxWorkers int) { run(job, ntasks, maxWorkers, false) }

// RunPinned is Run with a fixed assignment: with w participants and n
// tasks, participant p owns the tasks [p*n/w, (p+1)*n/w) and runs them in
// order, and each pool goroutine takes the same participant index on every
// call when it is free. A job whose tasks always touch the same memory (say
// the rows of a weight matrix that belong to part p) then finds that memory
// in the cache of the core that touched it last, instead of fetching it
// from another core. A participant that is done with its own tasks takes
// over the others' unstarted ones from the end of their ranges, so
// RunPinned never waits for a late participant, and a job cut into several
// tasks per participant balances itself when one core is slower than the
// other. At most 64 tasks; more is a programming error and panics.
func RunPinned(job Job, ntasks, maxWorkers int) {
	if ntasks > 64 {
		panic("parallel.RunPinned: more than 64 tasks")
	}
	run(job, ntasks, maxWorkers, true)
}

func run(job Job, ntasks, maxWorkers int, pinned bool) {
	if ntasks <= 0 {
		return
	}
	w := min(MaxWorkers(maxWorkers), ntasks)
	if w <= 1 {
		for t := 0; t < ntasks; t++ {
			job.Do(0, t)
		}
		return
	}
	mu.Lock()
	for started < w-1 {
		started++
		go helper(started)
	}
	var b *batch
	if n := len(free); n > 0 {
		b, free = free[n-1], free[:n-1]
	} else {
		b = &batch{done: make(chan struct{}, 1)}
	}
	mu.Unlock()

	b.job, b.ntasks, b.workers, b.pinned = job, int64(ntasks), int64(w), pinned
	b.next.Store(0)
	b.claimed.Store(0)
	b.ids.Store(1) // the caller is participant 0
	b.state.Store(0)
	for i := 0; i < w-1; i++ {
		select {
		case queue <- b:
		default: // queue full: the caller and whoever joins suffice
		}
	}
	b.work(0)
	if b.state.Or(closed)&^closed != 0 {
		// Helpers are finishing their last tasks; the last one out sends
		// on done. Poll for that send before receiving: parking here would
		// add a thread wake-up to every product, for the same reason
		// helpers spin (see spin), and a parked goroutine now and then
		// costs the runtime an allocation.
		spinUntil(func() bool { return len(b.done) != 0 })
		<-b.done
	}
	b.job = nil

	mu.Lock()
	free = append(free, b)
	mu.Unlock()
}

// MaxWorkers is an upper bound of worker indices Run passes to Do for a
// given maxWorkers argument, for sizing per-worker scratch space.
func MaxWorkers(maxWorkers int) int {
	w := Workers()
	if maxWorkers > 0 && maxWorkers < w {
		w = maxWorkers
	}
	return max(w, 1)
}

// Package parallel runs independent tasks on a pool of long-lived worker
// goroutines without allocating per call.
//
// Determinism is the caller's contract: tasks must write disjoint outputs
// and compute each output the same way whichever worker runs it. Then the
// result does not depend on GOMAXPROCS or scheduling. Run only decides who
// does which task, never how a task computes.
package parallel

import (
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
	next    atomic.Int64
	ids     atomic.Int64
	state   atomic.Int64
	done    chan struct{}
}

// work claims tasks until none are left.
func (b *batch) work(id int) {
	for {
		t := b.next.Add(1) - 1
		if t >= b.ntasks {
			return
		}
		b.job.Do(id, int(t))
	}
}

// help is what a pool goroutine does with a batch it received. The queue
// may deliver a batch after its Run has returned (or after the batch was
// reused by a later Run): joining is refused once a batch is closed, and a
// reused batch is a valid batch to help with.
func (b *batch) help() {
	for {
		s := b.state.Load()
		if s&closed != 0 {
			return
		}
		if b.state.CompareAndSwap(s, s+1) {
			break
		}
	}
	if id := b.ids.Add(1) - 1; id < b.workers {
		b.work(int(id))
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
// it blocks. Waking a blocked goroutine costs an OS thread wake-up (tens of
// microseconds in a VM), which is as long as a whole small GEMM; a training
// step issues its products a few microseconds to a few tens of
// microseconds apart, so a short spin keeps the helpers hot through a step
// while an idle process still goes quiet almost at once.
const spin = 100 * time.Microsecond

func helper() {
	for {
		if len(queue) == 0 {
			start := time.Now()
			for i := 1; len(queue) == 0; i++ {
				if i%128 == 0 && time.Since(start) > spin {
					break
				}
			}
		}
		b, ok := <-queue
		if !ok {
			return
		}
		b.help()
	}
}

// Workers returns the number of participants Run would use for many tasks:
// GOMAXPROCS.
func Workers() int { return runtime.GOMAXPROCS(0) }

// Run executes tasks 0..ntasks-1 of job on at most maxWorkers participants
// (the caller is one of them; maxWorkers <= 0 means GOMAXPROCS) and returns
// when all are done. Run never waits for a helper that has not started on
// the batch: busy helpers (with a concurrent or nested Run) are simply not
// used, and the caller does the remaining tasks itself, so Run cannot
// deadlock and needs no allocation in steady state.
func Run(job Job, ntasks, maxWorkers int) {
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
		go helper()
		started++
	}
	var b *batch
	if n := len(free); n > 0 {
		b, free = free[n-1], free[:n-1]
	} else {
		b = &batch{done: make(chan struct{}, 1)}
	}
	mu.Unlock()

	b.job, b.ntasks, b.workers = job, int64(ntasks), int64(w)
	b.next.Store(0)
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
		// Helpers are finishing their last tasks. Poll for a while before
		// blocking: parking here would add a thread wake-up to every
		// product, for the same reason helpers spin (see spin).
		start := time.Now()
		for i := 1; b.state.Load() != closed; i++ {
			if i%128 == 0 && time.Since(start) > spin {
				break
			}
		}
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

package parallel

import (
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Clock gaps (see trip) see only the preemptions of the spinning thread,
// and a VM's hiccups preempt spinning threads on a quiet machine too; they
// are used only where the stall counter below cannot be read.
// With one busy process on two cores the OS mostly leaves the spinning
// helper alone on its core and makes the thread it waits for share the
// other core with the busy process, so the spin wastes a core while the
// work waits for a time slice. What is wrong then is visible system-wide:
// a runnable thread is waiting for a CPU. Linux counts exactly that in its
// pressure stall information (PSI, Linux 4.20 and later): the "some" line
// of /proc/pressure/cpu ends in total=N, the microseconds during which at
// least one runnable task waited for a CPU, averaged over the CPUs with
// the weight of the time each was busy (so idle CPUs do not dilute it).
// One pread of the file costs about a microsecond.
//
// Measured on a 2-vCPU KVM guest (bench/RESULTS.md): with the 784-512-512-10
// step at two threads, the stall share over 200 ms windows was 3-7% on the
// quiet machine (10% with spinning off; the Go runtime's own threads wake
// up now and then) and 41-61% with one competing busy process, spinning or
// not: three runnable threads on two CPUs leave one CPU's queue with a
// waiting thread all the time, 50% of the busy CPU time. pressureHigh sits
// between the two. On a machine with more CPUs one waiting thread weighs
// less (25% of four busy CPUs), and pressureHigh still catches it there.
//
// The pool samples the counter at most every pressureEvery, from whichever
// thread starts to wait when a sample is due (so an idle process reads
// nothing), and spinning stays off while the stall share of the last
// window is at least pressureHigh. A window longer than pressureStale (the
// process was idle) is not judged: it says little about now.
const (
	pressureFile  = "/proc/pressure/cpu"
	pressureEvery = 4 * time.Millisecond
	pressureStale = 100 * time.Millisecond
	pressureHigh  = 0.2
)

// stallMonitor judges the stall counter read by read (see pressured).
type stallMonitor struct {
	read     func() (int64, bool)
	enabled  atomic.Bool
	sampling atomic.Bool  // a thread is taking a sample
	at       atomic.Int64 // ns after epoch of the last sample; 0 for none
	high     atomic.Bool  // the last window's stall share >= pressureHigh
	total    int64        // stall µs at the last sample; guarded by sampling
	highFor  atomic.Int64 // ns of windows judged high, for SpinStats
}

// stalls holds the pool's monitor of pressureFile (a pointer that tests
// swap while pool goroutines read it).
var stalls atomic.Pointer[stallMonitor]

func init() { stalls.Store(newStallMonitor(readPressure)) }

func newStallMonitor(read func() (int64, bool)) *stallMonitor {
	m := &stallMonitor{read: read}
	m.enabled.Store(true)
	return m
}

// SetPressure turns the use of the stall counter on (the default) or off,
// for benchmarks that compare spin policies in one process.
func SetPressure(on bool) {
	m := stalls.Load()
	m.enabled.Store(on)
	m.high.Store(false)
}

var pressureFd struct {
	open sync.Once
	f    *os.File // nil when the counter cannot be read
	mu   sync.Mutex
	buf  [256]byte // guarded by mu (a local array would escape to the heap)
}

// readPressure returns the "some" total of pressureFile, false when the
// file is absent (not Linux, an older kernel, PSI turned off with psi=0)
// or unreadable.
func readPressure() (int64, bool) {
	pressureFd.open.Do(func() {
		if f, err := os.Open(pressureFile); err == nil {
			pressureFd.f = f
		}
	})
	if pressureFd.f == nil {
		return 0, false
	}
	pressureFd.mu.Lock()
	defer pressureFd.mu.Unlock()
	n, err := pressureFd.f.ReadAt(pressureFd.buf[:], 0)
	if n == 0 && err != nil {
		return 0, false
	}
	return parseStallTotal(pressureFd.buf[:n])
}

// parseStallTotal returns the number after the first "total=" of the
// "some" line (the first line of a PSI file), without allocating.
func parseStallTotal(b []byte) (int64, bool) {
	const some, key = "some ", "total="
	if len(b) < len(some) || string(b[:len(some)]) != some {
		return 0, false
	}
	for i := len(some); i+len(key) <= len(b) && b[i] != '\n'; i++ {
		if string(b[i:i+len(key)]) != key {
			continue
		}
		var v int64
		j := i + len(key)
		for ; j < len(b) && b[j] >= '0' && b[j] <= '9'; j++ {
			if v > (1<<63-1-9)/10 {
				return 0, false
			}
			v = 10*v + int64(b[j]-'0')
		}
		if j == i+len(key) {
			return 0, false
		}
		return v, true
	}
	return 0, false
}

// usable reports whether the monitor is on and its counter readable (as
// far as known: before the first sample it is assumed to be).
func (m *stallMonitor) usable() bool {
	return m.enabled.Load() && m.at.Load() != 1<<62
}

// pressured reports whether the last judged window had a runnable thread
// waiting for a CPU for at least pressureHigh of the time, taking a new
// sample first when one is due.
func (m *stallMonitor) pressured(now time.Time) bool {
	if !m.enabled.Load() {
		return false
	}
	t := int64(now.Sub(epoch))
	last := m.at.Load()
	if t-last < int64(pressureEvery) || !m.sampling.CompareAndSwap(false, true) {
		return m.high.Load()
	}
	defer m.sampling.Store(false)
	total, ok := m.read()
	if !ok {
		// Not available: stop sampling for good (at far in the future).
		m.at.Store(1 << 62)
		m.high.Store(false)
		return false
	}
	if dt := t - last; last > 0 && dt > 0 && dt <= int64(pressureStale) {
		high := float64(total-m.total)*1e3/float64(dt) >= pressureHigh
		m.high.Store(high)
		if high {
			m.highFor.Add(dt)
		}
	}
	m.total = total
	m.at.Store(t)
	return m.high.Load()
}

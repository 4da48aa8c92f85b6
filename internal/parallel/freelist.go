package parallel

import "sync"

// FreeList recycles job objects (and the scratch they own), so that code
// which submits jobs allocates nothing in steady state. A sync.Pool would
// not do: it is emptied by every garbage collection, and a long training
// run would then allocate a job's scratch again after each one.
type FreeList[J any] struct {
	mu   sync.Mutex
	free []*J
}

// Get returns a recycled object, or a new zero one.
func (f *FreeList[J]) Get() *J {
	f.mu.Lock()
	defer f.mu.Unlock()
	if n := len(f.free); n > 0 {
		j := f.free[n-1]
		f.free = f.free[:n-1]
		return j
	}
	return new(J)
}

// Put returns j to the list for a later Get. The caller must not use j
// afterwards.
func (f *FreeList[J]) Put(j *J) {
	f.mu.Lock()
	f.free = append(f.free, j)
	f.mu.Unlock()
}

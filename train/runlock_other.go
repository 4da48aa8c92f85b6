//go:build !unix

package train

// processAlive cannot tell on this system: a lock is never taken over
// automatically, and the LockedError says which file to delete.
func processAlive(pid int) bool { return true }

package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// A run directory's lock is a file created with O_EXCL that holds the
// owner's process id, host, command line and start time as JSON. A lock
// whose process no longer runs on this host is stale and taken over; one
// from another host (a directory on a shared file system) cannot be
// checked and is respected.

// lockInfo is the content of a lock file.
type lockInfo struct {
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Command string    `json:"command"`
	Since   time.Time `json:"since"`
}

// LockedError reports a directory in use by another run.
type LockedError struct {
	// Lock is the lock file; PID, Host, Command and Since describe its
	// owner (zero when the file could not be read).
	Lock    string
	PID     int
	Host    string
	Command string
	Since   time.Time
}

// Error implements error.
func (e *LockedError) Error() string {
	dir := filepath.Dir(e.Lock)
	if e.PID == 0 {
		return fmt.Sprintf("%s is in use by another run (lock file %s); if no run is writing there, delete that file", dir, e.Lock)
	}
	who := fmt.Sprintf("pid %d", e.PID)
	if host, _ := os.Hostname(); e.Host != host {
		who += " on " + e.Host
	}
	if e.Command != "" {
		who += fmt.Sprintf(", %q", e.Command)
	}
	return fmt.Sprintf("%s is in use by another run (%s, since %s); wait for it to end or choose another output directory (if that process is gone, delete %s)",
		dir, who, e.Since.Format(time.DateTime), e.Lock)
}

// acquireLock creates the lock file path for this process, taking over a
// stale one.
func acquireLock(path string) error {
	host, _ := os.Hostname()
	me := lockInfo{PID: os.Getpid(), Host: host, Command: commandLine(), Since: time.Now().Truncate(time.Second)}
	b, _ := json.Marshal(me)
	for attempt := 0; ; attempt++ {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			_, err = f.Write(append(b, '\n'))
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				os.Remove(path)
			}
			return err
		}
		if !errors.Is(err, fs.ErrExist) {
			return err
		}
		info, stale := readLock(path)
		if !stale || attempt >= 5 {
			return &LockedError{Lock: path, PID: info.PID, Host: info.Host, Command: info.Command, Since: info.Since}
		}
		if err := removeStale(path); err != nil {
			return err
		}
	}
}

// readLock reads the lock file path and says whether it is stale: its
// process is gone, or it is unreadable and older than ten seconds (its
// writer died between creating and filling it).
func readLock(path string) (info lockInfo, stale bool) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return info, true
	}
	if err != nil || json.Unmarshal(b, &info) != nil || info.PID <= 0 {
		st, serr := os.Stat(path)
		return lockInfo{}, serr == nil && time.Since(st.ModTime()) > 10*time.Second
	}
	host, _ := os.Hostname()
	if info.Host != host || info.PID == os.Getpid() {
		return info, false
	}
	return info, !processAlive(info.PID)
}

// removeStale deletes the stale lock path under a guard file, so that of
// two processes that found it stale, the second does not delete the lock
// the first has just created: it reads the lock again under the guard.
func removeStale(path string) error {
	guard := path + ".takeover"
	g, err := os.OpenFile(guard, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		if st, serr := os.Stat(guard); serr == nil && time.Since(st.ModTime()) > 10*time.Second {
			os.Remove(guard) // its owner died while taking over
		}
		time.Sleep(50 * time.Millisecond)
		return nil
	}
	if err != nil {
		return err
	}
	g.Close()
	defer os.Remove(guard)
	if _, stale := readLock(path); stale {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// releaseLock removes the lock file path if this process holds it.
func releaseLock(path string) {
	var info lockInfo
	if b, err := os.ReadFile(path); err == nil && json.Unmarshal(b, &info) == nil && info.PID == os.Getpid() {
		os.Remove(path)
	}
}

// commandLine is this process's command line, shortened, for the message
// of a LockedError.
func commandLine() string {
	args := append([]string{filepath.Base(os.Args[0])}, os.Args[1:]...)
	s := strings.Join(args, " ")
	if len(s) > 100 {
		s = s[:97] + "..."
	}
	return s
}

package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gradflow/gradflow/internal/outfile"
	"github.com/gradflow/gradflow/tensor"
)

// The names of a run directory's files.
const (
	ConfigFile     = "config.json"
	MetricsFile    = "metrics.jsonl"
	CheckpointFile = "checkpoint.ckpt"
	ModelFile      = "model.safetensors"
	// LockFile holds the process id of the run writing the directory.
	LockFile = ".lock"
)

// RunFiles are the files whose presence means that a directory holds a
// run: a new run refuses such a directory, and OverwriteRun deletes them.
// They include the last finite state a diverged run leaves
// (LastFiniteCheckpoint of the checkpoint and of the model).
var RunFiles = []string{ConfigFile, MetricsFile, CheckpointFile, LastFiniteCheckpoint(CheckpointFile),
	ModelFile, LastFiniteCheckpoint(ModelFile)}

// RunMode says what OpenRunDir does with a directory that holds a run.
type RunMode int

const (
	// NewRun refuses a directory that holds a run (an *ExistingRunError).
	NewRun RunMode = iota
	// ResumeRun continues the run in the directory.
	ResumeRun
	// OverwriteRun replaces the run in the directory: Begin deletes its
	// files (RunFiles) before writing the new configuration.
	OverwriteRun
)

// RunDir is the output directory of one run, held under a lock file so
// that no other run writes into it at the same time. Its methods write
// every file atomically (a temporary file, synced, renamed over the old
// one): a run killed at any point leaves each file old or new, never
// half-written. Only metrics.jsonl grows by appends, one record a line.
//
// A command opens the directory first (OpenRunDir), checks and builds what
// it needs, and starts writing only then (Begin, or OpenMetrics after a
// resume); Close releases the lock and removes the directories
// OpenRunDir created if nothing was written into them, so that a command
// refused for bad input leaves nothing behind.
type RunDir struct {
	dir     string
	mode    RunMode
	lock    string
	created []string // directories OpenRunDir made, deepest first
	metrics metricsLog
}

// ExistingRunError is OpenRunDir's refusal of a directory that holds a
// run (NewRun mode).
type ExistingRunError struct {
	Dir   string
	Files []string // the RunFiles present
}

// Error implements error.
func (e *ExistingRunError) Error() string {
	return fmt.Sprintf("%s already holds a run (%s)", e.Dir, strings.Join(e.Files, ", "))
}

// OpenRunDir creates dir if needed, takes its lock (a *LockedError if
// another live process holds it; the lock of a process that no longer runs
// is taken over), refuses a directory holding a run in NewRun mode, and
// removes the temporary files that a killed writer left (outfile.IsTemp:
// ".checkpoint.ckpt.tmp*", ".config.json.tmp*", ...) in dir and its
// subdirectories.
func OpenRunDir(dir string, mode RunMode) (*RunDir, error) {
	d, err := openLocked(dir, LockFile)
	if err != nil {
		return nil, err
	}
	d.mode = mode
	if mode == NewRun {
		var present []string
		for _, f := range RunFiles {
			if _, err := os.Stat(d.Path(f)); err == nil {
				present = append(present, f)
			}
		}
		if len(present) > 0 {
			d.Close()
			return nil, &ExistingRunError{Dir: dir, Files: present}
		}
	}
	if err := removeTemp(dir); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// OpenSharedDir takes a lock of its own on dir for holder (".lock-<holder>"),
// for a directory that several processes write into by design, each its
// own files: the shards of a sweep. Two processes with the same holder
// exclude each other; nothing else is checked or cleaned up.
func OpenSharedDir(dir, holder string) (*RunDir, error) {
	safe := strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == ' ' {
			return '-'
		}
		return r
	}, holder)
	d, err := openLocked(dir, LockFile+"-"+safe)
	if err != nil {
		return nil, err
	}
	d.mode = ResumeRun
	return d, nil
}

// openLocked creates dir, remembering what it created, and takes the lock
// file name in it.
func openLocked(dir, name string) (*RunDir, error) {
	d := &RunDir{dir: dir, lock: filepath.Join(dir, name)}
	for p := filepath.Clean(dir); ; p = filepath.Dir(p) {
		if _, err := os.Stat(p); err == nil || p == filepath.Dir(p) {
			break
		}
		d.created = append(d.created, p)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := acquireLock(d.lock); err != nil {
		d.removeCreated()
		return nil, err
	}
	return d, nil
}

// removeTemp removes the temporary files of outfile and of checkpoints in
// dir and its immediate subdirectories.
func removeTemp(dir string) error {
	return filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case p == dir:
			return nil
		case outfile.IsTemp(e.Name()):
			if err := os.RemoveAll(p); err != nil {
				return err
			}
			if e.IsDir() {
				return fs.SkipDir
			}
		case e.IsDir() && filepath.Dir(p) != filepath.Clean(dir):
			return fs.SkipDir // deeper than one level
		}
		return nil
	})
}

// Dir returns the directory.
func (d *RunDir) Dir() string { return d.dir }

// Path returns the path of the file name in the directory.
func (d *RunDir) Path(name string) string { return filepath.Join(d.dir, name) }

// Begin starts a new run: in OverwriteRun mode it deletes the old run's
// files (RunFiles) first; then it writes config (the run's settings) to
// config.json.
func (d *RunDir) Begin(config []byte) error {
	if d.mode == OverwriteRun {
		for _, f := range RunFiles {
			if err := os.Remove(d.Path(f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	return d.WriteBytes(ConfigFile, config)
}

// WriteFile replaces the file name with what write produces, atomically
// (outfile.Write).
func (d *RunDir) WriteFile(name string, write func(io.Writer) error) error {
	return outfile.Write(d.Path(name), write)
}

// WriteBytes replaces the file name with b, atomically.
func (d *RunDir) WriteBytes(name string, b []byte) error { return outfile.WriteBytes(d.Path(name), b) }

// WriteJSON replaces the file name with v as indented JSON, atomically.
func (d *RunDir) WriteJSON(name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return d.WriteBytes(name, append(b, '\n'))
}

// Stage runs write on a temporary directory and moves the files it wrote
// into the run directory, each atomically (outfile.Stage): the way to save
// through functions that write into a directory (figures, study results).
func (d *RunDir) Stage(write func(dir string) error) error { return outfile.Stage(d.dir, write) }

// Checkpoint returns the checkpoint a resumed run continues from: the last
// finite state when the run diverged (LastFiniteCheckpoint, diverged
// true), else the regular one.
func (d *RunDir) Checkpoint() (path string, diverged bool) {
	lf := d.Path(LastFiniteCheckpoint(CheckpointFile))
	if _, err := os.Stat(lf); err == nil {
		return lf, true
	}
	return d.Path(CheckpointFile), false
}

// ClearDivergence makes the directory of a diverged run an ordinary
// interrupted one at its last finite state, once the run resumes from it
// with settings that may not diverge again: the last finite checkpoint
// replaces the regular one and the last finite model file is removed.
func (d *RunDir) ClearDivergence() error {
	lf, diverged := d.Checkpoint()
	if !diverged {
		return nil
	}
	if err := os.Rename(lf, d.Path(CheckpointFile)); err != nil {
		return err
	}
	err := os.Remove(d.Path(LastFiniteCheckpoint(ModelFile)))
	if errors.Is(err, fs.ErrNotExist) {
		err = nil
	}
	return err
}

// ResumeFromDir restores tr from the checkpoint of the run in d (the last
// finite state if the run diverged) and opens its metrics.jsonl for the
// session, cut back to that checkpoint (OpenMetrics; tee as there). A
// diverged run recorded the steps since its last record when it stopped:
// that record goes too, as the resumed run records those steps again; and
// the directory becomes that of an interrupted run (ClearDivergence), so
// resume it with settings that may not diverge again.
func ResumeFromDir[T tensor.Float](d *RunDir, tr *Trainer[T], tee io.Writer) (diverged bool, err error) {
	ckpt, diverged := d.Checkpoint()
	if err := tr.Resume(ckpt); err != nil {
		return diverged, err
	}
	after := tr.StepCount()
	if diverged && tr.stepsSinceRecord > 0 {
		after--
	}
	if err := d.OpenMetrics(after, tee); err != nil || !diverged {
		return diverged, err
	}
	return true, d.ClearDivergence()
}

// Metrics returns the writer of the run's metrics.jsonl, to give to
// Config.Metrics when the trainer is built; records reach the file once
// OpenMetrics has opened it.
func (d *RunDir) Metrics() io.Writer { return &d.metrics }

// OpenMetrics opens metrics.jsonl for the records of this session: empty
// for a new run (after < 0); for a resumed one, cut back to the records of
// steps up to after (the checkpoint's step: later records, written before
// the run was stopped, will be written again) and opened for appending.
// tee, if not nil, receives every record too.
func (d *RunDir) OpenMetrics(after int, tee io.Writer) error {
	path := d.Path(MetricsFile)
	flag := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	if after >= 0 {
		if err := truncateMetrics(path, after); err != nil {
			return err
		}
		flag = os.O_CREATE | os.O_WRONLY | os.O_APPEND
	}
	f, err := os.OpenFile(path, flag, 0o644)
	if err != nil {
		return err
	}
	d.metrics.f, d.metrics.w = f, f
	if tee != nil {
		d.metrics.w = io.MultiWriter(f, tee)
	}
	return nil
}

// truncateMetrics keeps the records of path up to step (inclusive),
// rewriting the file atomically if that drops any.
func truncateMetrics(path string, step int) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var keep []byte
	for line := range strings.Lines(string(b)) {
		var r struct {
			Step int `json:"step"`
		}
		if json.Unmarshal([]byte(line), &r) != nil || r.Step > step {
			break // a torn last line or a record past the checkpoint
		}
		keep = append(keep, line...)
	}
	if len(keep) == len(b) {
		return nil
	}
	return outfile.WriteBytes(path, keep)
}

// metricsLog is the writer Metrics returns.
type metricsLog struct {
	f *os.File
	w io.Writer
}

// Write implements io.Writer.
func (m *metricsLog) Write(p []byte) (int, error) {
	if m.w == nil {
		return 0, errors.New("train: a metrics record before RunDir.OpenMetrics")
	}
	return m.w.Write(p)
}

// Close closes metrics.jsonl, releases the lock and removes the
// directories OpenRunDir created if they are empty. It returns the error
// of closing metrics.jsonl (where a full disk shows).
func (d *RunDir) Close() error {
	var err error
	if d.metrics.f != nil {
		err = d.metrics.f.Close()
		d.metrics = metricsLog{}
	}
	if d.lock != "" {
		releaseLock(d.lock)
		d.lock = ""
	}
	d.removeCreated()
	return err
}

// removeCreated removes the directories OpenRunDir created, deepest first,
// as long as they are empty.
func (d *RunDir) removeCreated() {
	for _, p := range d.created {
		if os.Remove(p) != nil {
			break
		}
	}
	d.created = slices.Delete(d.created, 0, len(d.created))
}

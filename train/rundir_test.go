package train

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestRunDirNoClobber: a new run refuses a directory holding a run and
// names the files; ResumeRun takes it; OverwriteRun deletes the old run's
// files at Begin and leaves other files alone.
func TestRunDirNoClobber(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, ConfigFile), "{}")
	writeFile(t, filepath.Join(dir, "checkpoint.last-finite.ckpt"), "x")
	writeFile(t, filepath.Join(dir, "notes.txt"), "mine")
	_, err := OpenRunDir(dir, NewRun)
	var ex *ExistingRunError
	if !errors.As(err, &ex) || !slices.Equal(ex.Files, []string{ConfigFile, "checkpoint.last-finite.ckpt"}) {
		t.Fatalf("NewRun on a run: %v, want an ExistingRunError naming config.json and the last-finite checkpoint", err)
	}
	if _, err := os.Stat(filepath.Join(dir, LockFile)); !errors.Is(err, os.ErrNotExist) {
		t.Error("a refused open left its lock file")
	}
	d, err := OpenRunDir(dir, ResumeRun)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	d, err = OpenRunDir(dir, OverwriteRun)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Begin([]byte("{\"new\": 1}\n")); err != nil {
		t.Fatal(err)
	}
	d.Close()
	if b, _ := os.ReadFile(filepath.Join(dir, ConfigFile)); string(b) != "{\"new\": 1}\n" {
		t.Errorf("config.json after Begin: %q", b)
	}
	if _, err := os.Stat(filepath.Join(dir, "checkpoint.last-finite.ckpt")); !errors.Is(err, os.ErrNotExist) {
		t.Error("OverwriteRun kept the old run's last-finite checkpoint")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "notes.txt")); string(b) != "mine" {
		t.Error("OverwriteRun touched a file that is not the run's")
	}
}

// TestRunDirLock: a second open of a held directory is refused with the
// holder's pid; after Close it succeeds; the lock of a dead process is
// taken over; an unreadable fresh lock is respected.
func TestRunDirLock(t *testing.T) {
	dir := t.TempDir()
	d, err := OpenRunDir(dir, NewRun)
	if err != nil {
		t.Fatal(err)
	}
	_, err = OpenRunDir(dir, ResumeRun)
	var le *LockedError
	if !errors.As(err, &le) || le.PID != os.Getpid() || !strings.Contains(err.Error(), "pid "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("second open: %v, want a LockedError naming pid %d", err, os.Getpid())
	}
	d.Close()
	if d, err = OpenRunDir(dir, ResumeRun); err != nil {
		t.Fatalf("open after Close: %v", err)
	}
	d.Close()

	// A process that has exited: its pid is free.
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	dead, _ := json.Marshal(lockInfo{PID: cmd.Process.Pid, Host: host, Command: "train fit"})
	writeFile(t, filepath.Join(dir, LockFile), string(dead))
	d, err = OpenRunDir(dir, ResumeRun)
	if err != nil {
		t.Fatalf("stale lock of exited pid %d not taken over: %v", cmd.Process.Pid, err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, LockFile))
	var info lockInfo
	if json.Unmarshal(b, &info) != nil || info.PID != os.Getpid() {
		t.Errorf("lock after takeover holds %q, want this process", b)
	}
	d.Close()

	writeFile(t, filepath.Join(dir, LockFile), "")
	if _, err := OpenRunDir(dir, ResumeRun); !errors.As(err, &le) || !strings.Contains(err.Error(), "delete") {
		t.Errorf("fresh unreadable lock: %v, want a LockedError that says which file to delete", err)
	}
	// Another host's lock cannot be checked: respected.
	other, _ := json.Marshal(lockInfo{PID: cmd.Process.Pid, Host: host + "-other"})
	writeFile(t, filepath.Join(dir, LockFile), string(other))
	if _, err := OpenRunDir(dir, ResumeRun); !errors.As(err, &le) || !strings.Contains(err.Error(), host+"-other") {
		t.Errorf("another host's lock: %v, want a LockedError naming that host", err)
	}
}

// TestRunDirCleanup: stale temporary files are removed at open (top level
// and one level down), other files are kept; Close removes the
// directories the open created when nothing was written into them.
func TestRunDirCleanup(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "particles"), 0o755)
	os.MkdirAll(filepath.Join(dir, ".stage.tmp123", "figures"), 0o755)
	for _, f := range []string{".checkpoint.ckpt.tmp42", "particles/.mf_m64.csv.tmp7", "keep.tmp", "particles/a.csv"} {
		writeFile(t, filepath.Join(dir, f), "x")
	}
	d, err := OpenRunDir(dir, NewRun)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	var left []string
	filepath.WalkDir(dir, func(p string, _ os.DirEntry, _ error) error {
		rel, _ := filepath.Rel(dir, p)
		left = append(left, filepath.ToSlash(rel))
		return nil
	})
	if want := []string{".", "keep.tmp", "particles", "particles/a.csv"}; !slices.Equal(left, want) {
		t.Errorf("after open: %q, want %q", left, want)
	}

	fresh := filepath.Join(t.TempDir(), "out", "fit")
	d, err = OpenRunDir(fresh, NewRun)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	if _, err := os.Stat(filepath.Dir(fresh)); !errors.Is(err, os.ErrNotExist) {
		t.Error("Close kept the empty directories the open created")
	}
	d, _ = OpenRunDir(fresh, NewRun)
	d.Begin([]byte("{}"))
	d.Close()
	if _, err := os.Stat(filepath.Join(fresh, ConfigFile)); err != nil {
		t.Errorf("Close removed a directory holding a run: %v", err)
	}
}

// TestRunDirMetrics: records reach metrics.jsonl (and the tee) once it is
// opened; a resume cuts the file back to the checkpoint's step and
// appends; a torn last line is dropped.
func TestRunDirMetrics(t *testing.T) {
	dir := t.TempDir()
	d, err := OpenRunDir(dir, NewRun)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Metrics().Write([]byte("{}\n")); err == nil {
		t.Error("a record before OpenMetrics was accepted")
	}
	var tee strings.Builder
	if err := d.OpenMetrics(-1, &tee); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"1", "2", "3"} {
		io.WriteString(d.Metrics(), `{"step":`+s+"}\n")
	}
	io.WriteString(d.Metrics(), `{"step":4,"lo`)
	d.Close()
	if !strings.HasPrefix(tee.String(), `{"step":1}`) {
		t.Errorf("tee got %q", tee.String())
	}
	d, _ = OpenRunDir(dir, ResumeRun)
	if err := d.OpenMetrics(2, nil); err != nil {
		t.Fatal(err)
	}
	io.WriteString(d.Metrics(), `{"step":3}`+"\n")
	d.Close()
	b, _ := os.ReadFile(filepath.Join(dir, MetricsFile))
	if want := "{\"step\":1}\n{\"step\":2}\n{\"step\":3}\n"; string(b) != want {
		t.Errorf("metrics after resume at step 2: %q, want %q", b, want)
	}
}

// TestRunDirClearDivergence: the last finite checkpoint becomes the
// run's checkpoint and the last finite model goes.
func TestRunDirClearDivergence(t *testing.T) {
	dir := t.TempDir()
	d, err := OpenRunDir(dir, ResumeRun)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if p, div := d.Checkpoint(); div || p != filepath.Join(dir, CheckpointFile) {
		t.Errorf("Checkpoint() = %s, %v before a divergence", p, div)
	}
	writeFile(t, filepath.Join(dir, CheckpointFile), "step 20")
	writeFile(t, filepath.Join(dir, "checkpoint.last-finite.ckpt"), "step 28")
	writeFile(t, filepath.Join(dir, "model.last-finite.safetensors"), "m")
	if p, div := d.Checkpoint(); !div || filepath.Base(p) != "checkpoint.last-finite.ckpt" {
		t.Errorf("Checkpoint() = %s, %v after a divergence", p, div)
	}
	if err := d.ClearDivergence(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, CheckpointFile)); string(b) != "step 28" {
		t.Errorf("checkpoint after ClearDivergence holds %q, want the last finite state", b)
	}
	if _, div := d.Checkpoint(); div {
		t.Error("still diverged after ClearDivergence")
	}
	if _, err := os.Stat(filepath.Join(dir, "model.last-finite.safetensors")); !errors.Is(err, os.ErrNotExist) {
		t.Error("the last finite model is still there")
	}
}

// TestSharedDir: holders of different names share a directory; the same
// holder twice is refused.
func TestSharedDir(t *testing.T) {
	dir := t.TempDir()
	a, err := OpenSharedDir(dir, "shard 0/2")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := OpenSharedDir(dir, "shard 1/2")
	if err != nil {
		t.Fatalf("another shard: %v", err)
	}
	defer b.Close()
	if _, err := OpenSharedDir(dir, "shard 0/2"); err == nil {
		t.Error("the same shard twice was not refused")
	}
}

// TestResumeFromDir: a run in a RunDir diverges; ResumeFromDir with a
// sane rate continues from the last finite step, drops the record the
// divergence wrote for the steps it had not recorded yet, and leaves an
// ordinary run directory.
func TestResumeFromDir(t *testing.T) {
	dir := t.TempDir()
	d, err := OpenRunDir(dir, NewRun)
	if err != nil {
		t.Fatal(err)
	}
	s := newSetup[float64](t, 1, 32, 5)
	cfg := s.config()
	cfg.Epochs, cfg.MaxLossRatio, cfg.Evals = 5, 1000, nil // evaluating diverged parameters gives NaN
	cfg.Metrics, cfg.Checkpoint = d.Metrics(), d.Path(CheckpointFile)
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Begin([]byte("{}")); err != nil {
		t.Fatal(err)
	}
	if err := d.OpenMetrics(-1, nil); err != nil {
		t.Fatal(err)
	}
	_, err = tr.Run(context.Background())
	d.Close()
	var div *DivergenceError
	if !errors.As(err, &div) {
		t.Fatalf("want a divergence, got %v", err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, MetricsFile))
	if !strings.Contains(string(b), `"step":`+strconv.Itoa(div.Step-1)+",") {
		t.Fatalf("no record of the steps before the divergence at step %d: %s", div.Step, b)
	}

	d, err = OpenRunDir(dir, ResumeRun)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	s2 := newSetup[float64](t, 1, 32, 0.01)
	cfg2 := s2.config()
	cfg2.Epochs, cfg2.Evals, cfg2.Metrics, cfg2.Checkpoint = 1, nil, d.Metrics(), d.Path(CheckpointFile)
	tr2, err := New(cfg2)
	if err != nil {
		t.Fatal(err)
	}
	diverged, err := ResumeFromDir(d, tr2, nil)
	if err != nil || !diverged || tr2.StepCount() != div.Step-1 {
		t.Fatalf("ResumeFromDir: diverged %v, step %d, %v; want true, step %d", diverged, tr2.StepCount(), err, div.Step-1)
	}
	recs, err := ReadRecords(strings.NewReader(string(mustRead(t, filepath.Join(dir, MetricsFile)))))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Step >= div.Step-1 {
			t.Errorf("record of step %d kept after resuming at step %d", r.Step, div.Step-1)
		}
	}
	if _, again := d.Checkpoint(); again {
		t.Error("the directory still holds a diverged run")
	}
	if _, err := tr2.Run(context.Background()); err != nil {
		t.Fatalf("resumed run at lr 0.01: %v", err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

package outfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.txt")
	if err := Write(path, func(w io.Writer) error { _, err := fmt.Fprint(w, "hello"); return err }); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "hello" {
		t.Fatalf("file holds %q (%v), want hello", b, err)
	}
	// The writer's error comes back, not hidden by the flush.
	bad := errors.New("bad row")
	if err := Write(path, func(w io.Writer) error { fmt.Fprint(w, "half"); return bad }); !errors.Is(err, bad) {
		t.Errorf("Write returned %v, want the writer's error", err)
	}
	// A failed write leaves the old contents and no temporary file.
	if b, _ := os.ReadFile(path); string(b) != "hello" {
		t.Errorf("after a failed write the file holds %q, want the old hello", b)
	}
	if left, _ := os.ReadDir(filepath.Dir(path)); len(left) != 1 {
		t.Errorf("files after a failed write: %v, want only the target", left)
	}
	if err := WriteBytes(path, []byte("bye")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "bye" {
		t.Errorf("WriteBytes: file holds %q", b)
	}
	if err := Write(filepath.Join(t.TempDir(), "no", "dir"), func(io.Writer) error { return nil }); err == nil {
		t.Error("Write into a missing directory succeeded")
	}
}

// TestWriteKeepsOldOnError: a failed write leaves the old file whole and
// no temporary file behind; a successful one replaces it with mode 0644.
func TestWriteKeepsOldOnError(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.json")
	if err := WriteBytes(path, []byte("old")); err != nil {
		t.Fatal(err)
	}
	bad := errors.New("disk full")
	err := Write(path, func(w io.Writer) error {
		fmt.Fprint(w, "half of the new")
		return bad
	})
	if !errors.Is(err, bad) {
		t.Fatalf("Write returned %v, want the writer's error", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Fatalf("after a failed write the file holds %q, want the old contents", b)
	}
	if err := WriteBytes(path, []byte("new")); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if b, _ := os.ReadFile(path); string(b) != "new" || err != nil || st.Mode().Perm() != 0o644 {
		t.Fatalf("file holds %q with mode %v (%v), want new and 0644", b, st.Mode(), err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries, want only config.json: %v", len(entries), entries)
	}
}

// TestStage: files written to the stage, in subdirectories too, land
// under dir; a failing writer moves nothing; no stage directory remains.
func TestStage(t *testing.T) {
	dir := t.TempDir()
	err := Stage(dir, func(tmp string) error {
		os.MkdirAll(filepath.Join(tmp, "figures"), 0o755)
		os.WriteFile(filepath.Join(tmp, "a.json"), []byte("a"), 0o644)
		return os.WriteFile(filepath.Join(tmp, "figures", "b.svg"), []byte("b"), 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"a.json": "a", "figures/b.svg": "b"} {
		if b, err := os.ReadFile(filepath.Join(dir, name)); string(b) != want {
			t.Errorf("%s holds %q (%v), want %q", name, b, err, want)
		}
	}
	bad := errors.New("figure failed")
	err = Stage(dir, func(tmp string) error {
		os.WriteFile(filepath.Join(tmp, "a.json"), []byte("partial"), 0o644)
		return bad
	})
	if !errors.Is(err, bad) {
		t.Fatalf("Stage returned %v, want the writer's error", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a.json")); string(b) != "a" {
		t.Errorf("a failed stage replaced a.json with %q", b)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if IsTemp(e.Name()) {
			t.Errorf("stage directory %s left behind", e.Name())
		}
	}
}

func TestIsTemp(t *testing.T) {
	for name, want := range map[string]bool{
		".checkpoint.ckpt.tmp123": true, ".stage.tmp9": true, ".config.json.tmp1": true,
		"config.json": false, "run.tmp": false, ".lock": false,
	} {
		if IsTemp(name) != want {
			t.Errorf("IsTemp(%q) = %v, want %v", name, !want, want)
		}
	}
}

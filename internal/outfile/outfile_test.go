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
	if left, _ := filepath.Glob(TempPattern(path)); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
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

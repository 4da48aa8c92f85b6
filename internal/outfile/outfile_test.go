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
	if err := Write(path, func(io.Writer) error { return bad }); !errors.Is(err, bad) {
		t.Errorf("Write returned %v, want the writer's error", err)
	}
	if err := Write(filepath.Join(t.TempDir(), "no", "dir"), func(io.Writer) error { return nil }); err == nil {
		t.Error("Write into a missing directory succeeded")
	}
}

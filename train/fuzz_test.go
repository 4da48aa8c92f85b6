package train

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// FuzzResume feeds arbitrary bytes to Resume: it must return an error or
// succeed, never panic, and a refused file must leave the parameters as
// they were.
func FuzzResume(f *testing.F) {
	s := newSetup[float32](f, 1, 8, 0.05)
	cfg := s.config()
	cfg.Steps = 3
	tr, err := New(cfg)
	if err != nil {
		f.Fatal(err)
	}
	if _, err := tr.Run(context.Background()); err != nil {
		f.Fatal(err)
	}
	dir := f.TempDir()
	good := filepath.Join(dir, "good.ckpt")
	if err := tr.SaveCheckpoint(good); err != nil {
		f.Fatal(err)
	}
	b, _ := os.ReadFile(good)
	f.Add(b)
	f.Add(b[:len(b)-1])
	f.Add([]byte(checkpointMagic))
	before := append([]float32(nil), s.model.Params()[0].Value.Data()...)
	f.Fuzz(func(t *testing.T, in []byte) {
		p := filepath.Join(t.TempDir(), "c")
		if err := os.WriteFile(p, in, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := tr.Resume(p); err != nil {
			for i, v := range s.model.Params()[0].Value.Data() {
				if v != before[i] {
					t.Fatalf("refused checkpoint changed parameter 0[%d]", i)
				}
			}
			return
		}
		// Accepted: restore the reference state for the next input.
		if err := tr.Resume(good); err != nil {
			t.Fatal(err)
		}
	})
}

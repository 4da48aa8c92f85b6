package train

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestProgress: one line per record off a terminal, naming the epoch,
// step and test metrics; TotalSteps is the smaller of the two budgets.
func TestProgress(t *testing.T) {
	s := newSetup[float32](t, 1, 16, 0.05)
	var out strings.Builder
	p := NewProgress[float32](&out, 0)
	p.r.Delay = time.Hour // no step line on a slow machine: records only
	cfg := s.config()
	cfg.Epochs, cfg.Steps, cfg.Callbacks = 2, 0, []Callback[float32]{p}
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tr.TotalSteps(), 2*s.loader.BatchesPerEpoch(); got != want {
		t.Errorf("TotalSteps %d, want %d (2 epochs)", got, want)
	}
	if _, err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.Done()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[1], "epoch 2 step ") || !strings.Contains(lines[1], "test_acc") || strings.Contains(out.String(), "\r") {
		t.Fatalf("progress wrote %q, want two record lines and no redrawn bar", out.String())
	}
	cfg.Steps = 5
	if tr, err = New(cfg); err != nil || tr.TotalSteps() != 5 {
		t.Errorf("TotalSteps with -steps 5: %d (%v)", tr.TotalSteps(), err)
	}
}

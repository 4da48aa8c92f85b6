package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/gradflow/gradflow/tensor"
	"github.com/gradflow/gradflow/train"
)

// progress shows the run: a redrawn bar on a terminal (at most ten times a
// second), or one plain line per record when stderr is a file or pipe.
type progress[T tensor.Float] struct {
	w                      io.Writer
	tty, enabled           bool
	epochs, steps, perEpch int
	last                   time.Time
	drawn                  bool
}

func newProgress[T tensor.Float](w io.Writer, epochs, steps, perEpoch int, enabled bool) *progress[T] {
	tty := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	return &progress[T]{w: w, tty: tty, enabled: enabled, epochs: epochs, steps: steps, perEpch: perEpoch}
}

func (p *progress[T]) total() int {
	t := p.steps
	if p.epochs > 0 && (t == 0 || p.epochs*p.perEpch < t) {
		t = p.epochs * p.perEpch
	}
	return t
}

// OnStep implements train.Callback.
func (p *progress[T]) OnStep(s *train.Step[T]) error {
	if !p.enabled || !p.tty {
		return nil
	}
	now := time.Now()
	if now.Sub(p.last) < 100*time.Millisecond {
		return nil
	}
	p.last = now
	total := p.total()
	frac := float64(s.Step) / float64(max(total, 1))
	const width = 30
	n := int(frac * width)
	bar := strings.Repeat("=", n) + strings.Repeat(" ", width-n)
	fmt.Fprintf(p.w, "\r[%s] %3.0f%%  step %d/%d  epoch %d  loss %.4f  lr %.3g ", bar, 100*frac, s.Step, total, s.Epoch+1, s.Loss, s.LR)
	p.drawn = true
	return nil
}

// OnRecord implements train.Callback.
func (p *progress[T]) OnRecord(r *train.Record) error {
	if !p.enabled {
		return nil
	}
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
	line := fmt.Sprintf("epoch %d step %d  loss %.4f", r.Epoch, r.Step, r.Loss)
	if r.Accuracy != nil {
		line += fmt.Sprintf("  acc %.2f%%", 100**r.Accuracy)
	}
	for name, m := range r.Evals {
		line += fmt.Sprintf("  %s_loss %.4f", name, m["loss"])
		if a, ok := m["accuracy"]; ok {
			line += fmt.Sprintf("  %s_acc %.2f%%", name, 100*a)
		}
	}
	line += fmt.Sprintf("  %.0f samples/s", r.SamplesPerSec)
	fmt.Fprintln(p.w, line)
	return nil
}

func (p *progress[T]) done() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

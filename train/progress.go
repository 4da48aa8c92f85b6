package train

import (
	"fmt"
	"io"
	"strings"

	"github.com/gradflow/gradflow/internal/progress"
	"github.com/gradflow/gradflow/tensor"
)

// Progress is a Callback that shows a run to the person watching it, on w
// (stderr, typically): on a terminal a bar with the step, epoch, loss and
// learning rate, redrawn at most ten times a second; at every record a line
// with the record's metrics, on a terminal or not; elsewhere, when no line
// has been printed for a while (2 s after the start, then 10 s), a line
// with the step. Call Done when Run returns, to erase the bar.
type Progress[T tensor.Float] struct {
	r     *progress.Reporter
	total int
}

// NewProgress returns a Progress writing to w, its bar out of total steps
// (SetTotal; Trainer.TotalSteps gives a run's).
func NewProgress[T tensor.Float](w io.Writer, total int) *Progress[T] {
	return &Progress[T]{r: progress.New(w), total: total}
}

// SetTotal sets the number of steps the bar counts to.
func (p *Progress[T]) SetTotal(steps int) { p.total = steps }

// OnStep implements Callback.
func (p *Progress[T]) OnStep(s *Step[T]) error {
	switch {
	case p.r.Due():
		p.r.Bar(s.Step, p.total, fmt.Sprintf("epoch %d  loss %.4f  lr %.3g", s.Epoch+1, s.Loss, s.LR))
	case p.r.LogDue():
		p.r.Println(fmt.Sprintf("step %d/%d  epoch %d  loss %.4f  lr %.3g", s.Step, p.total, s.Epoch+1, s.Loss, s.LR))
	}
	return nil
}

// OnRecord implements Callback.
func (p *Progress[T]) OnRecord(r *Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "epoch %d step %d  loss %.4f", r.Epoch, r.Step, r.Loss)
	if r.Accuracy != nil {
		fmt.Fprintf(&b, "  acc %.2f%%", 100**r.Accuracy)
	}
	for name, m := range r.Evals {
		fmt.Fprintf(&b, "  %s_loss %.4f", name, m["loss"])
		if a, ok := m["accuracy"]; ok {
			fmt.Fprintf(&b, "  %s_acc %.2f%%", name, 100*a)
		}
	}
	fmt.Fprintf(&b, "  %.0f samples/s", r.SamplesPerSec)
	p.r.Println(b.String())
	return nil
}

// Done erases the bar.
func (p *Progress[T]) Done() { p.r.Clear() }

// TotalSteps returns the number of steps the run takes unless it stops
// early: the Steps budget or Epochs times the batches of an epoch,
// whichever is reached first.
func (tr *Trainer[T]) TotalSteps() int {
	total := tr.cfg.Steps
	if e := tr.cfg.Epochs * tr.cfg.Train.BatchesPerEpoch(); tr.cfg.Epochs > 0 && (total == 0 || e < total) {
		total = e
	}
	return total
}

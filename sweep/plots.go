package sweep

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gradflow/gradflow/internal/figure"
)

// fileName turns a metric or group name into a file name without brackets,
// spaces or signs that shells and file systems treat specially.
func fileName(s string) string {
	r := strings.NewReplacer("[", "_", "]", "", "-", "m", " ", "_", "=", "", "/", "_")
	return r.Replace(s)
}

// sweepFigure is the layout of every figure of a sweep: large enough for a
// legend line per group or width.
func sweepFigure(title, xlabel, ylabel string, logX bool) figure.Plot {
	return figure.Plot{Title: title, XLabel: xlabel, YLabel: ylabel, LogX: logX, LogY: true,
		Width: 7, Height: 5, Markers: true}
}

// WriteFigures writes to dir, as PNG and SVG: for every metric of Metrics a
// log-log plot of its geometric mean over seeds at the last step against
// the width, one line per group (file <metric>_vs_width), and for every
// group the training-loss curves of each width averaged over seeds
// (file loss_<group>). A figure with nothing to draw (a metric no run
// measured) is not written.
func (r *Report) WriteFigures(dir string) error {
	for _, m := range r.Metrics() {
		p := sweepFigure(m+" at step "+fmt.Sprint(r.Config.Steps), "width", m, true)
		for _, g := range r.Groups() {
			f, err := r.Fit(m, g, -1)
			if err != nil {
				continue
			}
			s := figure.Series{Name: fmt.Sprintf("%s (slope %+.2f)", g, f.Slope), Y: f.Mean}
			for _, w := range f.Widths {
				s.X = append(s.X, float64(w))
			}
			p.Series = append(p.Series, s)
		}
		if err := p.Save(dir, fileName(m)+"_vs_width"); err != nil && !errors.Is(err, figure.ErrEmpty) {
			return err
		}
	}
	for _, g := range r.Groups() {
		p := sweepFigure("training loss, "+g.String(), "step", "loss", false)
		for _, w := range r.Config.Widths {
			p.Series = append(p.Series, r.meanLoss(g, w))
		}
		if err := p.Save(dir, "loss_"+fileName(g.String())); err != nil && !errors.Is(err, figure.ErrEmpty) {
			return err
		}
	}
	return nil
}

// meanLoss is the training-loss curve of group g at width w, averaged over
// the seeds that recorded each step.
func (r *Report) meanLoss(g Group, w int) figure.Series {
	sum := map[int]float64{}
	cnt := map[int]int{}
	var steps []int
	for _, run := range r.Runs {
		if groupOf(run.Spec) != g || run.Spec.Width != w {
			continue
		}
		for _, rec := range run.Records {
			if cnt[rec.Step] == 0 {
				steps = append(steps, rec.Step)
			}
			sum[rec.Step] += rec.Loss
			cnt[rec.Step]++
		}
	}
	s := figure.Series{Name: fmt.Sprintf("n=%d", w)}
	for _, st := range steps {
		s.X = append(s.X, float64(st))
		s.Y = append(s.Y, sum[st]/float64(cnt[st]))
	}
	return s
}

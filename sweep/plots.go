package sweep

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// series is one line of a figure.
type series struct {
	name string
	xy   plotter.XYs
}

// savePlot draws the series on log-log (or, if !logY, log-linear) axes and
// writes dir/name.png and dir/name.svg. Non-positive points are dropped,
// since a logarithmic axis cannot show them.
func savePlot(dir, name, title, xlabel, ylabel string, logX, logY bool, lines []series) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	if logX {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{}
	}
	if logY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{}
	}
	var args []any
	for _, s := range lines {
		var pts plotter.XYs
		for _, q := range s.xy {
			if (!logX || q.X > 0) && (!logY || q.Y > 0) && !math.IsNaN(q.Y) && !math.IsInf(q.Y, 0) {
				pts = append(pts, q)
			}
		}
		if len(pts) > 0 {
			args = append(args, s.name, pts)
		}
	}
	if len(args) == 0 {
		return nil
	}
	if err := plotutil.AddLinePoints(p, args...); err != nil {
		return err
	}
	p.Legend.Top = true
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, ext := range []string{".png", ".svg"} {
		if err := p.Save(7*vg.Inch, 5*vg.Inch, filepath.Join(dir, name+ext)); err != nil {
			return err
		}
	}
	return nil
}

func fileName(s string) string {
	r := strings.NewReplacer("[", "_", "]", "", "-", "m", " ", "_", "=", "", "/", "_")
	return r.Replace(s)
}

// WriteFigures writes to dir, as PNG and SVG: for every metric of Metrics a
// log-log plot of its geometric mean over seeds at the last step against
// the width, one line per group (file <metric>_vs_width), and for every
// group the training-loss curves of each width averaged over seeds
// (file loss_<group>).
func (r *Report) WriteFigures(dir string) error {
	for _, m := range r.Metrics() {
		var lines []series
		for _, g := range r.Groups() {
			f, err := r.Fit(m, g, -1)
			if err != nil {
				continue
			}
			var xy plotter.XYs
			for i, w := range f.Widths {
				xy = append(xy, plotter.XY{X: float64(w), Y: f.Mean[i]})
			}
			lines = append(lines, series{fmt.Sprintf("%s (slope %+.2f)", g, f.Slope), xy})
		}
		if err := savePlot(dir, fileName(m)+"_vs_width", m+" at step "+fmt.Sprint(r.Config.Steps), "width", m, true, true, lines); err != nil {
			return err
		}
	}
	for _, g := range r.Groups() {
		var lines []series
		for _, w := range r.Config.Widths {
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
			var xy plotter.XYs
			for _, s := range steps {
				xy = append(xy, plotter.XY{X: float64(s), Y: sum[s] / float64(cnt[s])})
			}
			lines = append(lines, series{fmt.Sprintf("n=%d", w), xy})
		}
		if err := savePlot(dir, "loss_"+fileName(g.String()), "training loss, "+g.String(), "step", "loss", false, true, lines); err != nil {
			return err
		}
	}
	return nil
}

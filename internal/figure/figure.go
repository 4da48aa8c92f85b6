// Package figure is gradflow's one way to draw a figure: line plots (with
// optional error bars, log axes and a dashed reference line) and heatmaps,
// each written as PNG and SVG side by side. Every command and library
// report that draws goes through it, so that sizes, legends, tick labels
// and the handling of points a log axis cannot show are the same
// everywhere.
package figure

import (
	"errors"
	"math"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Series is one line of a plot.
type Series struct {
	Name string
	X, Y []float64
	// YErr, if not nil, holds symmetric error bars (one per point).
	YErr []float64
	// Dashed draws a reference line (such as a stability threshold)
	// dashed and without point markers.
	Dashed bool
}

// Plot is a line plot.
type Plot struct {
	Title, XLabel, YLabel string
	LogX, LogY            bool
	Series                []Series
	// Width and Height are in inches; zero means 6 x 4.
	Width, Height float64
	// LegendBottom and LegendLeft move the legend from the top right.
	LegendBottom, LegendLeft bool
	// Markers draws point markers on the solid lines.
	Markers bool
}

// ErrEmpty is returned by Save when no series has a point that can be
// drawn.
var ErrEmpty = errors.New("figure: nothing to draw")

// Save writes dir/name.png and dir/name.svg (creating dir). Points that
// cannot be drawn are dropped: NaN and infinite values, and values <= 0 on a
// logarithmic axis. When no point is left it writes nothing and returns
// ErrEmpty.
func (f Plot) Save(dir, name string) error {
	p := plot.New()
	p.Title.Text = f.Title
	p.X.Label.Text = f.XLabel
	p.Y.Label.Text = f.YLabel
	if f.LogX {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	if f.LogY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	drawn := 0
	for i, s := range f.Series {
		pts, errs := f.keep(s)
		if len(pts) == 0 {
			continue
		}
		drawn++
		l, err := plotter.NewLine(pts)
		if err != nil {
			return err
		}
		l.Color = plotutil.Color(i)
		if s.Dashed {
			l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
			p.Add(l)
			p.Legend.Add(s.Name, l)
			continue
		}
		l.Dashes = plotutil.Dashes(i)
		thumbs := []plot.Thumbnailer{l}
		p.Add(l)
		if f.Markers {
			sc, err := plotter.NewScatter(pts)
			if err != nil {
				return err
			}
			sc.Color = plotutil.Color(i)
			sc.Shape = plotutil.Shape(i)
			p.Add(sc)
			thumbs = append(thumbs, sc)
		}
		if errs != nil {
			eb, err := plotter.NewYErrorBars(errPoints{pts, errs})
			if err != nil {
				return err
			}
			eb.Color = plotutil.Color(i)
			p.Add(eb)
		}
		if s.Name != "" {
			p.Legend.Add(s.Name, thumbs...)
		}
	}
	if drawn == 0 {
		return ErrEmpty
	}
	widenLog(&p.X, f.LogX)
	widenLog(&p.Y, f.LogY)
	p.Legend.Top = !f.LegendBottom
	p.Legend.Left = f.LegendLeft
	return save(p, dir, name, f.Width, f.Height)
}

// widenLog gives a logarithmic axis whose points share one value (a single
// width, a flat line) a range of a factor 4 around it: plot widens such an
// axis by -1 and +1, which for a value below 1 reaches zero or below and
// cannot be drawn on a log scale.
func widenLog(a *plot.Axis, log bool) {
	if log && a.Min == a.Max {
		a.Min, a.Max = a.Min/2, a.Max*2
	}
}

// keep returns the drawable points of s and their error bars.
func (f Plot) keep(s Series) (plotter.XYs, plotter.YErrors) {
	var pts plotter.XYs
	var errs plotter.YErrors
	for i := range min(len(s.X), len(s.Y)) {
		x, y := s.X[i], s.Y[i]
		if !finite(x) || !finite(y) || f.LogX && x <= 0 || f.LogY && y <= 0 {
			continue
		}
		pts = append(pts, plotter.XY{X: x, Y: y})
		if s.YErr != nil {
			e := s.YErr[i]
			if !finite(e) {
				e = 0
			}
			errs = append(errs, struct{ Low, High float64 }{e, e})
		}
	}
	return pts, errs
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// errPoints are points with symmetric vertical error bars.
type errPoints struct {
	plotter.XYs
	plotter.YErrors
}

// Heatmap draws a square or rectangular matrix, row 0 at the top as in a
// printed matrix, with a colour bar.
type Heatmap struct {
	Title, XLabel, YLabel string
	// Rows and Cols are the matrix size; At returns entry (i, j).
	Rows, Cols int
	At         func(i, j int) float64
	// Width and Height are in inches; zero means 6 x 5.
	Width, Height float64
}

// Save writes dir/name.png and dir/name.svg. The cells are rasterized, so
// the SVG stays small for large matrices.
func (h Heatmap) Save(dir, name string) error {
	if h.Rows <= 0 || h.Cols <= 0 || h.At == nil {
		return ErrEmpty
	}
	g := grid{h}
	lo, hi := math.Inf(1), math.Inf(-1)
	for i := range h.Rows {
		for j := range h.Cols {
			if v := h.At(i, j); finite(v) {
				lo, hi = min(lo, v), max(hi, v)
			}
		}
	}
	if lo > hi {
		return ErrEmpty
	}
	if lo == hi {
		hi = lo + 1
	}
	cm := moreland.Kindlmann()
	cm.SetMax(hi)
	cm.SetMin(lo)
	hm := plotter.NewHeatMap(g, cm.Palette(256))
	hm.Min, hm.Max = lo, hi
	hm.Rasterized = true
	p := plot.New()
	p.Title.Text = h.Title
	p.X.Label.Text = h.XLabel
	p.Y.Label.Text = h.YLabel
	p.Add(hm)
	n := h.Rows
	p.Y.Tick.Marker = plot.TickerFunc(func(lo, hi float64) []plot.Tick {
		ticks := plot.DefaultTicks{}.Ticks(0, float64(n-1))
		for i := range ticks {
			ticks[i].Value = float64(n-1) - ticks[i].Value
		}
		return ticks
	})
	// The colour bar: a one-column plot of the palette's range, placed
	// to the right of the matrix.
	bar := plot.New()
	bar.HideX()
	bar.Y.Padding = 0
	bar.Title.Text = " "
	l := &plotter.ColorBar{ColorMap: cm, Vertical: true}
	bar.Add(l)
	w, ht := h.Width, h.Height
	if w == 0 {
		w, ht = 6, 5
	}
	return saveTiles(dir, name, w, ht, p, bar)
}

// grid presents a Heatmap to plotter.HeatMap (column c, row r from the
// bottom).
type grid struct{ h Heatmap }

func (g grid) Dims() (c, r int)   { return g.h.Cols, g.h.Rows }
func (g grid) Z(c, r int) float64 { return g.h.At(g.h.Rows-1-r, c) }
func (g grid) X(c int) float64    { return float64(c) }
func (g grid) Y(r int) float64    { return float64(r) }
func save(p *plot.Plot, dir, name string, w, h float64) error {
	if w == 0 {
		w, h = 6, 4
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, ext := range []string{".png", ".svg"} {
		if err := p.Save(vg.Length(w)*vg.Inch, vg.Length(h)*vg.Inch, filepath.Join(dir, name+ext)); err != nil {
			return err
		}
	}
	return nil
}

// saveTiles draws main and, in a narrow column to its right, side.
func saveTiles(dir, name string, w, h float64, main, side *plot.Plot) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, ext := range []string{"png", "svg"} {
		c, err := draw.NewFormattedCanvas(vg.Length(w)*vg.Inch, vg.Length(h)*vg.Inch, ext)
		if err != nil {
			return err
		}
		dc := draw.New(c)
		split := dc.Max.X - (dc.Max.X-dc.Min.X)*0.14
		left, right := dc, dc
		left.Max.X = split
		right.Min.X = split
		main.Draw(left)
		side.Draw(right)
		f, err := os.Create(filepath.Join(dir, name+"."+ext))
		if err != nil {
			return err
		}
		if _, err := c.WriteTo(f); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

// Package figure is gradflow's one way to draw a figure: line plots (with
// optional error bars, log axes and a dashed reference line) and heatmaps,
// each written as PNG and SVG side by side. Every command and library
// report that draws goes through it, so that sizes, legends, tick labels
// and the handling of points a log axis cannot show are the same
// everywhere.
package figure

import (
	"errors"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Series is one line of a plot.
type Series struct {
	Name string
	X, Y []float64
	// YErr, if not nil, holds symmetric error bars (one per point).
	YErr []float64
	// YLo and YHi, if both not nil (and YErr is nil), hold the lower and
	// upper ends of asymmetric error bars (one per point), such as
	// bootstrap intervals.
	YLo, YHi []float64
	// Dashed draws a reference line (such as a stability threshold)
	// dashed and without point markers.
	Dashed bool
	// Points draws the points with markers and without the line through
	// them (a scatter plot), whatever Plot.Markers says.
	Points bool
}

// Plot is a line plot. Its legend (one entry per named series) stands in
// its own column to the right of the axes, never over the data.
type Plot struct {
	Title, XLabel, YLabel string
	// LogX and LogY draw an axis on a logarithmic scale. LinearY keeps
	// the Y axis linear; with neither LogY nor LinearY, Save chooses (see
	// AutoLogY).
	LogX, LogY, LinearY bool
	Series              []Series
	// Width and Height are in inches, of the plot without its legend;
	// zero means 6 x 4. A legend widens the figure by its column(s).
	Width, Height float64
	// Markers draws point markers on the solid lines.
	Markers bool
}

// ErrEmpty is returned by Save when no series has a point that can be
// drawn.
var ErrEmpty = errors.New("figure: nothing to draw")

// Save writes dir/name.png and dir/name.svg (creating dir). Points that
// cannot be drawn are dropped: NaN and infinite values, and values <= 0 on a
// logarithmic axis. On a logarithmic Y axis an error bar that would reach
// zero or below is cut at the lowest point of the plot. When no point is
// left it writes nothing and returns ErrEmpty.
//
// Tick labels: a logarithmic axis always labels at least 3 values (1-2-5
// within a few decades, round linear steps within one) and labels every
// k-th decade when it spans many; a linear axis labels 4 to 8 round values.
func (f Plot) Save(dir, name string) error {
	lf, err := f.prepare()
	if err != nil {
		return err
	}
	return render(dir, name, lf.width(), lf.h, lf.draw)
}

// lineFigure is a Plot ready to draw: the plot without its Y label (drawn
// by draw, see prepare), and its legend.
type lineFigure struct {
	p      *plot.Plot
	legend legendColumns
	// ylabel is the Y label, strip the width it takes left of the axis.
	ylabel      string
	ylabelStyle text.Style
	strip       vg.Length
	// w and h are the size of the plot without the legend.
	w, h vg.Length
}

// prepare turns f into the plot and legend to draw.
func (f Plot) prepare() (*lineFigure, error) {
	logY := f.LogY || !f.LinearY && f.AutoLogY()
	p := plot.New()
	p.Title.Text = f.Title
	p.X.Label.Text = f.XLabel
	p.Y.Label.Text = f.YLabel
	p.X.Tick.Marker = axisTicker(f.LogX)
	p.Y.Tick.Marker = axisTicker(logY)
	if f.LogX {
		p.X.Scale = plot.LogScale{}
	}
	if logY {
		p.Y.Scale = plot.LogScale{}
	}
	pts := make([]plotter.XYs, len(f.Series))
	errs := make([]plotter.YErrors, len(f.Series))
	lowest := math.Inf(1)
	for i, s := range f.Series {
		pts[i], errs[i] = keep(s, f.LogX, logY)
		for _, pt := range pts[i] {
			lowest = min(lowest, pt.Y)
		}
	}
	var legend []legendEntry
	drawn := 0
	for i, s := range f.Series {
		pts, errs := pts[i], errs[i]
		if len(pts) == 0 {
			continue
		}
		drawn++
		if logY {
			cutErrorBars(pts, errs, lowest)
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return nil, err
		}
		l.Color = plotutil.Color(i)
		if s.Dashed {
			l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
			p.Add(l)
			if s.Name != "" {
				legend = append(legend, legendEntry{s.Name, []plot.Thumbnailer{l}})
			}
			continue
		}
		l.Dashes = plotutil.Dashes(i)
		var thumbs []plot.Thumbnailer
		if !s.Points {
			thumbs = append(thumbs, l)
			p.Add(l)
		}
		if f.Markers || s.Points {
			sc, err := plotter.NewScatter(pts)
			if err != nil {
				return nil, err
			}
			sc.Color = plotutil.Color(i)
			sc.Shape = plotutil.Shape(i)
			p.Add(sc)
			thumbs = append(thumbs, sc)
		}
		if errs != nil {
			eb, err := plotter.NewYErrorBars(errPoints{pts, errs})
			if err != nil {
				return nil, err
			}
			eb.Color = plotutil.Color(i)
			p.Add(eb)
		}
		if s.Name != "" {
			legend = append(legend, legendEntry{s.Name, thumbs})
		}
	}
	if drawn == 0 {
		return nil, ErrEmpty
	}
	widenLog(&p.X, f.LogX)
	widenLog(&p.Y, logY)
	w, h := f.Width, f.Height
	if w == 0 {
		w, h = 6, 4
	}
	lf := &lineFigure{p: p, w: vg.Length(w) * vg.Inch, h: vg.Length(h) * vg.Inch}
	// The Y label is drawn by draw, centred on the data area: plot
	// centres its padding for the label on the arithmetic middle of the
	// range, which on a log axis lies near the top and leaves a gap under
	// the title.
	if p.Y.Label.Text != "" {
		lf.ylabel, lf.ylabelStyle = p.Y.Label.Text, p.Y.Label.TextStyle
		lf.strip = lf.ylabelStyle.Height(lf.ylabel) + lf.ylabelStyle.FontExtents().Descent + p.Y.Label.Padding
		p.Y.Label.Text = ""
	}
	lf.legend = layoutLegend(legend, dataHeight(p, lf.w-lf.strip, lf.h))
	return lf, nil
}

// width is the width of the figure: the plot and its legend.
func (lf *lineFigure) width() vg.Length { return lf.w + lf.legend.width() }

// layout divides c, of size width() x h, into the plot's canvas (main),
// its data area, and the legend's column to the right of main, as high as
// the data area.
func (lf *lineFigure) layout(c draw.Canvas) (main, data, side draw.Canvas) {
	main = c
	main.Min.X += lf.strip
	main.Max.X = c.Min.X + lf.w
	data = lf.p.DataCanvas(main)
	side = c
	side.Min.X = main.Max.X
	side.Min.Y, side.Max.Y = data.Min.Y, data.Max.Y
	return main, data, side
}

func (lf *lineFigure) draw(c draw.Canvas) {
	main, data, side := lf.layout(c)
	lf.p.Draw(main)
	if lf.ylabel != "" {
		sty := lf.ylabelStyle
		sty.Rotation += math.Pi / 2
		x := c.Min.X + lf.ylabelStyle.Height(lf.ylabel) - lf.ylabelStyle.FontExtents().Descent
		c.FillText(sty, vg.Point{X: x, Y: data.Center().Y}, lf.ylabel)
	}
	lf.legend.draw(side)
}

// AutoLogY reports whether Save draws the Y axis of f on a logarithmic
// scale when neither LogY nor LinearY is set: when a linear axis would
// flatten the curves against zero. That is when every drawable value (and
// the lower end of every error bar) is positive, the values span at least
// a factor of 10, and more than half of them lie in the lowest fifth of
// their range, as a loss does that falls by orders of magnitude; a curve
// that rises (an accuracy) or stays within a factor of 10 keeps its
// linear axis.
func (f Plot) AutoLogY() bool {
	var ys []float64
	for _, s := range f.Series {
		pts, errs := keep(s, f.LogX, false)
		for i, pt := range pts {
			if pt.Y <= 0 || errs != nil && pt.Y-errs[i].Low <= 0 {
				return false
			}
			ys = append(ys, pt.Y)
		}
	}
	if len(ys) < 3 {
		return false
	}
	lo, hi := slices.Min(ys), slices.Max(ys)
	if hi < 10*lo {
		return false
	}
	low := 0
	for _, y := range ys {
		if y < lo+(hi-lo)/5 {
			low++
		}
	}
	return 2*low > len(ys)
}

// axisTicker is the tick marker of a plot axis.
func axisTicker(log bool) plot.Ticker {
	if log {
		return logTicker{}
	}
	return plot.TickerFunc(func(lo, hi float64) []plot.Tick { return linearTicks(lo, hi, axisLabels, false) })
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

// cutErrorBars cuts, on a logarithmic Y axis, the lower halves of the
// error bars that would reach zero or below at lo, the lowest point of the
// plot (a bar of the lowest point itself loses its lower half).
func cutErrorBars(pts plotter.XYs, errs plotter.YErrors, lo float64) {
	for i := range errs {
		if pts[i].Y-errs[i].Low <= 0 {
			errs[i].Low = pts[i].Y - lo
		}
	}
}

// keep returns the drawable points of s and their error bars on the given
// axes.
func keep(s Series, logX, logY bool) (plotter.XYs, plotter.YErrors) {
	var pts plotter.XYs
	var errs plotter.YErrors
	for i := range min(len(s.X), len(s.Y)) {
		x, y := s.X[i], s.Y[i]
		if !finite(x) || !finite(y) || logX && x <= 0 || logY && y <= 0 {
			continue
		}
		pts = append(pts, plotter.XY{X: x, Y: y})
		switch {
		case s.YErr != nil:
			e := 0.0
			if i < len(s.YErr) && finite(s.YErr[i]) {
				e = math.Abs(s.YErr[i])
			}
			errs = append(errs, struct{ Low, High float64 }{e, e})
		case s.YLo != nil && s.YHi != nil:
			var lo, hi float64
			if i < len(s.YLo) && finite(s.YLo[i]) {
				lo = max(y-s.YLo[i], 0)
			}
			if i < len(s.YHi) && finite(s.YHi[i]) {
				hi = max(s.YHi[i]-y, 0)
			}
			errs = append(errs, struct{ Low, High float64 }{lo, hi})
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
// printed matrix, with a colour bar to its right.
type Heatmap struct {
	Title, XLabel, YLabel string
	// Rows and Cols are the matrix size; At returns entry (i, j).
	Rows, Cols int
	At         func(i, j int) float64
	// Width and Height are in inches; zero means 6 x 5.
	Width, Height float64
}

// colourBarWidth is the width of the colour bar itself, without its tick
// labels.
const colourBarWidth = vg.Length(0.25 * vg.Inch)

// Save writes dir/name.png and dir/name.svg. The cells are rasterized, so
// the SVG stays small for large matrices. The colour bar spans the height
// of the matrix and labels 6 to 12 round values.
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
	p.X.Tick.Marker = indexTicks(h.Cols, false)
	p.Y.Tick.Marker = indexTicks(h.Rows, true)
	// The colour bar: a one-column plot of the palette's range whose
	// data area spans the matrix's height.
	bar := plot.New()
	bar.HideX()
	bar.X.Padding, bar.Y.Padding = 0, 0
	bar.Add(&plotter.ColorBar{ColorMap: cm, Vertical: true})
	bar.Y.Tick.Marker = plot.TickerFunc(func(lo, hi float64) []plot.Tick { return linearTicks(lo, hi, barLabels, false) })
	w, ht := h.Width, h.Height
	if w == 0 {
		w, ht = 6, 5
	}
	W, H := vg.Length(w)*vg.Inch, vg.Length(ht)*vg.Inch
	return render(dir, name, W, H, func(c draw.Canvas) {
		// The bar's column: its tick labels, the bar, a margin.
		probe := draw.Canvas{Rectangle: vg.Rectangle{Max: vg.Point{X: vg.Inch, Y: H}}}
		labels := bar.DataCanvas(probe).Min.X - probe.Min.X
		main := c
		main.Max.X -= legendGap + labels + colourBarWidth + legendGap
		p.Draw(main)
		data := p.DataCanvas(main)
		side := c
		side.Min.X = main.Max.X + legendGap
		side.Max.X = side.Min.X + labels + colourBarWidth
		side.Min.Y, side.Max.Y = data.Min.Y, data.Max.Y
		// Grow the bar's canvas by what its tick labels stick out above
		// and below its data area, so that the bar itself matches.
		in := bar.DataCanvas(side)
		side.Min.Y -= in.Min.Y - side.Min.Y
		side.Max.Y += side.Max.Y - in.Max.Y
		bar.Draw(side)
	})
}

// indexTicks labels the rows or columns 0..n-1 of a matrix with round
// whole numbers; reversed counts rows from the top.
func indexTicks(n int, reversed bool) plot.Ticker {
	return plot.TickerFunc(func(float64, float64) []plot.Tick {
		ticks := linearTicks(0, float64(n-1), min(axisLabels, n), true)
		if reversed {
			for i := range ticks {
				ticks[i].Value = float64(n-1) - ticks[i].Value
			}
		}
		return ticks
	})
}

// grid presents a Heatmap to plotter.HeatMap (column c, row r from the
// bottom).
type grid struct{ h Heatmap }

// Dims implements plotter.GridXYZ: columns and rows.
func (g grid) Dims() (c, r int) { return g.h.Cols, g.h.Rows }

// Z is the entry drawn at column c, row r counted from the bottom.
func (g grid) Z(c, r int) float64 { return g.h.At(g.h.Rows-1-r, c) }

// X is the coordinate of column c.
func (g grid) X(c int) float64 { return float64(c) }

// Y is the coordinate of row r.
func (g grid) Y(r int) float64 { return float64(r) }

// render draws a w x h figure with drawFn and writes it to dir/name.png
// and dir/name.svg (creating dir).
func render(dir, name string, w, h vg.Length, drawFn func(draw.Canvas)) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, ext := range []string{"png", "svg"} {
		c, err := draw.NewFormattedCanvas(w, h, ext)
		if err != nil {
			return err
		}
		dc := draw.New(c)
		// Plots paint only their own area; the legend or colour-bar
		// column would be transparent in the PNG.
		dc.SetColor(color.White)
		dc.Fill(dc.Rectangle.Path())
		drawFn(dc)
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

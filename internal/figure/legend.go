package figure

import (
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// legendEntry is one line of a legend: a series' name and its line (and
// marker) styles.
type legendEntry struct {
	name   string
	thumbs []plot.Thumbnailer
}

// The legend's look: text a little smaller than the title, a gap between
// the axes and the first column and between columns, and a little space
// between entries so that markers of neighbouring lines do not touch.
const (
	legendFontSize = 11
	legendGap      = vg.Length(10)
	legendPadding  = vg.Length(3)
)

// legendColumns is a legend split into columns that each fit the height
// of the data area, each entry keeping its series' order from top to
// bottom, then left to right.
type legendColumns struct {
	cols   [][]legendEntry
	widths []vg.Length
	// entryH is the height of an entry, without the padding between
	// entries.
	entryH vg.Length
	style  plot.Legend
}

// layoutLegend splits entries into as many columns as the data area's
// height (in the figure's units) requires.
func layoutLegend(entries []legendEntry, height vg.Length) legendColumns {
	l := legendColumns{style: plot.NewLegend()}
	if len(entries) == 0 {
		return l
	}
	l.style.TextStyle.Font.Size = font.Length(legendFontSize)
	l.style.Padding = legendPadding
	l.style.Left, l.style.Top = true, true
	sty := l.style.TextStyle
	for _, e := range entries {
		l.entryH = max(l.entryH, sty.Rectangle(e.name).Max.Y)
	}
	perCol := max(1, int((height+legendPadding)/(l.entryH+legendPadding)))
	for start := 0; start < len(entries); start += perCol {
		col := entries[start:min(start+perCol, len(entries))]
		w := vg.Length(0)
		for _, e := range col {
			w = max(w, l.style.ThumbnailWidth+sty.Rectangle(" "+e.name).Max.X)
		}
		l.cols = append(l.cols, col)
		l.widths = append(l.widths, w)
	}
	return l
}

// width is the width the legend adds to the figure: its columns with a
// gap before each and after the last.
func (l legendColumns) width() vg.Length {
	if len(l.cols) == 0 {
		return 0
	}
	w := legendGap
	for _, cw := range l.widths {
		w += cw + legendGap
	}
	return w
}

// draw draws the columns left to right into c, their first entries at
// the top of c.
func (l legendColumns) draw(c draw.Canvas) {
	x := c.Min.X + legendGap
	for i, col := range l.cols {
		leg := l.style
		for _, e := range col {
			leg.Add(e.name, e.thumbs...)
		}
		cc := c
		cc.Min.X, cc.Max.X = x, x+l.widths[i]
		leg.Draw(cc)
		x += l.widths[i] + legendGap
	}
}

// dataHeight is the height of p's data area when p is drawn w x h.
func dataHeight(p *plot.Plot, w, h vg.Length) vg.Length {
	c := draw.Canvas{Rectangle: vg.Rectangle{Max: vg.Point{X: w, Y: h}}}
	return p.DataCanvas(c).Size().Y
}
